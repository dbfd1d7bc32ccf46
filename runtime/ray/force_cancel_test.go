package ray_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// forceFuncs are the functions of forceCases.
type forceFuncs struct {
	// stubborn waits for a placement group with no timeout — a wait a
	// cancel does not interrupt — and then returns 42 whatever happened,
	// counting its ends in ends.
	stubborn *ray.Func[int]
	ends     atomic.Int64
	// parent submits a child that holds the only GPU for 10 s and blocks
	// in Get on it.
	parent *ray.Func[int]
	// starts counts the runs of stubborn and parent begun.
	starts atomic.Int64
}

func newForceFuncs(s *suite) *forceFuncs {
	f := &forceFuncs{}
	f.stubborn = ray.Register1(s.reg, "force.stubborn", func(ctx context.Context, pg *ray.PlacementGroup) (int, error) {
		f.starts.Add(1)
		defer f.ends.Add(1)
		_ = pg.Wait(ctx, -1)
		return 42, nil
	})
	f.parent = ray.Register0(s.reg, "force.parent", func(ctx context.Context) (int, error) {
		f.starts.Add(1)
		return ray.Get(ctx, s.slow.Options(ray.GPUs(1)).Remote(ctx, 10000))
	})
	return f
}

// started waits (in steps of 10ms of the driver's time) until n runs of
// stubborn or parent have begun: a cancel must find the task running.
func (f *forceFuncs) started(t *testing.T, ctx context.Context, n int64) {
	t.Helper()
	for i := 0; f.starts.Load() < n; i++ {
		require.Less(t, i, 3000, "the task never started")
		require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
	}
}

// QA28b finding 10: Ray's ray.cancel(ref, force=True) kills the worker of
// a running task, and Get raises WorkerCrashedError; raysim's Cancel was
// cooperative only: a task that did not block in an interruptible call
// kept its resources until it returned. Cancel takes Force (and
// NonRecursive, Ray's recursive=False) now.
var forceCases = []semanticCase{
	{"force cancel ends a task that ignores its cancel, and frees its resources", func(t *testing.T, ctx context.Context, s *suite) {
		special := ray.Resource("special", 1)
		never, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{Resources: map[string]float64{"nowhere": 1}}}, ray.Pack)
		require.NoError(t, err)
		ref := s.force.stubborn.Options(special).Remote(ctx, never)
		s.force.started(t, ctx, 1)
		// A cancel without force does not end it: its wait is not
		// interrupted, and it keeps the one "special".
		require.NoError(t, ray.Cancel(ctx, ref))
		_, err = ray.GetTimeout(ctx, ref, 300*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout, "a plain cancel ended a task blocked outside Get, Wait and Compute")
		// Force does, at once.
		require.NoError(t, ray.Cancel(ctx, ref, ray.Force()))
		_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
		require.Error(t, err)
		assert.ErrorIs(t, err, ray.ErrWorkerCrashed)
		assert.ErrorIs(t, err, ray.ErrCancelled, "a force cancel is a cancel too")
		assert.NotErrorIs(t, err, ray.ErrPlacementGroupRemoved)
		assert.Zero(t, s.force.ends.Load(), "the task's code still runs")
		// Its resource is free while its code still runs.
		v, err := ray.GetTimeout(ctx, s.slow.Options(special).Remote(ctx, 1), 10*time.Second)
		require.NoError(t, err, "a force-cancelled task still holds its resource")
		assert.Equal(t, 1, v)
		// Its code ends (its wait ends with the group); what it returns is
		// discarded.
		require.NoError(t, ray.RemovePlacementGroup(ctx, never))
		for i := 0; i < 1000 && s.force.ends.Load() == 0; i++ {
			require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
		}
		require.EqualValues(t, 1, s.force.ends.Load(), "the abandoned code never ended")
		_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrWorkerCrashed, "the abandoned run's value replaced the cancel")
		// The resource was given back once, not again when the code ended.
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // a heartbeat or more
		free, err := ray.AvailableResources(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1.0, free["special"], "the node's free special after the abandoned run ended")
		// Cancelling again is a no-op: the task is over.
		require.NoError(t, ray.Cancel(ctx, ref, ray.Force()))
	}},
	{"force cancel of a task blocked in Get, and of its children", func(t *testing.T, ctx context.Context, s *suite) {
		// parent blocks in Get on its child, which holds the only GPU for
		// 10 s: a forced cancel reaches the child, forced too.
		p := s.force.parent.Remote(ctx)
		s.force.started(t, ctx, 1)
		require.NoError(t, ray.Cancel(ctx, p, ray.Force()))
		_, err := ray.GetTimeout(ctx, p, 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrWorkerCrashed)
		v, err := ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(1)).Remote(ctx), 5*time.Second)
		require.NoError(t, err, "the child of a force-cancelled task still holds the GPU")
		assert.Equal(t, "gpu ok", v)
		// A plain cancel's error says nothing of a worker.
		q := s.slow.Remote(ctx, 10000)
		_, err = ray.GetTimeout(ctx, q, 100*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, q))
		_, err = ray.GetTimeout(ctx, q, 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		assert.NotErrorIs(t, err, ray.ErrWorkerCrashed)
		// A queued task forced is dropped as by any cancel.
		busy := s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 300)
		queued := s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 300)
		require.NoError(t, ray.Cancel(ctx, queued, ray.Force()))
		_, err = ray.GetTimeout(ctx, queued, 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		v2, err := ray.GetTimeout(ctx, busy, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 300, v2)
	}},
	{"cancel NonRecursive leaves the children running", func(t *testing.T, ctx context.Context, s *suite) {
		p := s.force.parent.Remote(ctx) // its child holds the GPU for 10 s
		s.force.started(t, ctx, 1)
		_, err := ray.GetTimeout(ctx, p, 200*time.Millisecond) // the child is submitted, and starts
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, p, ray.NonRecursive()))
		_, err = ray.GetTimeout(ctx, p, 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		_, err = ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(1)).Remote(ctx), 300*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout, "the child was cancelled: it no longer holds the GPU")
	}},
	{"force cancel of an actor call is refused", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 0)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		running := s.spin.Remote(ctx, h)
		_, err = ray.GetTimeout(ctx, running, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		err = ray.Cancel(ctx, running, ray.Force())
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "Ray: force=True is not supported for actor tasks")
		assert.Contains(t, err.Error(), "actor")
		_, err = ray.GetTimeout(ctx, running, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout, "the refused cancel cancelled the call")
		require.NoError(t, ray.Cancel(ctx, running))
		_, err = ray.GetTimeout(ctx, running, 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		n, err := ray.Get(ctx, s.get.Remote(ctx, h)) // the actor lives on
		require.NoError(t, err)
		assert.Less(t, n, spinSteps)
	}},
}

