package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// hangLimit only detects a hang: every wait below ends long before it
// when the code is right (no wall-clock assert).
const hangLimit = 30 * time.Second

// endRegistry has a task that computes for d.
func endRegistry() (*ray.Registry, *ray.Func[int]) {
	reg := ray.NewRegistry()
	long := ray.Register1(reg, "long", func(ctx context.Context, d time.Duration) (int, error) {
		return 1, ray.Compute(ctx, d)
	})
	return reg, long
}

// runBlocked runs, through run, a driver blocked in Get on a task that
// computes for a minute; it returns the Get's and run's errors, failing
// the test if either never comes (a hang). started is closed once the
// driver has submitted.
func runBlocked(t *testing.T, long *ray.Func[int], run func(func(context.Context) error) error, started chan struct{}) (getErr, runErr error) {
	t.Helper()
	gotGet := make(chan error, 1)
	gotRun := make(chan error, 1)
	go func() {
		gotRun <- run(func(ctx context.Context) error {
			r := long.Remote(ctx, time.Minute)
			close(started)
			_, err := ray.Get(ctx, r)
			gotGet <- err
			return err
		})
	}()
	select {
	case runErr = <-gotRun:
	case <-time.After(hangLimit):
		t.Fatal("Run never returned after the cluster closed")
	}
	select {
	case getErr = <-gotGet:
	default:
		t.Fatal("the driver's Get never returned (its goroutine was ended)")
	}
	return getErr, runErr
}

// TestTCPCloseEndsBlockedDriver: a driver blocked in Get on a TCP cluster
// hung for good when the cluster was closed (Close, or NewTCP's ctx
// cancelled: the signal.NotifyContext pattern): its Await ended the
// goroutine (runtime.Goexit), so neither Get nor Run returned. Now Get
// returns an error wrapping ErrClosed (and context.Canceled for the ctx),
// and Run returns it. Fails before: Run never returns.
func TestTCPCloseEndsBlockedDriver(t *testing.T) {
	for _, how := range []string{"close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			reg, long := endRegistry()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
			require.NoError(t, err)
			defer c.Close()
			started := make(chan struct{})
			go func() {
				<-started
				time.Sleep(50 * time.Millisecond) // let Get block (either order must end)
				if how == "close" {
					c.Close()
				} else {
					cancel()
				}
			}()
			getErr, runErr := runBlocked(t, long, c.Run, started)
			require.ErrorIs(t, getErr, ray.ErrClosed)
			require.ErrorIs(t, runErr, ray.ErrClosed)
			if how == "cancel" {
				require.ErrorIs(t, getErr, context.Canceled)
			}
			// Later runtime calls fail rather than hang, and Run refuses.
			require.ErrorIs(t, c.Run(func(context.Context) error { return nil }), ray.ErrClosed)
		})
	}
}

// TestTCPCloseEndsComputingDriver: a driver that calls the runtime after
// the hosts stopped had its goroutine ended and Run never returned; Run now
// returns an error wrapping ErrClosed. Fails before: Run hangs.
func TestTCPCloseEndsComputingDriver(t *testing.T) {
	reg, long := endRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
	require.NoError(t, err)
	closed := make(chan struct{})
	got := make(chan error, 1)
	go func() {
		got <- c.Run(func(ctx context.Context) error {
			<-closed // user code busy outside the runtime while the cluster closes
			_, err := ray.Get(ctx, long.Remote(ctx, time.Minute))
			return err
		})
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, c.Close())
	close(closed)
	select {
	case err := <-got:
		require.ErrorIs(t, err, ray.ErrClosed)
	case <-time.After(hangLimit):
		t.Fatal("Run never returned")
	}
}

// TestTCPComputeHonoursCtx: ray.Compute on TCP ignored its ctx and slept
// the full duration with a nil error. Now a done ctx ends it at once with
// an error wrapping ctx.Err(), in a driver and in a task. Fails before:
// nil error (after the whole sleep).
func TestTCPComputeHonoursCtx(t *testing.T) {
	reg := ray.NewRegistry()
	inTask := ray.Register1(reg, "inTask", func(ctx context.Context, d time.Duration) (int, error) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		return 0, ray.Compute(cctx, d)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		cctx, stop := context.WithTimeout(ctx, 20*time.Millisecond)
		defer stop()
		err := ray.Compute(cctx, hangLimit)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, err = ray.Get(ctx, inTask.Remote(ctx, hangLimit))
		require.ErrorContains(t, err, "context canceled")      // a task's error crosses as text
		require.NoError(t, ray.Compute(ctx, time.Millisecond)) // a live ctx: the plain sleep
		return nil
	}))
}

