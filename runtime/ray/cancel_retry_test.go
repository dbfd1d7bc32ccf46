package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestReviewCancelledTaskRetriedAfterTombstoneAgedOut: a long task pinned
// (by resource x) to node x1 is cancelled while it runs: x1 marks it
// cancelled, every other raylet keeps a tombstone. Other cancels follow (a
// cancel-heavy run) and, two minutes on, x1 dies. The owner, which keeps no
// record of the cancel, retries the task; the only other node with x, x2,
// used to fail the placement from its tombstone. Now the tombstone has aged
// out and the cancelled task runs to completion.
// TestCancelledTaskIsNotRetried: a running task is cancelled (not forced):
// its node marks it, and every other raylet keeps a tombstone in case a
// placement crossed the cancel. Its node dies minutes later, and the owner
// used to retry it; the tombstones kept the retry from running only while
// they lasted for good, and they now age out (9f10fa9): the cancelled task
// ran to completion (found in review). The owner now remembers its cancel
// and fails the retry itself.
func TestCancelledTaskIsNotRetried(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "x1", CPUs: 2, Resources: map[string]float64{"x": 1}},
		{Name: "x2", CPUs: 2, Resources: map[string]float64{"x": 1}}}
	faultSim(t, s, ray.Config{Nodes: nodes}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		long := s.slow.Options(ray.NodeAffinity(x1, true), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 200_000)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // running on x1
		require.NoError(t, ray.Cancel(ctx, long))                  // x1 marks it; x2 and head keep a tombstone
		for range 2 {                                              // later cancels of other tasks rotate the tombstones
			require.NoError(t, ray.Compute(ctx, 61*time.Second))
			other := s.double.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
			require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
			require.NoError(t, ray.Cancel(ctx, other))
		}
		require.NoError(t, ray.Compute(ctx, time.Second))
		c.Netsim().Crash(netsim.NodeID(x1)) // the owner retries the task on x2
		_, err := ray.GetTimeout(ctx, long, 10*time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled, "a cancelled task ran to completion on its retry")
		return nil
	})
}
