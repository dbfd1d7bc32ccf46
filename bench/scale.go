package bench

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"raysim/runtime/node"
	"raysim/runtime/ray"
)

// ScaleConfig is one scale run in the simulator: Tasks empty tasks spread
// over one driver per node (the Ray paper's figure 8b setup: each node's
// driver submits to its own local scheduler).
type ScaleConfig struct {
	Nodes     int
	Tasks     int
	CPUs      float64 // per node (default 16)
	GCSShards int     // default 16 (defaultScaleShards), as the paper's 100-node run
	Seed      int64   // default 1
	OneCore   bool    // run with GOMAXPROCS=1 (the simulator is single-threaded; GC then shares the core)
}

// defaultScaleShards is the scale runs' GCS shards unless set. At the
// default cost profile 16 fall behind the 100-node run (see
// ScaleResult.GCSBacklog).
const defaultScaleShards = 16

// Name is the run's name in reports.
func (c ScaleConfig) Name() string { return fmt.Sprintf("sim_%dnodes_%dtasks", c.Nodes, c.Tasks) }

// Command reproduces the run.
func (c ScaleConfig) Command() string {
	cmd := fmt.Sprintf("raysim bench --scale --filter '^%s$' --scale-tasks %d --sweep %d --sweep-tasks-per-node %d --pending 0",
		c.Name(), c.Tasks, c.Nodes, max(c.Tasks/max(c.Nodes, 1), 1))
	if c.GCSShards > 0 && c.GCSShards != defaultScaleShards {
		cmd += fmt.Sprintf(" --scale-gcs-shards %d", c.GCSShards)
	}
	if c.OneCore {
		cmd += " --one-core"
	}
	return cmd
}

// ScaleResult is what a scale run reports.
type ScaleResult struct {
	Name            string  `json:"name"`
	Nodes           int     `json:"nodes"`
	Tasks           int     `json:"tasks"`
	VirtualSeconds  float64 `json:"virtual_seconds"`
	WallSeconds     float64 `json:"wall_seconds"`
	SimThroughput   float64 `json:"sim_tasks_per_virtual_second"`
	TasksPerWallSec float64 `json:"tasks_per_wall_second"`
	Events          uint64  `json:"events"`
	EventsPerSec    float64 `json:"events_per_wall_second"`
	Speed           float64 `json:"virtual_over_wall"`
	PeakHeapMiB     float64 `json:"peak_heap_mib"`
	MaxRSSMiB       float64 `json:"max_rss_mib"` // process-wide peak so far
	GOMAXPROCS      int     `json:"gomaxprocs"`
	Command         string  `json:"command"`
	// The run above ends when the drivers have every result. The GCS
	// records the tasks and their objects asynchronously, and its shards
	// may still be behind then: GCSBacklog is the messages waiting at
	// them, and the run goes on until they are all handled.
	GCSBacklog           int     `json:"gcs_backlog_at_end"`
	GCSCaughtUpSeconds   float64 `json:"gcs_caught_up_virtual_seconds"`
	SustainedThroughput  float64 `json:"sim_tasks_per_virtual_second_gcs_included"`
	GCSCatchUpWallSecond float64 `json:"gcs_catch_up_wall_seconds"`
	// The process's CPU time and minor page faults over the run and the
	// catch-up (getrusage): on a VM a fault on fresh heap can cost
	// microseconds, and the system time is mostly those.
	UserCPUSeconds   float64 `json:"user_cpu_seconds"`
	SystemCPUSeconds float64 `json:"system_cpu_seconds"`
	MinorPageFaults  int64   `json:"minor_page_faults"`
	// TasksPerWallSecGCS is TasksPerWallSec counting the catch-up's wall
	// time too: the simulator's speed at the whole run's work.
	TasksPerWallSecGCS float64 `json:"tasks_per_wall_second_gcs_included"`
	// Repeats is how many times the run was made (--repeat); the fields
	// above are then the median run's (by TasksPerWallSecGCS: the virtual
	// results are the same every time), and the range is over all of them.
	Repeats               int     `json:"repeats"`
	TasksPerWallSecGCSMin float64 `json:"tasks_per_wall_second_gcs_included_min"`
	TasksPerWallSecGCSMax float64 `json:"tasks_per_wall_second_gcs_included_max"`
}

