package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/node"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// callerEntries sums what the raylets hosting actor id keep per caller.
func callerEntries(c *ray.Sim, n int, id transport.ActorID) node.CallerEntries {
	var sum node.CallerEntries
	for i := 0; i < n; i++ {
		if e, ok := c.Raylet(i).ActorCallerEntries(id); ok {
			sum.Expected += e.Expected
			sum.Early += e.Early
			sum.Past += e.Past
			sum.PastOpen += e.PastOpen
			sum.PastKept += e.PastKept
			sum.JobCallers += e.JobCallers
		}
	}
	return sum
}

// TestActorForgetsEndedJobsCallers: a detached actor called once by each
// of 10,000 tasks of a job kept a place per task in its callers' orders
// for its life (an actor host's expected[caller]: thirty-first session,
// "still growing"). Once the job has ended, the host keeps O(1) entries,
// and every call ran once: the actor's sum is exact, and a later job's
// calls run as before.
func TestActorForgetsEndedJobsCallers(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "OverAcc", func(ctx context.Context) (*boundAcc, error) { return &boundAcc{}, nil })
	add := ray.Method1(cls, "add", func(ctx context.Context, a *boundAcc, d int) (int, error) { a.n += d; return a.n, nil })
	var h ray.ActorHandle[boundAcc]
	call := ray.Register1(reg, "callOnce", func(ctx context.Context, x int) (int, error) {
		r := add.Remote(ctx, h, 1)
		v, err := ray.Get(ctx, r)
		ray.Free(ctx, r)
		return v, err
	})
	c, err := ray.NewSim(ray.Config{
		Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 8}, {Name: "w1", CPUs: 8}},
		Seed:       1,
		MaxVirtual: 100 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h = cls.Options(ray.Detached(), ray.ActorName("over-acc")).New(ctx)
		_, err := ray.Get(ctx, add.Remote(ctx, h, 0))
		return err
	}))
	const tasks = 10_000
	require.NoError(t, c.Run(func(ctx context.Context) error {
		refs := make([]ray.Ref[int], 0, tasks)
		for i := 0; i < tasks; i++ {
			refs = append(refs, call.Remote(ctx, i))
		}
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		ray.Free(ctx, refs...)
		return nil
	}))
	require.NoError(t, c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, add.Remote(ctx, h, 0))
		if err == nil && v != tasks {
			return fmt.Errorf("the calls did not each run once: the sum is %d, want %d", v, tasks)
		}
		return err
	}))
	e := callerEntries(c, 2, transport.ActorID(h.ID()))
	require.Less(t, e.Expected, 10, "the host keeps a place per caller task of the ended job: %+v", e)
	require.Less(t, e.Early+e.JobCallers, 10, "%+v", e)
}

type overLog struct{ n int }

// TestCallerOverBoundsRestoredResults (review31 #1): a replaying actor
// restarted while each of its callers had made its one call keeps, in
// its restored state, the result of each call its caller has not said
// done, for the caller's retry. A caller that calls no more never said
// its last call done, so the instance kept a result per caller task for
// its life. As each caller task ends its word that it is over says them
// done, within the job: none is kept open; and each call ran once.
func TestCallerOverBoundsRestoredResults(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "OverLog", func(ctx context.Context) (*overLog, error) { return &overLog{}, nil })
	inc := ray.Method1(cls, "inc", func(ctx context.Context, a *overLog, d int) (int, error) { a.n += d; return a.n, nil })
	var h ray.ActorHandle[overLog]
	call := ray.Register1(reg, "incThenWork", func(ctx context.Context, x int) (int, error) {
		v, err := ray.Get(ctx, inc.Remote(ctx, h, 1))
		if err != nil {
			return 0, err
		}
		return v, ray.Compute(ctx, 3*time.Second) // still running at the restart
	})
	c, err := ray.NewSim(ray.Config{
		Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 8}, {Name: "w1", CPUs: 8}},
		Seed:       1,
		MaxVirtual: 100 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	const tasks = 200
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h = cls.Options(ray.ReplayMethods(), ray.MaxRestarts(2), ray.MaxRetries(3)).New(ctx)
		refs := make([]ray.Ref[int], 0, tasks)
		for i := 0; i < tasks; i++ {
			refs = append(refs, call.Remote(ctx, i))
		}
		// Every call made (the actor's count), the callers still working.
		for {
			v, err := ray.Get(ctx, inc.Remote(ctx, h, 0))
			if err != nil {
				return err
			}
			if v == tasks {
				break
			}
			if err := ray.Compute(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
		if err := ray.Kill(ctx, h, ray.AllowRestart()); err != nil {
			return err
		}
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		v, err := ray.Get(ctx, inc.Remote(ctx, h, 0))
		if err != nil {
			return err
		}
		if v != tasks {
			return fmt.Errorf("the calls did not each run once: %d, want %d", v, tasks)
		}
		// The job lives on: what the instance keeps open is bounded by the
		// callers' words, not by its job's end.
		e := callerEntries(c, 2, transport.ActorID(h.ID()))
		if e.Past == 0 {
			return fmt.Errorf("precondition: the instance restored nothing (not restarted?): %+v", e)
		}
		if e.PastOpen > 2 {
			return fmt.Errorf("the restored results of %d callers over are kept open, for retries that will not come: %+v", e.PastOpen, e)
		}
		return nil
	}))
}

