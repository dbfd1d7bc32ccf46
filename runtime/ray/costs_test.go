package ray_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/costs"
	"raysim/runtime/ray"
)

// TestCopiesCostTheirWriter: copying a task's result (or a Put) into the
// store takes the writer's virtual time, as a Plasma client's copy does,
// not the raylet's: four tasks on four CPUs copy their results in
// parallel, and a driver's Put takes the driver's own time.
func TestCopiesCostTheirWriter(t *testing.T) {
	reg := ray.NewRegistry()
	big := ray.Register0(reg, "big", func(ctx context.Context) (ray.Blob, error) {
		return ray.Blob{Bytes: 1 << 20, Sum: 1}, nil
	})
	prof := costs.Zero()
	prof.PerMB = 10 * time.Millisecond
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "n", CPUs: 4}}, Seed: 1, Costs: &prof}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	now := func() time.Duration { return c.Netsim().Now() }
	require.NoError(t, c.Run(func(ctx context.Context) error {
		start := now()
		refs := make([]ray.Ref[ray.Blob], 4)
		for i := range refs {
			refs[i] = big.Remote(ctx)
		}
		_, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		took := now() - start
		require.GreaterOrEqual(t, took, 10*time.Millisecond, "each result's copy takes 10ms")
		require.Less(t, took, 20*time.Millisecond, "the four copies overlap (serialised on the raylet: 40ms)")

		start = now()
		_, err = ray.Put(ctx, ray.Blob{Bytes: 1 << 20, Sum: 2})
		require.NoError(t, err)
		require.GreaterOrEqual(t, now()-start, 10*time.Millisecond, "a Put's copy takes the driver's time")
		return nil
	}))
}

// TestComputeOvershoot: with a compute overshoot in the profile each
// Compute(d) ends late by a lognormal draw with the profile's median and
// 90th percentile, as a real timer's wake-up does.
func TestComputeOvershoot(t *testing.T) {
	prof := costs.Zero()
	prof.ComputeOvershoot = 100 * time.Microsecond
	prof.ComputeOvershootP90 = 300 * time.Microsecond
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "n", CPUs: 4}}, Seed: 1, Costs: &prof}
	c, err := ray.NewSim(cfg, ray.NewRegistry())
	require.NoError(t, err)
	defer c.Close()
	now := func() time.Duration { return c.Netsim().Now() }
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var over []time.Duration
		for range 2000 {
			start := now()
			require.NoError(t, ray.Compute(ctx, time.Millisecond))
			over = append(over, now()-start-time.Millisecond)
		}
		slices.Sort(over)
		require.InDelta(t, 100e3, float64(over[len(over)/2]), 10e3, "median overshoot")
		require.InDelta(t, 300e3, float64(over[len(over)*9/10]), 40e3, "90th percentile")
		return nil
	}))
}
