package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRunUntilGCSCaughtUp: one GCS shard for twenty busy nodes is still
// behind when the drivers are done; RunUntilGCSCaughtUp runs on until it has
// handled everything, and a limit too short to get there is an error.
func TestRunUntilGCSCaughtUp(t *testing.T) {
	run := func(limit time.Duration) (behind int, at time.Duration, err error) {
		reg := ray.NewRegistry()
		empty := ray.Register0(reg, "empty", func(ctx context.Context) (int, error) { return 0, nil })
		cfg := ray.Config{Seed: 1, GCSShards: 1, SpillThreshold: 1 << 30}
		for i := range 20 {
			cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 16})
		}
		c, err := ray.NewSim(cfg, reg)
		require.NoError(t, err)
		defer c.Close()
		for i := range 20 {
			require.NoError(t, c.Go(i, func(ctx context.Context) error {
				refs := make([]ray.Ref[int], 500)
				for j := range refs {
					refs[j] = empty.Remote(ctx)
				}
				_, err := ray.GetAll(ctx, refs, -1)
				return err
			}))
		}
		require.NoError(t, c.Run(nil))
		behind, _, _, _ = c.GCSBacklog()
		at, err = c.RunUntilGCSCaughtUp(context.Background(), limit)
		if err == nil {
			_, _, _, busy := c.GCSBacklog()
			require.False(t, busy)
		}
		return behind, at, err
	}
	behind, at, err := run(time.Hour)
	require.NoError(t, err)
	require.Positive(t, behind, "the shard should be behind when the drivers finish")
	require.Positive(t, at)
	_, _, err = run(time.Microsecond)
	require.ErrorContains(t, err, "had not caught up")
}
