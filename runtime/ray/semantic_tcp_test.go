package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestSemanticsTCP runs the semantic suite, unchanged, on a cluster of
// real loopback TCP hosts (one fresh cluster per case). Timeouts in the
// bodies are wall-clock here.
func TestSemanticsTCP(t *testing.T) {
	for _, tc := range semanticCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSuite()
			c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()
			require.NoError(t, c.Run(func(ctx context.Context) error {
				tc.run(t, ctx, s)
				return nil
			}))
		})
	}
}

// TestReplicatedGCSOverTCP: a cluster whose GCS shards are 2-replica chains
// (with their chain master) runs over loopback TCP as in the simulator.
func TestReplicatedGCSOverTCP(t *testing.T) {
	s := newSuite()
	cfg := ray.Config{Nodes: testNodes, Seed: 1, GCSShards: 2, GCSReplicas: 2}
	c, err := ray.NewTCP(context.Background(), cfg, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for _, tc := range semanticCases[:3] { // tasks, refs across nodes, nested
			tc.run(t, ctx, s)
		}
		return nil
	}))
}
