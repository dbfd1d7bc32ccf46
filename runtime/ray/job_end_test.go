package ray_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// jobRegistry: long computes for its argument's virtual time; spawn runs
// long as a child (a nested task of the same job) and waits for it; hold
// creates an actor from inside a task (non-detached, or detached) and
// returns its handle.
func jobRegistry() (reg *ray.Registry, long, spawn *ray.Func[int], counter *ray.ActorClass[jobCounter], hold *ray.Func[ray.ActorHandle[jobCounter]], incr *ray.ActorMethod[jobCounter, int]) {
	reg = ray.NewRegistry()
	long = ray.Register1(reg, "long", func(ctx context.Context, d time.Duration) (int, error) {
		if err := ray.Compute(ctx, d); err != nil {
			return 0, err
		}
		return 1, nil
	})
	spawn = ray.Register1(reg, "spawn", func(ctx context.Context, d time.Duration) (int, error) {
		return ray.Get(ctx, long.Options(ray.CPUs(1)).Remote(ctx, d))
	})
	counter = ray.RegisterActor0(reg, "JobCounter", func(ctx context.Context) (*jobCounter, error) { return &jobCounter{}, nil })
	incr = ray.Method0(counter, "incr", func(ctx context.Context, c *jobCounter) (int, error) { c.n++; return c.n, nil })
	hold = ray.Register1(reg, "hold", func(ctx context.Context, detached bool) (ray.ActorHandle[jobCounter], error) {
		opts := []ray.Option{ray.CPUs(0), ray.Resource("w", 1)}
		if detached {
			opts = append(opts, ray.Detached(), ray.ActorName("kept"))
		}
		h := counter.Options(opts...).New(ctx)
		if _, err := ray.Get(ctx, incr.Remote(ctx, h)); err != nil {
			return h, err
		}
		return h, nil
	})
	return reg, long, spawn, counter, hold, incr
}

type jobCounter struct{ n int }

func init() { semanticCases = append(semanticCases, driverJobCases...) }

// eventually polls cond every 100ms (of virtual time in netsim, of the
// wall clock on TCP), at most 100 times, and fails the test saying what
// if it never holds.
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
	}
	require.Fail(t, what)
}

// driverJobCases: a driver's return ends its job (Sim.Go, TCP.Go), as a
// Ray driver script's exit does, and leaves another driver's job on the
// same node be.
var driverJobCases = []semanticCase{
	{"a driver's return ends its job", func(t *testing.T, ctx context.Context, s *suite) {
		if s.drive == nil {
			t.Skip("the runner starts no second driver")
		}
		// This driver's own work, on the same node as the other driver:
		// the other's end leaves it be.
		mine := s.counter.Options(ray.ActorName("job-mine")).New(ctx, 10)
		_, err := ray.Get(ctx, s.incr.Remote(ctx, mine, 1))
		require.NoError(t, err)
		myPG, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("job-mine"))
		require.NoError(t, err)
		require.NoError(t, myPG.Wait(ctx, 10*time.Second))
		myLong := s.slow.Remote(ctx, 2000)

		var long ray.Ref[int]
		var owned, kept ray.ActorHandle[counter]
		myNS := ray.Namespace(ctx)
		require.NoError(t, s.drive(ctx, 0, func(ctx context.Context) error {
			// In this driver's namespace, so that its named actors and
			// group are this driver's to look for (names are per
			// namespace; another job's anonymous one hides them).
			if err := ray.SetNamespace(ctx, myNS); err != nil {
				return err
			}
			// Ten minutes on the only "special" node, left running.
			long = s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 600_000)
			owned = s.counter.Options(ray.ActorName("job-owned")).New(ctx, 1)
			kept = s.counter.Options(ray.ActorName("job-kept"), ray.Detached()).New(ctx, 2)
			for _, h := range []ray.ActorHandle[counter]{owned, kept} {
				if _, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second); err != nil {
					return err
				}
			}
			pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("job-pg"))
			if err != nil {
				return err
			}
			return pg.Wait(ctx, 10*time.Second)
		}))

		// Its task left running is cancelled, saying why, and its
		// resource is free again.
		// (Its cancelled result went with its job: ErrOwnerDied.)
		_, err = ray.GetTimeout(ctx, long, 10*time.Second)
		require.True(t, errors.Is(err, ray.ErrCancelled) || errors.Is(err, ray.ErrOwnerDied), "got %v", err)
		assert.Contains(t, err.Error(), "its job ended")
		v, err := ray.GetTimeout(ctx, s.double.Options(ray.Resource("special", 1)).Remote(ctx, 4), 10*time.Second)
		require.NoError(t, err, "the special resource, freed")
		assert.Equal(t, 8, v)
		// Its actor is dead and its name free; its group is removed.
		eventually(t, ctx, "the ended job's actor is still found", func() bool {
			_, err := ray.GetActor(ctx, s.counter, "job-owned")
			return errors.Is(err, ray.ErrActorNotFound)
		})
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, owned), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied)
		eventually(t, ctx, "the ended job's placement group is still there", func() bool {
			_, err := ray.GetPlacementGroup(ctx, "job-pg")
			return errors.Is(err, ray.ErrPlacementGroupNotFound)
		})
		// Its detached actor lives on.
		v, err = ray.GetTimeout(ctx, s.get.Remote(ctx, kept), 10*time.Second)
		require.NoError(t, err, "the detached actor")
		assert.Equal(t, 2, v)
		require.NoError(t, ray.Kill(ctx, kept))

		// This driver's job goes on: its actor, group and task.
		v, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, mine, 1), 10*time.Second)
		require.NoError(t, err, "this driver's actor")
		assert.Equal(t, 12, v)
		_, err = ray.GetPlacementGroup(ctx, "job-mine")
		assert.NoError(t, err, "this driver's group")
		v, err = ray.GetTimeout(ctx, myLong, 10*time.Second)
		require.NoError(t, err, "this driver's task")
		assert.Equal(t, 2000, v)
		require.NoError(t, ray.RemovePlacementGroup(ctx, myPG))
	}},
}