// MedianScale returns the median of repeats of one scale run (by
// TasksPerWallSecGCS; the lower middle one of an even count), with Repeats
// and the range over them set. On a shared machine one run's wall time can
// be off by 20%; the median of a few is what to quote.
func MedianScale(rs []ScaleResult) ScaleResult {
	if len(rs) == 0 {
		return ScaleResult{}
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b ScaleResult) int { return cmp.Compare(a.TasksPerWallSecGCS, b.TasksPerWallSecGCS) })
	m := sorted[(len(sorted)-1)/2]
	m.Repeats = len(rs)
	m.TasksPerWallSecGCSMin, m.TasksPerWallSecGCSMax = sorted[0].TasksPerWallSecGCS, sorted[len(sorted)-1].TasksPerWallSecGCS
	if len(rs) > 1 {
		m.Command += fmt.Sprintf(" --repeat %d", len(rs))
	}
	return m
}

// heapSampler tracks the peak heap in use, sampled.
type heapSampler struct {
	peak uint64
	last time.Time
}

func (h *heapSampler) sample(force bool) {
	if !force && time.Since(h.last) < 100*time.Millisecond {
		return
	}
	h.last = time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapInuse)
}

// usage is the process's resource use so far (zero if it cannot be read).
func usage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

func seconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

func maxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// RunScale runs Tasks empty tasks on Nodes simulated nodes.
func RunScale(ctx context.Context, sc ScaleConfig) (ScaleResult, error) {
	if sc.CPUs <= 0 {
		sc.CPUs = 16
	}
	if sc.GCSShards <= 0 {
		sc.GCSShards = defaultScaleShards
	}
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	if sc.OneCore {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	// Collect, and give the free heap back to the OS: a run after another
	// in the same process (--repeat, the sweep) would otherwise find its
	// heap already faulted in, and skip the page faults a run in a fresh
	// process pays (~200k for the 100-node run; a third of its CPU time).
	debug.FreeOSMemory()
	s := NewSuite()
	cfg := ray.Config{Seed: sc.Seed, GCSShards: sc.GCSShards, SpillThreshold: 1 << 30}
	for i := 0; i < sc.Nodes; i++ {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: sc.CPUs})
	}
	c, err := ray.NewSim(cfg, s.Reg)
	if err != nil {
		return ScaleResult{}, err
	}
	defer c.Close()
	for i := 0; i < sc.Nodes; i++ {
		share := sc.Tasks / sc.Nodes
		if i < sc.Tasks%sc.Nodes {
			share++
		}
		// A thread of the node's job (GoThread): a job of its own per
		// driver would add a job to every spec and, at each return, a
		// JobEnd to every raylet (n² messages), which this benchmark of
		// the task path does not measure.
		if err := c.GoThread(i, func(ctx context.Context) error {
			refs := make([]ray.Ref[int], share)
			for j := range refs {
				refs[j] = s.Small.Remote(ctx)
			}
			_, err := ray.GetAll(ctx, refs, -1)
			return err
		}); err != nil {
			return ScaleResult{}, err
		}
	}
	var hs heapSampler
	hs.sample(true)
	ru0 := usage()
	start := time.Now()
	sim := c.Netsim()
	for done := false; !done; {
		if err := ctx.Err(); err != nil {
			return ScaleResult{}, err
		}
		done = c.RunUntil(sim.Now() + time.Millisecond)
		hs.sample(false)
		if !done && sim.Pending() == 0 {
			return ScaleResult{}, fmt.Errorf("simulation stalled at %v with %d drivers running", sim.Now(), c.Running())
		}
		if sim.Now() > time.Hour {
			return ScaleResult{}, ray.ErrVirtualTimeout
		}
	}
	wall := time.Since(start)
	hs.sample(true)
	if err := c.Err(); err != nil {
		return ScaleResult{}, err
	}
	st := sim.Stats()
	v := sim.Now().Seconds()
	backlog, caughtUp, catchUpWall, err := gcsCatchUp(ctx, c)
	if err != nil {
		return ScaleResult{}, err
	}
	ru := usage()
	return ScaleResult{
		UserCPUSeconds: seconds(ru.Utime) - seconds(ru0.Utime), SystemCPUSeconds: seconds(ru.Stime) - seconds(ru0.Stime),
		MinorPageFaults: ru.Minflt - ru0.Minflt,
		Name:            sc.Name(), Nodes: sc.Nodes, Tasks: sc.Tasks, VirtualSeconds: v, WallSeconds: wall.Seconds(),
		SimThroughput: float64(sc.Tasks) / v, TasksPerWallSec: float64(sc.Tasks) / wall.Seconds(),
		Events: st.Events, EventsPerSec: float64(st.Events) / wall.Seconds(), Speed: v / wall.Seconds(),
		PeakHeapMiB: float64(hs.peak) / (1 << 20), MaxRSSMiB: maxRSSMiB(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Command:    sc.Command(),
		GCSBacklog: backlog, GCSCaughtUpSeconds: caughtUp.Seconds(), SustainedThroughput: float64(sc.Tasks) / caughtUp.Seconds(),
		GCSCatchUpWallSecond: catchUpWall.Seconds(), TasksPerWallSecGCS: float64(sc.Tasks) / (wall + catchUpWall).Seconds(),
	}, nil
}