// onceLedger counts the calls it ran by key; it replays its log.
type onceLedger struct{ seen map[int64]int }

// TestCallerOverCallsRunOnceUnderFaults: jobs one after another whose
// caller tasks each call a detached actor once and work on, the callers'
// node crashing in the middle job (its callers retried: their calls come
// again, under the same IDs, to the same instance or, when the actor's
// node crashes too, to a replayed one) and the callers' links to the
// actor lossy and slow (frames resent, late). The actor forgets each job's
// callers as it ends, hears callers over after its restart, and refuses
// late calls of ended jobs: every call still runs exactly once, and the
// host keeps no place for an ended job's callers.
func TestCallerOverCallsRunOnceUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		crashActor bool
		at         time.Duration
	}{
		{"callers' node, early", false, 2 * time.Millisecond},
		{"callers' node, late", false, 15 * time.Millisecond},
		{"callers' and actor's nodes", true, 5 * time.Millisecond},
		{"callers' and actor's nodes, late", true, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := ray.NewRegistry()
			cls := ray.RegisterActor0(reg, "OnceLedger", func(ctx context.Context) (*onceLedger, error) {
				return &onceLedger{seen: map[int64]int{}}, nil
			})
			note := ray.Method1(cls, "note", func(ctx context.Context, l *onceLedger, k int64) (int, error) {
				l.seen[k]++
				return l.seen[k], nil
			})
			// bad: the keys not seen exactly once, of want keys 0..n-1.
			bad := ray.Method1(cls, "bad", func(ctx context.Context, l *onceLedger, n int64) (string, error) {
				var out string
				for k := int64(0); k < n; k++ {
					if l.seen[k] != 1 {
						out += fmt.Sprintf(" key %d ran %d times;", k, l.seen[k])
					}
				}
				if len(l.seen) != int(n) {
					out += fmt.Sprintf(" %d keys, want %d", len(l.seen), n)
				}
				return out, nil
			})
			var h ray.ActorHandle[onceLedger]
			caller := ray.Register1(reg, "noteOnce", func(ctx context.Context, k int64) (int, error) {
				v, err := ray.Get(ctx, note.Remote(ctx, h, k))
				if err != nil {
					return 0, err
				}
				return v, ray.Compute(ctx, 10*time.Millisecond)
			})
			c, err := ray.NewSim(ray.Config{
				Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "w1", CPUs: 2}, {Name: "w2", CPUs: 8}, {Name: "w3", CPUs: 8}},
				Seed:  3, MaxVirtual: time.Hour,
			}, reg)
			require.NoError(t, err)
			defer c.Close()
			sim := c.Netsim()
			w1, w2, w3 := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2)), netsim.NodeID(ray.RayletID(3))
			for _, from := range []netsim.NodeID{w2, w3} {
				sim.Degrade(from, w1, time.Millisecond, 0.2)
				sim.Degrade(w1, from, time.Millisecond, 0.2)
			}
			require.NoError(t, c.Run(func(ctx context.Context) error {
				h = cls.Options(ray.Detached(), ray.ReplayMethods(), ray.MaxRestarts(-1), ray.MaxRetries(-1),
					ray.NodeAffinity(ray.RayletID(1), true)).New(ctx)
				_, err := ray.Get(ctx, bad.Remote(ctx, h, 0))
				return err
			}))
			const jobs, perJob = 3, 40
			for j := 0; j < jobs; j++ {
				require.NoError(t, c.Run(func(ctx context.Context) error {
					if j == 1 {
						sim.After(tc.at, func() { sim.Crash(w2) })
						sim.After(tc.at+50*time.Millisecond, func() { sim.Restart(w2) })
						if tc.crashActor {
							sim.After(tc.at+2*time.Millisecond, func() { sim.Crash(w1) })
							sim.After(tc.at+30*time.Millisecond, func() { sim.Restart(w1) })
						}
					}
					refs := make([]ray.Ref[int], 0, perJob)
					for i := 0; i < perJob; i++ {
						refs = append(refs, caller.Options(ray.MaxRetries(-1)).Remote(ctx, int64(j*perJob+i)))
					}
					for i, r := range refs {
						if _, err := ray.Get(ctx, r); err != nil {
							return fmt.Errorf("job %d caller %d: %w", j, i, err)
						}
					}
					return nil
				}), "job %d", j)
			}
			require.NoError(t, c.Run(func(ctx context.Context) error {
				v, err := ray.Get(ctx, bad.Remote(ctx, h, jobs*perJob))
				if err != nil {
					return err
				}
				if v != "" {
					return fmt.Errorf("calls not run exactly once:%s", v)
				}
				return nil
			}))
			e := callerEntries(c, 4, transport.ActorID(h.ID()))
			if !tc.crashActor {
				require.Less(t, e.Expected, 5, "places kept for ended jobs' callers: %+v", e)
				return
			}
			// The actor's node restarted: its new raylet never heard that
			// the first job ended (a raylet learns a job's end from its
			// JobEnd only), and the instance restored that job's calls
			// from its log, their callers over before it began: those stay
			// (bounded by the log); the later jobs' are forgotten.
			require.LessOrEqual(t, e.Expected, perJob+2, "places kept for the later jobs' callers: %+v", e)
			require.Zero(t, e.PastOpen, "restored results kept open for callers over, their owners asked (OpenCalls): %+v", e)
		})
	}
}

