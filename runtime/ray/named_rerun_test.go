package ray_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRetriedTaskRecreatesItsNamedActor (QA): a task that creates a named
// actor and is run again (a retry after its own error, or a rebuild from
// lineage) creates the actor under the same derived ID; its New found the
// name held — by that very actor — and failed with ErrActorNameTaken,
// where an unnamed actor's re-creation joins the actor. The holder being
// the ID this creation gets is not a clash.
func TestRetriedTaskRecreatesItsNamedActor(t *testing.T) {
	s := newSuite()
	runs := 0
	mk := ray.Register1(s.reg, "mkNamed", func(ctx context.Context, name string) (int, error) {
		runs++
		h := s.counter.Options(ray.ActorName(name)).New(ctx, 1)
		if h.Err() != nil {
			return 0, h.Err()
		}
		v, err := ray.Get(ctx, s.incr.Remote(ctx, h, 1))
		if err != nil {
			return 0, err
		}
		if runs == 1 {
			return 0, errors.New("transient failure")
		}
		return v, nil
	})
	faultSim(t, s, ray.Config{}, func(ctx context.Context, c *ray.Sim) error {
		v, err := ray.Get(ctx, mk.Options(ray.MaxRetries(1), ray.RetryExceptions()).Remote(ctx, "kept"))
		require.NoError(t, err)
		assert.Equal(t, 2, runs, "one retry")
		assert.Positive(t, v)
		// Another creator is still refused the name.
		h := s.counter.Options(ray.ActorName("kept")).New(ctx, 1)
		assert.ErrorIs(t, h.Err(), ray.ErrActorNameTaken)
		return nil
	})
}
