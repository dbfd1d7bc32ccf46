package ray

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpillAlwaysReachesJoinedNodes: a head's SpillAlways (the threshold
// 0 of a scenario's spill_threshold: 0) travels to a joining node as -1
// (the cluster spec's uint32 holds an int32's bits), not as 4294967295, a
// threshold no queue reaches.
func TestSpillAlwaysReachesJoinedNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("spill-join")
	head, err := StartHead(ctx, DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: NodeConfig{CPUs: 1},
		Cluster: Config{SpillThreshold: SpillAlways}}, NewRegistry())
	require.NoError(t, err)
	defer head.Close()
	n, err := JoinNode(ctx, DeployConfig{Address: head.Addr(), Listen: "127.0.0.1:0", Token: tok, Node: NodeConfig{CPUs: 1}}, NewRegistry())
	require.NoError(t, err)
	defer n.Close()
	assert.Equal(t, SpillAlways, head.cfg.SpillThreshold)
	assert.Equal(t, SpillAlways, n.cfg.SpillThreshold, "the joined node's threshold")
}
