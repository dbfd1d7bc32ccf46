package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

type streamBox struct {
	S *ray.Stream[int] `json:"s"`
}

// TestStreamDoesNotTravel: a *Stream given to a task (directly, inside a
// value, or to Put) is refused at submission with ErrBadArgs, as Ray
// refuses to pass an ObjectRefGenerator; and a zero Stream's Next fails
// with ErrZeroRef. Both were accepted, the receiving task (or the zero
// Stream's reader) waiting in Next for good (qaapi #9).
func TestStreamDoesNotTravel(t *testing.T) {
	reg := ray.NewRegistry()
	gen := ray.RegisterGen0(reg, "g3", func(ctx context.Context, yield func(int) error) error {
		for i := range 3 {
			if err := yield(i); err != nil {
				return err
			}
		}
		return nil
	})
	drain := func(ctx context.Context, s *ray.Stream[int]) (int, error) {
		n := 0
		for _, err := range s.All(ctx) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	consume := ray.Register1(reg, "consume", drain)
	consumeBox := ray.Register1(reg, "consumeBox", func(ctx context.Context, b streamBox) (int, error) { return drain(ctx, b.S) })
	c, err := ray.NewSim(ray.Config{Nodes: withW(2), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		s := gen.Remote(ctx)
		r := consume.Remote(ctx, s)
		require.ErrorIs(t, r.Err(), ray.ErrBadArgs)
		require.ErrorContains(t, r.Err(), "does not travel")
		_, err := ray.GetTimeout(ctx, r, 5*time.Second)
		require.ErrorIs(t, err, ray.ErrBadArgs)

		rb := consumeBox.Remote(ctx, streamBox{S: s})
		require.ErrorIs(t, rb.Err(), ray.ErrBadArgs)

		_, err = ray.Put(ctx, streamBox{S: s})
		require.ErrorIs(t, err, ray.ErrBadArgs)

		var zero ray.Stream[int]
		_, err = zero.NextTimeout(ctx, time.Second)
		require.ErrorIs(t, err, ray.ErrZeroRef)
		require.False(t, errors.Is(err, ray.ErrTimeout), "a zero Stream's Next waited: %v", err)

		// The stream itself still reads: the refusal did not touch it.
		n, err := drain(ctx, s)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		return nil
	}))
}
