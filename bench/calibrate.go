package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"raysim/runtime/costs"
	"raysim/runtime/gcs"
	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Calibration is this machine's measured per-operation costs: the
// simulator's cost profile (runtime/costs) derived from targeted
// measurements, plus the loopback one-way latency (a network setting, not
// a cost).
type Calibration struct {
	Profile   costs.Profile      `json:"-"`
	ProfileUs map[string]float64 `json:"profile_us"`
	LatencyUs float64            `json:"loopback_one_way_latency_us"`
	Sources   map[string]string  `json:"sources"` // how each cost was derived
	Machine   Machine            `json:"machine"`
	TaskTCPUs float64            `json:"tcp_async_task_us"` // per task of CalibrationScenario, 1-node loopback cluster
	// TaskAPIUs is the per-task time of the raw API's stream
	// (single_client_tasks_async), for comparison.
	TaskAPIUs  float64 `json:"tcp_api_task_us"`
	FramesTask float64 `json:"raylet_frames_per_task"`
	// RangeUs is, per cost that is measured more than once, the lowest
	// and highest value over the repeats of this calibration (the profile
	// takes the best round of a component measurement, the median of a
	// TCP one): a cost whose range is wide is as uncertain as that, and
	// another calibration can land outside it (qa29 #22).
	RangeUs map[string][2]float64 `json:"profile_range_us"`
}

// stubEnv is a loopback Env that runs a component alone: sends are
// dropped, timers never fire, time is the wall clock.
type stubEnv struct {
	self transport.NodeID
	rnd  *rand.Rand
	sent int
	// found and missed count the task-table reads answered (TaskInfo) with
	// and without the task.
	found, missed int
}

type stubTimer struct{}

func (stubTimer) Stop() bool { return true }

func (e *stubEnv) Self() transport.NodeID                      { return e.self }
func (e *stubEnv) Now() time.Time                              { return time.Now() }
func (e *stubEnv) After(time.Duration, func()) transport.Timer { return stubTimer{} }
func (e *stubEnv) Rand() *rand.Rand                            { return e.rnd }
func (e *stubEnv) Send(_ transport.NodeID, m transport.Message) {
	e.sent++
	if ti, ok := m.(*transport.TaskInfo); ok {
		if ti.Found {
			e.found++
		} else {
			e.missed++
		}
	}
}
func (e *stubEnv) Charge(time.Duration)  {}
func (e *stubEnv) Go(func())             {}
func (e *stubEnv) Await(func(func()))    {}
func (e *stubEnv) Post(func())           {}
func (e *stubEnv) Emit(*transport.Event) {}

// perOp times f over n calls (after a warm-up of n/10) and returns the
// mean, the best of three rounds.
func perOp(n int, f func(i int)) time.Duration {
	best, _ := perOpRange(n, f)
	return best
}

// perOpRange is perOp's best round and its worst.
func perOpRange(n int, f func(i int)) (best, worst time.Duration) {
	for i := 0; i < n/10; i++ {
		f(i)
	}
	best = time.Duration(1 << 62)
	for r := 0; r < 3; r++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			f(n*(r+1) + i)
		}
		d := time.Since(t0) / time.Duration(n)
		best, worst = min(best, d), max(worst, d)
	}
	return best, worst
}

func sampleSpec(id int) transport.TaskSpec {
	return transport.TaskSpec{ID: transport.TaskID(id + 1), Func: "small", Name: "small", NumReturns: 1,
		Owner: 1, Resources: transport.Resources{CPU: transport.Units(1)}, MaxRetries: 3}
}

// gcsCosts measures a GCS shard's table write (GcsAddTask) and read
// (GcsGetTask) directly through its Handler, message handling included.
func gcsCosts() (read, write [2]time.Duration) {
	read, write, _ = gcsCostsN(100_000)
	return read, write
}

