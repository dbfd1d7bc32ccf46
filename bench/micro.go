// Package bench is raysim's benchmark suite as a library, shared by
// `raysim bench` and `go test -bench`: the microbenchmarks of Ray's
// `ray microbenchmark` over an in-process loopback TCP cluster
// (ray.NewTCP), the simulator's scale runs (netsim), and the calibration
// of the simulator's cost profile against the TCP runtime.
//
// Nothing here asserts speed: the suite measures and reports.
package bench

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"time"

	"raysim/runtime/ray"
)

// Options tune a microbenchmark run.
type Options struct {
	Repeat   int           // repeats per benchmark (default 3)
	Duration time.Duration // measured time per repeat, about (default 500ms)
	Filter   *regexp.Regexp
	// Progress, if set, is told when a benchmark starts.
	Progress func(name string)
}

func (o *Options) defaults() {
	if o.Repeat <= 0 {
		o.Repeat = 3
	}
	if o.Duration <= 0 {
		o.Duration = defaultDuration
	}
}

// defaultDuration is a repeat's measured time unless Options say otherwise.
const defaultDuration = 500 * time.Millisecond

// Result is one benchmark's outcome over its repeats.
type Result struct {
	Name string `json:"name"`
	// RayName is Ray's metric name for this benchmark; empty when it is
	// raysim's own (not in Ray's microbenchmark).
	RayName string    `json:"ray_name"`
	Unit    string    `json:"unit"` // "ops/s" or "GB/s"
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Spread  float64   `json:"spread_pct"` // (max-min)/median, percent
	Values  []float64 `json:"values"`
	Ops     int       `json:"ops"` // operations measured over all repeats
	Nodes   int       `json:"nodes"`
	Note    string    `json:"note,omitempty"`
	Command string    `json:"command"`
	Err     string    `json:"error,omitempty"`
}

// summarize fills Median/Min/Max/Spread from Values.
func (r *Result) summarize() {
	if len(r.Values) == 0 {
		return
	}
	r.Min, r.Max = slices.Min(r.Values), slices.Max(r.Values)
	r.Median = median(r.Values)
	if r.Median > 0 {
		r.Spread = 100 * (r.Max - r.Min) / r.Median
	}
}

// median of v (not empty); v is not modified.
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	}
	n := len(v)
	return (v[n/2-1] + v[n/2]) / 2
}

// Micro is one microbenchmark.
type Micro struct {
	Name string // Ray's metric name where Ray has one (see RayName)
	// RayName is the metric of Ray's `ray microbenchmark` this one is
	// (its spelling there, e.g. placement_group_create/removal); empty for
	// raysim's own benchmarks, which Ray's suite does not have.
	RayName string
	Nodes   int // nodes of the loopback cluster
	Unit    string
	Note    string
	// Fresh: a new cluster per repeat (benchmarks that keep memory).
	Fresh bool
	// Prepare runs once per cluster before measuring (create actors...).
	Prepare func(ctx context.Context, e *Env) error
	// Batch performs some operations and returns how many (and bytes moved,
	// for GB/s). It is called until the repeat's duration has passed.
	Batch func(ctx context.Context, e *Env) (ops int, bytes int64, err error)
	// Multi, if set, replaces Batch: it runs on the cluster directly (for
	// several drivers) doing at least n operations and returns how many.
	Multi func(e *Env, n int) (ops int, err error)
}

// Env is what a benchmark body uses: the cluster and the suite's functions.
type Env struct {
	C      *ray.TCP
	S      *Suite
	Actors []ray.ActorHandle[Counter]
	Ref    ray.Ref[int]
	Big    ray.Ref[[]byte]
	Data   []byte
}

// Counter is the benchmarks' actor.
type Counter struct{ N int }

// Suite is the registry of remote functions the benchmarks call.
type Suite struct {
	Reg   *ray.Registry
	Small *ray.Func[int]
	Actor *ray.ActorClass[Counter]
	Noop  *ray.ActorMethod[Counter, int]
}

