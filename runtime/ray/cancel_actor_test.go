package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// Cancelling actor method calls, as in Ray: a queued call never runs, and
// its number is done for its caller's next calls; a running call or task is
// not interrupted, but ray.Cancelled tells it. (The semantic suite covers a
// call queued behind a running one, and a running one.)

func boxActor(reg *ray.Registry, ctorTime time.Duration) (*ray.ActorClass[box], *ray.ActorMethod[box, int]) {
	cls := ray.RegisterActor0(reg, "Box", func(ctx context.Context) (*box, error) {
		return &box{}, ray.Compute(ctx, ctorTime)
	})
	add := ray.Method1(cls, "add", func(ctx context.Context, b *box, x int) (int, error) { b.n += x; return b.n, nil })
	return cls, add
}

// TestCancelCallWaitingOnArgument: a call waiting at its actor for an
// argument is dropped by its cancel, and the caller's next call, which
// waited behind it, runs at once.
func TestCancelCallWaitingOnArgument(t *testing.T) {
	reg := ray.NewRegistry()
	cls, add := boxActor(reg, 0)
	slow := ray.Register1(reg, "slowValue", func(ctx context.Context, x int) (int, error) {
		return x, ray.Compute(ctx, 5*time.Second)
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.New(ctx)
		_, err := ray.Get(ctx, add.Remote(ctx, h, 0)) // it lives
		require.NoError(t, err)
		waiting := add.Remote(ctx, h, slow.Remote(ctx, 7))
		after := add.Remote(ctx, h, 1)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // both are at the actor
		require.NoError(t, ray.Cancel(ctx, waiting))
		_, err = ray.Get(ctx, waiting)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		v, err := ray.GetTimeout(ctx, after, time.Second)
		require.NoError(t, err, "the caller's next call waited behind its cancelled one")
		assert.Equal(t, 1, v)
		return nil
	}))
}

// TestCancelCallBeforeActorLives: a call cancelled while its actor is still
// being made (the caller holds it until the actor's place is known) never
// runs, and the calls after it keep their order.
func TestCancelCallBeforeActorLives(t *testing.T) {
	reg := ray.NewRegistry()
	cls, add := boxActor(reg, 500*time.Millisecond)
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.NodeAffinity(ray.RayletID(1), false)).New(ctx)
		first := add.Remote(ctx, h, 1)
		cancelled := add.Remote(ctx, h, 10)
		last := add.Remote(ctx, h, 1)
		require.NoError(t, ray.Cancel(ctx, cancelled))
		_, err := ray.Get(ctx, cancelled)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{first, last}, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, vs, "the cancelled call ran")
		return nil
	}))
}

// TestRunningTaskSeesItsCancel: ray.Cancelled tells a running task of its
// cancel (what code that blocks on nothing can check), and one that checks
// stops early; its Compute is interrupted too.
func TestRunningTaskSeesItsCancel(t *testing.T) {
	reg := ray.NewRegistry()
	spin := ray.Register0(reg, "spin", func(ctx context.Context) (int, error) {
		i := 0
		for ; i < 10_000 && !ray.Cancelled(ctx); i++ {
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return 0, err
			}
		}
		return i, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		assert.False(t, ray.Cancelled(ctx), "a driver is never cancelled")
		ref := spin.Remote(ctx)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs
		require.NoError(t, ray.Cancel(ctx, ref))
		_, err := ray.GetTimeout(ctx, ref, 100*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrCancelled, "the task did not stop when told")
		return nil
	}))
}

// TestLostCancelIsNotRebuiltByRunning: a task cancelled while it waited on
// x1 has its ErrCancelled stored there; x1 then dies with it, once the
// cancel's tombstones have aged out. A Get after the loss rebuilt the
// result by running the task, and returned its value: the task table kept
// no cancel. It now records one (GcsTaskFailed), and the rebuild is the
// cancel again.
func TestLostCancelIsNotRebuiltByRunning(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		on := func() ray.Option { return ray.NodeAffinity(x1, true) } // soft: retries and rebuilds may run on x2
		busy := s.slow.Options(on(), ray.Resource("x", 1)).Remote(ctx, 500)
		queued := s.slow.Options(on(), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 1)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // queued behind busy on x1
		require.NoError(t, ray.Cancel(ctx, queued))
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // its ErrCancelled is stored on x1
		ageOutTombstones(ctx, t, s)                                // only the task table remembers the cancel
		c.Netsim().Crash(netsim.NodeID(x1))
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // x1 is declared dead: the copy is lost
		v, err := ray.GetTimeout(ctx, queued, time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled, "a cancelled result lost with its node was rebuilt by running the task (got %d)", v)
		_, err = ray.GetTimeout(ctx, busy, time.Minute) // not cancelled: retried elsewhere
		require.NoError(t, err)
		return nil
	})
}