// gcsCostsN is gcsCosts over n operations per round, each cost its best
// and worst round; env is the shard's.
func gcsCostsN(n int) (read, write [2]time.Duration, env *stubEnv) {
	layout := &gcs.Layout{Shards: []transport.NodeID{2}, Scheduler: 3, Raylets: []transport.NodeID{1}}
	env = &stubEnv{self: 2, rnd: rand.New(rand.NewPCG(1, 2))}
	s := gcs.New(env, gcs.Config{Layout: layout, SyncEvery: -1})
	write[0], write[1] = perOpRange(n, func(i int) { s.Handle(1, &transport.GcsAddTask{Spec: sampleSpec(i)}) })
	// perOp's bodies see n(r+1)+i: the writes stored tasks n+1..4n (and
	// the warm-up's 1..n/10); read n+1..2n, every one of them there.
	read[0], read[1] = perOpRange(n, func(i int) { s.Handle(1, &transport.GcsGetTask{Task: transport.TaskID(n + i%n + 1)}) })
	return read, write, env
}

// messageCost is the codec's cost for one message each way (a spilled task
// spec: the commonest large message): best and worst round.
func messageCost() (best, worst time.Duration) {
	m := &transport.SpillTask{Spec: sampleSpec(1)}
	buf := make([]byte, 0, 512)
	return perOpRange(200_000, func(i int) {
		buf = transport.Marshal(buf[:0], m)
		if _, err := transport.Unmarshal(buf); err != nil {
			panic(err)
		}
	})
}

// scheduleCost is one bottom-up placement decision over 4 candidates: best
// and worst round.
func scheduleCost() (best, worst time.Duration) {
	pol, _ := scheduler.NewPolicy("bottom-up")
	spec := sampleSpec(1)
	d := &scheduler.Decision{Spec: &spec, Bandwidth: 1.25e9, QueueLimit: 8}
	r := rand.New(rand.NewPCG(1, 2))
	cands := make([]scheduler.Candidate, 4)
	for i := range cands {
		cands[i] = scheduler.Candidate{Node: transport.NodeID(i + 1), QueueLen: i, MeanTaskTime: time.Millisecond}
	}
	sink := 0
	return perOpRange(1_000_000, func(i int) {
		if pol.Local(true, i%16, 8) {
			sink++
		}
		sink += pol.Pick(d, cands, r)
	})
}

// loopbackLatency is half the round trip of a 68-byte message over a
// loopback TCP connection (one outstanding).
func loopbackLatency() (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 68)
	rtt := perOp(5000, func(int) {
		c.Write(buf)
		io.ReadFull(c, buf)
	})
	return rtt / 2, nil
}