func init() { semanticCases = append(semanticCases, forceCases...) }

// TestForceCancelBusyLoopTCP is QA28b's C04 on TCP: a task busy in a loop
// that never calls ray, cancelled, answered only when the loop ended and
// held its CPU until then. With Force, Get answers at once, and the
// node's only CPU runs another task while the loop still spins (Go cannot
// stop the goroutine); what the loop returns at last is discarded.
func TestForceCancelBusyLoopTCP(t *testing.T) {
	reg := ray.NewRegistry()
	var started, stop, ended atomic.Bool
	busy := ray.Register0(reg, "busy", func(ctx context.Context) (int, error) {
		started.Store(true)
		for !stop.Load() {
			time.Sleep(time.Millisecond) // busy in user code: no ray call
		}
		ended.Store(true)
		return 7, nil
	})
	quick := ray.Register0(reg, "quick", func(ctx context.Context) (int, error) { return 1, nil })
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		defer stop.Store(true)
		ref := busy.Remote(ctx)
		for !started.Load() {
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, ray.Cancel(ctx, ref, ray.Force()))
		_, err := ray.GetTimeout(ctx, ref, time.Minute)
		require.ErrorIs(t, err, ray.ErrWorkerCrashed)
		v, err := ray.GetTimeout(ctx, quick.Remote(ctx), time.Minute)
		require.NoError(t, err, "the node's only CPU is still held by the abandoned loop")
		assert.Equal(t, 1, v)
		assert.False(t, ended.Load(), "the loop ended before the CPU was reused (it spins until stop)")
		stop.Store(true)
		for !ended.Load() {
			time.Sleep(time.Millisecond)
		}
		// Its value is discarded; the CPU, given back once, runs one task
		// at a time still.
		_, err = ray.GetTimeout(ctx, ref, time.Minute)
		require.ErrorIs(t, err, ray.ErrWorkerCrashed)
		v, err = ray.GetTimeout(ctx, quick.Remote(ctx), time.Minute)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		return nil
	}))
}