// TestJobEndsWithItsDriverNode: a driver's node crashes mid-run (netsim).
// Once the node table declares it dead, its job's tasks on the other
// nodes stop — a running one and a nested one its task submitted from
// another node — and give their CPUs back; an actor one of its tasks
// created dies, a detached one lives on. Another job's task running
// beside them on the same node finishes with its value, and its next
// task, which needs every CPU of the node, runs. Before jobs ended, the
// dead driver's hour-long tasks kept the node's CPUs and the second job
// waited for the hour.
func TestJobEndsWithItsDriverNode(t *testing.T) {
	reg, long, spawn, _, hold, incr := jobRegistry()
	nodes := []ray.NodeConfig{
		{Name: "a", CPUs: 0}, // job A's driver
		{Name: "w", CPUs: 3, Resources: map[string]float64{"w": 3}}, // the work
		{Name: "b", CPUs: 0}, // job B's driver
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 7, WireCheck: true, MaxVirtual: 30 * time.Second}, reg)
	require.NoError(t, err)
	defer c.Close()

	const hour = time.Hour
	var aErr error
	var owned, kept ray.ActorHandle[jobCounter]
	require.NoError(t, c.Go(0, func(ctx context.Context) error {
		var err error
		if owned, kept, err = holdBoth(ctx, hold); err != nil {
			aErr = err
			return err
		}
		// One CPU each: long, and spawn, whose child long runs on the CPU
		// spawn lends while it waits in Get.
		r1 := long.Options(ray.CPUs(1)).Remote(ctx, hour)
		r2 := spawn.Options(ray.CPUs(1)).Remote(ctx, hour)
		_, aErr = ray.Get(ctx, r1)
		_, _ = ray.Get(ctx, r2)
		return nil
	}))
	b := &jobB{}
	require.NoError(t, c.Go(2, b.driver(t, long, incr, &kept, &owned, "its job ended"))) // across the crash
	w := c.Raylet(1)
	c.Netsim().At(time.Second, func() {
		require.Equal(t, int64(0), w.Available().CPU, "job A's tasks and job B's hold every CPU of w")
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(0)))
	})
	c.RunUntil(20 * time.Second)
	require.NoError(t, aErr, "job A's driver saw no error before its node died")
	b.check(t)
	require.Equal(t, transport.Units(3), w.Available().CPU, "w's CPUs are free again")
}

