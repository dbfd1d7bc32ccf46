package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRunUntilStopsAtT: Sim.RunUntil(t) runs every event due by t and none
// after, and leaves the clock at t, so that a run stepped to t is inspected
// (and a fault injected "now") at t — it used to run the first event past
// t too (QA30 finding 8: a run stepped "to 50ms" stood at 52.42ms). Once
// every driver has returned the clock stays at the last event, and a run
// stepped in slices is the same run as one run whole.
func TestRunUntilStopsAtT(t *testing.T) {
	run := func(step time.Duration) (ticks []time.Duration, end time.Duration, digest uint64) {
		c, err := ray.NewSim(ray.Config{Seed: 3, Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}}, ray.NewRegistry())
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Go(0, func(ctx context.Context) error {
			for range 20 {
				if err := ray.Compute(ctx, 7*time.Millisecond); err != nil {
					return err
				}
				ticks = append(ticks, c.Netsim().Now())
			}
			return nil
		}))
		if step == 0 {
			require.True(t, c.RunUntil(time.Hour))
			return ticks, c.Netsim().Now(), c.Netsim().Digest()
		}
		for at := step; ; at += step {
			done := c.RunUntil(at)
			if done {
				break
			}
			require.Equal(t, at, c.Netsim().Now(), "stepped to %v", at)
			for _, tk := range ticks {
				require.LessOrEqual(t, tk, at, "an event past %v ran", at)
			}
			require.Len(t, ticks, int(at/(7*time.Millisecond)), "every tick due by %v ran", at)
		}
		return ticks, c.Netsim().Now(), c.Netsim().Digest()
	}
	whole, end, digest := run(0)
	require.Len(t, whole, 20)
	require.Equal(t, whole[19], end, "the clock stays at the driver's last event, not the limit")
	for _, step := range []time.Duration{10 * time.Millisecond, 7 * time.Millisecond, 3500 * time.Microsecond} {
		ticks, e, d := run(step)
		require.Equal(t, whole, ticks, "step %v", step)
		require.Equal(t, end, e, "step %v", step)
		require.Equal(t, digest, d, "step %v: the same run", step)
	}
}
