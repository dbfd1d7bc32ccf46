package ray_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// A task's max_retries is one budget, shared by its retries after failures
// and the rebuilds of its lost results (Ray's task manager counts both in
// num_retries_left; a rebuild asked of a task with none left, or of one
// with max_retries=0, fails with ObjectReconstructionFailedMaxAttemptsExceededError,
// an ObjectLostError). Before, each rebuild had a fresh max_retries, and a
// task of max_retries 0 was rebuilt all the same.

func init() { semanticCases = append(semanticCases, budgetCases...) }

var budgetCases = []semanticCase{
	{"lineage: max_retries 0 disables reconstruction: a lost result is ErrObjectLost, not run again", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		q, r := s.multi.divmod.Options(ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRetries(0)).Remote(ctx, 47, 10)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{q, r}, 2, 30*time.Second) // done; no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 2)
		runs := s.multi.runs.Load()
		s.crash(1) // the only copies go
		_, err = ray.GetTimeout(ctx, r, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.Contains(t, err.Error(), "max_retries 0")
		_, err = ray.GetTimeout(ctx, q, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost, "the other return")
		assert.Equal(t, runs, s.multi.runs.Load(), "the task ran again")
	}},
}

// countedFunc registers a function that counts its runs, computing for ms
// milliseconds before it returns x.
func countedFunc(s *suite) (*ray.Func[int], *atomic.Int64) {
	runs := new(atomic.Int64)
	f := ray.Register2(s.reg, "counted", func(ctx context.Context, x, ms int) (int, error) {
		runs.Add(1)
		if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return 0, err
		}
		return x, nil
	})
	return f, runs
}

// lossesUntilLost makes a task of the given max_retries on w1, then loses
// its only copy losses times, each time crashing the node that holds it
// and bringing back the other: every loss the budget allows is rebuilt on
// the other node; the first it does not is ErrObjectLost, and the task is
// not run for it.
func lossesUntilLost(t *testing.T, maxRetries, losses int) {
	lossesUntilLostOn(t, ray.Config{Nodes: withW(2)}, maxRetries, losses)
}

// lossesUntilLostOn is lossesUntilLost on a cluster of cfg (nodes withW(2)).
func lossesUntilLostOn(t *testing.T, cfg ray.Config, maxRetries, losses int) {
	s := newSuite()
	counted, runs := countedFunc(s)
	faultSim(t, s, cfg, func(ctx context.Context, c *ray.Sim) error {
		holder, other := ray.RayletID(1), ray.RayletID(2)
		ref := counted.Options(ray.NodeAffinity(holder, true), ray.Resource("w", 1), ray.MaxRetries(maxRetries)).Remote(ctx, 7, 1)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{ref}, 1, 30*time.Second) // done; no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		for i := 1; i <= losses; i++ {
			c.Netsim().Crash(netsim.NodeID(holder))
			require.NoError(t, ray.Compute(ctx, 2*time.Second)) // its death is known
			if maxRetries >= 0 && i > maxRetries {
				_, err := ray.GetTimeout(ctx, ref, 30*time.Second)
				require.ErrorIs(t, err, ray.ErrObjectLost, "loss %d of a task of max_retries %d", i, maxRetries)
				assert.Contains(t, err.Error(), "retries are spent")
				assert.Equal(t, int64(i), runs.Load(), "the first run and a rebuild per loss before")
				return nil
			}
			// Read where the rebuild runs (the only node with "w"), so
			// that its copy stays the only one.
			v, err := ray.GetTimeout(ctx, s.add.Options(ray.NodeAffinity(other, false)).Remote(ctx, ref, 0), 30*time.Second)
			require.NoError(t, err, "loss %d", i)
			require.Equal(t, 7, v)
			require.Equal(t, int64(1+i), runs.Load(), "loss %d: one rebuild run", i)
			// The crashed node comes back for the next rebuild; the
			// rebuilt copy is on the other, which goes next.
			c.Netsim().Restart(netsim.NodeID(holder))
			require.NoError(t, ray.Compute(ctx, 2*time.Second)) // it registers again
			holder, other = other, holder
		}
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		return nil
	})
}

// TestRebuildBudgetOneRebuild: a task of max_retries 1 is rebuilt once;
// its result lost again is ErrObjectLost (before, every loss was rebuilt).
func TestRebuildBudgetOneRebuild(t *testing.T) { lossesUntilLost(t, 1, 2) }

// TestRebuildBudgetOnReplicatedGCS: as TestRebuildBudgetOneRebuild, with
// the task table on sharded chains (claims and retry reports are writes:
// they enter at a chain's head, answers leave its tail).
func TestRebuildBudgetOnReplicatedGCS(t *testing.T) {
	lossesUntilLostOn(t, ray.Config{Nodes: withW(2), GCSShards: 2, GCSReplicas: 2}, 1, 2)
}

// TestRebuildBudgetDefault: the default max_retries, 3, allows three
// rebuilds, not four.
func TestRebuildBudgetDefault(t *testing.T) { lossesUntilLost(t, 3, 4) }

// TestRebuildBudgetUnbounded: max_retries -1 rebuilds without bound.
func TestRebuildBudgetUnbounded(t *testing.T) { lossesUntilLost(t, -1, 5) }

