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

// TestCancelAfterUnheardFinishOneAnswer: a task finishes on x1 while x1
// is cut off from the GCS (its result is never recorded); its owner
// cancels it, x1 is declared dead, and the owner fails the task as
// cancelled. x1 then rejoins with its store and announces the value. A
// read on x1 must agree with the owner's: ErrCancelled. It returned the
// value (two reads of one ref disagreed).
func TestCancelAfterUnheardFinishOneAnswer(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		sim := c.Netsim()
		ref := s.slow.Options(ray.NodeAffinity(x1, false), ray.Resource("x", 1)).Remote(ctx, 200)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on x1
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // done on x1; the GCS never heard
		require.NoError(t, ray.Cancel(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // x1 is declared dead
		_, err := ray.GetTimeout(ctx, ref, time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled, "the owner's read")
		readAfterRejoin(ctx, t, s, sim, x1, ref, 5*time.Second, ray.ErrCancelled)
		return nil
	})
}

// TestFailedAfterUnheardFinishOneAnswer: as TestCancelAfterUnheardFinishOneAnswer
// with no cancel: the task has no retries, so its owner fails it when x1 is
// declared dead (ErrRetriesExhausted), and x1 rejoins with the value. A
// read on x1 gave the value: the owner's failure was decided alone. The
// task table now records it (GcsTaskFailed), first, and refuses the value.
func TestFailedAfterUnheardFinishOneAnswer(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		sim := c.Netsim()
		ref := s.slow.Options(ray.NodeAffinity(x1, false), ray.Resource("x", 1), ray.MaxRetries(0)).Remote(ctx, 200)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on x1
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // done on x1, unheard; x1 is declared dead
		_, err := ray.GetTimeout(ctx, ref, time.Second)
		require.ErrorIs(t, err, ray.ErrRetriesExhausted, "the owner's read")
		readAfterRejoin(ctx, t, s, sim, x1, ref, 5*time.Second, ray.ErrRetriesExhausted)
		return nil
	})
}

// TestStaleQueuedRunServesRefusedValueLocally: a task with no retries is
// queued on x1 waiting for its argument when x1 is cut off from the GCS;
// x1 is declared dead, and the task table's verdict is the owner's
// failure (ErrRetriesExhausted). x1 rejoined keeping the queued run; a
// reader placed on x1 waited for the task's result locally (no GCS round
// trip), the stale run finished once its argument came, and its value woke
// the reader before the table refused it: one ref, two answers. A
// rejoining node now drops the runs of other owners' tasks it holds (their
// owners have moved on), as a restarted Ray raylet holds none. Found in
// review, by the fault search with collect's second read.
func TestStaleQueuedRunServesRefusedValueLocally(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1, x2 := ray.RayletID(1), ray.RayletID(2)
		sim := c.Netsim()
		a := s.slow.Options(ray.NodeAffinity(x2, false), ray.Resource("x", 1)).Remote(ctx, 4000)
		b := s.add.Options(ray.NodeAffinity(x1, false), ray.MaxRetries(0)).Remote(ctx, a, 1)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // b waits on x1 for a
		cutFromGCS(sim, x1)
		_, err := ray.GetTimeout(ctx, b, 3*time.Second) // x1 is declared dead: the table's verdict
		require.ErrorIs(t, err, ray.ErrRetriesExhausted, "the owner's read")
		readAfterRejoin(ctx, t, s, sim, x1, b, 500*time.Millisecond, ray.ErrRetriesExhausted)
		return nil
	})
}

// cutFromGCS cuts every message from node to the global scheduler and the
// GCS shards: its work goes on unheard, and it is declared dead.
func cutFromGCS(sim *netsim.Sim, node transport.NodeID) {
	sim.Cut(netsim.NodeID(node), netsim.NodeID(ray.SchedulerID))
	for j := range 64 { // more shards than any test cluster has
		sim.Cut(netsim.NodeID(node), netsim.NodeID(ray.ShardID(j)))
	}
}

// readAfterRejoin heals the network, lets node rejoin for settle, and reads
// ref there through a task: the read must fail with want, as the owner's
// did (two reads of one ref must agree).
func readAfterRejoin(ctx context.Context, t *testing.T, s *suite, sim *netsim.Sim, node transport.NodeID, ref ray.Ref[int], settle time.Duration, want error) {
	t.Helper()
	sim.Heal()
	require.NoError(t, ray.Compute(ctx, settle)) // node rejoins with its store
	v, err := ray.GetTimeout(ctx, s.add.Options(ray.NodeAffinity(node, false)).Remote(ctx, ref, 0), 10*time.Second)
	require.ErrorIs(t, err, want, "a read on node %d gave %d: two reads of one ref disagree", node, v)
}

// healAndRejoin heals the network and waits until node i, declared dead
// while cut off, has rejoined (it takes a new incarnation as it hears of
// its death, before its new registration is answered).
func healAndRejoin(ctx context.Context, c *ray.Sim, i int) error {
	inc := c.Raylet(i).Incarnation()
	c.Netsim().Heal()
	for c.Raylet(i).Incarnation() == inc {
		if err := ray.Compute(ctx, 100*time.Microsecond); err != nil {
			return err
		}
	}
	return nil
}