// TestReplayedCancelledCallKeepsItsRun: a running call of a replaying actor
// stopped early when it saw its cancel; replayed on the restarted actor it
// ran to its end (the log does not say it was cancelled), and the state
// differed from the one callers saw. A replaying actor's methods must be
// deterministic, so Cancelled says false to them (found in review).
func TestReplayedCancelledCallKeepsItsRun(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1), ray.ReplayMethods()).New(ctx, 0)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		running := s.spin.Remote(ctx, h)
		_, err = ray.GetTimeout(ctx, running, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, running))
		_, err = ray.Get(ctx, running)
		require.ErrorIs(t, err, ray.ErrCancelled)
		before, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		c.Netsim().Restart(netsim.NodeID(w))
		after, err := ray.GetTimeout(ctx, s.get.Options(ray.MaxRetries(3)).Remote(ctx, h), time.Minute)
		require.NoError(t, err)
		require.Equal(t, before, after, "the replay of a cancelled call did not redo its run")
		return nil
	})
}

// cancelQueuedThenCrash: a caller's call (seq 3) is cancelled while queued
// behind its seq 1 and 2, then the actor's node dies and the actor
// restarts. The cancelled number was done out of order (by the host, after
// wait; by the owner's retry, at once), and the restarted actor, told only
// the lowest number not done (SeqBase), waited for it for good, holding up
// the caller's seq 4 (found in review; the owner's case predates it).
func cancelQueuedThenCrash(t *testing.T, wait time.Duration) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		host := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.NodeAffinity(host, true), ray.MaxRestarts(1), ray.ReplayMethods()).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h)) // seq 0, done
		require.NoError(t, err)
		retry := ray.MaxRetries(3)
		busy := s.nap.Options(retry).Remote(ctx, h, 300)   // seq 1, runs 300ms
		first := s.incr.Options(retry).Remote(ctx, h, 1)   // seq 2
		queued := s.incr.Options(retry).Remote(ctx, h, 10) // seq 3
		last := s.incr.Options(retry).Remote(ctx, h, 1)    // seq 4
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		require.NoError(t, ray.Cancel(ctx, queued))
		require.NoError(t, ray.Compute(ctx, wait))
		c.Netsim().Crash(netsim.NodeID(host))
		_, err = ray.GetTimeout(ctx, queued, time.Minute)
		require.ErrorIs(t, err, ray.ErrCancelled)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{busy, first, last}, time.Minute)
		require.NoError(t, err, "the caller's last call waits on the restarted actor for the cancelled one's number")
		require.Equal(t, []int{100, 101, 102}, vs)
		return nil
	})
}

func TestHostCancelledCallLeavesNoHole(t *testing.T)  { cancelQueuedThenCrash(t, 50*time.Millisecond) }
func TestOwnerCancelledCallLeavesNoHole(t *testing.T) { cancelQueuedThenCrash(t, 0) }

// TestExhaustedCallInTheMiddleLeavesNoHole: the same hole, left by a call
// with no retries between calls with some: its owner fails it when the
// actor's node dies, and the restarted actor waited for its number.
func TestExhaustedCallInTheMiddleLeavesNoHole(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		host := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.NodeAffinity(host, true), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		retry := ray.MaxRetries(3)
		busy := s.nap.Options(retry).Remote(ctx, h, 300)
		once := s.incr.Options(ray.MaxRetries(0)).Remote(ctx, h, 10)
		last := s.incr.Options(retry).Remote(ctx, h, 1)
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(host))
		_, err = ray.GetTimeout(ctx, once, time.Minute)
		require.Error(t, err)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{busy, last}, time.Minute)
		require.NoError(t, err, "the caller's last call waits on the restarted actor for the failed one's number")
		require.Equal(t, []int{100, 101}, vs)
		return nil
	})
}

// TestCrashedActorWithoutRestartsFailsItsCalls: an actor with no restarts
// left loses its worker (a kill_actor fault) with calls queued on it. Its
// host drops them, as for a restart, and the actor table buries the actor:
// the caller's route went from alive to dead with nothing in between, and
// the calls it had delivered were never failed (found by the fault search
// once it drew kill_actor; it predates this session).
func TestCrashedActorWithoutRestartsFailsItsCalls(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		h := s.counter.Options(ray.Resource("w", 1)).New(ctx, 0)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		busy := s.nap.Remote(ctx, h, 300)
		queued := s.incr.Remote(ctx, h, 1)
		require.NoError(t, ray.Compute(ctx, 50*time.Millisecond))
		c.Raylet(1).Kill(h.ID(), "worker crashed")
		for _, ref := range []ray.Ref[int]{busy, queued} {
			_, err := ray.GetTimeout(ctx, ref, time.Minute)
			require.ErrorIs(t, err, ray.ErrActorDied)
		}
		return nil
	})
}