// TestJobEndsWithItsDriversReturn: as TestJobEndsWithItsDriverNode, but
// job A's driver returns (Sim.Go) at one second, leaving its hour-long
// tasks running, and job B's driver runs on the same node, which lives
// on. Job A's running and nested tasks on w stop and give their CPUs
// back, the actor its task created dies and its detached one lives; job
// B's task beside them finishes, and its next, which needs every CPU of
// w, runs. Before, a returned driver's job ran on for the hour.
func TestJobEndsWithItsDriversReturn(t *testing.T) {
	reg, long, spawn, _, hold, incr := jobRegistry()
	nodes := []ray.NodeConfig{
		{Name: "a", CPUs: 0}, // both drivers
		{Name: "w", CPUs: 3, Resources: map[string]float64{"w": 3}}, // the work
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 7, WireCheck: true, MaxVirtual: 30 * time.Second}, reg)
	require.NoError(t, err)
	defer c.Close()

	const hour = time.Hour
	var aErr error
	var owned, kept ray.ActorHandle[jobCounter]
	w := c.Raylet(1)
	require.NoError(t, c.Go(0, func(ctx context.Context) error {
		var err error
		if owned, kept, err = holdBoth(ctx, hold); err != nil {
			aErr = err
			return err
		}
		// One CPU each: long, and spawn, whose child long runs on the CPU
		// spawn lends while it waits in Get. The driver returns with them
		// running.
		long.Options(ray.CPUs(1)).Remote(ctx, hour)
		spawn.Options(ray.CPUs(1)).Remote(ctx, hour)
		if aErr = ray.Compute(ctx, time.Second); aErr != nil {
			return aErr
		}
		if got := w.Available().CPU; got != 0 {
			aErr = fmt.Errorf("job A's tasks and job B's hold %v CPUs of w's 3", 3-got)
		}
		return aErr
	}))
	b := &jobB{}
	require.NoError(t, c.Go(0, b.driver(t, long, incr, &kept, &owned, "its job ended (its driver on node"))) // across A's return
	c.RunUntil(20 * time.Second)
	require.NoError(t, aErr)
	b.check(t)
	require.Equal(t, transport.Units(3), w.Available().CPU, "w's CPUs are free again")
}

// jobB is the other job of the job-end tests: its driver runs beside job
// A's tasks a task on one CPU across A's end, then one on every CPU of w
// (it runs once A's tasks are gone), and finds A's detached actor alive and
// the other dead, its error saying why (wantDead); kept and owned are
// read when it runs (job A's driver sets them).
type jobB struct {
	medium, whole int
	err           error
	done          bool
}

func (b *jobB) driver(t *testing.T, long *ray.Func[int], incr *ray.ActorMethod[jobCounter, int], kept, owned *ray.ActorHandle[jobCounter], wantDead string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := ray.Compute(ctx, 200*time.Millisecond); err != nil {
			return err
		}
		if b.medium, b.err = ray.Get(ctx, long.Options(ray.CPUs(1)).Remote(ctx, 2*time.Second)); b.err != nil {
			return b.err
		}
		if b.whole, b.err = ray.Get(ctx, long.Options(ray.CPUs(3)).Remote(ctx, 10*time.Millisecond)); b.err != nil {
			return b.err
		}
		if _, b.err = ray.Get(ctx, incr.Remote(ctx, *kept)); b.err != nil {
			return b.err
		}
		_, err := ray.Get(ctx, incr.Remote(ctx, *owned))
		if !errors.Is(err, ray.ErrActorDied) {
			b.err = errors.New("job A's actor still answers: " + errString(err))
			return b.err
		}
		require.Contains(t, err.Error(), wantDead)
		b.done = true
		return nil
	}
}

// check asserts job B's driver finished with both its tasks run.
func (b *jobB) check(t *testing.T) {
	t.Helper()
	require.NoError(t, b.err)
	require.True(t, b.done, "job B did not finish: job A's tasks still hold w's CPUs")
	require.Equal(t, 1, b.medium)
	require.Equal(t, 1, b.whole)
}

