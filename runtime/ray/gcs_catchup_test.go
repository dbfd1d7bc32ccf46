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

// TestRunUntilGCSCaughtUpAtTheMoment: the catch-up time is when the last
// GCS endpoint became free with nothing waiting, not the next event after
// it (once the drivers are done, often the next heartbeat, 100 ms later:
// qa29 #7). A GCS that keeps up is caught up within a few milliseconds of
// the drivers' end, and a backlogged one at the time its last endpoint
// frees up: a limit one nanosecond shorter does not get there.
func TestRunUntilGCSCaughtUpAtTheMoment(t *testing.T) {
	run := func(shards, nodes, tasks int, limit time.Duration) (done, at time.Duration, err error) {
		reg := ray.NewRegistry()
		empty := ray.Register0(reg, "empty", func(ctx context.Context) (int, error) { return 0, nil })
		cfg := ray.Config{Seed: 1, GCSShards: shards, SpillThreshold: 1 << 30}
		for i := range nodes {
			cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 16})
		}
		c, err := ray.NewSim(cfg, reg)
		require.NoError(t, err)
		defer c.Close()
		for i := range nodes {
			require.NoError(t, c.Go(i, func(ctx context.Context) error {
				refs := make([]ray.Ref[int], tasks)
				for j := range refs {
					refs[j] = empty.Remote(ctx)
				}
				_, err := ray.GetAll(ctx, refs, -1)
				return err
			}))
		}
		require.NoError(t, c.Run(nil))
		done = c.Netsim().Now()
		at, err = c.RunUntilGCSCaughtUp(context.Background(), limit)
		if err == nil {
			require.Equal(t, at, c.Netsim().Now(), "Now is left at the catch-up")
			_, _, _, busy := c.GCSBacklog()
			require.False(t, busy)
		}
		return done, at, err
	}
	// Keeps up: two nodes, 16 shards.
	done, at, err := run(16, 2, 200, time.Hour)
	require.NoError(t, err)
	require.GreaterOrEqual(t, at, done)
	require.Less(t, at-done, 5*time.Millisecond, "drivers done at %v, GCS caught up at %v", done, at)

	// Behind: one shard for twenty nodes. The moment is exact.
	done, at, err = run(1, 20, 500, time.Hour)
	require.NoError(t, err)
	_, at2, err := run(1, 20, 500, at-done)
	require.NoError(t, err)
	require.Equal(t, at, at2)
	_, _, err = run(1, 20, 500, at-done-1)
	require.ErrorContains(t, err, "had not caught up")
}
