package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestSpillAlwaysSpillsEveryTask: QA28b finding 6. A threshold of 0 (a
// scenario's spill_threshold: 0) became ray.Config's default, 8, and so
// spilled less than the scenario default, 4. ray.SpillAlways is that
// threshold: the driver's node keeps none of four tasks it could run.
func TestSpillAlwaysSpillsEveryTask(t *testing.T) {
	for _, tc := range []struct {
		threshold, spilled int
	}{{0, 0}, {ray.SpillAlways, 4}, {-7, 4}} {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true, SpillThreshold: tc.threshold}, s.reg)
		require.NoError(t, err)
		require.NoError(t, c.Run(func(ctx context.Context) error {
			refs := make([]ray.Ref[int], 4)
			for i := range refs {
				refs[i] = s.double.Remote(ctx, i)
			}
			_, err := ray.GetAll(ctx, refs, -1)
			return err
		}))
		assert.Equal(t, tc.spilled, int(c.Raylet(0).Stats.Spilled), "threshold %d", tc.threshold)
		c.Close()
	}
}
