package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

type nilCtorState struct{ n int }

// TestConstructorReturningNilInstance: a constructor that returns (nil, nil)
// made no actor; the raylet checks for that, but the typed constructor's
// nil *S reached it as a non-nil interface, so the actor came up and every
// method panicked on the nil receiver (ErrTaskFailed). It is now a failed
// constructor: calls fail with ErrActorDied.
func TestConstructorReturningNilInstance(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "NilCtor", func(ctx context.Context) (*nilCtorState, error) { return nil, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, s *nilCtorState) (int, error) { return s.n, nil })
	cls1 := ray.RegisterActor1(reg, "NilCtor1", func(ctx context.Context, _ int) (*nilCtorState, error) { return nil, nil })
	get1 := ray.Method0(cls1, "get", func(ctx context.Context, s *nilCtorState) (int, error) { return s.n, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.GetTimeout(ctx, get.Remote(ctx, cls.New(ctx)), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrActorDied), "got %v", err)
		_, err = ray.GetTimeout(ctx, get1.Remote(ctx, cls1.New(ctx, 1)), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrActorDied), "got %v", err)
		return nil
	}))
}
