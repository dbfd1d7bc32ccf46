package ray_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// gate is the threaded actors' test actor (ray.MaxConcurrency): it counts
// the methods that started, the most in flight at once, and the order in
// which tagged methods started. Its methods may run at once (on TCP on
// goroutines at once), hence the lock.
type gate struct {
	mu       sync.Mutex
	started  int
	inflight int
	most     int
	order    []int
}

// in counts a method in: it started (its tag recorded when not negative).
func (g *gate) in(tag int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.started++
	g.inflight++
	g.most = max(g.most, g.inflight)
	if tag >= 0 {
		g.order = append(g.order, tag)
	}
	return g.started
}

func (g *gate) out() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
}

func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started
}

// meetArgs: meet returns once N methods have started, polling every
// millisecond for at most Steps milliseconds.
type meetArgs struct{ N, Steps int }

// enterArgs: enter records Tag as it starts and computes for Ms.
type enterArgs struct{ Tag, Ms int }

// selfArgs: callSelf calls enter on H (its own actor) and waits for the
// result at most Ms.
type selfArgs struct {
	H  ray.ActorHandle[gate]
	Ms int
}

// gates is the registry of the threaded actor tests: the Gate class and
// its methods.
type gates struct {
	reg      *ray.Registry
	cls      *ray.ActorClass[gate]
	meet     *ray.ActorMethod[gate, int]
	enter    *ray.ActorMethod[gate, int]
	callSelf *ray.ActorMethod[gate, int]
	most     *ray.ActorMethod[gate, int]
	order    *ray.ActorMethod[gate, []int]
	// spin computes a millisecond at a time until it is cancelled (at
	// most its argument's steps) and returns the steps it took.
	spin *ray.ActorMethod[gate, int]
	// where returns the node the actor runs on.
	where *ray.ActorMethod[gate, uint64]
	// later is a task that computes for ms and then returns a's
	// arguments: an argument that comes late.
	later *ray.Func[enterArgs]
}

func newGates(reg *ray.Registry) *gates {
	g := &gates{reg: reg}
	g.cls = ray.RegisterActor0(reg, "Gate", func(ctx context.Context) (*gate, error) { return &gate{}, nil })
	g.meet = ray.Method1(g.cls, "meet", func(ctx context.Context, s *gate, a meetArgs) (int, error) {
		s.in(-1)
		defer s.out()
		for range a.Steps {
			if n := s.count(); n >= a.N {
				return n, nil
			}
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return 0, err
			}
		}
		return 0, fmt.Errorf("only %d of %d methods started", s.count(), a.N)
	})
	g.enter = ray.Method1(g.cls, "enter", func(ctx context.Context, s *gate, a enterArgs) (int, error) {
		s.in(a.Tag)
		defer s.out()
		return a.Tag, ray.Compute(ctx, time.Duration(a.Ms)*time.Millisecond)
	})
	g.callSelf = ray.Method1(g.cls, "callSelf", func(ctx context.Context, s *gate, a selfArgs) (int, error) {
		s.in(-1)
		defer s.out()
		return ray.GetTimeout(ctx, g.enter.Remote(ctx, a.H, enterArgs{Tag: 99}), time.Duration(a.Ms)*time.Millisecond)
	})
	g.spin = ray.Method1(g.cls, "spin", func(ctx context.Context, s *gate, steps int) (int, error) {
		s.in(-1)
		defer s.out()
		i := 0
		for ; i < steps && !ray.Cancelled(ctx); i++ {
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return i, err
			}
		}
		return i, nil
	})
	g.later = ray.Register2(reg, "later", func(ctx context.Context, a enterArgs, ms int) (enterArgs, error) {
		return a, ray.Compute(ctx, time.Duration(ms)*time.Millisecond)
	})
	g.where = ray.Method0(g.cls, "where", func(ctx context.Context, s *gate) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	g.most = ray.Method0(g.cls, "most", func(ctx context.Context, s *gate) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.most, nil
	})
	g.order = ray.Method0(g.cls, "order", func(ctx context.Context, s *gate) ([]int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Clone(s.order), nil
	})
	return g
}

