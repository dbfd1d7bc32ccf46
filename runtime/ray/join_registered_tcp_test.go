package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestJoinNodeReturnsRegisteredTCP: JoinNode returns once the node table
// has registered the node's raylet, so work pinned to the node right after
// (a soft NodeAffinity, which goes elsewhere while its target is unknown)
// runs there, and the head's status lists it alive. The raylet's messages
// to the node table are held up 300ms here to make its registration slow;
// before, JoinNode returned as soon as the raylet ran, the task ran on the
// head, and the status listed the node as not alive (what made
// TestMultiReturnRebuiltAfterNodeDeathTCP flaky: the task it meant to
// lose with its node ran on the head, and survived the kill).
func TestJoinNodeReturnsRegisteredTCP(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("join-registered-token")
	reg, where, head := startJoinHead(ctx, t, tok)
	defer head.Close()
	joiner := ray.RayletID(1) // the head's raylet is RayletID(0)
	head.LinkFault(&transport.LinkFault{FromNodes: []transport.NodeID{joiner}, ToNodes: []transport.NodeID{ray.ShardID(0)},
		Delay: 300 * time.Millisecond})
	w, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w1", Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, joiner, w.Self(), "the node the link fault slows")
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	st, err := s.Status(ctx)
	require.NoError(t, err)
	alive := false
	for _, n := range st.Nodes {
		if n.Node == w.Self() {
			alive = n.Alive
		}
	}
	assert.True(t, alive, "the joined node listed alive")
	require.NoError(t, s.Run(func(ctx context.Context) error {
		node, err := ray.GetTimeout(ctx, where.Options(ray.NodeAffinity(w.Self(), true)).Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, uint64(w.Self()), node, "a task pinned (soft) to the joined node runs there")
		return nil
	}))
}

// startJoinHead starts a one-CPU head of a one-shard GCS on loopback for
// the JoinNode tests, with a registry whose "where" task says the node it
// ran on.
func startJoinHead(ctx context.Context, t *testing.T, tok []byte) (*ray.Registry, *ray.Func[uint64], *ray.Process) {
	t.Helper()
	reg := ray.NewRegistry()
	where := ray.Register0(reg, "where", func(ctx context.Context) (uint64, error) {
		return uint64(ray.NodeOf(ctx)), nil
	})
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1},
		Cluster: ray.Config{GCSShards: 1}}, reg)
	require.NoError(t, err)
	return reg, where, head
}
