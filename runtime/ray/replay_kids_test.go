package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestReplayedCancelledCallKeepsItsChildren: as TestReplayedCancelledCallKeepsItsRun,
// with a method whose state depends on its child's result. A cancel of the
// running call now cancels its child (Caller.kids), so the first run saw
// ErrCancelled from it; the replay on the restarted actor, whose log keeps
// no cancel, runs the child to its value, and the state differs from the
// one callers saw. A replaying actor's calls must do what the first run did.
func TestReplayedCancelledCallKeepsItsChildren(t *testing.T) {
	s := newSuite()
	// child adds its child's value to the count, or 1000 if the child failed.
	child := ray.Method0(s.counter, "child", func(ctx context.Context, c *counter) (int, error) {
		v, err := ray.Get(ctx, s.slow.Remote(ctx, 500))
		if err != nil {
			v = 1000
		}
		c.n += v
		return c.n, nil
	})
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1), ray.ReplayMethods()).New(ctx, 0)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		running := child.Remote(ctx, h)
		_, err = ray.GetTimeout(ctx, running, 100*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, running))
		_, err = ray.Get(ctx, running)
		require.ErrorIs(t, err, ray.ErrCancelled)
		before, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		ageOutTombstones(ctx, t, s)
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		c.Netsim().Restart(netsim.NodeID(w))
		after, err := ray.GetTimeout(ctx, s.get.Options(ray.MaxRetries(3)).Remote(ctx, h), time.Minute)
		require.NoError(t, err)
		require.Equal(t, before, after, "the replay of a cancelled call did not redo its run")
		return nil
	})
}