// threadedCases are the threaded actor cases of the semantic suite: they
// run on netsim (TestSemanticsSim) and on loopback TCP (TestSemanticsTCP).
var threadedCases = []semanticCase{
	{"threaded actor runs methods at once", func(t *testing.T, ctx context.Context, s *suite) {
		// Each call returns once all four have started: one at a time,
		// the first would wait for good (here: fail after its steps).
		h := s.gates.cls.Options(ray.MaxConcurrency(4)).New(ctx)
		var refs []ray.Ref[int]
		for range 4 {
			refs = append(refs, s.gates.meet.Remote(ctx, h, meetArgs{N: 4, Steps: 10000}))
		}
		vs, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		for _, v := range vs {
			assert.GreaterOrEqual(t, v, 4)
		}
		// Never more than four at once. (The raylet starts the calls in
		// their caller's order; on TCP their goroutines may reach the
		// method's first line in another: TestThreadedActorStartOrder
		// checks the order on netsim.)
		refs = refs[:0]
		for i := range 10 {
			refs = append(refs, s.gates.enter.Remote(ctx, h, enterArgs{Tag: i, Ms: 20}))
		}
		_, err = ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 4, most, "methods in flight at once")
		order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, order)
	}},
	{"threaded actor's method waits on a call to its own actor", func(t *testing.T, ctx context.Context, s *suite) {
		// A threaded actor runs the call while the method blocks in Get;
		// one at a time, the Get deadlocks (here: times out).
		h := s.gates.cls.Options(ray.MaxConcurrency(2)).New(ctx)
		v, err := ray.GetTimeout(ctx, s.gates.callSelf.Remote(ctx, h, selfArgs{H: h, Ms: 10000}), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 99, v)
		one := s.gates.cls.New(ctx)
		_, err = ray.GetTimeout(ctx, s.gates.callSelf.Remote(ctx, one, selfArgs{H: one, Ms: 200}), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "timed out")
	}},
	{"max concurrency 1 runs methods one at a time", func(t *testing.T, ctx context.Context, s *suite) {
		for _, cls := range []*ray.ActorClass[gate]{s.gates.cls, s.gates.cls.Options(ray.MaxConcurrency(1))} {
			h := cls.New(ctx)
			first := s.gates.meet.Remote(ctx, h, meetArgs{N: 2, Steps: 200})
			second := s.gates.meet.Remote(ctx, h, meetArgs{N: 2, Steps: 200})
			_, err := ray.GetTimeout(ctx, first, 30*time.Second)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "only 1 of 2 methods started")
			v, err := ray.GetTimeout(ctx, second, 30*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 2, v)
			var refs []ray.Ref[int]
			for i := range 5 {
				refs = append(refs, s.gates.enter.Remote(ctx, h, enterArgs{Tag: i, Ms: 5}))
			}
			_, err = ray.GetAll(ctx, refs, 30*time.Second)
			require.NoError(t, err)
			most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 1, most)
			order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, []int{0, 1, 2, 3, 4}, order)
		}
	}},
	{"threaded actor's calls finish out of order", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.gates.cls.Options(ray.MaxConcurrency(2)).New(ctx)
		slow := s.gates.enter.Remote(ctx, h, enterArgs{Tag: 1, Ms: 2000})
		fast := s.gates.enter.Remote(ctx, h, enterArgs{Tag: 2, Ms: 1})
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{slow, fast}, 1, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []ray.Ref[int]{fast}, ready, "the later, shorter call finishes first")
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{slow, fast}, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, vs)
	}},
	{"cancel a threaded actor's running call", func(t *testing.T, ctx context.Context, s *suite) {
		// The cancel reaches the call it names among those running (not
		// interrupted: Cancelled tells its code); the others run on.
		h := s.gates.cls.Options(ray.MaxConcurrency(3)).New(ctx)
		_, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second) // it lives
		require.NoError(t, err)
		first := s.gates.spin.Remote(ctx, h, 5000)
		second := s.gates.spin.Remote(ctx, h, 300)
		_, err = ray.GetTimeout(ctx, first, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		v, err := ray.GetTimeout(ctx, s.gates.enter.Remote(ctx, h, enterArgs{Tag: 7, Ms: 1}), 10*time.Second)
		require.NoError(t, err, "a third call runs beside the two")
		assert.Equal(t, 7, v)
		require.NoError(t, ray.Cancel(ctx, first))
		_, err = ray.GetTimeout(ctx, first, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		v, err = ray.GetTimeout(ctx, second, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 300, v, "the other call ran to its end")
	}},
	{"kill a threaded actor with methods in flight", func(t *testing.T, ctx context.Context, s *suite) {
		// On the driver's node and on another: three methods running, a
		// fourth queued; each fails as killed.
		for _, cls := range []*ray.ActorClass[gate]{
			s.gates.cls.Options(ray.MaxConcurrency(3)),
			s.gates.cls.Options(ray.MaxConcurrency(3), ray.Resource("special", 1)),
		} {
			h := cls.New(ctx)
			_, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second) // it lives
			require.NoError(t, err)
			var refs []ray.Ref[int]
			for i := range 4 {
				refs = append(refs, s.gates.enter.Remote(ctx, h, enterArgs{Tag: i, Ms: 5000}))
			}
			_, err = ray.GetTimeout(ctx, refs[0], 100*time.Millisecond)
			require.ErrorIs(t, err, ray.ErrTimeout)
			require.NoError(t, ray.Kill(ctx, h))
			for i, ref := range refs {
				_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
				require.ErrorIs(t, err, ray.ErrActorDied, "call %d", i)
				assert.Contains(t, err.Error(), "killed by ray.Kill")
			}
		}
	}},
}