// Found in review of CallsDone and the first-attempt tombstone rule.

func slowIncr(s *suite, d time.Duration) (*ray.ActorClass[counter], *ray.ActorMethod[counter, int], *ray.ActorMethod[counter, int]) {
	cls := ray.RegisterActor1(s.reg, "SlowIncr", func(ctx context.Context, start int) (*counter, error) {
		return &counter{n: start}, ray.Compute(ctx, d)
	})
	incr := ray.Method1(cls, "incr", func(ctx context.Context, c *counter, by int) (int, error) { c.n += by; return c.n, nil })
	nap := ray.Method1(cls, "nap", func(ctx context.Context, c *counter, ms int) (int, error) {
		return c.n, ray.Compute(ctx, time.Duration(ms)*time.Millisecond)
	})
	return cls, incr, nap
}

// TestCancelOfRetriedCallReachingTombstone: a retried call waits with its
// owner for the actor's restart on w2 when it is cancelled; the owner only
// marks its record, w2 keeps a tombstone, and the retry, delivered once the
// actor was up, ran: tombstones were checked for first attempts only.
func TestCancelOfRetriedCallReachingTombstone(t *testing.T) {
	s := newSuite()
	cls, incr, nap := slowIncr(s, 3*time.Second)
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		host := ray.RayletID(1)
		h := cls.Options(ray.Resource("w", 1), ray.NodeAffinity(host, true), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, incr.Remote(ctx, h, 0))
		require.NoError(t, err)
		retry := ray.MaxRetries(3)
		busy := nap.Options(retry).Remote(ctx, h, 300)
		target := incr.Options(retry).Remote(ctx, h, 10)
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(host))
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // retried; the restart is being made on w2
		require.NoError(t, ray.Cancel(ctx, target))
		_, err = ray.GetTimeout(ctx, busy, time.Minute)
		require.NoError(t, err)
		requireCancelledUnrun(ctx, t, target, incr.Options(retry).Remote(ctx, h, 0))
		return nil
	})
}

// TestCancelOfRetriedCallWaitingForRestart: the same with the actor's only
// node down when the cancel is sent: its next incarnation has no
// tombstone, and the retry ran. The owner now sends its cancel with the
// call it delivers (ahead of it).
func TestCancelOfRetriedCallWaitingForRestart(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(1)}, func(ctx context.Context, c *ray.Sim) error {
		w := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		retry := ray.MaxRetries(3)
		busy := s.nap.Options(retry).Remote(ctx, h, 300)
		target := s.incr.Options(retry).Remote(ctx, h, 10)
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		require.NoError(t, ray.Cancel(ctx, target))
		c.Netsim().Restart(netsim.NodeID(w))
		_, err = ray.GetTimeout(ctx, busy, time.Minute)
		require.NoError(t, err)
		requireCancelledUnrun(ctx, t, target, s.get.Options(retry).Remote(ctx, h))
		return nil
	})
}

// TestManyFailedCallsFitCallsDone: over 4,096 calls without retries fail
// behind a running call with some when the actor's node dies; the retry's
// CallsDone listed them all, more than a message may carry, and the frame
// was refused.
func TestManyFailedCallsFitCallsDone(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		host := ray.RayletID(1)
		h := s.counter.Options(ray.Resource("w", 1), ray.NodeAffinity(host, true), ray.MaxRestarts(1)).New(ctx, 100)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		busy := s.nap.Options(ray.MaxRetries(3)).Remote(ctx, h, 300)
		for range transport.MaxCallsDone + 4 {
			s.incr.Options(ray.MaxRetries(0)).Remote(ctx, h, 1)
		}
		require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(host))
		v, err := ray.GetTimeout(ctx, busy, time.Minute)
		require.NoError(t, err)
		require.Equal(t, 100, v)
		return nil
	})
}

// requireCancelledUnrun: target, an incr cancelled before it could run,
// failed as cancelled, and read (a call after it) finds the counter as
// created (100).
func requireCancelledUnrun(ctx context.Context, t *testing.T, target, read ray.Ref[int]) {
	t.Helper()
	v, err := ray.GetTimeout(ctx, target, time.Minute)
	require.ErrorIs(t, err, ray.ErrCancelled, "the cancelled call ran on the restarted actor (got %d)", v)
	n, err := ray.GetTimeout(ctx, read, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 100, n, "the cancelled incr changed the actor")
}