// Calibrate measures this machine and returns a cost profile. It runs the
// component measurements directly (a loopback Env) and, for the costs
// that only exist end to end, microbenchmarks (object put/get) and a
// scenario-runner run (dispatch) on a 1-node loopback TCP cluster.
func Calibrate(ctx context.Context, d time.Duration) (Calibration, error) {
	cal := Calibration{Sources: map[string]string{}, Machine: ThisMachine(), RangeUs: map[string][2]float64{}}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	rng := func(name string, lo, hi time.Duration) {
		cal.RangeUs[name] = [2]float64{us(min(lo, hi)), us(max(lo, hi))}
	}
	p := &cal.Profile
	read, write := gcsCosts()
	p.GCSRead, p.GCSWrite = read[0], write[0]
	rng("gcs_read", read[0], read[1])
	rng("gcs_write", write[0], write[1])
	cal.Sources["gcs_read"] = "gcs.Shard.Handle(GcsGetTask) on a populated shard, loopback Env (best of 3 rounds)"
	cal.Sources["gcs_write"] = "gcs.Shard.Handle(GcsAddTask) (MemStore write-through), loopback Env (best of 3 rounds)"
	var worst time.Duration
	p.Message, worst = messageCost()
	rng("message", p.Message, worst)
	cal.Sources["message"] = "transport.Marshal + Unmarshal of a SpillTask (best of 3 rounds)"
	p.Schedule, worst = scheduleCost()
	rng("schedule", p.Schedule, worst)
	cal.Sources["schedule"] = "bottom-up Policy.Local + Pick over 4 candidates (best of 3 rounds)"
	lat, err := loopbackLatency()
	if err != nil {
		return cal, err
	}
	cal.LatencyUs = float64(lat) / float64(time.Microsecond)

	o := Options{Repeat: 3, Duration: d}
	get := func(name string) (Result, error) {
		for _, m := range Micros() {
			if m.Name == name {
				r := RunMicro(ctx, m, o)
				if r.Err != "" {
					return r, fmt.Errorf("%s: %s", name, r.Err)
				}
				return r, nil
			}
		}
		return Result{}, fmt.Errorf("no benchmark %s", name)
	}
	put, err := get("single_client_put_calls_Plasma_Store")
	if err != nil {
		return cal, err
	}
	p.ObjectPut = time.Duration(float64(time.Second) / put.Median)
	rng("object_put", time.Duration(float64(time.Second)/put.Max), time.Duration(float64(time.Second)/put.Min))
	cal.Sources["object_put"] = "1 / single_client_put_calls (TCP, median)"
	g, err := get("single_client_get_calls_Plasma_Store")
	if err != nil {
		return cal, err
	}
	p.ObjectGet = time.Duration(float64(time.Second) / g.Median)
	rng("object_get", time.Duration(float64(time.Second)/g.Max), time.Duration(float64(time.Second)/g.Min))
	cal.Sources["object_get"] = "1 / single_client_get_calls (TCP, median)"
	gb, err := get("single_client_put_gigabytes")
	if err != nil {
		return cal, err
	}
	perMB := func(gbs float64) time.Duration { return time.Duration(float64(time.Second) * (1 << 20) / (gbs * 1e9)) }
	p.PerMB = perMB(gb.Median)
	rng("object_per_mb", perMB(gb.Max), perMB(gb.Min))
	cal.Sources["object_per_mb"] = "1 MiB / single_client_put_gigabytes (TCP, median)"
	// The spill tier keeps its bytes in memory on TCP: there is no disk
	// write to measure, so a calibrated profile keeps the defaults.
	def := costs.Default()
	p.SpillPerMB, p.RestorePerMB = def.SpillPerMB, def.RestorePerMB
	cal.Sources["spill_per_mb"] = "raysim's default (not measured: ~1 GB/s local disk writes)"
	cal.Sources["restore_per_mb"] = "raysim's default (not measured: ~2 GB/s local disk reads)"

	// Dispatch absorbs what the per-component costs do not: the worker
	// hand-off, the socket work and the goroutine switches of one task. It
	// is the per-task time of a 1-node burst of empty tasks (the raylet's
	// loop is the bottleneck) minus the raylet's modeled charges for it,
	// measured through the scenario runner (CalibrationScenario), since the
	// runs the profile predicts are runner runs: its workload driver and
	// event hooks share the machine's cores with the raylet, and its tasks
	// carry arguments. The raw API's stream (single_client_tasks_async) is
	// reported beside it.
	tasks, err := get("single_client_tasks_async")
	if err != nil {
		return cal, err
	}
	cal.TaskAPIUs = 1e6 / tasks.Median
	perTask, perLo, perHi, err := runnerTaskTime(ctx, 3)
	if err != nil {
		return cal, err
	}
	cal.TaskTCPUs = float64(perTask) / float64(time.Microsecond)
	frames, err := rayletFramesPerTask(ctx)
	if err != nil {
		return cal, err
	}
	cal.FramesTask = frames
	modeled := p.Schedule + time.Duration(frames*float64(p.Message)) + p.ObjectPut
	p.Dispatch = max(perTask-modeled, time.Microsecond)
	rng("dispatch", max(perLo-modeled, time.Microsecond), max(perHi-modeled, time.Microsecond))
	cal.Sources["dispatch"] = fmt.Sprintf("a runner task on 1 TCP node (%.1fµs: CalibrationScenario, median of 3) - schedule - %.1f raylet frames x message - object_put", cal.TaskTCPUs, frames)

	p.ComputeOvershoot, p.ComputeOvershootP90, err = computeOvershoot(ctx, 300)
	if err != nil {
		return cal, err
	}
	cal.Sources["compute_overshoot"] = "median of how late ray.Compute(1ms) returns on a 1-node TCP cluster (300 calls)"
	cal.Sources["compute_overshoot_p90"] = "90th percentile of the same"

	cal.ProfileUs = map[string]float64{}
	for _, name := range costs.Names {
		f, _ := p.Field(name)
		cal.ProfileUs[name] = float64(*f) / float64(time.Microsecond)
	}
	cal.Machine.Finish()
	return cal, nil
}

// CalibrationScenario is the runner run that calibrates dispatch: a burst of
// empty tasks without outputs from one driver on one node.
const CalibrationScenario = `name: calibrate-dispatch
seed: 1
cluster:
  nodes:
    - {name: node, cpus: 8}
workload:
  - generator: parallel
    params: {tasks: 20000, duration: 0, output_size: 0}
`

