package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// Found in a third review (dead actors, rebuilds, cancels sent with calls).

// Found in a third review of the session's cancel and dead-actor changes;
// each test failed before its fix.

// TestLateCancelThenRebuildOfActorCall: a call finished and was read; a
// cancel after that is a no-op (Ray). The result is lost (freed here; a
// node crash does the same) and the next read rebuilds it by re-running
// the call on the actor. The rebuild met the tombstone the late cancel
// left on the actor's node, and the second read got ErrCancelled where the
// first got 7. A rebuild now says so (TaskSpec.Rebuild), and tombstones
// leave it alone.
func TestLateCancelThenRebuildOfActorCall(t *testing.T) {
	reg, cls, echo := echoActors()
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		ref := echo.Options(ray.MaxRetries(2)).Remote(ctx, h, 7)
		v, err := ray.GetTimeout(ctx, ref, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, v)
		require.NoError(t, ray.Free(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		require.NoError(t, ray.Cancel(ctx, ref)) // finished long ago: a no-op
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		v, err = ray.GetTimeout(ctx, ref, 5*time.Second)
		require.NoError(t, err, "second read of the same ref")
		require.Equal(t, 7, v)
		return nil
	}))
}

// TestLateCancelThenRebuildOfTask: the same for a plain task (older).
func TestLateCancelThenRebuildOfTask(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		ref := s.double.Options(ray.Resource("w", 1)).Remote(ctx, 21)
		v, err := ray.GetTimeout(ctx, ref, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 42, v)
		require.NoError(t, ray.Free(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		require.NoError(t, ray.Cancel(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		v, err = ray.GetTimeout(ctx, ref, 5*time.Second)
		require.NoError(t, err, "second read of the same ref")
		require.Equal(t, 42, v)
		return nil
	})
}

// TestLateCancelThenCrashRebuildOfActorCall: as above with no Free: a task
// reads the call's result (7) on the actor's node; the driver, which never
// read it, cancels it (a no-op: it finished); the node crashes, the actor
// restarts on w2, and the driver's read rebuilds the result there, where
// the late cancel's tombstone fails it: ErrCancelled for a ref a reader saw
// as 7.
func TestLateCancelThenCrashRebuildOfActorCall(t *testing.T) {
	reg, cls, echo := echoActors()
	plus := ray.Register2(reg, "plus", func(ctx context.Context, a, b int) (int, error) { return a + b, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(2), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		w1 := ray.RayletID(1)
		h := cls.Options(ray.Resource("w", 1), ray.CPUs(0), ray.NodeAffinity(w1, true), ray.MaxRestarts(1)).New(ctx)
		ref := echo.Options(ray.MaxRetries(2)).Remote(ctx, h, 7)
		seen, err := ray.GetTimeout(ctx, plus.Options(ray.NodeAffinity(w1, false)).Remote(ctx, ref, 0), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, seen)
		require.NoError(t, ray.Cancel(ctx, ref)) // finished: a no-op
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w1))
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		v, err := ray.GetTimeout(ctx, ref, 10*time.Second)
		require.NoError(t, err, "a reader saw %d", seen)
		require.Equal(t, seen, v)
		return nil
	}))
}

// TestKilledActorFinishedCallKeepsItsValue: a call finished on its actor
// just before ray.Kill; the result's announcement to its shard is slow (a
// degraded link from the host to the call's shard, which is not the
// actor's). The owner heard the actor dead, asked the call's shard whether a
// result was recorded, heard no, and failed the call as ErrActorDied while
// the result existed on the host: a reader on the host got the value, the
// driver ErrActorDied. The owner no longer guesses from the table: a host
// that drops an actor tells the owners of the calls it held (CallBounced),
// a kill fails them there, and a call it finished has its TaskDone on the
// way.
func TestKilledActorFinishedCallKeepsItsValue(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1), GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		ref := slowResultCall(ctx, t, c, h.ID(), func() ray.Ref[int] { return s.nap.Remote(ctx, h, 200) })
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // the call is over on w
		require.NoError(t, ray.Kill(ctx, h))
		reader := s.add.Options(ray.NodeAffinity(w, false)).Remote(ctx, ref, 0)
		got, err := ray.GetTimeout(ctx, ref, time.Minute)
		seen, rerr := ray.GetTimeout(ctx, reader, time.Minute)
		t.Logf("driver: %v %v; reader on w: %v %v", got, err, seen, rerr)
		require.NoError(t, rerr)
		require.NoError(t, err, "the call finished before the kill; a reader on its host got %d", seen)
		require.Equal(t, seen, got)
		return nil
	})
}

