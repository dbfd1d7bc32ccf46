package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// A handle found by name (GetActor, or the handle a GetIfExists creator
// that lost the name gets) knew neither the actor's max_pending_calls nor
// its max_task_retries (MaxPendingCalls and MaxRetries on its creation):
// its calls were unbounded and not retried, where the creator's were.
// Ray keeps both with the actor (its creation spec); raysim's actor table
// keeps them too now (ActorSpec.Calls), and a lookup by name hands them
// to the handle it makes.
var foundHandleCases = []semanticCase{
	{"a handle found by name calls as the creator's (max_pending_calls, max_task_retries)", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.Options(ray.ActorName("bounded"), ray.MaxPendingCalls(2), ray.MaxRetries(2), ray.MaxRestarts(1),
			ray.NodeAffinity(ray.RayletID(1), true)).New(ctx, 7)
		require.NoError(t, h.Err())
		found, err := ray.GetActor(ctx, s.counter, "bounded")
		require.NoError(t, err)
		got := s.counter.Options(ray.ActorName("bounded"), ray.GetIfExists()).New(ctx, 9) // loses: the name is held
		require.NoError(t, got.Err())
		require.Equal(t, h.ID(), got.ID())
		for _, fh := range []ray.ActorHandle[counter]{found, got} {
			a, b := s.nap.Remote(ctx, fh, 200), s.nap.Remote(ctx, fh, 200)
			require.NoError(t, a.Err())
			require.NoError(t, b.Err())
			c := s.get.Remote(ctx, fh)
			assert.ErrorIs(t, c.Err(), ray.ErrPendingCallsLimitExceeded, "a third call while two run, through a handle found by name")
			_, err = ray.GetAll(ctx, []ray.Ref[int]{a, b}, 30*time.Second)
			require.NoError(t, err)
		}
		if s.crash == nil {
			return
		}
		at, err := ray.GetTimeout(ctx, s.here.Remote(ctx, found), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(1)), at)
		// A call in flight through the found handle when the actor's
		// node dies takes the actor's budget (2), as the creator's would.
		long := s.nap.Remote(ctx, found, 3000)
		_, _, err = ray.Wait(ctx, []ray.Ref[int]{long}, 1, 300*time.Millisecond) // let it reach the actor
		require.NoError(t, err)
		s.crash(1)
		v, err := ray.GetTimeout(ctx, long, 60*time.Second)
		require.NoError(t, err, "the call through the found handle is retried on the restarted actor")
		assert.Equal(t, 7, v, "on a fresh instance")
		// Found again after the restart: the table still has them.
		again, err := ray.GetActor(ctx, s.counter, "bounded")
		require.NoError(t, err)
		a, b := s.nap.Remote(ctx, again, 200), s.nap.Remote(ctx, again, 200)
		assert.ErrorIs(t, s.get.Remote(ctx, again).Err(), ray.ErrPendingCallsLimitExceeded, "after a restart")
		_, err = ray.GetAll(ctx, []ray.Ref[int]{a, b}, 30*time.Second)
		require.NoError(t, err)
	}},
}

func init() { semanticCases = append(semanticCases, foundHandleCases...) }
