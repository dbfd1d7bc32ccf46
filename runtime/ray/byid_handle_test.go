package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// A handle rebuilt from an actor's ID (ray.ActorHandleOf) knew neither
// the actor's max_pending_calls nor its max_task_retries (MaxPendingCalls
// and MaxRetries on its creation): its calls were unbounded and not
// retried, where the creator's handle's and a handle found by name's were.
// A Ray handle carries them however it was obtained (Ray keeps them with
// the actor); such a handle now learns them at its first call.

// byIDFuncs are the functions of the by-ID handle cases (byIDCases).
type byIDFuncs struct {
	// third calls a counter, rebuilt from its ID, twice (nap 200 ms) and
	// a third time at once, from a task: 1 when the third is refused
	// (ErrPendingCallsLimitExceeded), 0 when not.
	third *ray.Func[int]
	// selfThird is third from the actor's own method, on a handle to
	// itself (ActorHandleOf(ray.ActorID(ctx))); its calls run after it.
	selfThird *ray.ActorMethod[counter, int]
}

func newByIDFuncs(s *suite) *byIDFuncs {
	f := &byIDFuncs{}
	third := func(ctx context.Context, h ray.ActorHandle[counter], ms int) (int, error) {
		a, b := s.nap.Remote(ctx, h, ms), s.nap.Remote(ctx, h, ms)
		if err := errors.Join(a.Err(), b.Err()); err != nil {
			return 0, err
		}
		refused := 0
		if err := s.get.Remote(ctx, h).Err(); errors.Is(err, ray.ErrPendingCallsLimitExceeded) {
			refused = 1
		} else if err != nil {
			return 0, err
		}
		return refused, nil
	}
	f.third = ray.Register1(s.reg, "byIDThird", func(ctx context.Context, id uint64) (int, error) {
		h := ray.ActorHandleOf[counter](ray.TaskIDOf(id))
		refused, err := third(ctx, h, 200)
		if err != nil {
			return 0, err
		}
		return refused, ray.Compute(ctx, time.Second) // the naps are done
	})
	f.selfThird = ray.Method0(s.counter, "selfThird", func(ctx context.Context, c *counter) (int, error) {
		return third(ctx, ray.ActorHandleOf[counter](ray.ActorID(ctx)), 1)
	})
	return f
}

var byIDCases = []semanticCase{
	{"a handle rebuilt from the actor's ID calls as the creator's (max_pending_calls, max_task_retries)", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.Options(ray.MaxPendingCalls(2), ray.MaxRetries(2), ray.MaxRestarts(1), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx, 7)
		require.NoError(t, h.Err())
		// From the creator's own node, another node, the actor itself.
		byID := ray.ActorHandleOf[counter](h.ID())
		a, b := s.nap.Remote(ctx, byID, 200), s.nap.Remote(ctx, byID, 200)
		require.NoError(t, a.Err())
		require.NoError(t, b.Err())
		assert.ErrorIs(t, s.get.Remote(ctx, byID).Err(), ray.ErrPendingCallsLimitExceeded, "a third call while two run, through a handle rebuilt from the ID")
		_, err := ray.GetAll(ctx, []ray.Ref[int]{a, b}, 30*time.Second)
		require.NoError(t, err)
		for _, node := range []int{0, 2} {
			v, err := ray.GetTimeout(ctx, s.byID.third.Options(ray.NodeAffinity(ray.RayletID(node), false)).Remote(ctx, uint64(h.ID())), 30*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 1, v, "from a task on node %d", node)
		}
		v, err := ray.GetTimeout(ctx, s.byID.selfThird.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1, v, "from the actor's own method")
		// An actor whose creation set none: nothing bounds its calls.
		free := s.counter.New(ctx, 1)
		v, err = ray.GetTimeout(ctx, s.byID.third.Remote(ctx, uint64(free.ID())), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 0, v, "no bound")
		if s.crash == nil {
			return
		}
		// A call in flight through the rebuilt handle when the actor's
		// node dies takes the actor's budget (2), as the creator's would.
		long := s.nap.Remote(ctx, byID, 3000)
		_, _, err = ray.Wait(ctx, []ray.Ref[int]{long}, 1, 300*time.Millisecond) // let it reach the actor
		require.NoError(t, err)
		s.crash(1)
		v, err = ray.GetTimeout(ctx, long, 60*time.Second)
		require.NoError(t, err, "the call through the rebuilt handle is retried on the restarted actor")
		assert.Equal(t, 7, v, "on a fresh instance")
	}},
}

func init() { semanticCases = append(semanticCases, byIDCases...) }
