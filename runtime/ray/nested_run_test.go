package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNestedRunRefused: Sim.Run (and RunThread, RunUntil) called from
// inside a simulated driver returns ErrNestedRun (RunUntil: runs nothing),
// the outer driver goes on. It panicked the whole process ("RunUntilWhile
// called from a coroutine", qaapi #5).
func TestNestedRunRefused(t *testing.T) {
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, ray.NewRegistry())
	require.NoError(t, err)
	defer c.Close()
	innerRan := false
	var nested, thread error
	var until bool
	require.NoError(t, c.Run(func(ctx context.Context) error {
		nested = c.Run(func(ctx context.Context) error { innerRan = true; return nil })
		thread = c.RunThread(func(ctx context.Context) error { innerRan = true; return nil })
		until = c.RunUntil(0)
		return nil
	}))
	require.ErrorIs(t, nested, ray.ErrNestedRun)
	require.ErrorIs(t, thread, ray.ErrNestedRun)
	require.False(t, until, "the calling driver was still running")
	require.False(t, innerRan)
}
