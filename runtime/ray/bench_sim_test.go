package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"raysim/runtime/ray"
)

// BenchmarkSimLocalTasks measures the simulator's cost per task on the
// paper's throughput pattern: one driver per node submitting empty tasks that
// run locally (bottom-up, no spill), then getting their results. One
// benchmark op is one task; allocations per op are per task.
//
//	go test -run '^$' -bench SimLocalTasks -benchmem ./runtime/ray/
func BenchmarkSimLocalTasks(b *testing.B) { benchSimTasks(b, 0) }

// BenchmarkSimWindowTasks is BenchmarkSimLocalTasks with each driver keeping
// only 100 tasks in flight and freeing their results once it has them (what
// Ray's reference counting would do), so that the runtime's tables stay
// small and warm in cache: against SimLocalTasks, where every task is queued
// at once, it tells how much of a task's cost is memory latency.
func BenchmarkSimWindowTasks(b *testing.B) { benchSimTasks(b, 100) }

// benchSimTasks runs b.N empty tasks on 10 simulated nodes, one driver per
// node; window > 0 submits them window at a time, freeing each window's
// results, and 0 submits them all at once.
func benchSimTasks(b *testing.B, window int) {
	const nodes = 10
	reg := ray.NewRegistry()
	empty := ray.Register0(reg, "empty", func(ctx context.Context) (int, error) { return 0, nil })
	c := benchCluster(b, reg, nodes)
	per := b.N/nodes + 1
	if window <= 0 {
		window = per
	}
	for i := 0; i < nodes; i++ {
		if err := c.Go(i, func(ctx context.Context) error {
			refs := make([]ray.Ref[int], window)
			for done := 0; done < per; done += window {
				refs = refs[:min(window, per-done)]
				for j := range refs {
					refs[j] = empty.Remote(ctx)
				}
				if _, err := ray.GetAll(ctx, refs, -1); err != nil {
					return err
				}
				if window < per {
					if err := ray.Free(ctx, refs...); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	timedRun(b, c)
	// The GCS records tasks and objects asynchronously and may still be
	// behind when the drivers are done: the wall time it takes to catch up
	// is reported apart, so that ns/op stays comparable with earlier runs.
	start := time.Now()
	if _, err := c.RunUntilGCSCaughtUp(context.Background(), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "gcs-catch-up-ns/task")
}

// BenchmarkSimActorCalls measures the simulator's cost per actor call: one
// driver keeping 100 empty calls in flight on one actor, results freed
// (the 1:1 async pattern of Ray's microbenchmark). One op is one call.
//
//	go test -run '^$' -bench SimActorCalls -benchmem ./runtime/ray/
func BenchmarkSimActorCalls(b *testing.B) {
	const window = 100
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Empty", func(ctx context.Context) (*counter, error) { return &counter{}, nil })
	noop := ray.Method0(cls, "noop", func(ctx context.Context, c *counter) (int, error) { return 0, nil })
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "n0", CPUs: 4}}}, reg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Go(0, func(ctx context.Context) error {
		h := cls.New(ctx)
		refs := make([]ray.Ref[int], window)
		for done := 0; done < b.N; done += window {
			refs = refs[:min(window, b.N-done)]
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
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := c.Run(nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSimTwoReturnTasks is BenchmarkSimWindowTasks with tasks of two
// returns (Register0x2): each driver keeps 100 tasks in flight, gets both
// results of each and frees them. One op is one task (two objects): set
// against SimWindowTasks, it is the cost of a second return.
//
//	go test -run '^$' -bench 'Sim(Window|TwoReturn)Tasks' -benchmem ./runtime/ray/
func BenchmarkSimTwoReturnTasks(b *testing.B) {
	const nodes, window = 10, 100
	reg := ray.NewRegistry()
	pair := ray.Register0x2(reg, "pair", func(ctx context.Context) (int, int, error) { return 0, 1, nil })
	c := benchCluster(b, reg, nodes)
	per := b.N/nodes + 1
	for i := 0; i < nodes; i++ {
		if err := c.Go(i, func(ctx context.Context) error {
			refs := make([]ray.Ref[int], 2*window)
			for done := 0; done < per; done += window {
				refs = refs[:2*min(window, per-done)]
				for j := 0; j < len(refs); j += 2 {
					refs[j], refs[j+1] = pair.Remote(ctx)
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
			b.Fatal(err)
		}
	}
	timedRun(b, c)
}

// BenchmarkSimGeneratorItems measures a generator task's items on a
// simulated cluster of 10 nodes: each driver runs generators of 100 items
// one after another, taking each item with Next, reading it with Get and
// freeing it. One op is one item (one object, its own put, announcement
// and wake): set against SimTwoReturnTasks' op of two objects, it is the
// cost of streaming a result instead of returning it at the end.
//
//	go test -run '^$' -bench 'Sim(TwoReturnTasks|GeneratorItems)' -benchmem ./runtime/ray/
func BenchmarkSimGeneratorItems(b *testing.B) { simGeneratorItems(b) }

// BenchmarkSimGeneratorItemsBackpressure is SimGeneratorItems with
// GeneratorBackpressure(4): each item taken is reported to the caller's
// node, and the generator blocks while 4 are not taken, woken as they are.
//
//	go test -run '^$' -bench 'SimGeneratorItems' -benchmem ./runtime/ray/
func BenchmarkSimGeneratorItemsBackpressure(b *testing.B) {
	simGeneratorItems(b, ray.GeneratorBackpressure(4))
}

// simGeneratorItems is SimGeneratorItems with the generator's options.
func simGeneratorItems(b *testing.B, opts ...ray.Option) {
	const nodes, items = 10, 100
	reg := ray.NewRegistry()
	gen := ray.RegisterGen1(reg, "items", func(ctx context.Context, n int, yield func(int) error) error {
		for i := range n {
			if err := yield(i); err != nil {
				return err
			}
		}
		return nil
	}).Options(opts...)
	c := benchCluster(b, reg, nodes)
	per := b.N/nodes + 1
	for i := 0; i < nodes; i++ {
		if err := c.Go(i, func(ctx context.Context) error {
			for done := 0; done < per; done += items {
				st := gen.Remote(ctx, min(items, per-done))
				for ref, err := range st.All(ctx) {
					if err != nil {
						return err
					}
					if _, err := ray.Get(ctx, ref); err != nil {
						return err
					}
					if err := ray.Free(ctx, ref); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := c.Run(nil); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Netsim().Stats().Events)/float64(b.N), "events/item")
}

// timedRun runs the drivers c was given, timing that alone, and reports
// the simulator's events per op.
func timedRun(b *testing.B, c *ray.Sim) {
	b.Helper()
	b.ResetTimer()
	if err := c.Run(nil); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Netsim().Stats().Events)/float64(b.N), "events/task")
}

// benchCluster is the simulated cluster of the task benchmarks: nodes of
// 16 CPUs each that never spill (every driver's tasks stay on its node),
// closed when the benchmark ends.
func benchCluster(b *testing.B, reg *ray.Registry, nodes int) *ray.Sim {
	b.Helper()
	cfg := ray.Config{Seed: 1, SpillThreshold: 1 << 30}
	for i := 0; i < nodes; i++ {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 16})
	}
	c, err := ray.NewSim(cfg, reg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