// TestRebuildBudgetSharedWithRetries: a task of max_retries 1 whose node
// dies while it runs is retried (one unit spent); its result lost
// afterwards is ErrObjectLost, though it was never rebuilt (before, the
// rebuild had a max_retries of its own).
func TestRebuildBudgetSharedWithRetries(t *testing.T) {
	s := newSuite()
	counted, runs := countedFunc(s)
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1, w2 := ray.RayletID(1), ray.RayletID(2)
		ref := counted.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(1)).Remote(ctx, 7, 500)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on w1
		require.Equal(t, int64(1), runs.Load())
		c.Netsim().Crash(netsim.NodeID(w1)) // retried on w2
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{ref}, 1, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, ready, 1)
		require.Equal(t, int64(2), runs.Load(), "one retry")
		assert.Equal(t, uint64(1), uint64(c.Raylet(0).Stats.Retried), "the owner retried it once")
		c.Netsim().Restart(netsim.NodeID(w1)) // somewhere to rebuild, were any retry left
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		c.Netsim().Crash(netsim.NodeID(w2)) // the retry's only copy goes
		_, err = ray.GetTimeout(ctx, ref, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.Contains(t, err.Error(), "retries are spent")
		assert.Equal(t, int64(2), runs.Load(), "not rebuilt")
		return nil
	})
}

// TestRebuildBudgetSharedWithRetryExceptions: a task of max_retries 1 run
// again on its node after its code failed (ray.RetryExceptions) has spent
// its budget: its result lost afterwards is ErrObjectLost (the executing
// node reports the re-run to the task table).
func TestRebuildBudgetSharedWithRetryExceptions(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		ref := s.flaky.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(1), ray.RetryExceptions()).Remote(ctx, 1)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{ref}, 1, 30*time.Second) // no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		require.Equal(t, int64(2), s.flakyRuns.Load(), "a failed run and its retry")
		c.Netsim().Crash(netsim.NodeID(w1))
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // its death is known
		_, err = ray.GetTimeout(ctx, ref, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.Contains(t, err.Error(), "retries are spent")
		assert.Equal(t, int64(2), s.flakyRuns.Load(), "not rebuilt")
		return nil
	})
}

// TestRebuildOfArgumentChargesItsTask: a lost argument is rebuilt under
// its own task's budget, not its reader's: a reader of max_retries 3 whose
// argument's task has max_retries 0 fails with that argument lost, and
// neither task runs again; with the argument's task of max_retries 1, the
// argument is rebuilt and the reader runs.
func TestRebuildOfArgumentChargesItsTask(t *testing.T) {
	for _, argRetries := range []int{0, 1} {
		s := newSuite()
		counted, runs := countedFunc(s)
		faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
			w1 := ray.RayletID(1)
			arg := counted.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(argRetries)).Remote(ctx, 20, 1)
			ready, _, err := ray.Wait(ctx, []ray.Ref[int]{arg}, 1, 30*time.Second) // no copy fetched here
			require.NoError(t, err)
			require.Len(t, ready, 1)
			c.Netsim().Crash(netsim.NodeID(w1))
			require.NoError(t, ray.Compute(ctx, 2*time.Second)) // its death is known
			sum := s.add.Options(ray.MaxRetries(3)).Remote(ctx, arg, 1)
			v, err := ray.GetTimeout(ctx, sum, 30*time.Second)
			if argRetries == 0 {
				require.ErrorIs(t, err, ray.ErrObjectLost, "the argument's task has no retries")
				assert.Equal(t, int64(1), runs.Load(), "the argument's task ran again")
				return nil
			}
			require.NoError(t, err)
			assert.Equal(t, 21, v)
			assert.Equal(t, int64(2), runs.Load(), "one rebuild of the argument")
			return nil
		})
	}
}

// TestConcurrentReadersShareOneRebuild: two readers on different nodes
// that hear of one loss at once claim its rebuild from the task table: one
// runs it, the other waits for it, and the loss costs one run and one unit
// of the task's budget (before, each reader's node ran a rebuild of its
// own). A task of max_retries 1 is thus still readable by both.
func TestConcurrentReadersShareOneRebuild(t *testing.T) {
	s := newSuite()
	counted, runs := countedFunc(s)
	nodes := append(withW(2), ray.NodeConfig{Name: "reader", CPUs: 1})
	rebuilt := 0
	cfg := ray.Config{Nodes: nodes, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvObjectReconstructed {
			rebuilt++
		}
	}}
	faultSim(t, s, cfg, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		ref := counted.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(1)).Remote(ctx, 7, 20)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{ref}, 1, 30*time.Second) // no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		c.Netsim().Crash(netsim.NodeID(w1))
		var other error
		otherV := 0
		done := make(chan struct{})
		require.NoError(t, c.Go(3, func(ctx context.Context) error { // the reader node's driver
			defer close(done)
			otherV, other = ray.GetTimeout(ctx, ref, 30*time.Second)
			return nil
		}))
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // the other reader is done too
		select {
		case <-done:
		default:
			t.Fatal("the other reader did not finish")
		}
		require.NoError(t, other)
		assert.Equal(t, 7, otherV)
		assert.Equal(t, int64(2), runs.Load(), "one rebuild run for one loss")
		assert.Equal(t, 1, rebuilt, "rebuilds started")
		return nil
	})
}

// TestActorResultRebuildBudget: an actor method's result is rebuilt by
// re-running the call on the actor under the method's max_retries, one
// budget for every rebuild: of max_retries 1, a result freed and read
// again is rebuilt once; freed and read a third time, it is lost (before,
// every rebuild was allowed one re-run).
func TestActorResultRebuildBudget(t *testing.T) {
	reg, cls, echo := echoActors()
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		ref := echo.Options(ray.MaxRetries(1)).Remote(ctx, h, 7)
		for i := range 2 {
			v, err := ray.GetTimeout(ctx, ref, 5*time.Second)
			require.NoError(t, err, "read %d", i+1)
			require.Equal(t, 7, v)
			require.NoError(t, ray.Free(ctx, ref))
			require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the drops happen
		}
		_, err := ray.GetTimeout(ctx, ref, 5*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost, "read 3: the method's one retry is spent")
		assert.Contains(t, err.Error(), "retries are spent")
		return nil
	}))
}
