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
		if owned, err = ray.Get(ctx, hold.Options(ray.CPUs(0), ray.Resource("w", 1)).Remote(ctx, false)); err != nil {
			aErr = err
			return err
		}
		if kept, err = ray.Get(ctx, hold.Options(ray.CPUs(0), ray.Resource("w", 1)).Remote(ctx, true)); err != nil {
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
	var medium, whole int
	var bErr error
	bDone := false
	require.NoError(t, c.Go(2, func(ctx context.Context) error {
		// Beside job A's tasks: one CPU for two seconds, across the crash.
		if err := ray.Compute(ctx, 200*time.Millisecond); err != nil {
			return err
		}
		medium, bErr = ray.Get(ctx, long.Options(ray.CPUs(1)).Remote(ctx, 2*time.Second))
		if bErr != nil {
			return bErr
		}
		// Every CPU of the node: it runs once job A's tasks are gone.
		whole, bErr = ray.Get(ctx, long.Options(ray.CPUs(3)).Remote(ctx, 10*time.Millisecond))
		if bErr != nil {
			return bErr
		}
		// The detached actor job A's task created lives on; the other is dead.
		if _, bErr = ray.Get(ctx, incr.Remote(ctx, kept)); bErr != nil {
			return bErr
		}
		_, err := ray.Get(ctx, incr.Remote(ctx, owned))
		if !errors.Is(err, ray.ErrActorDied) {
			bErr = errors.New("job A's actor still answers: " + errString(err))
			return bErr
		}
		require.Contains(t, err.Error(), "its job ended")
		bDone = true
		return nil
	}))
	w := c.Raylet(1)
	c.Netsim().At(time.Second, func() {
		require.Equal(t, int64(0), w.Available().CPU, "job A's tasks and job B's hold every CPU of w")
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(0)))
	})
	c.RunUntil(20 * time.Second)
	require.NoError(t, aErr, "job A's driver saw no error before its node died")
	require.NoError(t, bErr)
	require.True(t, bDone, "job B did not finish: job A's tasks still hold w's CPUs")
	require.Equal(t, 1, medium)
	require.Equal(t, 1, whole)
	require.Equal(t, transport.Units(3), w.Available().CPU, "w's CPUs are free again")
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
	started := make(chan struct{}, 4)
	reg := ray.NewRegistry()
	long := ray.Register1(reg, "long", func(ctx context.Context, d time.Duration) (int, error) {
		started <- struct{}{}
		if err := ray.Compute(ctx, d); err != nil {
			return 0, err
		}
		return 1, nil
	})
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	// runLong starts an hour-long task on both of the head's CPUs from a
	// new driver, and returns once it runs.
	runLong := func(ctx context.Context) *ray.Session {
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.NoError(t, err)
		require.NoError(t, s.Run(func(ctx context.Context) error {
			long.Options(ray.CPUs(2)).Remote(ctx, time.Hour)
			return nil
		}))
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("the hour-long task did not start")
		}
		return s
	}
	// next runs a task that needs both CPUs from another driver.
	next := func(what string) {
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Run(func(ctx context.Context) error {
			v, err := ray.GetTimeout(ctx, long.Options(ray.CPUs(2)).Remote(ctx, time.Millisecond), 30*time.Second)
			require.NoError(t, err, "the %s driver's task still holds the head's CPUs", what)
			require.Equal(t, 1, v)
			return nil
		}))
		<-started
	}

	exited := runLong(ctx)
	require.NoError(t, exited.Close())
	next("exited")

	crashCtx, crash := context.WithCancel(ctx)
	killed := runLong(crashCtx)
	crash()
	next("killed")
	killed.Close()
}
