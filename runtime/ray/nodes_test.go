package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// The cluster view (Ray's ray.nodes(), cluster_resources(),
// available_resources()) joins the semantic suite: both transports.
func init() { semanticCases = append(semanticCases, nodesCases...) }

var nodesCases = []semanticCase{
	{"nodes and cluster resources", func(t *testing.T, ctx context.Context, s *suite) {
		nodes, err := ray.Nodes(ctx)
		require.NoError(t, err)
		var ids []uint64
		for _, n := range nodes {
			if len(n.Total) == 0 {
				continue // a driver's raylet of no resources (a live cluster's)
			}
			ids = append(ids, uint64(n.ID))
			assert.True(t, n.Alive, "node %v", n.ID)
			assert.Equal(t, 2.0, n.Total["CPU"], "node %v", n.ID)
		}
		assert.ElementsMatch(t, []uint64{uint64(ray.RayletID(0)), uint64(ray.RayletID(1)), uint64(ray.RayletID(2))}, ids)

		total, err := ray.ClusterResources(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]float64{"CPU": 6, "GPU": 1, "special": 1}, total)

		// A task holding the GPU for a while: the free GPU goes once a
		// heartbeat has told the scheduler (every 100ms).
		busy := s.slow.Options(ray.GPUs(1)).Remote(ctx, 2000)
		var free map[string]float64
		for range 50 {
			require.NoError(t, ray.Compute(ctx, 50*time.Millisecond))
			free, err = ray.AvailableResources(ctx)
			require.NoError(t, err)
			if _, gpu := free["GPU"]; !gpu {
				break
			}
		}
		assert.NotContains(t, free, "GPU", "the GPU is taken: none of it is free (Ray leaves it out)")
		assert.Equal(t, 1.0, free["special"])
		require.NoError(t, ray.Cancel(ctx, busy))

		// From a task, too.
		seen, err := ray.Get(ctx, s.countNodes.Remote(ctx))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, seen, 3)
	}},
}
