package ray_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"raysim/runtime/ray"
)

// Benchmarks named after Ray's `ray microbenchmark`, over an in-process
// loopback TCP cluster (one GCS shard, the global scheduler and the raylets,
// each a tcp.Host). Like Ray's, the single-client ones use one node (here
// with 8 CPUs); every message between the raylet, the GCS and the scheduler
// crosses a real socket. Each reports ops/s. Run:
//
//	go test -run '^$' -bench 'Single|NN' -benchtime 3x ./runtime/ray/
//
// (-benchtime 1s or more for steadier numbers).

// microSuite is what the microbenchmarks call.
type microSuite struct {
	reg   *ray.Registry
	small *ray.Func[int]
	actor *ray.ActorClass[counter]
	noop  *ray.ActorMethod[counter, int]
}

func newMicroSuite() *microSuite {
	s := &microSuite{reg: ray.NewRegistry()}
	s.small = ray.Register0(s.reg, "small", func(ctx context.Context) (int, error) { return 0, nil })
	s.actor = ray.RegisterActor0(s.reg, "Actor", func(ctx context.Context) (*counter, error) { return &counter{}, nil })
	s.noop = ray.Method0(s.actor, "noop", func(ctx context.Context, c *counter) (int, error) { return 0, nil })
	return s
}

func microCluster(b *testing.B, s *microSuite, nodes int) *ray.TCP {
	b.Helper()
	c := newMicroCluster(b, s, nodes)
	b.Cleanup(func() { c.Close() })
	return c
}