// TestCancelledRetryFirstInLineDoesNotRun: as
// TestCancelOfRetriedCallWaitingForRestart, but the cancelled call is the
// first its caller has not seen done (the call before it had no retries and
// failed with the node). The owner delivered the call it knew cancelled to
// the restarted actor and sent the cancel after it; the actor, idle,
// started the call at once, and the cancel only marked it running: the
// incr changed the actor. The cancel now goes first.
func TestCancelledRetryFirstInLineDoesNotRun(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		busy := s.nap.Options(ray.MaxRetries(0)).Remote(ctx, h, 300)
		target := s.incr.Options(ray.MaxRetries(3)).Remote(ctx, h, 10)
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		_, err = ray.GetTimeout(ctx, busy, time.Minute)
		require.ErrorIs(t, err, ray.ErrActorDied)
		require.NoError(t, ray.Cancel(ctx, target))
		c.Netsim().Restart(netsim.NodeID(w))
		requireCancelledUnrun(ctx, t, target, s.get.Options(ray.MaxRetries(3)).Remote(ctx, h))
		return nil
	})
}

// TestWorkerCrashWhileConstructing: the actor's worker crashes (Raylet.Kill,
// a kill_actor fault) while its constructor runs. The loop ended without
// announcing it; the host's "restarting" report found the actor table
// without the actor alive there and was ignored as stale; no restart was
// placed and the creation never finished: a call waited for good (older).
// The crash of a creator's attempt is now reported once the actor is
// announced (scenarios/check/testdata/kill-while-restoring.yaml covers a
// GCS restart's).
func TestWorkerCrashWhileConstructing(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, 500*time.Millisecond)
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		h := slow.Options(ray.Resource("w", 1), ray.MaxRestarts(2)).New(ctx, 100)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // the constructor runs on w
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), time.Minute)
		t.Logf("get: %v %v; constructor runs %d", v, err, *made)
		require.False(t, errors.Is(err, ray.ErrTimeout), "the call waited for an actor nobody makes")
		return nil
	})
}

// Found in a fourth review (bounces from a dropped actor), failing before.

// TestRepeatedWorkerCrashChargesEachRetry: a call with MaxRetries(1) is
// running when its actor's worker crashes (Raylet.Kill) on w; the actor
// restarts on w (same node incarnation), the retry runs, and the worker
// crashes again. The second crash must exhaust the call's budget: at most
// 2 runs, then ErrActorDied.
func TestRepeatedWorkerCrashChargesEachRetry(t *testing.T) {
	s := newSuite()
	runs := 0
	long := ray.Method1(s.counter, "longrun", func(ctx context.Context, c *counter, ms int) (int, error) {
		runs++
		return c.n, ray.Compute(ctx, time.Duration(ms)*time.Millisecond)
	})
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(10)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		ref := long.Options(ray.MaxRetries(1)).Remote(ctx, h, 2000)
		for i := 0; i < 4; i++ {
			require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
			c.Raylet(1).Kill(h.ID(), "worker crashed")
		}
		v, err := ray.GetTimeout(ctx, ref, time.Minute)
		t.Logf("runs %d, result %v %v", runs, v, err)
		require.LessOrEqual(t, runs, 2, "a call allowed 1 retry ran %d times", runs)
		require.ErrorIs(t, err, ray.ErrActorDied)
		return nil
	})
}

// TestZombieMethodNestedSubmit: a method submitting nested work is running
// when its actor's worker crashes; the dropped run keeps going, and the
// retry on the restarted actor submits children with the same IDs.
func TestZombieMethodNestedSubmit(t *testing.T) {
	s := newSuite()
	other := s.counter
	nest := ray.Method1(s.counter, "nest", func(ctx context.Context, c *counter, ms int) (int, error) {
		a := s.slow.Remote(ctx, ms)
		v, err := ray.Get(ctx, a)
		if err != nil {
			return 0, err
		}
		return v + c.n, nil
	})
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(3)).New(ctx, 100)
		_ = other
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		var refs []ray.Ref[int]
		for i := 0; i < 3; i++ {
			refs = append(refs, nest.Options(ray.MaxRetries(3)).Remote(ctx, h, 400))
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		for _, ref := range refs {
			v, err := ray.GetTimeout(ctx, ref, time.Minute)
			require.NoError(t, err)
			require.Equal(t, 500, v)
		}
		return nil
	})
}