// holdBoth has a task of the calling job create an actor on w, and another,
// detached: job A's actors in the job-end tests.
func holdBoth(ctx context.Context, hold *ray.Func[ray.ActorHandle[jobCounter]]) (owned, kept ray.ActorHandle[jobCounter], err error) {
	if owned, err = ray.Get(ctx, hold.Options(ray.CPUs(0), ray.Resource("w", 1)).Remote(ctx, false)); err != nil {
		return owned, kept, err
	}
	kept, err = ray.Get(ctx, hold.Options(ray.CPUs(0), ray.Resource("w", 1)).Remote(ctx, true))
	return owned, kept, err
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestJobEndsWithItsDriverTCP: on a live cluster over TCP, a driver that
// exits (its session's goodbye) or is killed (its endpoints stop with no
// goodbye: the node table declares its raylet dead after the node
// timeout) takes its running hour-long task with it: the head's CPUs are
// free for the next driver's task, which needs them all. Before jobs
// ended, the next driver waited for the hour.
func TestJobEndsWithItsDriverTCP(t *testing.T) {
	tok := []byte("job-end-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// started says which driver's task started (a run of another's, or
	// a second run, is told apart: a token left over from one made the
	// killed driver's crash come before its task was even placed).
	started := make(chan string, 16)
	reg := ray.NewRegistry()
	long := ray.Register2(reg, "long", func(ctx context.Context, d time.Duration, who string) (int, error) {
		started <- who
		if err := ray.Compute(ctx, d); err != nil {
			return 0, err
		}
		return 1, nil
	})
	await := func(who string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case got := <-started:
				if got == who {
					return
				}
			case <-deadline:
				t.Fatalf("the %s driver's task did not start", who)
			}
		}
	}
	// The head's node and task events, shown if the test fails.
	var evMu sync.Mutex
	var evLog []string
	t0 := time.Now()
	onEvent := func(ev *transport.Event) {
		switch ev.Kind {
		case transport.EvNodeDead, transport.EvNodeAlive, transport.EvTaskCancelled, transport.EvTaskRunning, transport.EvTaskSubmitted, transport.EvWarning:
			evMu.Lock()
			evLog = append(evLog, fmt.Sprintf("%v %s node %d task %v %s", time.Since(t0).Round(time.Millisecond), ev.Kind, ev.Node, ev.Task, ev.Detail))
			evMu.Unlock()
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			evMu.Lock()
			defer evMu.Unlock()
			t.Logf("head events:\n%s", strings.Join(evLog, "\n"))
		}
	})
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	// runLong starts an hour-long task on both of the head's CPUs from a
	// new driver, and returns once it runs.
	runLong := func(ctx context.Context, who string) *ray.Session {
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.NoError(t, err)
		require.NoError(t, s.Run(func(ctx context.Context) error {
			long.Options(ray.CPUs(2)).Remote(ctx, time.Hour, who)
			return nil
		}))
		await(who)
		return s
	}
	// next runs a task that needs both CPUs from another driver.
	next := func(what string) {
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Run(func(ctx context.Context) error {
			v, err := ray.GetTimeout(ctx, long.Options(ray.CPUs(2)).Remote(ctx, time.Millisecond, "after "+what), 30*time.Second)
			require.NoError(t, err, "the %s driver's task still holds the head's CPUs", what)
			require.Equal(t, 1, v)
			return nil
		}))
		await("after " + what)
	}

	exited := runLong(ctx, "exited")
	require.NoError(t, exited.Close())
	next("exited")

	crashCtx, crash := context.WithCancel(ctx)
	killed := runLong(crashCtx, "killed")
	crash()
	next("killed")
	killed.Close()
}

// TestJobEndBuriesItsPendingActors: an actor a task of job A created,
// named and infeasible (its creation held at the scheduler), dies when
// A's driver returns, as Ray's GCS kills every actor of a finished job:
// job B does not find it by name (or finds it dead). Before (review29
// finding 13) it kept its name, and B's call waited for good.
func TestJobEndBuriesItsPendingActors(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor1(reg, "Pending", func(ctx context.Context, start int) (*jobCounter, error) { return &jobCounter{n: start}, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, c *jobCounter) (int, error) { return c.n, nil })
	mk := ray.Register1(reg, "mk", func(ctx context.Context, n int) (int, error) {
		h := cls.Options(ray.ActorName("pend"), ray.Resource("nope", 1)).New(ctx, n)
		return 0, h.Err()
	})
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "w", CPUs: 2}}}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Go(0, func(ctx context.Context) error { // job A: its task on w creates the actor
		_, err := ray.Get(ctx, mk.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 1))
		return err
	}))
	var lookErr, callErr error
	looked := false
	require.NoError(t, c.Go(1, func(ctx context.Context) error { // job B, later
		if err := ray.Compute(ctx, 3*time.Second); err != nil {
			return err
		}
		looked = true
		h, err := ray.GetActor(ctx, cls, "pend")
		if lookErr = err; err == nil {
			_, callErr = ray.GetTimeout(ctx, get.Remote(ctx, h), 20*time.Second)
		}
		return nil
	}))
	c.RunUntil(60 * time.Second)
	require.True(t, looked)
	if lookErr == nil {
		require.ErrorIs(t, callErr, ray.ErrActorDied, "job A's pending actor outlived its job")
	}
}
