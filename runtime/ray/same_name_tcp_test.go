package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
	"raysim/runtime/ray"
)

// TestJoinRefusesTheNameOfALiveNode: a second process joining under the
// name of a live node is refused (it used to take the live node's ID
// silently, and the evicted process went on unlisted, logging nothing);
// a process restarted after its predecessor crashed (its connections
// closed) still rejoins under the name and keeps the ID.
func TestJoinRefusesTheNameOfALiveNode(t *testing.T) {
	tok := []byte("same-name-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, sq := deployRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })
	join := func(ctx context.Context) (*ray.Process, error) {
		return ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w0",
			Node: ray.NodeConfig{CPUs: 1}, JoinTimeout: 5 * time.Second}, reg)
	}
	firstCtx, crash := context.WithCancel(ctx)
	first, err := join(firstCtx)
	require.NoError(t, err)
	t.Cleanup(func() { first.Close() })

	_, err = join(ctx)
	require.ErrorIs(t, err, deploy.ErrRefused)
	assert.ErrorContains(t, err, `the name "w0" is taken by a live node`)

	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	st, err := s.Status(ctx)
	require.NoError(t, err)
	var ids []uint32
	for _, n := range st.Nodes {
		if n.Name == "w0" {
			ids = append(ids, uint32(n.Node))
		}
	}
	require.Equal(t, []uint32{uint32(first.Self())}, ids, "w0 is still the first process")

	// The first process crashes (its endpoints stop, no goodbye): a new
	// one rejoins under its name at once and keeps its ID.
	crash()
	var second *ray.Process
	require.Eventually(t, func() bool {
		second, err = join(ctx)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the restarted w0 is refused: %v", err)
	t.Cleanup(func() { second.Close() })
	assert.Equal(t, first.Self(), second.Self(), "a rejoin keeps the node's ID")
	runSquares(t, s, sq)
}
