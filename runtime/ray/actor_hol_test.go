package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

type box struct{ n int }

// TestWaitingCallDoesNotHoldUpOtherCallers: an actor's methods run in
// submission order per caller, as in Ray. One caller's call whose argument
// is still being made used to hold up every other caller's calls behind it
// (the actor ran one queue for all callers, head first); from a peer that
// sent a call with an argument nobody makes, it held the actor up for
// good (found in a hostile-input audit). Another caller's call now runs.
func TestWaitingCallDoesNotHoldUpOtherCallers(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Box", func(ctx context.Context) (*box, error) { return &box{}, nil })
	add := ray.Method1(cls, "add", func(ctx context.Context, b *box, x int) (int, error) { b.n += x; return b.n, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, b *box) (int, error) { return b.n, nil })
	slow := ray.Register1(reg, "slowValue", func(ctx context.Context, x int) (int, error) {
		return x, ray.Compute(ctx, 5*time.Second)
	})
	peek := ray.Register1(reg, "peek", func(ctx context.Context, name string) (int, error) {
		h, err := ray.GetActor(ctx, cls, name)
		if err != nil {
			return 0, err
		}
		return ray.Get(ctx, get.Remote(ctx, h))
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.ActorName("box")).New(ctx)
		_, err := ray.Get(ctx, get.Remote(ctx, h))
		require.NoError(t, err)
		x := slow.Remote(ctx, 7)
		waiting := add.Remote(ctx, h, x) // waits at the actor for x
		after := get.Remote(ctx, h)      // the driver's next call runs after it
		v, err := ray.GetTimeout(ctx, peek.Remote(ctx, "box"), 2*time.Second)
		require.NoError(t, err, "another caller's call waited behind the driver's")
		assert.Equal(t, 0, v)
		got, err := ray.Get(ctx, waiting)
		require.NoError(t, err)
		assert.Equal(t, 7, got)
		got, err = ray.Get(ctx, after)
		require.NoError(t, err)
		assert.Equal(t, 7, got, "a caller's calls ran out of order")
		return nil
	}))
}