// TestTCPLeakedDriverCtx: on TCP a driver's ctx kept past Run's return
// still submitted tasks and Put objects for the ended job; the simulator
// answers ErrNotInRay. Now TCP does too. Fails before: nil errors.
func TestTCPLeakedDriverCtx(t *testing.T) {
	reg, long := endRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
	require.NoError(t, err)
	defer c.Close()
	for _, run := range []func(func(context.Context) error) error{c.Run, c.RunThread} {
		var leaked context.Context
		require.NoError(t, run(func(ctx context.Context) error { leaked = ctx; return nil }))
		require.ErrorIs(t, long.Remote(leaked, time.Millisecond).Err(), ray.ErrNotInRay)
		_, err = ray.Put(leaked, 1)
		require.ErrorIs(t, err, ray.ErrNotInRay)
		require.ErrorIs(t, ray.Compute(leaked, time.Millisecond), ray.ErrNotInRay)
	}
}

// TestDriverNodeCrashIsAnError: a driver its node's crash ended made
// Sim.Run and TCP.Wait return nil, as if it had finished. Both now return
// an error wrapping ErrDriverNodeDied. Fails before: nil.
func TestDriverNodeCrashIsAnError(t *testing.T) {
	t.Run("sim", func(t *testing.T) {
		reg, long := endRegistry()
		c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Go(1, func(ctx context.Context) error {
			_, err := ray.Get(ctx, long.Remote(ctx, 5*time.Second))
			return err
		}))
		c.RunUntil(100 * time.Millisecond)
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(1)))
		err = c.Run(nil)
		require.ErrorIs(t, err, ray.ErrDriverNodeDied)
		require.Zero(t, c.Running())
	})
	t.Run("tcp", func(t *testing.T) {
		reg, long := endRegistry()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
		require.NoError(t, err)
		defer c.Close()
		started := make(chan struct{})
		require.NoError(t, c.Go(1, func(ctx context.Context) error {
			r := long.Remote(ctx, time.Minute)
			close(started)
			_, err := ray.Get(ctx, r)
			return err
		}))
		<-started
		require.NoError(t, c.Crash(1))
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, ray.ErrDriverNodeDied)
			require.False(t, errors.Is(err, ray.ErrClosed))
		case <-time.After(hangLimit):
			t.Fatal("Wait never returned")
		}
	})
}

// TestConnectCtxCancelEndsBlockedDriver: cancelling the ctx given to
// ray.Connect while a session's driver blocked in Get hung the program
// for good (the session's hosts stopped under the Await). Now Get returns
// an error wrapping ErrClosed and context.Canceled, and Run returns.
// Fails before: Run never returns.
func TestConnectCtxCancelEndsBlockedDriver(t *testing.T) {
	tok := []byte("connect-ctx-cancel")
	addr := startDeployed(t, tok, nilTLS)
	reg, sq := deployRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	gotGet := make(chan error, 1)
	gotRun := make(chan error, 1)
	go func() {
		gotRun <- s.Run(func(ctx context.Context) error {
			_, err := ray.Get(ctx, sq.Options(ray.CPUs(100)).Remote(ctx, 2)) // infeasible: never ready
			gotGet <- err
			return err
		})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-gotRun:
		require.ErrorIs(t, err, ray.ErrClosed)
	case <-time.After(hangLimit):
		t.Fatal("Run never returned after Connect's ctx was cancelled")
	}
	select {
	case err := <-gotGet:
		require.ErrorIs(t, err, ray.ErrClosed)
		require.ErrorIs(t, err, context.Canceled)
	default:
		t.Fatal("Get never returned")
	}
}

// requireDriverNodeDied requires err to be, only, the errors of drivers
// their node's crash ended (ErrDriverNodeDied): a test that crashes a
// driver's node on purpose.
func requireDriverNodeDied(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ray.ErrDriverNodeDied)
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		require.ErrorIs(t, e, ray.ErrDriverNodeDied)
	}
}
