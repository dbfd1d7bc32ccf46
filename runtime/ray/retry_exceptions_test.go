package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/node"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// The semantic suite's case for RetryExceptions (Ray's retry_exceptions),
// run on both transports with the others.
func init() {
	semanticCases = append(semanticCases, semanticCase{"retry exceptions", func(t *testing.T, ctx context.Context, s *suite) {
		runs := func(k int, opts ...ray.Option) (int, int, error) {
			t.Helper()
			s.flakyRuns.Store(0)
			v, err := ray.Get(ctx, s.flaky.Options(opts...).Remote(ctx, k))
			return v, int(s.flakyRuns.Load()), err
		}
		// Two errors, then a result: the third run's.
		v, n, err := runs(2, ray.RetryExceptions(), ray.MaxRetries(3))
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, 3, n)
		// Panics are retried as errors are.
		v, _, err = runs(-2, ray.RetryExceptions(), ray.MaxRetries(2))
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		// The retries spent: the last run's error, after 1 + MaxRetries runs.
		_, n, err = runs(5, ray.RetryExceptions(), ray.MaxRetries(2))
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.ErrorContains(t, err, "flaky run 3")
		assert.Equal(t, 3, n)
		// MaxRetries(0): one run.
		_, n, err = runs(1, ray.RetryExceptions(), ray.MaxRetries(0))
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Equal(t, 1, n)
		// Without bound.
		v, _, err = runs(20, ray.RetryExceptions(), ray.MaxRetries(-1))
		require.NoError(t, err)
		assert.Equal(t, 21, v)
		// Without the option an error is final, whatever MaxRetries says
		// (those are for node deaths).
		_, n, err = runs(1, ray.MaxRetries(5))
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Equal(t, 1, n)
		// A failed argument is not the task's own error: not retried.
		s.flakyRuns.Store(0)
		_, err = ray.Get(ctx, s.double.Options(ray.RetryExceptions()).Remote(ctx, s.fail.Remote(ctx, 7)))
		assert.ErrorContains(t, err, "bad input 7")
		// A retry's children have the first run's IDs (derived, as after a
		// node death): one the failed run left queued or running is the
		// retry's child too, and one it finished is run again.
		for _, wait := range []bool{false, true} {
			s.flakyRuns.Store(0)
			v, err := ray.Get(ctx, s.flakyParent.Options(ray.RetryExceptions()).Remote(ctx, 2, wait))
			require.NoError(t, err, "wait %v", wait)
			assert.Equal(t, 23, v, "wait %v", wait)
		}
		// A cancel ends a task that fails for good and retries without
		// bound (here in a run's declared duration).
		forever := s.flaky.Options(ray.RetryExceptions(), ray.MaxRetries(-1), ray.Duration(5*time.Millisecond)).Remote(ctx, 1<<40)
		_, err = ray.GetTimeout(ctx, forever, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, forever))
		_, err = ray.GetTimeout(ctx, forever, 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		// Actors refuse it, their constructor and their methods.
		h := s.counter.Options(ray.RetryExceptions()).New(ctx, 0)
		assert.ErrorIs(t, h.Err(), ray.ErrInvalidOption)
		h = s.counter.New(ctx, 0)
		_, err = ray.Get(ctx, s.incr.Options(ray.RetryExceptions()).Remote(ctx, h, 1))
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
	}})
}

// TestRetryExceptionsTraced: each retry is a task.retried event naming the
// error, ending the failed run; the next run starts with a task.running of
// its own (the exporters and the analysis show each run).
func TestRetryExceptionsTraced(t *testing.T) {
	s := newSuite()
	var events []transport.Event
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true,
		OnEvent: func(e *transport.Event) { events = append(events, *e) }}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, s.flaky.Options(ray.RetryExceptions()).Remote(ctx, 2))
		assert.Equal(t, 3, v)
		return err
	}))
	var kinds []string
	for _, e := range events {
		switch e.Kind {
		case transport.EvTaskRunning, transport.EvTaskRetried, transport.EvTaskFinished, transport.EvTaskFailed:
			kinds = append(kinds, e.Kind.String())
			if e.Kind == transport.EvTaskRetried {
				assert.Contains(t, e.Detail, "flaky run")
			}
		}
	}
	assert.Equal(t, []string{"task.running", "task.retried", "task.running", "task.retried", "task.running", "task.finished"}, kinds)
}

// TestInjectedTaskErrors: Config.TaskErrors fails runs as the task's own
// error would: at rate 1 every run (a RetryExceptions task spends its
// retries and Get returns the injected error), at rate 0.3 a share of runs
// that retries without bound all recover from, the same share for the same
// seed; actor methods are never failed.
func TestInjectedTaskErrors(t *testing.T) {
	run := func(rate float64, seed int64) (retried int) {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: seed, WireCheck: true,
			TaskErrors: func(int) float64 { return rate },
			OnEvent: func(e *transport.Event) {
				if e.Kind == transport.EvTaskRetried {
					retried++
				}
			}}, s.reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(func(ctx context.Context) error {
			if rate == 1 {
				_, err := ray.Get(ctx, s.double.Options(ray.RetryExceptions(), ray.MaxRetries(2)).Remote(ctx, 1))
				assert.ErrorIs(t, err, ray.ErrTaskFailed)
				assert.ErrorContains(t, err, node.InjectedTaskError)
				_, err = ray.Get(ctx, s.double.Remote(ctx, 1)) // without retries: the first run's error
				assert.ErrorContains(t, err, node.InjectedTaskError)
				h := s.counter.New(ctx, 1)
				v, err := ray.Get(ctx, s.incr.Remote(ctx, h, 1))
				require.NoError(t, err, "an actor method")
				assert.Equal(t, 2, v)
				return nil
			}
			refs := make([]ray.Ref[int], 200)
			for i := range refs {
				refs[i] = s.double.Options(ray.RetryExceptions(), ray.MaxRetries(-1)).Remote(ctx, i)
			}
			vs, err := ray.GetAll(ctx, refs, -1)
			require.NoError(t, err)
			for i, v := range vs {
				assert.Equal(t, 2*i, v)
			}
			return nil
		}))
		return retried
	}
	assert.Equal(t, 2, run(1, 1), "the first task's 2 retries; none for the second")
	a, b := run(0.3, 7), run(0.3, 7)
	assert.Equal(t, a, b, "the same seed draws the same failures")
	assert.InDelta(t, 200*0.3/0.7, a, 40, "about p/(1-p) retries a task")
}