// NewSuite registers the benchmark functions.
func NewSuite() *Suite {
	s := &Suite{Reg: ray.NewRegistry()}
	s.Small = ray.Register0(s.Reg, "small", func(ctx context.Context) (int, error) { return 0, nil })
	s.Actor = ray.RegisterActor0(s.Reg, "Actor", func(ctx context.Context) (*Counter, error) { return &Counter{}, nil })
	s.Noop = ray.Method0(s.Actor, "noop", func(ctx context.Context, c *Counter) (int, error) { c.N++; return 0, nil })
	return s
}

// AsyncBatch is how many calls an async benchmark keeps in flight.
const AsyncBatch = 1000

// LargeSize is the size of a large put/get (Ray uses 100 MB arrays).
const LargeSize = 64 << 20

// NewCluster starts a loopback TCP cluster of n nodes of 8 CPUs each;
// node 0 (only) also has 4 units of the custom resource "accel", and the
// other nodes 1 each.
func NewCluster(ctx context.Context, s *Suite, n int) (*ray.TCP, error) {
	cfg := ray.Config{Seed: 1}
	for i := 0; i < n; i++ {
		nc := ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 8, Resources: map[string]float64{"accel": 1}}
		cfg.Nodes = append(cfg.Nodes, nc)
	}
	return ray.NewTCP(ctx, cfg, s.Reg)
}

// asyncTasks submits k tasks and gets them all.
func asyncTasks(ctx context.Context, f *ray.Func[int], k int) error {
	refs := make([]ray.Ref[int], k)
	for j := range refs {
		refs[j] = f.Remote(ctx)
	}
	if _, err := ray.GetAll(ctx, refs, -1); err != nil {
		return err
	}
	return ray.Free(ctx, refs...)
}

// actorCalls makes k calls round robin over hs and gets them.
func actorCalls(ctx context.Context, s *Suite, hs []ray.ActorHandle[Counter], k int) error {
	refs := make([]ray.Ref[int], k)
	for j := range refs {
		refs[j] = s.Noop.Remote(ctx, hs[j%len(hs)])
	}
	if _, err := ray.GetAll(ctx, refs, -1); err != nil {
		return err
	}
	return ray.Free(ctx, refs...)
}

// newActors creates n actors, one per node round robin, and waits until
// they all live.
func newActors(ctx context.Context, e *Env, n, nodes int) error {
	e.Actors = nil
	for i := 0; i < n; i++ {
		e.Actors = append(e.Actors, e.S.Actor.Options(ray.NodeAffinity(ray.RayletID(i%nodes), false)).New(ctx))
	}
	for _, h := range e.Actors {
		if _, err := ray.Get(ctx, e.S.Noop.Remote(ctx, h)); err != nil {
			return err
		}
	}
	return nil
}

