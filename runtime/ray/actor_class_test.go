package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

type classCounter struct{ n int }
type classLog struct{ s string }

// TestMethodRunsOnlyOnItsOwnClass: a call named only the method, and the
// actor ran its own class's method of that name. So a method of one class
// called with a handle of another ran the other's method: with two classes
// of the same Go type (the handle types match), silently the wrong code;
// with a handle GetActor returned for a name held by an actor of another
// class, the other's method of the same name, its argument decoded into
// the wrong type. A call now names its class, and an actor of another
// class refuses it (ErrUnknownFunction) without running anything.
func TestMethodRunsOnlyOnItsOwnClass(t *testing.T) {
	reg := ray.NewRegistry()
	up := ray.RegisterActor0(reg, "Up", func(ctx context.Context) (*classCounter, error) { return &classCounter{}, nil })
	down := ray.RegisterActor0(reg, "Down", func(ctx context.Context) (*classCounter, error) { return &classCounter{}, nil })
	logs := ray.RegisterActor0(reg, "Log", func(ctx context.Context) (*classLog, error) { return &classLog{}, nil })
	upStep := ray.Method1(up, "step", func(ctx context.Context, c *classCounter, i int) (int, error) { c.n += i; return c.n, nil })
	downStep := ray.Method1(down, "step", func(ctx context.Context, c *classCounter, i int) (int, error) { c.n -= i; return c.n, nil })
	logStep := ray.Method1(logs, "step", func(ctx context.Context, l *classLog, s string) (string, error) { l.s += s; return l.s, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		d := down.New(ctx)
		v, err := ray.GetTimeout(ctx, upStep.Remote(ctx, d, 5), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrUnknownFunction), "Up.step on a Down actor: got %v, %v", v, err)
		v, err = ray.GetTimeout(ctx, downStep.Remote(ctx, d, 5), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, -5, v, "the refused call ran nothing")

		l := logs.Options(ray.ActorName("log")).New(ctx)
		s, err := ray.GetTimeout(ctx, logStep.Remote(ctx, l, "a"), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, "a", s)
		// GetActor now checks the class itself (TestSemanticsSim, "get
		// actor checks the class"); a handle of the wrong class made from
		// the ID still gets its calls refused.
		_, err = ray.GetActor(ctx, up, "log") // the name is a Log's
		require.ErrorIs(t, err, ray.ErrActorClass)
		_, err = ray.GetTimeout(ctx, upStep.Remote(ctx, ray.ActorHandleOf[classCounter](l.ID()), 1), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrUnknownFunction), "Up.step on a Log actor: got %v", err)
		// New with a name another class holds names both classes.
		h := up.Options(ray.ActorName("log")).New(ctx)
		require.ErrorIs(t, h.Err(), ray.ErrActorNameTaken)
		require.Contains(t, h.Err().Error(), `a "Log", not a "Up"`)
		return nil
	}))
}
