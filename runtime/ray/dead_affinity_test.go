package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Hard node affinity to a dead node (QA28b finding 3). Ray's
// NodeAffinitySchedulingStrategy with soft=False fails a task or actor
// whose node is gone (TaskUnschedulableError, ActorUnschedulableError): a
// dead Ray node never comes back. raysim held such a task, or actor
// creation, until the node came back, which on TCP is never: Get waited
// for good. Now one pinned to a node declared dead fails with
// ErrUnschedulable, when it is submitted after the death and when it is
// pending at the death (held for the node's resources, or running there
// and retried by its owner); an actor pinned there with restarts left is
// dead, its restart never placed.
func init() { semanticCases = append(semanticCases, deadAffinityCases...) }

var deadAffinityCases = []semanticCase{
	{"hard affinity to a node that died fails unschedulable", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		on1 := ray.NodeAffinity(ray.RayletID(1), false)
		dead := fmt.Sprintf("node %d is dead", ray.RayletID(1))
		// Node 1's only "special" is held by an actor; a second actor
		// pinned there waits for it (held by the global scheduler), and
		// a task runs there.
		holder := s.counter.Options(on1, ray.Resource("special", 1)).New(ctx, 1)
		_, err := ray.Get(ctx, s.get.Remote(ctx, holder))
		require.NoError(t, err)
		restartable := s.counter.Options(on1, ray.MaxRestarts(2)).New(ctx, 4)
		_, err = ray.Get(ctx, s.get.Remote(ctx, restartable))
		require.NoError(t, err)
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // the scheduler hears the holder's node
		waiting := s.counter.Options(on1, ray.Resource("special", 1)).New(ctx, 2)
		running := s.slow.Options(on1).Remote(ctx, 60000)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		s.crash(1)
		// Pending at the death: the held creation fails (its calls say
		// it can never be placed), and so does the running task's retry.
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, waiting), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied, "an actor held for the dead node's resources")
		assert.Contains(t, err.Error(), dead)
		_, err = ray.GetTimeout(ctx, running, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrUnschedulable, "a task running on the node, retried")
		assert.Contains(t, err.Error(), dead)
		// An actor pinned there with restarts left: its restart can
		// never be placed, so it is dead.
		err = awaitActorDied(ctx, s, restartable)
		require.ErrorIs(t, err, ray.ErrActorDied, "a restartable actor on the node")
		assert.Contains(t, err.Error(), dead)
		// Submitted after the death.
		_, err = ray.GetTimeout(ctx, s.where.Options(on1).Remote(ctx), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrUnschedulable, "a task submitted after")
		assert.Contains(t, err.Error(), dead)
		late := s.counter.Options(on1).New(ctx, 3)
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, late), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied, "an actor created after")
		assert.Contains(t, err.Error(), dead)
		// Soft affinity runs elsewhere, as before.
		v, err := ray.GetTimeout(ctx, s.where.Options(ray.NodeAffinity(ray.RayletID(1), true)).Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.NotEqual(t, uint64(ray.RayletID(1)), v)
	}},
}