// multiDrivers runs body on d drivers (driver i on node i%nodes, threads of
// its standing program: the benchmark is one driver script, whose actors
// outlive each thread), each doing a share of n operations in batches of
// AsyncBatch, started together.
func multiDrivers(e *Env, d, nodes, n int, body func(ctx context.Context, k int) error) (int, error) {
	share := (n + d - 1) / d
	share = (share + AsyncBatch - 1) / AsyncBatch * AsyncBatch
	var ready sync.WaitGroup
	ready.Add(d)
	start := make(chan struct{})
	for i := 0; i < d; i++ {
		if err := e.C.GoThread(i%nodes, func(ctx context.Context) error {
			ready.Done()
			<-start
			for done := 0; done < share; done += AsyncBatch {
				if err := body(ctx, AsyncBatch); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	ready.Wait()
	close(start)
	return share * d, e.C.Wait()
}

// Micros is the suite, in report order.
func Micros() []*Micro {
	const nMulti = 4
	return []*Micro{
		{Name: "single_client_tasks_sync", RayName: "single_client_tasks_sync", Nodes: 1, Unit: "ops/s",
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				for i := 0; i < 100; i++ {
					if _, err := ray.Get(ctx, e.S.Small.Remote(ctx)); err != nil {
						return i, 0, err
					}
				}
				return 100, 0, nil
			}},
		{Name: "single_client_tasks_async", RayName: "single_client_tasks_async", Nodes: 1, Unit: "ops/s",
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				return AsyncBatch, 0, asyncTasks(ctx, e.S.Small, AsyncBatch)
			}},
		{Name: "multi_client_tasks_async", RayName: "multi_client_tasks_async", Nodes: 2, Unit: "ops/s", Note: "4 drivers on 2 nodes",
			Multi: func(e *Env, n int) (int, error) {
				return multiDrivers(e, nMulti, 2, n, func(ctx context.Context, k int) error { return asyncTasks(ctx, e.S.Small, k) })
			}},
		{Name: "1_1_actor_calls_sync", RayName: "1_1_actor_calls_sync", Nodes: 1, Unit: "ops/s",
			Prepare: func(ctx context.Context, e *Env) error { return newActors(ctx, e, 1, 1) },
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				for i := 0; i < 100; i++ {
					if _, err := ray.Get(ctx, e.S.Noop.Remote(ctx, e.Actors[0])); err != nil {
						return i, 0, err
					}
				}
				return 100, 0, nil
			}},
		{Name: "1_1_actor_calls_async", RayName: "1_1_actor_calls_async", Nodes: 1, Unit: "ops/s",
			Prepare: func(ctx context.Context, e *Env) error { return newActors(ctx, e, 1, 1) },
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				return AsyncBatch, 0, actorCalls(ctx, e.S, e.Actors, AsyncBatch)
			}},
		{Name: "1_n_actor_calls_async", RayName: "1_n_actor_calls_async", Nodes: 1, Unit: "ops/s", Note: "1 driver, 4 actors",
			Prepare: func(ctx context.Context, e *Env) error { return newActors(ctx, e, nMulti, 1) },
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				return AsyncBatch, 0, actorCalls(ctx, e.S, e.Actors, AsyncBatch)
			}},
		{Name: "n_n_actor_calls_async", RayName: "n_n_actor_calls_async", Nodes: nMulti, Unit: "ops/s", Note: "4 drivers x 4 actors, 4 nodes",
			Prepare: func(ctx context.Context, e *Env) error { return newActors(ctx, e, nMulti, nMulti) },
			Multi: func(e *Env, n int) (int, error) {
				return multiDrivers(e, nMulti, nMulti, n, func(ctx context.Context, k int) error { return actorCalls(ctx, e.S, e.Actors, k) })
			}},
		{Name: "single_client_put_calls_Plasma_Store", RayName: "single_client_put_calls_Plasma_Store", Nodes: 1, Unit: "ops/s", Fresh: true,
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				for i := 0; i < 1000; i++ {
					if _, err := ray.Put(ctx, i); err != nil {
						return i, 0, err
					}
				}
				return 1000, 0, nil
			}},
		{Name: "single_client_get_calls_Plasma_Store", RayName: "single_client_get_calls_Plasma_Store", Nodes: 1, Unit: "ops/s",
			Prepare: func(ctx context.Context, e *Env) error {
				var err error
				e.Ref, err = ray.Put(ctx, 42)
				return err
			},
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				for i := 0; i < 1000; i++ {
					if _, err := ray.Get(ctx, e.Ref); err != nil {
						return i, 0, err
					}
				}
				return 1000, 0, nil
			}},
		// Ray's put_large drops each ref at once (`ray.put(arr)`), so its
		// store frees the object and reuses the memory. raysim has no
		// reference counting: the benchmark frees each object itself. When
		// it kept them all (a fresh cluster per repeat), every put copied
		// into pages never touched before, and measured the page faults
		// (0.38 GB/s on the 2-core VM, against ~5 GB/s now).
		{Name: "single_client_put_gigabytes", RayName: "single_client_put_gigabytes", Nodes: 1, Unit: "GB/s",
			Note: "64 MiB []byte puts, each freed once made (ray.Free), as Ray's dropped ref frees it",
			Prepare: func(ctx context.Context, e *Env) error {
				e.Data = largeData()
				return nil
			},
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				ref, err := ray.Put(ctx, e.Data)
				if err != nil {
					return 0, 0, err
				}
				if err := ray.Free(ctx, ref); err != nil {
					return 1, LargeSize, err
				}
				return 1, LargeSize, nil
			}},
		{Name: "single_client_get_gigabytes", Nodes: 1, Unit: "GB/s",
			Note: "Get of one 64 MiB []byte object (decoded into a fresh slice each time)",
			Prepare: func(ctx context.Context, e *Env) error {
				var err error
				e.Big, err = ray.Put(ctx, largeData())
				return err
			},
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				if _, err := ray.Get(ctx, e.Big); err != nil {
					return 0, 0, err
				}
				return 1, LargeSize, nil
			}},
		{Name: "single_client_wait_1k_refs", RayName: "single_client_wait_1k_refs", Nodes: 1, Unit: "ops/s",
			Note: "one op: submit 1000 tasks, then ray.Wait(num_returns=1) until none is left",
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				notReady := make([]ray.Ref[int], 0, 1000)
				for j := 0; j < 1000; j++ {
					notReady = append(notReady, e.S.Small.Remote(ctx))
				}
				for len(notReady) > 0 {
					var err error
					if _, notReady, err = ray.Wait(ctx, notReady, 1, -1); err != nil {
						return 0, 0, err
					}
				}
				return 1, 0, nil
			}},
		{Name: "placement_tasks_with_resources", Nodes: nMulti, Unit: "ops/s",
			Note: "tasks needing 1 of custom resource accel (1 per node, 4 nodes): placed by the global scheduler",
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				f := e.S.Small.Options(ray.CPUs(0), ray.Resource("accel", 1))
				return AsyncBatch, 0, asyncTasks(ctx, f, AsyncBatch)
			}},
		// Ray's placement_group_create/removal: 100 groups of one bundle
		// {"custom": 0.001} created, each waited for, then each removed;
		// one op per group.
		{Name: "placement_group_create_removal", RayName: "placement_group_create/removal", Nodes: nMulti, Unit: "ops/s",
			Note: "one op: a group of one bundle {accel: 0.001} created, ready (Wait) and removed; 100 created, then waited for, then removed",
			Batch: func(ctx context.Context, e *Env) (int, int64, error) {
				const groups = 100
				pgs := make([]*ray.PlacementGroup, groups)
				bundle := []ray.Bundle{{Resources: map[string]float64{"accel": 0.001}}}
				for i := range pgs {
					var err error
					if pgs[i], err = ray.NewPlacementGroup(ctx, bundle, ray.Pack); err != nil {
						return 0, 0, err
					}
				}
				for _, pg := range pgs {
					if err := pg.Wait(ctx, 30*time.Second); err != nil {
						return 0, 0, err
					}
				}
				for _, pg := range pgs {
					if err := ray.RemovePlacementGroup(ctx, pg); err != nil {
						return 0, 0, err
					}
				}
				return groups, 0, nil
			}},
	}
}