func init() { semanticCases = append(semanticCases, threadedCases...) }

// TestMaxConcurrencyRefused: MaxConcurrency takes 1 to
// transport.MaxActorConcurrency, only on an actor's creation, and more
// than 1 not with ReplayMethods or CheckpointEvery, whose logs assume one
// method at a time: each is refused with ErrInvalidOption, nothing created.
func TestMaxConcurrencyRefused(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		for name, opts := range map[string][]ray.Option{ // each on its own: the order cannot show
			"zero":             {ray.MaxConcurrency(0)},
			"negative":         {ray.MaxConcurrency(-1)},
			"above the bound":  {ray.MaxConcurrency(transport.MaxActorConcurrency + 1)},
			"with replay":      {ray.MaxConcurrency(2), ray.ReplayMethods()},
			"with checkpoints": {ray.CheckpointEvery(3), ray.MaxConcurrency(4)},
		} {
			h := s.gates.cls.Options(opts...).New(ctx)
			require.ErrorIs(t, h.Err(), ray.ErrInvalidOption, name)
			t.Logf("%s: %v", name, h.Err())
		}
		h := s.gates.cls.Options(ray.MaxConcurrency(1), ray.ReplayMethods()).New(ctx)
		require.NoError(t, h.Err(), "one at a time replays as before")
		_, err := ray.Get(ctx, s.gates.most.Options(ray.MaxConcurrency(2)).Remote(ctx, h))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "on a method call")
		_, err = ray.Get(ctx, s.double.Options(ray.MaxConcurrency(2)).Remote(ctx, 1))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "on a task")
	})
}

// TestThreadedActorStartOrder: a threaded actor starts each caller's
// calls in their order (on netsim a method's code starts as the raylet
// starts it), though they may run at once; the calls of two callers
// interleave.
func TestThreadedActorStartOrder(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		h := s.gates.cls.Options(ray.MaxConcurrency(3)).New(ctx)
		var refs []ray.Ref[int]
		for i := range 12 {
			refs = append(refs, s.gates.enter.Remote(ctx, h, enterArgs{Tag: i, Ms: 10 + 7*(i%3)}))
		}
		_, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, order)
		most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 3, most)
	})
}

// threadedCrash runs three 300 ms methods on a threaded actor pinned to
// a "w" node (two of them retried once, one not) and ends its instance
// 100 ms in with end (a node crash, a worker crash): the retried ones run
// again on the restarted instance, the other fails with ErrActorDied. It
// returns the run's digest.
func threadedCrash(t *testing.T, seed int64, end func(c *ray.Sim, host int, id transport.ActorID)) uint64 {
	t.Helper()
	g := newGates(ray.NewRegistry())
	cfg := ray.Config{Nodes: withW(2), Seed: seed, WireCheck: true}
	cfg.Link = netsim.Link{Latency: netsim.LogNormal(200*time.Microsecond, 100*time.Microsecond), Bandwidth: 1.25e9} // the seed shows
	c, err := ray.NewSim(cfg, g.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := g.cls.Options(ray.MaxConcurrency(3), ray.MaxRestarts(1), ray.Resource("w", 1)).New(ctx)
		_, err := ray.GetTimeout(ctx, g.most.Remote(ctx, h), 10*time.Second) // it lives
		require.NoError(t, err)
		host := -1
		for i := 1; i <= 2; i++ {
			for _, a := range c.Raylet(i).Actors() {
				if a.ID == h.ID() {
					host = i
				}
			}
		}
		require.Positive(t, host, "the actor is on a w node")
		retried := []ray.Ref[int]{
			g.enter.Options(ray.MaxRetries(1)).Remote(ctx, h, enterArgs{Tag: 0, Ms: 300}),
			g.enter.Options(ray.MaxRetries(1)).Remote(ctx, h, enterArgs{Tag: 1, Ms: 300}),
		}
		once := g.enter.Remote(ctx, h, enterArgs{Tag: 2, Ms: 300})
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		busy := false
		for _, a := range c.Raylet(host).Actors() {
			busy = busy || (a.ID == h.ID() && a.Busy && a.Queued == 0)
		}
		require.True(t, busy, "the three calls run at once")
		end(c, host, h.ID())
		vs, err := ray.GetAll(ctx, retried, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1}, vs)
		_, err = ray.GetTimeout(ctx, once, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		order, err := ray.GetTimeout(ctx, g.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1}, order, "the restarted instance ran the retries")
		return nil
	}))
	return c.Netsim().Digest()
}

