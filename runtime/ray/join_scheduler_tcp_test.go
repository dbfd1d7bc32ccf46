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

// TestJoinNodeKnownToSchedulerTCP: JoinNode returns once the global
// scheduler's view has the node, not only the node table: the table
// answers the raylet and tells the scheduler on another path, and a task
// pinned to the node by a soft NodeAffinity that reached the scheduler
// first ran elsewhere (review30 finding 12). The table's messages to the
// scheduler are held up here to make that path slow. A hard affinity to
// the node never failed (the scheduler holds a task pinned to a node of
// the address book that has not registered); it runs there too.
func TestJoinNodeKnownToSchedulerTCP(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("join-scheduler-token")
	reg, where, head := startJoinHead(ctx, t, tok)
	defer head.Close()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	head.LinkFault(&transport.LinkFault{FromNodes: []transport.NodeID{ray.ShardID(0)}, ToNodes: []transport.NodeID{ray.SchedulerID},
		Delay: 500 * time.Millisecond})
	w, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w1", Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		soft := where.Options(ray.NodeAffinity(w.Self(), true)).Remote(ctx)
		hard := where.Options(ray.NodeAffinity(w.Self(), false)).Remote(ctx)
		node, err := ray.GetTimeout(ctx, soft, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, uint64(w.Self()), node, "a task pinned (soft) to the joined node right after JoinNode runs there")
		node, err = ray.GetTimeout(ctx, hard, 30*time.Second)
		require.NoError(t, err, "a task pinned (hard) to the joined node right after JoinNode")
		assert.Equal(t, uint64(w.Self()), node)
		return nil
	}))
}
