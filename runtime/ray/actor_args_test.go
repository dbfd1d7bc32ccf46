package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// runSuite runs body as a driver on a fresh simulated cluster with the
// suite's functions and actors.
func runSuite(t *testing.T, body func(ctx context.Context, s *suite)) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		body(ctx, s)
		return nil
	}))
}

// TestActorArgErrorPropagates: an actor method whose by-reference
// argument is an error value fails with that error without running, as a
// normal task does (and as Ray propagates the RayTaskError of an argument
// to an actor task); the actor lives on and takes the caller's next call.
func TestActorArgErrorPropagates(t *testing.T) {
	runSuite(t, func(ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 0)
		// The task path, for comparison: the argument's error is the answer.
		_, err := ray.Get(ctx, s.double.Remote(ctx, s.fail.Remote(ctx, 3)))
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		require.Contains(t, err.Error(), "bad input 3")
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, s.fail.Remote(ctx, 3)), 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		if err != nil {
			assert.Contains(t, err.Error(), "bad input 3", "the argument's error is lost")
		}
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		require.NoError(t, ray.Cancel(ctx, never))
		_, err = ray.GetTimeout(ctx, s.double.Remote(ctx, never), 5*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, never), 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled, "a method called with a cancelled ref: %v", err)
		// The methods did not run, and the actor lives on: the caller's
		// next call runs on the untouched counter.
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 2), 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
	})
}

// TestMaxRestartsMinusOne: as in Ray, max_restarts=-1 restarts an
// actor without bound (it once silently meant no restart).
func TestMaxRestartsMinusOne(t *testing.T) {
	got := counterAcrossCrash(t, nil, ray.MaxRestarts(-1))
	assert.Equal(t, int64(1), got)
}

// TestBudgetBelowMinusOneRefused: a retry or restart budget below -1 is
// an error at submission, not a budget of none.
func TestBudgetBelowMinusOneRefused(t *testing.T) {
	runSuite(t, func(ctx context.Context, s *suite) {
		h := s.counter.Options(ray.MaxRestarts(-2)).New(ctx, 0)
		require.Error(t, h.Err())
		assert.Contains(t, h.Err().Error(), "MaxRestarts(-2)")
		_, err := ray.Get(ctx, s.double.Options(ray.MaxRetries(-2)).Remote(ctx, 1))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "MaxRetries(-2)")
	})
}

type fragile struct{ n int }

// TestMethodRetriesMinusOne: as in Ray, max_retries=-1 retries an
// actor call without bound (it once meant none: "-1 retries allowed").
func TestMethodRetriesMinusOne(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	w := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Crash(w) })
	c.Netsim().At(200*time.Millisecond, func() { c.Netsim().Restart(w) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := s.counter.Options(ray.Resource("special", 1), ray.MaxRestarts(2)).New(ctx, 1)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		r := s.nap.Options(ray.MaxRetries(-1)).Remote(ctx, h, 500) // running at the crash
		_, err = ray.GetTimeout(ctx, r, 10*time.Second)
		assert.NoError(t, err)
		return nil
	}))
}

// TestReplayWithFreedPutArg: a replaying actor took a Put ref the
// driver then freed; its node crashes and it restarts: the replay must not
// wedge the actor (a typed error or the rebuilt state, never a hang), nor
// silently rebuild a different state. (The replay cannot re-run add(5), so
// the actor dies for good and the next call gets ErrActorDied.)
func TestReplayWithFreedPutArg(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Acc", func(ctx context.Context) (*fragile, error) { return &fragile{}, nil })
	add := ray.Method1(cls, "add", func(ctx context.Context, f *fragile, d int) (int, error) {
		f.n += d
		return f.n, nil
	})
	nodes := []ray.NodeConfig{
		{Name: "head", CPUs: 1},
		{Name: "w", CPUs: 1, Resources: map[string]float64{"w": 1}},
		{Name: "w2", CPUs: 1, Resources: map[string]float64{"w": 1}},
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	w := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Crash(w) })
	c.Netsim().At(200*time.Millisecond, func() { c.Netsim().Restart(w) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1), ray.ReplayMethods(), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx)
		ref, err := ray.Put(ctx, 5)
		require.NoError(t, err)
		v, err := ray.Get(ctx, add.Remote(ctx, h, ref))
		require.NoError(t, err)
		require.Equal(t, 5, v)
		require.NoError(t, ray.Free(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // the node dies and comes back
		v, err = ray.GetTimeout(ctx, add.Remote(ctx, h, 1), 20*time.Second)
		require.NotErrorIs(t, err, ray.ErrTimeout, "the restarted actor never takes calls")
		if err == nil {
			// The replayed add(5) could not read its argument: the state
			// must not silently lose it (6, or a typed error, not 1).
			assert.Equal(t, 6, v, "replay silently dropped a logged method whose argument was gone")
		}
		return nil
	}))
}
