package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestStaleRunSwallowsRetryOnRejoinedNode: a task pinned to x1 (hard
// affinity) runs there when x1 is cut off from the GCS and declared dead.
// Its owner retries it; the scheduler holds the retry until x1's new
// incarnation registers, and places it there. x1 rejoined keeping the old
// run (dropStaleRuns marks it stale: its interrupt ends the current block
// only, and code that goes on blocking again runs on), still in r.tasks:
// accept took the retry for a duplicate and dropped it, and finish then
// discarded the stale run's value. The owner waited for good.
func TestStaleRunSwallowsRetryOnRejoinedNode(t *testing.T) {
	s := newSuite()
	steps := registerSteps(s)
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		sim := c.Netsim()
		ref := steps.Options(ray.NodeAffinity(x1, false), ray.Resource("x", 1), ray.MaxRetries(1)).Remote(ctx, 100)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on x1
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 3*time.Second)) // x1 is declared dead, rejoins; the owner retries
		sim.Heal()                                          // x1's new incarnation registers: the retry goes there
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err, "the retry on x1's new incarnation never ran")
		require.Equal(t, 100, v)
		return nil
	})
}

// TestReaderAfterRejoinWaitsForStaleRun: as TestStaleRunSwallowsRetryOnRejoinedNode,
// with soft affinity: the owner's retry runs on x2. A reader placed on x1
// after it rejoined, while the stale run still runs there, found the stale
// run in r.tasks (localProducer) and waited for it locally without
// subscribing; finish discarded the stale run's value, and the reader
// waited for good though the retry's value was on x2.
func TestReaderAfterRejoinWaitsForStaleRun(t *testing.T) {
	s := newSuite()
	steps := registerSteps(s)
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		sim := c.Netsim()
		ref := steps.Options(ray.NodeAffinity(x1, true), ray.Resource("x", 1), ray.MaxRetries(1)).Remote(ctx, 100)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on x1
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 3*time.Second)) // x1 is declared dead, rejoins; the retry goes to x2
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // x1's new incarnation registers
		v, err := ray.GetTimeout(ctx, s.add.Options(ray.NodeAffinity(x1, false)).Remote(ctx, ref, 1), 40*time.Second)
		require.NoError(t, err, "a reader on x1 waited for the stale run")
		require.Equal(t, 101, v)
		v, err = ray.GetTimeout(ctx, ref, time.Second)
		require.NoError(t, err)
		require.Equal(t, 100, v)
		return nil
	})
}

// registerSteps registers "steps": n blocks of 100 ms, each a Compute
// whose error it ignores (code that goes on after an interrupt).
func registerSteps(s *suite) *ray.Func[int] {
	return ray.Register1(s.reg, "steps", func(ctx context.Context, n int) (int, error) {
		for range n {
			_ = ray.Compute(ctx, 100*time.Millisecond)
		}
		return n, nil
	})
}
