package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestConstructorPanicReported: an actor constructor that panics kills the
// actor, and the method call's ErrActorDied carries the panic value (as a
// task's or method's panic does). It said "constructor ... returned no
// instance", the panic value lost (qaapi #10).
func TestConstructorPanicReported(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "PanicCtor", func(ctx context.Context) (*nilCtorState, error) { panic("ctor boom") })
	get := ray.Method0(cls, "get", func(ctx context.Context, s *nilCtorState) (int, error) { return s.n, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.GetTimeout(ctx, get.Remote(ctx, cls.New(ctx)), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrActorDied), "got %v", err)
		require.ErrorContains(t, err, "panic: ctor boom")
		require.NotContains(t, err.Error(), "returned no instance")
		return nil
	}))
}