// TestRestoredInstanceAsksOwnersOfOpenCalls (review31 #1): each of 200
// tasks calls a replaying actor once and ends; then the actor restarts.
// Its restored state holds each task's call, never said done (the task's
// word that it was over went to the instance before), and kept each
// result for a retry that will not come: 200 for the instance's life
// while the job lives. The instance asks the calls' owners (OpenCalls),
// who say them done: none is kept open, each call ran once.
func TestRestoredInstanceAsksOwnersOfOpenCalls(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "AskLog", func(ctx context.Context) (*overLog, error) { return &overLog{}, nil })
	inc := ray.Method1(cls, "inc", func(ctx context.Context, a *overLog, d int) (int, error) { a.n += d; return a.n, nil })
	var h ray.ActorHandle[overLog]
	call := ray.Register1(reg, "incOnce", func(ctx context.Context, x int) (int, error) {
		return ray.Get(ctx, inc.Remote(ctx, h, 1))
	})
	c, err := ray.NewSim(ray.Config{
		Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 8}, {Name: "w1", CPUs: 8}},
		Seed:       1,
		MaxVirtual: 100 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	const tasks = 200
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h = cls.Options(ray.ReplayMethods(), ray.MaxRestarts(2), ray.MaxRetries(3)).New(ctx)
		refs := make([]ray.Ref[int], 0, tasks)
		for i := 0; i < tasks; i++ {
			refs = append(refs, call.Remote(ctx, i))
		}
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		if err := ray.Compute(ctx, 100*time.Millisecond); err != nil { // the callers' sequences dropped
			return err
		}
		if err := ray.Kill(ctx, h, ray.AllowRestart()); err != nil {
			return err
		}
		v, err := ray.Get(ctx, inc.Remote(ctx, h, 0))
		if err != nil {
			return err
		}
		if v != tasks {
			return fmt.Errorf("the calls did not each run once: %d, want %d", v, tasks)
		}
		if err := ray.Compute(ctx, 100*time.Millisecond); err != nil { // the owners' answers
			return err
		}
		e := callerEntries(c, 2, transport.ActorID(h.ID()))
		if e.Past < tasks {
			return fmt.Errorf("precondition: the instance restored %d calls, want %d: %+v", e.Past, tasks, e)
		}
		if e.PastOpen > 1 {
			return fmt.Errorf("the restored results of %d callers over are kept open, for retries that will not come: %+v", e.PastOpen, e)
		}
		return nil
	}))
}
