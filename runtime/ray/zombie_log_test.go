package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestZombieMethodLogDoesNotEnterRestartedActorsLog: as
// TestZombieCheckpointDoesNotOverwriteRestartedActor, with ReplayMethods and
// no checkpoints: the zombie x1's log entry for its long call (a call whose
// caller saw it fail) reaches the table after the heal as method #3, before
// the restarted instance on x2 runs its own #3, whose entry is then dropped
// as a duplicate. The next restart replayed the zombie's call in its
// place. The actor table now refuses a dead incarnation's writes. Found in
// review.
func TestZombieMethodLogDoesNotEnterRestartedActorsLog(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "ZLCounter", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *durableCounter) (int64, error) {
		c.n++
		return c.n, nil
	})
	slow := ray.Method0(cls, "slowIncr", func(ctx context.Context, c *durableCounter) (int64, error) {
		if err := ray.Compute(ctx, 3*time.Second); err != nil {
			return 0, err
		}
		c.n += 100
		return c.n, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: xNodes(), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	x1, x2 := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	var after int64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := cls.Options(ray.Resource("x", 1), ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRestarts(3), ray.ReplayMethods()).New(ctx)
		for i := int64(1); i <= 2; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		sref := slow.Options(ray.MaxRetries(0)).Remote(ctx, h) // runs on x1 for 3s
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		for _, n := range sim.Nodes() {
			if n != x1 {
				sim.Cut(x1, n)
				sim.Cut(n, x1)
			}
		}
		_, err := ray.Get(ctx, sref)
		require.Error(t, err, "the slow call died with x1's incarnation")
		require.NoError(t, ray.Compute(ctx, 4*time.Second)) // the zombie's slow call ends, cut off
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 4*time.Second)) // its log entry reaches the table
		for i := int64(3); i <= 4; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			require.NoError(t, err)
			require.Equal(t, i, v, "the instance on x2 replayed #1, #2")
		}
		sim.Crash(x2) // the actor restarts again, on x1's new incarnation, and replays its log
		require.NoError(t, ray.Compute(ctx, 6*time.Second))
		after, err = ray.Get(ctx, incr.Remote(ctx, h))
		return err
	}))
	require.Equal(t, int64(5), after, "the replay re-ran the calls the instance on x2 ran")
}
