package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
