package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// Cancellation paths found in review (twelfth session); each test failed
// before its fix.

// TestNoopCancelDoesNotPoisonRebuild: a cancel of a task the caller knows
// finished (it has located the result) is a no-op. It used to leave a
// tombstone on every raylet that never saw the task, and a rebuild of the
// lost result placed on one of them failed as cancelled.
func TestNoopCancelDoesNotPoisonRebuild(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		ref := s.double.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(3)).Remote(ctx, 21)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{ref}, 1, 10*time.Second) // done; no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // TaskDone is in
		require.NoError(t, ray.Cancel(ctx, ref))                   // finished: a no-op
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w1)) // the only copy goes
		v, err := ray.GetTimeout(ctx, ref, 20*time.Second)
		require.NoError(t, err, "a no-op cancel of a finished task made its rebuild fail as cancelled")
		require.Equal(t, 42, v)
		return nil
	})
}

// TestCancelInSubmitQueueIsRemembered: a cancel made while the task was
// still in the caller's submission queue found no owned task to mark (the
// drain that owns it came after), so once the tombstones aged out a retry
// ran the cancelled task to completion. The owner's record is now marked
// after the drain.
func TestCancelInSubmitQueueIsRemembered(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		sim := c.Netsim()
		head, x1 := ray.RayletID(0), ray.RayletID(1)
		sim.Degrade(netsim.NodeID(head), netsim.NodeID(x1), 50*time.Millisecond, 0) // the cancel comes after the placement
		long := s.slow.Options(ray.NodeAffinity(x1, true), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 200_000)
		require.NoError(t, ray.Cancel(ctx, long)) // still in the submission queue
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Restore(netsim.NodeID(head), netsim.NodeID(x1))
		ageOutTombstones(ctx, t, s)
		sim.Crash(netsim.NodeID(x1))
		v, err := ray.GetTimeout(ctx, long, 10*time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled, "a task cancelled in the submission queue ran to completion on its retry (got %d)", v)
		return nil
	})
}

// TestBorrowerCancelIsRemembered: a cancel from a node that only holds the
// ref reaches the owner as a CancelTask; the owner did not mark its record,
// and a retry ran the cancelled task once the tombstones aged out.
func TestBorrowerCancelIsRemembered(t *testing.T) {
	s := newSuite()
	canceller := ray.Register1(s.reg, "cancelByID", func(ctx context.Context, task uint64) (int, error) {
		return 0, ray.Cancel(ctx, ray.RefOf[int](transport.ObjectID{Task: transport.TaskID(task)}))
	})
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1, x2 := ray.RayletID(1), ray.RayletID(2)
		long := s.slow.Options(ray.NodeAffinity(x1, true), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 200_000)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // running on x1
		_, err := ray.GetTimeout(ctx, canceller.Options(ray.NodeAffinity(x2, true)).Remote(ctx, uint64(long.ObjectID().Task)), 10*time.Second)
		require.NoError(t, err)
		ageOutTombstones(ctx, t, s)
		c.Netsim().Crash(netsim.NodeID(x1))
		v, err := ray.GetTimeout(ctx, long, 10*time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled, "a task cancelled by a borrower ran to completion on its retry (got %d)", v)
		return nil
	})
}

// TestCancelDoesNotEndActors: as in Ray, Cancel does not end an actor (Kill
// does). A cancel of a creation still in flight to its node left a
// tombstone there that failed the creation and told no one, so calls to
// the actor and its name waited for good; and a cancel of a live actor's
// creation (already done, so never a no-op to this node, which holds no
// result for it) left tombstones that failed the GCS's restart of the actor
// when its host died (found in review). Both are no-ops now.
func TestCancelDoesNotEndActors(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		h := s.counter.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRestarts(2), ray.ActorName("kept")).New(ctx, 5)
		require.NoError(t, ray.Cancel(ctx, ray.RefOf[int](transport.ObjectID{Task: h.ID()}))) // in flight to w1
		v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err, "a call to an actor whose creation was cancelled in flight")
		require.Equal(t, 5, v)
		_, err = ray.GetActor(ctx, s.counter, "kept")
		require.NoError(t, err)

		require.NoError(t, ray.Cancel(ctx, ray.RefOf[int](transport.ObjectID{Task: h.ID()}))) // a live actor's
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w1))
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		v, err = ray.GetTimeout(ctx, s.get.Options(ray.MaxRetries(3)).Remote(ctx, h), time.Minute)
		require.NoError(t, err, "the restart of an actor whose creation was cancelled")
		require.Equal(t, 5, v)
		return nil
	})
}
