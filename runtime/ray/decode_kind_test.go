package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

type pair struct{ A, B int }

// An argument that does not decode into its parameter's type, found as
// the task runs (RegisterN's, a composite type's: Remote checks only
// numbers, strings and booleans), fails the task with ErrDecode: it read
// as ErrTaskFailed, the message alone naming the decode, and
// RetryExceptions retried what must fail alike.
func TestArgumentDecodeErrorIsErrDecode(t *testing.T) {
	reg := ray.NewRegistry()
	sum := ray.RegisterN(reg, "sumN", func(ctx context.Context, xs []int) (int, error) { return len(xs), nil })
	runs := 0
	first := ray.Register1(reg, "first", func(ctx context.Context, p pair) (int, error) { runs++; return p.A, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.Get(ctx, sum.Remote(ctx, 1, "two", 3))
		assert.ErrorIs(t, err, ray.ErrDecode)
		assert.NotErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "sumN: argument 2")
		_, err = ray.Get(ctx, first.Options(ray.RetryExceptions(), ray.MaxRetries(3)).Remote(ctx, []string{"x"}))
		assert.ErrorIs(t, err, ray.ErrDecode)
		assert.Zero(t, runs, "the function never ran, and was not retried")
		v, err := ray.Get(ctx, first.Remote(ctx, pair{A: 7}))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		return nil
	}))
}
