package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestActorCallRebuiltTwice: an actor method's result read, freed, and read
// again is rebuilt by re-running the call on the actor, as the first call of
// a fresh caller; freed and read a third time, it is rebuilt again. Before
// the fix both rebuilds used one caller (derived from the task table's
// spec, the same each time): the second carried SeqBase 1, and the actor,
// which had run that caller's call 0, dropped it as a duplicate, so the
// read waited forever (found by the fault search with crashes instead of
// frees: regression actor-call-rebuilt-twice).
func TestActorCallRebuiltTwice(t *testing.T) {
	reg, cls, echo := echoActors()
	rebuilt := 0
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvObjectReconstructed {
			rebuilt++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		ref := echo.Options(ray.MaxRetries(2)).Remote(ctx, h, 7)
		for i := 0; i < 3; i++ {
			v, err := ray.GetTimeout(ctx, ref, 5*time.Second)
			require.NoError(t, err, "read %d", i+1)
			require.Equal(t, 7, v)
			require.NoError(t, ray.Free(ctx, ref))
			require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the drops happen
		}
		return nil
	}))
	require.Equal(t, 2, rebuilt, "objects rebuilt")
}