// TestThreadedActorNodeDeath: the node of a threaded actor dies with three
// methods in flight: each is retried or fails as its retries say.
func TestThreadedActorNodeDeath(t *testing.T) {
	threadedCrash(t, 1, func(c *ray.Sim, host int, _ transport.ActorID) {
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(host)))
	})
}

// TestThreadedActorWorkerCrash: the same when the actor's worker dies
// (Raylet.Kill, a fault schedule's kill_actor) on a node that lives on.
func TestThreadedActorWorkerCrash(t *testing.T) {
	threadedCrash(t, 1, func(c *ray.Sim, host int, id transport.ActorID) {
		c.Raylet(host).Kill(id, "test kill")
	})
}

// TestThreadedActorDeterministic: a run with a threaded actor whose node
// dies replays bit for bit from its seed.
func TestThreadedActorDeterministic(t *testing.T) {
	crash := func(c *ray.Sim, host int, _ transport.ActorID) { c.Netsim().Crash(netsim.NodeID(ray.RayletID(host))) }
	a, b := threadedCrash(t, 7, crash), threadedCrash(t, 7, crash)
	require.Equal(t, a, b, "same seed, same digest")
	require.NotEqual(t, a, threadedCrash(t, 8, crash), "another seed, another digest")
}

// TestThreadedActorBlockedMethodKeepsResources: a threaded actor's
// methods blocked in Get give back nothing: the actor holds its CPU for
// its life, and a method's call holds none of its own (a blocked task
// lends its CPU out; an actor method has none to lend). A task that needs
// the CPU waits while two methods block, and runs once the actor is gone.
func TestThreadedActorBlockedMethodKeepsResources(t *testing.T) {
	g := newGates(ray.NewRegistry())
	where := ray.Register0(g.reg, "where", func(ctx context.Context) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	never := ray.Register0(g.reg, "never", func(ctx context.Context) (int, error) { return 0, nil })
	block := ray.Method1(g.cls, "block", func(ctx context.Context, s *gate, ms int) (int, error) {
		s.in(-1)
		defer s.out()
		_, err := ray.GetTimeout(ctx, never.Options(ray.Resource("nowhere", 1)).Remote(ctx), time.Duration(ms)*time.Millisecond)
		return 0, err
	})
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true}, g.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		w := ray.RayletID(1)
		h := g.cls.Options(ray.MaxConcurrency(3), ray.CPUs(1), ray.Resource("w", 1)).New(ctx)
		_, err := ray.GetTimeout(ctx, g.most.Remote(ctx, h), 10*time.Second) // it lives
		require.NoError(t, err)
		blocked := []ray.Ref[int]{block.Remote(ctx, h, 2000), block.Remote(ctx, h, 2000)}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		task := where.Options(ray.NodeAffinity(w, false)).Remote(ctx) // w's one CPU
		_, err = ray.GetTimeout(ctx, task, time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout, "the task took the CPU of the actor whose methods block")
		most, err := ray.GetTimeout(ctx, g.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 2, most, "both blocked at once")
		require.NoError(t, ray.Kill(ctx, h))
		for _, ref := range blocked {
			_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
			require.ErrorIs(t, err, ray.ErrActorDied)
		}
		v, err := ray.GetTimeout(ctx, task, 10*time.Second)
		require.NoError(t, err, "the actor's CPU is free once it is gone")
		assert.Equal(t, uint64(w), v)
		return nil
	}))
}