var (
	largeOnce sync.Once
	largeBuf  []byte
)

func largeData() []byte {
	largeOnce.Do(func() {
		largeBuf = make([]byte, LargeSize)
		for i := range largeBuf {
			largeBuf[i] = byte(i)
		}
	})
	return largeBuf
}

// Command is the command line that reproduces a microbenchmark run with o
// (its repeats, and its measured time per repeat when not the default).
func (m *Micro) Command(o Options) string {
	o.defaults()
	cmd := fmt.Sprintf("raysim bench --filter '^%s$' --repeat %d", regexp.QuoteMeta(m.Name), o.Repeat)
	if o.Duration != defaultDuration {
		cmd += " --duration " + o.Duration.String()
	}
	return cmd
}

// RunMicros runs the microbenchmarks that match o.Filter.
func RunMicros(ctx context.Context, o Options) []Result {
	o.defaults()
	var out []Result
	for _, m := range Micros() {
		if o.Filter != nil && !o.Filter.MatchString(m.Name) {
			continue
		}
		if o.Progress != nil {
			o.Progress(m.Name)
		}
		out = append(out, RunMicro(ctx, m, o))
	}
	return out
}

// RunMicro runs one microbenchmark o.Repeat times.
func RunMicro(ctx context.Context, m *Micro, o Options) Result {
	o.defaults()
	r := Result{Name: m.Name, RayName: m.RayName, Unit: m.Unit, Nodes: m.Nodes, Note: m.Note, Command: m.Command(o)}
	fail := func(err error) Result {
		r.Err = err.Error()
		r.summarize()
		return r
	}
	s := NewSuite()
	var e *Env
	start := func() error {
		c, err := NewCluster(ctx, s, m.Nodes)
		if err != nil {
			return err
		}
		e = &Env{C: c, S: s}
		return c.RunThread(func(ctx context.Context) error {
			// warm up: a worker started, every connection dialled
			if _, err := ray.Get(ctx, s.Small.Remote(ctx)); err != nil {
				return err
			}
			if m.Prepare != nil {
				return m.Prepare(ctx, e)
			}
			return nil
		})
	}
	defer func() {
		if e != nil {
			e.C.Close()
		}
	}()
	for rep := 0; rep < o.Repeat; rep++ {
		if e == nil || m.Fresh {
			if e != nil {
				e.C.Close()
				e = nil
			}
			if err := start(); err != nil {
				return fail(err)
			}
		}
		// Each repeat starts from a collected heap, as go test's
		// benchmarks do: garbage an earlier benchmark left would otherwise
		// set when this one's collections come.
		runtime.GC()
		ops, bytes, el, err := measure(m, e, o.Duration)
		if err != nil {
			return fail(err)
		}
		r.Ops += ops
		v := float64(ops) / el.Seconds()
		if m.Unit == "GB/s" {
			v = float64(bytes) / 1e9 / el.Seconds()
		}
		r.Values = append(r.Values, v)
	}
	r.summarize()
	return r
}