// newMicroCluster is microCluster without the cleanup: the caller closes it.
func newMicroCluster(b *testing.B, s *microSuite, nodes int) *ray.TCP {
	b.Helper()
	cfg := ray.Config{Seed: 1}
	for i := 0; i < nodes; i++ {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 8})
	}
	c, err := ray.NewTCP(context.Background(), cfg, s.reg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// runMicro runs body as a driver on node 0 of a fresh one-node cluster,
// timing only body.
func runMicro(b *testing.B, body func(ctx context.Context, s *microSuite) error) {
	s := newMicroSuite()
	c := microCluster(b, s, 1)
	err := c.Run(func(ctx context.Context) error {
		// warm up: start a worker, dial every connection
		if _, err := ray.Get(ctx, s.small.Remote(ctx)); err != nil {
			return err
		}
		b.ResetTimer()
		start := time.Now()
		if err := body(ctx, s); err != nil {
			return err
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

const asyncBatch = 1000

func BenchmarkSingleClientTasksSync(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		for i := 0; i < b.N; i++ {
			if _, err := ray.Get(ctx, s.small.Remote(ctx)); err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkSingleClientTasksAsync(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		refs := make([]ray.Ref[int], 0, asyncBatch)
		for done := 0; done < b.N; done += len(refs) {
			refs = refs[:0]
			for j := 0; j < min(asyncBatch, b.N-done); j++ {
				refs = append(refs, s.small.Remote(ctx))
			}
			if _, err := ray.GetAll(ctx, refs, -1); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkSingleClientTasksAsyncFree is BenchmarkSingleClientTasksAsync
// as the CLI's single_client_tasks_async runs it (bench.Micros): each
// batch's results are freed once got, as Ray's reference counting frees
// them, so the GCS's free path is on it too.
func BenchmarkSingleClientTasksAsyncFree(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		refs := make([]ray.Ref[int], 0, asyncBatch)
		for done := 0; done < b.N; done += len(refs) {
			refs = refs[:0]
			for j := 0; j < min(asyncBatch, b.N-done); j++ {
				refs = append(refs, s.small.Remote(ctx))
			}
			if _, err := ray.GetAll(ctx, refs, -1); err != nil {
				return err
			}
			if err := ray.Free(ctx, refs...); err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkSingleClientActorCallsSync(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		h := s.actor.New(ctx)
		for i := 0; i < b.N; i++ {
			if _, err := ray.Get(ctx, s.noop.Remote(ctx, h)); err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkSingleClientActorCallsAsync(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		h := s.actor.New(ctx)
		return actorCallsAsync(ctx, s, []ray.ActorHandle[counter]{h}, b.N)
	})
}

// BenchmarkSingleClientThreadedActorCallsAsync is
// BenchmarkSingleClientActorCallsAsync on a threaded actor
// (ray.MaxConcurrency(4)): each method runs as a job on the raylet's
// worker pool instead of on the actor's own coroutine (a no-op method
// gains nothing from running at once: this is the path's cost).
func BenchmarkSingleClientThreadedActorCallsAsync(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		h := s.actor.Options(ray.MaxConcurrency(4)).New(ctx)
		return actorCallsAsync(ctx, s, []ray.ActorHandle[counter]{h}, b.N)
	})
}

// actorCallsAsync makes n calls, round robin over hs, in batches.
func actorCallsAsync(ctx context.Context, s *microSuite, hs []ray.ActorHandle[counter], n int) error {
	refs := make([]ray.Ref[int], 0, asyncBatch)
	for done := 0; done < n; done += len(refs) {
		refs = refs[:0]
		for j := 0; j < min(asyncBatch, n-done); j++ {
			refs = append(refs, s.noop.Remote(ctx, hs[j%len(hs)]))
		}
		if _, err := ray.GetAll(ctx, refs, -1); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkNNActorCallsAsync: n drivers (one per node of an n-node cluster)
// each call all n actors (one per node) asynchronously; b.N calls in all.
func BenchmarkNNActorCallsAsync(b *testing.B) {
	const n = 4
	s := newMicroSuite()
	c := microCluster(b, s, n)
	var hs []ray.ActorHandle[counter]
	err := c.Run(func(ctx context.Context) error {
		for i := 0; i < n; i++ {
			hs = append(hs, s.actor.Options(ray.NodeAffinity(ray.RayletID(i), false)).New(ctx))
		}
		for _, h := range hs { // wait until they all live
			if _, err := ray.Get(ctx, s.noop.Remote(ctx, h)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var ready sync.WaitGroup
	ready.Add(n)
	startC := make(chan struct{})
	for i := 0; i < n; i++ {
		share := b.N / n
		if i < b.N%n {
			share++
		}
		if err := c.Go(i, func(ctx context.Context) error {
			ready.Done()
			<-startC
			return actorCallsAsync(ctx, s, hs, share)
		}); err != nil {
			b.Fatal(err)
		}
	}
	ready.Wait()
	b.ResetTimer()
	start := time.Now()
	close(startC)
	if err := c.Wait(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkSingleClientPutCalls(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		for i := 0; i < b.N; i++ {
			if _, err := ray.Put(ctx, i); err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkSingleClientGetCalls(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		ref, err := ray.Put(ctx, 42)
		if err != nil {
			return err
		}
		for i := 0; i < b.N; i++ {
			if _, err := ray.Get(ctx, ref); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkSingleClientPutGigabytes puts 64 MiB byte slices (Ray puts
// 100 MB arrays); it also reports GB/s. raysim keeps primary copies (no
// distributed reference counting), so the cluster is replaced, off the
// clock, every 8 puts to bound memory (512 MiB).
func BenchmarkSingleClientPutGigabytes(b *testing.B) {
	const size, perCluster = 64 << 20, 8
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	var elapsed time.Duration
	for done := 0; done < b.N; {
		b.StopTimer()
		s := newMicroSuite()
		c := newMicroCluster(b, s, 1) // not kept by a Cleanup: its store is freed
		err := c.Run(func(ctx context.Context) error {
			b.StartTimer()
			start := time.Now()
			for j := 0; j < perCluster && done < b.N; j, done = j+1, done+1 {
				if _, err := ray.Put(ctx, data); err != nil {
					return err
				}
			}
			elapsed += time.Since(start)
			b.StopTimer()
			return nil
		})
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(b.N)*size/1e9/elapsed.Seconds(), "GB/s")
}

// BenchmarkSingleClientWait1kRefs: one op submits 1000 tasks and waits for
// them one ray.Wait(num_returns=1) at a time, as Ray's does.
func BenchmarkSingleClientWait1kRefs(b *testing.B) {
	runMicro(b, func(ctx context.Context, s *microSuite) error {
		for i := 0; i < b.N; i++ {
			notReady := make([]ray.Ref[int], 0, 1000)
			for j := 0; j < 1000; j++ {
				notReady = append(notReady, s.small.Remote(ctx))
			}
			for len(notReady) > 0 {
				var err error
				if _, notReady, err = ray.Wait(ctx, notReady, 1, -1); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

var simTasks = flag.Int("simtasks", 1_000_000, "tasks per iteration of BenchmarkSimMillionTasks")

// BenchmarkSimMillionTasks simulates -simtasks (nearly) empty tasks (default 1e6) on
// 100 nodes, one driver per node submitting its share then GetAll, and
// reports simulated tasks per wall second. Run it once:
//
//	go test -run '^$' -bench SimMillionTasks -benchtime 1x ./runtime/ray/
func BenchmarkSimMillionTasks(b *testing.B) {
	const nodes = 100
	total := *simTasks
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		s := newMicroSuite()
		cfg := ray.Config{Seed: int64(it + 1)}
		for i := 0; i < nodes; i++ {
			cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 8})
		}
		c, err := ray.NewSim(cfg, s.reg)
		if err != nil {
			b.Fatal(err)
		}
		// 1µs of declared work: a task of exactly zero virtual time leaves
		// its node's MeanTaskTime at 0, and scheduler.EstimatedWait
		// (queue × mean) then ranks that node first whatever its queue, so
		// the global scheduler piles every spilled task onto it.
		task := s.small.Options(ray.Duration(time.Microsecond))
		for i := 0; i < nodes; i++ {
			share := total / nodes
			if i < total%nodes {
				share++
			}
			if err := c.Go(i, func(ctx context.Context) error {
				refs := make([]ray.Ref[int], share)
				for j := range refs {
					refs[j] = task.Remote(ctx)
				}
				_, err := ray.GetAll(ctx, refs, -1)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		err = c.Run(nil)
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(total)/wall.Seconds(), "tasks/s")
		b.ReportMetric(c.Netsim().Now().Seconds(), "virtual-s")
		c.Close()
	}
}