// onNode runs f as a driver on node i and waits for it to return.
func onNode(ctx context.Context, t *testing.T, c *ray.Sim, i int, f func(ctx context.Context) error) {
	t.Helper()
	done := false
	var err error
	require.NoError(t, c.Go(i, func(ctx context.Context) error {
		defer func() { done = true }()
		err = f(ctx)
		return nil
	}))
	for !done {
		require.NoError(t, ray.Compute(ctx, time.Millisecond))
	}
	require.NoError(t, err)
}

// TestRejoinedNodeDropsItsResults: as TestFailedAfterUnheardFinishOneAnswer,
// with a reader on x1 the moment x1 has rejoined (the class of the
// regression scenario rejoined-node-serves-unrecorded-copy, found by the
// fault search: there a task placed on x1 read the copy). x1 kept the
// value it had made, unrecorded, and served it to its readers before the
// task table's refusal of its re-announcement came back: the reader got
// the value, the owner the failure. A rejoining node now drops the results
// its dead incarnation made, as a restarted Ray raylet starts empty.
func TestRejoinedNodeDropsItsResults(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		sim := c.Netsim()
		ref := s.slow.Options(ray.NodeAffinity(x1, false), ray.Resource("x", 1), ray.MaxRetries(0)).Remote(ctx, 200)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on x1
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // done on x1, unheard; x1 is declared dead
		_, err := ray.GetTimeout(ctx, ref, time.Second)
		require.ErrorIs(t, err, ray.ErrRetriesExhausted, "the owner's read")
		require.NoError(t, healAndRejoin(ctx, c, 1))
		var v int
		onNode(ctx, t, c, 1, func(ctx context.Context) error {
			v, err = ray.GetTimeout(ctx, ref, 10*time.Second)
			return nil
		})
		require.ErrorIs(t, err, ray.ErrRetriesExhausted, "a read on x1 as it rejoined gave %d: two reads of one ref disagree", v)
		return nil
	})
}

// TestRejoinKeepsCallersActorDied: a rejoining node drops the results its
// runs made, not the errors it stored as an owner or caller. A call to a
// killed actor failed on the caller's node with ErrActorDied (in no table);
// the node was declared dead and rejoined, dropping that error, and a
// second read of the ref gave ErrObjectLost (the call has no retries to
// re-run it). Found in review of the drop.
func TestRejoinKeepsCallersActorDied(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1, x2 := ray.RayletID(1), ray.RayletID(2)
		var first, second error
		var v int
		onNode(ctx, t, c, 1, func(ctx context.Context) error {
			h := s.counter.Options(ray.NodeAffinity(x2, false)).New(ctx, 5)
			if _, err := ray.Get(ctx, s.get.Remote(ctx, h)); err != nil {
				return err
			}
			if err := ray.Kill(ctx, h); err != nil {
				return err
			}
			if err := ray.Compute(ctx, time.Second); err != nil {
				return err
			}
			ref := s.get.Remote(ctx, h) // failed on x1, the caller's node: ErrActorDied
			_, first = ray.GetTimeout(ctx, ref, 5*time.Second)
			cutFromGCS(c.Netsim(), x1)
			if err := ray.Compute(ctx, 5*time.Second); err != nil { // x1 is declared dead
				return err
			}
			if err := healAndRejoin(ctx, c, 1); err != nil {
				return err
			}
			v, second = ray.GetTimeout(ctx, ref, 20*time.Second)
			return nil
		})
		require.ErrorIs(t, first, ray.ErrActorDied)
		require.ErrorIs(t, second, ray.ErrActorDied, "the second read of one ref gave %d, %v", v, second)
		return nil
	})
}

// TestRejoinKeepsWhatItStores: a rejoining node fails its actors' calls,
// and a cancelled one's ErrCancelled is stored then, under the new
// incarnation and announced so; the rejoin's drop of the dead
// incarnation's results took it too, and its caller on the node waited
// for good for a copy the GCS said the node held. Found by the fault
// search (an rl driver's cancelled rollout on a restarted simulator).
func TestRejoinKeepsWhatItStores(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		var err error
		onNode(ctx, t, c, 1, func(ctx context.Context) error {
			h := s.counter.Options(ray.NodeAffinity(x1, false), ray.Detached()).New(ctx, 5) // outlives its creator's death
			if _, err := ray.Get(ctx, s.get.Remote(ctx, h)); err != nil {
				return err
			}
			ref := s.nap.Remote(ctx, h, 20000)
			if err := ray.Compute(ctx, 10*time.Millisecond); err != nil {
				return err
			}
			if err := ray.Cancel(ctx, ref); err != nil { // it runs on: marked cancelled
				return err
			}
			cutFromGCS(c.Netsim(), x1)
			if err := ray.Compute(ctx, 5*time.Second); err != nil { // x1 is declared dead
				return err
			}
			if err := healAndRejoin(ctx, c, 1); err != nil { // x1 drops its actor: the call fails as cancelled
				return err
			}
			_, err = ray.GetTimeout(ctx, ref, 5*time.Second) // read after the rejoin
			return nil
		})
		require.ErrorIs(t, err, ray.ErrCancelled)
		return nil
	})
}
