package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestCancelledTaskIsNotRetried: a running task is cancelled (not forced):
// its node marks it, and every other raylet keeps a tombstone in case a
// placement crossed the cancel. Its node dies minutes later, and the owner
// used to retry it; the tombstones kept the retry from running only while
// they lasted for good, and they now age out (9f10fa9): the cancelled task
// ran to completion (found in review). The owner now remembers its cancel
// and fails the retry itself.
func TestCancelledTaskIsNotRetried(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		long := s.slow.Options(ray.NodeAffinity(x1, true), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 200_000)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // running on x1
		require.NoError(t, ray.Cancel(ctx, long))                  // x1 marks it; x2 and head keep a tombstone
		ageOutTombstones(ctx, t, s)
		c.Netsim().Crash(netsim.NodeID(x1)) // the owner retries the task on x2
		_, err := ray.GetTimeout(ctx, long, 10*time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled, "a cancelled task ran to completion on its retry")
		return nil
	})
}

// xNodes is a head and two nodes with the custom resource "x": a task that
// asks for x runs on x1 or x2, and is retried on the other.
func xNodes() []ray.NodeConfig {
	return []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "x1", CPUs: 2, Resources: map[string]float64{"x": 1}},
		{Name: "x2", CPUs: 2, Resources: map[string]float64{"x": 1}}}
}

// ageOutTombstones lets two tombstone ages pass, each ended by a cancel of
// another task (cancels rotate the raylets' tombstones), so every
// tombstone of an earlier cancel is gone.
func ageOutTombstones(ctx context.Context, t *testing.T, s *suite) {
	for range 2 {
		require.NoError(t, ray.Compute(ctx, 61*time.Second))
		other := s.double.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
		require.NoError(t, ray.Cancel(ctx, other))
	}
	require.NoError(t, ray.Compute(ctx, time.Second))
}

// bounceWorkers crashes the worker nodes 1 and 2 together, and restarts
// them once they are declared dead.
func bounceWorkers(ctx context.Context, t *testing.T, sim *netsim.Sim) {
	for _, w := range []int{1, 2} {
		sim.Crash(netsim.NodeID(ray.RayletID(w)))
	}
	require.NoError(t, ray.Compute(ctx, 2*time.Second))
	for _, w := range []int{1, 2} {
		sim.Restart(netsim.NodeID(ray.RayletID(w)))
	}
}