// runnerTaskTime runs CalibrationScenario on a loopback TCP cluster
// repeats times and returns the median time per task, and the lowest and
// highest.
func runnerTaskTime(ctx context.Context, repeats int) (med, lo, hi time.Duration, err error) {
	s, err := scenarios.Parse("calibrate-dispatch", []byte(CalibrationScenario))
	if err != nil {
		return 0, 0, 0, err
	}
	var per []float64
	for range repeats {
		r, err := runner.RunTCP(ctx, s, runner.Options{})
		if err != nil {
			return 0, 0, 0, fmt.Errorf("calibration run: %w", err)
		}
		if r.Throughput <= 0 {
			return 0, 0, 0, fmt.Errorf("calibration run: no task completed")
		}
		per = append(per, float64(time.Second)/r.Throughput)
	}
	return time.Duration(median(per)), time.Duration(slices.Min(per)), time.Duration(slices.Max(per)), nil
}

// computeOvershoot measures how late ray.Compute(1ms) returns on a 1-node
// loopback TCP cluster, n times: its median and 90th percentile. On TCP a
// Compute is a timer on the raylet's loop that wakes the caller.
func computeOvershoot(ctx context.Context, n int) (p50, p90 time.Duration, err error) {
	s := NewSuite()
	c, err := NewCluster(ctx, s, 1)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	const d = time.Millisecond
	over := make([]float64, 0, n)
	err = c.Run(func(ctx context.Context) error {
		for range n {
			t0 := time.Now()
			if err := ray.Compute(ctx, d); err != nil {
				return err
			}
			over = append(over, float64(time.Since(t0)-d))
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("compute overshoot: %w", err)
	}
	slices.Sort(over)
	return time.Duration(over[len(over)/2]), time.Duration(over[len(over)*9/10]), nil
}

// rayletFramesPerTask counts the frames the raylet receives per task of an
// async stream on a 1-node loopback cluster.
func rayletFramesPerTask(ctx context.Context) (float64, error) {
	s := NewSuite()
	c, err := NewCluster(ctx, s, 1)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	const n = 5 * AsyncBatch
	var before uint64
	err = c.Run(func(ctx context.Context) error {
		if err := asyncTasks(ctx, s.Small, 10); err != nil {
			return err
		}
		before = c.Stats(ray.RayletID(0)).FramesIn
		for i := 0; i < n/AsyncBatch; i++ {
			if err := asyncTasks(ctx, s.Small, AsyncBatch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return float64(c.Stats(ray.RayletID(0)).FramesIn-before) / n, nil
}

// ProfileYAML renders the calibration as a costs file (the format of
// cluster.costs; see docs/scenarios.md).
func (cal Calibration) ProfileYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# raysim cost profile measured by `raysim calibrate` on %s (%d CPUs, %s).\n", cal.Machine.CPU, cal.Machine.NumCPU, cal.Machine.Go)
	fmt.Fprintf(&b, "# raysim %s, started %s, load average (1 min) %.2f at the start, %.2f at the end.\n", cal.Machine.Raysim, cal.Machine.Started, cal.Machine.LoadAvg, cal.Machine.LoadAvgEnd)
	fmt.Fprintf(&b, "# Each cost's range over this calibration's repeats is in its comment (lo..hi): on a shared machine another calibration can land outside it.\n")
	fmt.Fprintf(&b, "# Name it from a scenario: cluster: {costs: {profile: PATH}}.\n")
	fmt.Fprintf(&b, "# Loopback one-way latency measured: %.1fus (a network setting: --set cluster.network.latency=%.0fus).\n", cal.LatencyUs, cal.LatencyUs)
	fmt.Fprintf(&b, "profile: zero\n")
	for _, name := range costs.Names {
		f, _ := cal.Profile.Field(name)
		spread := ""
		if r, ok := cal.RangeUs[name]; ok {
			spread = fmt.Sprintf(" [range %.0f..%.0fns]", r[0]*1000, r[1]*1000)
		}
		fmt.Fprintf(&b, "%s: %dns   # %s%s\n", name, f.Nanoseconds(), cal.Sources[name], spread)
	}
	return b.String()
}