// measure runs one repeat: batches until d has passed.
func measure(m *Micro, e *Env, d time.Duration) (ops int, bytes int64, el time.Duration, err error) {
	if m.Multi != nil {
		// Estimate the count from a short probe, then one timed run.
		t0 := time.Now()
		n, err := m.Multi(e, 4*AsyncBatch)
		if err != nil {
			return 0, 0, 0, err
		}
		rate := float64(n) / time.Since(t0).Seconds()
		want := max(int(rate*d.Seconds()), 4*AsyncBatch)
		t0 = time.Now()
		n, err = m.Multi(e, want)
		return n, 0, time.Since(t0), err
	}
	err = e.C.RunThread(func(ctx context.Context) error {
		t0 := time.Now()
		for time.Since(t0) < d || ops == 0 {
			k, b, err := m.Batch(ctx, e)
			ops += k
			bytes += b
			if err != nil {
				return err
			}
			// large puts keep their objects: bound a repeat's memory
			if m.Fresh && bytes >= 16*LargeSize {
				break
			}
		}
		el = time.Since(t0)
		return nil
	})
	return ops, bytes, el, err
}

// Format renders results as a text table.
func Format(rs []Result) string {
	var b []byte
	b = fmt.Appendf(b, "%-38s %14s %14s %14s %8s  %s\n", "benchmark", "median", "min", "max", "spread", "unit")
	own := false
	for _, r := range rs {
		name := r.Name
		if r.RayName == "" {
			name += " *"
			own = true
		}
		if r.Err != "" {
			b = fmt.Appendf(b, "%-38s ERROR %s\n", name, r.Err)
			continue
		}
		b = fmt.Appendf(b, "%-38s %14s %14s %14s %7.1f%%  %s\n", name, num(r.Median), num(r.Min), num(r.Max), r.Spread, r.Unit)
	}
	b = append(b, "\nmin, max and spread ((max-min)/median) are over the repeats of this one invocation:\n"+
		"not an uncertainty; another invocation can land outside them (alternate invocations before citing).\n"...)
	if own {
		b = append(b, "* raysim's own benchmark, not one of Ray's 'ray microbenchmark' (ray_name is empty in --json).\n"...)
	}
	return string(b)
}

// num prints a number with thousands separators (or 3 significant digits
// below 100).
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	if v < 100 {
		return fmt.Sprintf("%.3g", v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, byte(c))
	}
	return string(out)
}