// TestBounceAfterDeathWhileLookupOut: an actor without restarts; the
// driver's first call went out with a lookup (asking, for a second). The
// worker crashes; the shard buries the actor and the driver hears "dead"
// before the host's CallBounced (w -> head slow). The bounce retries the
// call onto the dead route's pending list while the earlier lookup's
// asking flag is still set: no lookup goes out, nothing fails the call.
func TestBounceAfterDeathWhileLookupOut(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1)).New(ctx, 100)
		ref := s.nap.Options(ray.MaxRetries(2)).Remote(ctx, h, 2000)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // alive, the call runs
		c.Netsim().Degrade(netsim.NodeID(w), netsim.NodeID(ray.RayletID(0)), 300*time.Millisecond, 0)
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		_, err := ray.GetTimeout(ctx, ref, time.Minute)
		require.ErrorIs(t, err, ray.ErrActorDied)
		return nil
	})
}

// TestWorkerCrashFinishedCallKeepsItsValue: a call finished on its actor's
// host just before the actor's worker crashed; its TaskDone (from its own
// shard, slowed) came after the actor table's "restarting" (from the
// actor's), and the owner, taking that news for the end of every call it
// had delivered to the instance, failed the call (no retries) or ran it
// again: the driver read ErrActorDied where a reader on the host read the
// value (found in a fifth review). Calls are settled by what ended their
// instance, not by restart news.
func TestWorkerCrashFinishedCallKeepsItsValue(t *testing.T) {
	for _, retries := range []int{0, 1} {
		t.Run(map[int]string{0: "noretry", 1: "retry"}[retries], func(t *testing.T) {
			s := newSuite()
			faultSim(t, s, ray.Config{Nodes: withW(1), GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
				w := ray.RayletID(1)
				h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx, 100)
				_, err := ray.Get(ctx, s.get.Remote(ctx, h))
				require.NoError(t, err)
				ref := slowResultCall(ctx, t, c, h.ID(), func() ray.Ref[int] { return s.incr.Options(ray.MaxRetries(retries)).Remote(ctx, h, 1) })
				require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the call is over on w
				c.Raylet(1).Kill(h.ID(), "worker crashed")
				reader := s.add.Options(ray.NodeAffinity(w, false)).Remote(ctx, ref, 0)
				got, err := ray.GetTimeout(ctx, ref, time.Minute)
				seen, rerr := ray.GetTimeout(ctx, reader, time.Minute)
				t.Logf("driver: %v %v; reader on w: %v %v", got, err, seen, rerr)
				require.NoError(t, rerr)
				require.NoError(t, err, "the call finished before the crash; a reader on its host got %d", seen)
				require.Equal(t, seen, got)
				return nil
			})
		})
	}
}

// Found in a sixth review (liveness once restart news no longer settles
// calls), failing before.

// TestStaleDeathRetryThenWorkerCrash: w crashes and restarts at once; the
// actor restarts on w's new incarnation. The driver, whose news from the GCS
// is slow, still routes to w's old incarnation and sends a long call, which
// the new instance takes (attempt 0). Then NodeDead{w, old} comes: the call
// (delivered "to" the old incarnation) is retried, and attempt 1 reaches the
// same instance, which drops it as a duplicate. The instance's worker then
// crashes: its bounce names attempt 0, which the owner ignores. Nothing
// else settles the call.
func TestStaleDeathRetryThenWorkerCrash(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(3)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		for _, sh := range c.Layout().Shards {
			c.Netsim().Degrade(netsim.NodeID(sh), netsim.NodeID(ray.RayletID(0)), 1500*time.Millisecond, 0)
		}
		c.Netsim().Crash(netsim.NodeID(w))
		c.Netsim().Restart(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // the actor is up on w's new incarnation
		ref := s.nap.Options(ray.MaxRetries(3)).Remote(ctx, h, 3000)
		require.NoError(t, ray.Compute(ctx, 2500*time.Millisecond)) // the stale death came; the retry was a duplicate
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		t.Logf("nap: %v %v", v, err)
		require.False(t, errors.Is(err, ray.ErrTimeout), "the call waited for good")
		return nil
	})
}

