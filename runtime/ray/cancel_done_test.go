package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestCancelAfterLostTaskDoneRebuilds: a task finishes and the GCS records
// its result, but the owner's TaskDone dies with the chain's tail, so the
// owner still owns it. The driver then cancels it (for a finished task a
// no-op, as in Ray), and the node holding the result dies. The owner, which
// remembers its cancel (a cancelled run must not be retried once the
// raylets' tombstones age out), used to fail the task as cancelled; it now
// asks the object table first, finds the result was recorded, and a read
// rebuilds it (found in review).
func TestCancelAfterLostTaskDoneRebuilds(t *testing.T) {
	s := newSuite()
	cfg := ray.Config{Nodes: withW(2), GCSShards: 2, GCSReplicas: 3}
	faultSim(t, s, cfg, func(ctx context.Context, c *ray.Sim) error {
		sim, l := c.Netsim(), c.Layout()
		head := ray.RayletID(0)
		ref := s.double.Options(ray.Resource("w", 1), ray.MaxRetries(3)).Remote(ctx, 21)
		j, ok := l.ShardIndex(l.ShardOfObject(ref.ObjectID()))
		require.True(t, ok)
		tail := ray.ReplicaID(j, 2)
		sim.Cut(netsim.NodeID(tail), netsim.NodeID(head))
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // done, recorded
		sim.Crash(netsim.NodeID(tail))                             // with the TaskDone to the owner
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		require.NoError(t, ray.Cancel(ctx, ref)) // the task is over: a no-op
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		bounceWorkers(ctx, t, sim)
		v, err := ray.GetTimeout(ctx, ref, 20*time.Second)
		require.NoError(t, err, "a task cancelled after it finished failed as cancelled")
		require.Equal(t, 42, v)
		return nil
	})
}

// TestCancelledRebuildIsNotRunAgain: a read rebuilds a freed result, so the
// driver's node owns the rebuild; the driver cancels it and the node running
// it dies. The object table knows the result from the first run, so asking
// it (checkCancel) said "finished", and the cancelled rebuild was run again
// to completion (found in review of 12e2dab). A cancelled rebuild now fails
// at once.
func TestCancelledRebuildIsNotRunAgain(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		sim := c.Netsim()
		ref := s.slow.Options(ray.Resource("w", 1), ray.MaxRetries(3)).Remote(ctx, 3000)
		v, err := ray.GetTimeout(ctx, ref, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 3000, v)
		require.NoError(t, ray.Free(ctx, ref)) // the only copies go: a read rebuilds from lineage
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		_, err = ray.GetTimeout(ctx, ref, time.Second) // starts the rebuild, owned here
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, ref)) // the rebuild runs: its node marks it
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		bounceWorkers(ctx, t, sim) // the rebuild's node dies before it finishes
		v, err = ray.GetTimeout(ctx, ref, 20*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled, "a cancelled rebuild was run again (got %d)", v)
		return nil
	})
}

// TestCancelCheckWaitsForASlowTable: as TestCancelAfterLostTaskDoneRebuilds,
// with the owner's links to the task's shard slowed by 1.5s each way when
// the owner asks whether the task's result was recorded. The owner took a
// second's silence for "not recorded" and failed the finished task as
// cancelled; it now asks the task table, which answers either way, and
// waits for the answer.
func TestCancelCheckWaitsForASlowTable(t *testing.T) {
	s := newSuite()
	cfg := ray.Config{Nodes: withW(2), GCSShards: 2, GCSReplicas: 3}
	faultSim(t, s, cfg, func(ctx context.Context, c *ray.Sim) error {
		sim, l := c.Netsim(), c.Layout()
		head := netsim.NodeID(ray.RayletID(0))
		ref := s.double.Options(ray.Resource("w", 1), ray.MaxRetries(3)).Remote(ctx, 21)
		j, ok := l.ShardIndex(l.ShardOfObject(ref.ObjectID()))
		require.True(t, ok)
		tail := netsim.NodeID(ray.ReplicaID(j, 2))
		sim.Cut(tail, head)
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // done, recorded
		sim.Crash(tail)                                            // with the TaskDone to the owner
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		require.NoError(t, ray.Cancel(ctx, ref)) // the task is over: a no-op
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		for i := 0; i < 2; i++ {
			r := netsim.NodeID(ray.ReplicaID(j, i))
			sim.Degrade(head, r, 1500*time.Millisecond, 0)
			sim.Degrade(r, head, 1500*time.Millisecond, 0)
		}
		bounceWorkers(ctx, t, sim)
		v, err := ray.GetTimeout(ctx, ref, time.Minute)
		require.NoError(t, err, "a slow task table made a finished task fail as cancelled")
		require.Equal(t, 42, v)
		return nil
	})
}
