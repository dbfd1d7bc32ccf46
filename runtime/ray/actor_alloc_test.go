package ray_test

import (
	"context"
	"testing"

	"raysim/runtime/ray"
)

// maxAllocsPerActorCall bounds the heap allocations of one empty actor
// call's life in netsim (a 1:1 async call: one driver, one actor, 100 in
// flight, results freed), driver, raylet and GCS catch-up included
// (measured: 38.08, the same before and after threaded actors, whose
// one-at-a-time path is unchanged; a threaded actor's call: 34.31, its
// pool job costing less than the actor coroutine's Await closures).
const maxAllocsPerActorCall = 38.5

// TestSimActorCallAllocations counts the mallocs of 10,000 empty calls on
// one actor, as TestSimTaskAllocations does for tasks; with threaded set
// the actor is made with MaxConcurrency(4), whose methods run as pool jobs
// (logged, not bounded: one job each).
func TestSimActorCallAllocations(t *testing.T) {
	const calls, window = 10000, 100
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Empty", func(ctx context.Context) (*counter, error) { return &counter{}, nil })
	noop := ray.Method0(cls, "noop", func(ctx context.Context, c *counter) (int, error) { return 0, nil })
	cfg := ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "n0", CPUs: 4}}}
	run := func(n int, opts ...ray.Option) float64 {
		c, err := ray.NewSim(cfg, reg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Go(0, func(ctx context.Context) error {
			h := cls.Options(opts...).New(ctx)
			refs := make([]ray.Ref[int], window)
			for done := 0; done < n; done += window {
				for j := range refs {
					refs[j] = noop.Remote(ctx, h)
				}
				if _, err := ray.GetAll(ctx, refs, -1); err != nil {
					return err
				}
				if err := ray.Free(ctx, refs...); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return mallocsToFinish(t, c)
	}
	per := func(opts ...ray.Option) float64 {
		small, large := run(window, opts...), run(calls, opts...)
		return (large - small) / float64(calls-window)
	}
	one := per()
	t.Logf("%.2f allocations per actor call", one)
	if one > maxAllocsPerActorCall {
		t.Errorf("%.2f allocations per empty actor call, more than %.1f: something on the one-at-a-time call path allocates again", one, maxAllocsPerActorCall)
	}
	if !testing.Short() {
		t.Logf("%.2f allocations per threaded actor call", per(ray.MaxConcurrency(4)))
	}
}