// TestFinishedCallLateTaskDoneHoldsNextCall: a call (seq n) finished on its
// actor just before the actor's worker crashed; its TaskDone is slow. The
// actor restarts and the driver's next call (seq n+1) goes to the new
// instance, naming n not done (SeqBase n): the new instance waits for n.
// TaskDone(n) then settles n at the owner, and nothing ever sends n (or
// word that it is done) to the new instance: n+1 waits for good.
func TestFinishedCallLateTaskDoneHoldsNextCall(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1), GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		slowResultCall(ctx, t, c, h.ID(), func() ray.Ref[int] { return s.incr.Remote(ctx, h, 1) })
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the call is over on w
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the actor is up again on w
		next := s.get.Remote(ctx, h)
		v, err := ray.GetTimeout(ctx, next, 30*time.Second)
		t.Logf("next: %v %v", v, err)
		require.False(t, errors.Is(err, ray.ErrTimeout), "the next call waited for good")
		return nil
	})
}

// Found in a seventh review, failing before.

// TestOutOfOrderTaskDonesAfterRestart: two calls m < n finished on the
// actor; TaskDone(n) comes at once (its shard's link is fast), TaskDone(m)
// is slow. The worker crashes and the actor restarts; the next call p names
// m not done (SeqBase m). TaskDone(m) then sent CallsDone{m} alone to the
// new instance, which passed m and waited for n for good (the owner's done
// set went only with retries). It now sends the numbers done above m too.
func TestOutOfOrderTaskDonesAfterRestart(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1), GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		m := slowResultCall(ctx, t, c, h.ID(), func() ray.Ref[int] { return s.incr.Remote(ctx, h, 1) })
		slow := c.Layout().ShardOfTask(m.ObjectID().Task)
		for i := 0; i < 20; i++ {
			n := s.incr.Remote(ctx, h, 1)
			if l.ShardOfTask(n.ObjectID().Task) != slow {
				break
			}
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // all over on w; TaskDone(n) in
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the actor is up again on w
		next := s.get.Remote(ctx, h)
		v, err := ray.GetTimeout(ctx, next, 30*time.Second)
		t.Logf("next: %v %v", v, err)
		require.False(t, errors.Is(err, ray.ErrTimeout), "the next call waited for good")
		return nil
	})
}

// slowResultCall submits calls to actor (on raylet 1) until one's result
// goes to a GCS shard other than the actor's (each finished one is read
// first), then slows raylet 1's link to that shard by 400ms: the call's
// TaskDone comes well after any news of the actor. It returns that call.
func slowResultCall(ctx context.Context, t *testing.T, c *ray.Sim, actor transport.ActorID, submit func() ray.Ref[int]) ray.Ref[int] {
	t.Helper()
	l := c.Layout()
	for {
		ref := submit()
		if shard := l.ShardOfTask(ref.ObjectID().Task); shard != l.ShardOfTask(actor) {
			c.Netsim().Degrade(netsim.NodeID(ray.RayletID(1)), netsim.NodeID(shard), 400*time.Millisecond, 0)
			return ref
		}
		_, err := ray.Get(ctx, ref)
		require.NoError(t, err)
	}
}

// TestStaleDeathNoRetriesOneValue: the stale-death setting of
// TestStaleDeathRetryThenWorkerCrash with no retries: the owner failed the
// call (actor died) at the stale NodeDead, while the new instance ran it and
// published its value, and two reads disagreed (found in the seventh
// review). An ActorCall now names the incarnation it is meant for, and
// another bounces it.
func TestStaleDeathNoRetriesOneValue(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(3)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		for _, sh := range c.Layout().Shards {
			c.Netsim().Degrade(netsim.NodeID(sh), netsim.NodeID(ray.RayletID(0)), 1500*time.Millisecond, 0)
		}
		c.Netsim().Crash(netsim.NodeID(w))
		c.Netsim().Restart(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
		ref := s.nap.Options(ray.MaxRetries(0)).Remote(ctx, h, 3000)
		v1, err1 := ray.GetTimeout(ctx, ref, 30*time.Second)
		t.Logf("first read: %v %v", v1, err1)
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		v2, err2 := ray.GetTimeout(ctx, s.add.Options(ray.NodeAffinity(w, false)).Remote(ctx, ref, 0), 30*time.Second)
		t.Logf("read on w: %v %v", v2, err2)
		require.Equal(t, err1 == nil, err2 == nil, "two reads disagree")
		return nil
	})
}
