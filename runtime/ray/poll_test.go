package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// A timeout of 0 is a poll on every transport: GetTimeout and Wait report
// what is ready now. In netsim a timer of 0 fired after a local task that
// ended at the same virtual instant, so a poll right after a submission
// read its result there and timed out on TCP.
func init() {
	semanticCases = append(semanticCases, semanticCase{"a timeout of 0 polls", func(t *testing.T, ctx context.Context, s *suite) {
		done := s.double.Remote(ctx, 1)
		v, err := ray.Get(ctx, done)
		require.NoError(t, err)
		require.Equal(t, 2, v)
		v, err = ray.GetTimeout(ctx, done, 0)
		require.NoError(t, err, "a poll of what is here")
		assert.Equal(t, 2, v)

		fresh := s.double.Remote(ctx, 2)
		_, err = ray.GetTimeout(ctx, fresh, 0)
		assert.ErrorIs(t, err, ray.ErrTimeout, "a task just submitted cannot be done at the poll")
		other := s.double.Remote(ctx, 3)
		ready, notReady, err := ray.Wait(ctx, []ray.Ref[int]{done, other}, 2, 0)
		require.NoError(t, err)
		assert.Equal(t, []ray.Ref[int]{done}, ready)
		assert.Equal(t, []ray.Ref[int]{other}, notReady)
		for _, r := range []ray.Ref[int]{fresh, other} { // they still run
			_, err := ray.Get(ctx, r)
			require.NoError(t, err)
		}
	}})
}
