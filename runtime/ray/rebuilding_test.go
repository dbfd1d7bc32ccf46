package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRebuildingTellsARebuild: a task's run as submitted sees
// ray.Rebuilding false; the run that rebuilds its freed result from
// lineage sees true (actor-calls' sequencers leave such runs out of their
// order checks); a driver sees false.
func TestRebuildingTellsARebuild(t *testing.T) {
	reg := ray.NewRegistry()
	f := ray.Register0(reg, "rebuilding", func(ctx context.Context) (bool, error) { return ray.Rebuilding(ctx), nil })
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	var ref ray.Ref[bool]
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		require.False(t, ray.Rebuilding(ctx), "a driver")
		ref = f.Remote(ctx)
		v, err := ray.Get(ctx, ref)
		require.NoError(t, err)
		require.False(t, v, "the run as submitted")
		return ray.Free(ctx, ref)
	}))
	sim := c.Netsim()
	sim.RunUntil(sim.Now() + 100*time.Millisecond) // Free does not wait for the drops
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		v, err := ray.Get(ctx, ref)
		require.NoError(t, err)
		require.True(t, v, "the run that rebuilt the freed result")
		return nil
	}))
}
