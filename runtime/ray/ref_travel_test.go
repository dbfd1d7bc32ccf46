package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// refHolder carries a ref inside a value, as a task's result or argument.
type refHolder struct {
	R ray.Ref[int]
}

// TestFailedRefDoesNotTravel: a Ref whose submission failed (its Err set:
// here an option Ray refuses) carries no object. Encoded inside a value (a
// task's result, or an argument nested in a struct), it travelled as the
// zero object ID with its error dropped: the reader decoded a ref with a
// nil Err, and a Get of it waited for an object no task would ever make
// (a GetTimeout timed out, a Get hung). As ActorHandle's MarshalJSON does
// for a handle whose creation failed, the ref does not travel: its
// encoding fails with its error, so the task fails (Get of its result
// says why) and a Remote given it nested returns a ref with that error.
func TestFailedRefDoesNotTravel(t *testing.T) {
	s := newSuite()
	bad := func(ctx context.Context) ray.Ref[int] {
		return s.double.Options(ray.Resource("CPU", 1)).Remote(ctx, 1) // a custom resource named CPU: refused
	}
	ret := ray.Register0(s.reg, "returnsFailedRef", func(ctx context.Context) (refHolder, error) {
		return refHolder{R: bad(ctx)}, nil
	})
	take := ray.Register1(s.reg, "takesHolder", func(ctx context.Context, h refHolder) (int, error) {
		return ray.GetTimeout(ctx, h.R, 10*time.Second)
	})
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		require.ErrorIs(t, bad(ctx).Err(), ray.ErrInvalidOption)

		h, err := ray.GetTimeout(ctx, ret.Remote(ctx), 10*time.Second)
		if assert.Error(t, err, "a result holding a failed ref must not decode as a valid ref (got %v)", h.R) {
			assert.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "invalid option")
		}

		ref := take.Remote(ctx, refHolder{R: bad(ctx)})
		assert.ErrorIs(t, ref.Err(), ray.ErrInvalidOption, "a failed ref nested in an argument")
		if ref.Err() == nil {
			_, err := ray.GetTimeout(ctx, ref, 20*time.Second)
			t.Logf("the task given the failed ref: %v", err)
		}
	})
}

// TestCancelAndFreeOfFailedRef: Get and Wait of a ref whose submission
// failed return its error, but Cancel and Free took it for a ref to object
// 0 of task 0 and returned nil: the cancel went to every raylet and the
// scheduler (each leaving a tombstone for task 0), and the free to object
// t0.0's shard (a freed entry for an object no task makes, kept for good).
// They return the ref's error, as Get and Wait do, and send nothing.
func TestCancelAndFreeOfFailedRef(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		bad := s.double.Options(ray.Resource("CPU", 1)).Remote(ctx, 1)
		require.ErrorIs(t, bad.Err(), ray.ErrInvalidOption)
		assert.ErrorIs(t, ray.Cancel(ctx, bad), ray.ErrInvalidOption, "Cancel of a failed ref")
		good := s.double.Remote(ctx, 2)
		assert.ErrorIs(t, ray.Free(ctx, good, bad), ray.ErrInvalidOption, "Free of a failed ref")
		v, err := ray.Get(ctx, good)
		require.NoError(t, err, "a Free refused for a failed ref frees none of the others")
		assert.Equal(t, 4, v)
	})
}