// gcsCatchUp waits for the GCS to handle what it was sent
// (ray.Sim.RunUntilGCSCaughtUp) and returns the messages that were waiting
// at its endpoints when it started, the virtual time at which they were all
// handled, and the wall time that took. The peak heap reported is the
// run's, before this.
func gcsCatchUp(ctx context.Context, c *ray.Sim) (backlog int, at time.Duration, wall time.Duration, err error) {
	backlog, _, _, _ = c.GCSBacklog()
	start := time.Now()
	at, err = c.RunUntilGCSCaughtUp(ctx, time.Hour)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: %w", err)
	}
	return backlog, at, time.Since(start), nil
}

// PendingResult is the memory of tasks queued on one node.
type PendingResult struct {
	Tasks          int     `json:"tasks"`
	HeapBeforeMiB  float64 `json:"heap_before_mib"`
	HeapAfterMiB   float64 `json:"heap_after_mib"`
	BytesPerTask   float64 `json:"bytes_per_pending_task"`
	DriverRefBytes int     `json:"driver_ref_bytes_per_task"` // included above: the driver's []Ref
	WallSeconds    float64 `json:"wall_seconds"`
	QueuedAtNode   int     `json:"queued_at_node"`
	Command        string  `json:"command"`
}

// RunPending submits n tasks to one simulated node whose only CPU is held
// by a long task, so that every one of them stays queued, and measures the
// live heap per queued task (after a GC), the driver's references included.
func RunPending(ctx context.Context, n int) (PendingResult, error) {
	res := PendingResult{Tasks: n, DriverRefBytes: 32,
		Command: fmt.Sprintf("raysim bench --scale --filter pending --pending %d", n)}
	s := NewSuite()
	cfg := ray.Config{Seed: 1, SpillThreshold: 1 << 30, Nodes: []ray.NodeConfig{{Name: "n0", CPUs: 1}}}
	c, err := ray.NewSim(cfg, s.Reg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	live := func() uint64 {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// The baseline is taken before the driver starts: it submits all n
	// tasks without yielding, within the first virtual millisecond. The
	// cluster's start-up (registration, first heartbeats) is counted with
	// the tasks; it is a few kilobytes.
	before := live()
	var refs []ray.Ref[int]
	submitted := false
	blocker := s.Small.Options(ray.Duration(time.Hour))
	if err := c.GoThread(0, func(ctx context.Context) error { // the node's job: specs as they were measured
		b := blocker.Remote(ctx)
		refs = make([]ray.Ref[int], n)
		for j := range refs {
			refs[j] = s.Small.Remote(ctx)
		}
		submitted = true
		_, err := ray.Get(ctx, b)
		return err
	}); err != nil {
		return res, err
	}
	start := time.Now()
	for !submitted {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		c.RunUntil(c.Netsim().Now() + 10*time.Millisecond)
	}
	c.RunUntil(c.Netsim().Now() + time.Second) // GCS writes and acks settle
	res.WallSeconds = time.Since(start).Seconds()
	after := live()
	if r := c.Raylet(0); r != nil {
		res.QueuedAtNode = queued(r)
	}
	runtime.KeepAlive(refs)
	res.HeapBeforeMiB = float64(before) / (1 << 20)
	res.HeapAfterMiB = float64(after) / (1 << 20)
	res.BytesPerTask = (float64(after) - float64(before)) / float64(n)
	return res, nil
}

// FormatScale renders scale results as text.
func FormatScale(rs []ScaleResult, p *PendingResult) string {
	var b strings.Builder
	if len(rs) > 0 { // none with --filter pending
		fmt.Fprintf(&b, "%-28s %6s %9s %10s %9s %13s %13s %12s %12s %8s %9s\n", "run", "nodes", "tasks", "virtual-s", "wall-s",
			"sim-tasks/s", "incl-GCS/s", "tasks/wall-s", "events/s", "v/wall", "heap-MiB")
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "%-28s %6d %9d %10.3f %9.2f %13s %13s %12s %12s %8.2f %9.0f\n", r.Name, r.Nodes, r.Tasks, r.VirtualSeconds,
			r.WallSeconds, num(r.SimThroughput), num(r.SustainedThroughput), num(r.TasksPerWallSec), num(r.EventsPerSec), r.Speed, r.PeakHeapMiB)
	}
	if len(rs) > 0 {
		b.WriteString("  sim-tasks/s: tasks over the virtual time the drivers took (the raylets' rate); incl-GCS/s: over the virtual time until the GCS had recorded them all too\n")
	}
	for _, r := range rs {
		if r.GCSBacklog > 0 {
			fmt.Fprintf(&b, "  %s: when the drivers had every result the GCS shards still held %s messages; they caught up at %.3f virtual s (%s tasks/s with the GCS's work included), %.2f wall s later (%s tasks/wall-s in all)\n",
				r.Name, num(float64(r.GCSBacklog)), r.GCSCaughtUpSeconds, num(r.SustainedThroughput), r.GCSCatchUpWallSecond, num(r.TasksPerWallSecGCS))
		}
	}
	for _, r := range rs {
		if r.Repeats > 1 {
			fmt.Fprintf(&b, "  %s: the median of %d runs; %s to %s tasks/wall-s in all over them\n",
				r.Name, r.Repeats, num(r.TasksPerWallSecGCSMin), num(r.TasksPerWallSecGCSMax))
		}
	}
	for _, r := range rs {
		if r.UserCPUSeconds > 0 {
			fmt.Fprintf(&b, "  %s: %.2f s user + %.2f s system CPU, %s minor page faults (the run and the catch-up)\n",
				r.Name, r.UserCPUSeconds, r.SystemCPUSeconds, num(float64(r.MinorPageFaults)))
		}
	}
	if p != nil {
		fmt.Fprintf(&b, "\npending: %d tasks queued on one node: %.0f bytes per pending task (heap %.0f -> %.0f MiB; includes the driver's 32-byte refs; %d queued at the raylet)\n",
			p.Tasks, p.BytesPerTask, p.HeapBeforeMiB, p.HeapAfterMiB, p.QueuedAtNode)
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s: %s\n", r.Name, r.Command)
	}
	if p != nil {
		fmt.Fprintf(&b, "  pending: %s\n", p.Command)
	}
	return b.String()
}

// queued counts the tasks a raylet holds queued (not running).
func queued(r interface{ Tasks() []node.TaskView }) int {
	n := 0
	for _, t := range r.Tasks() {
		if t.State == "queued" {
			n++
		}
	}
	return n
}
