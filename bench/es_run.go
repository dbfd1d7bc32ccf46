package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"

	"raysim/bench/es"
	"raysim/runtime/ray"
)

// PaperStepCost is the CPU time of one Pendulum-v0 timestep in the Ray
// paper's Table 4 at 1 CPU (22.3K timesteps/s): Python gym plus the policy.
const PaperStepCost = time.Second / 22300

// ESConfig is one ES measurement.
type ESConfig struct {
	Name     string
	TCP      bool   // loopback TCP (real compute, wall clock); else the simulator
	CPUs     int    // workers, one CPU each
	PerNode  int    // at most this many CPUs per node (default min(CPUs, 16)); the nodes share the CPUs evenly
	StepCost string // simulator: "paper" (PaperStepCost), "go" (measured here) or "none"
	// GoStep is the per-step cost of the "go" rows, measured once per
	// invocation (GoStepCost) and given to each, so that they share one
	// and compare; 0: RunES measures it.
	GoStep     time.Duration
	Iterations int     // default 5
	Pairs      int     // perturbation pairs per worker per iteration (default 8)
	Paper      float64 // the paper's Ray timesteps/s at this CPU count (0: none)
}

// ESConfigs are the runs of `raysim bench --es`: the paper's three CPU
// counts in the simulator, with the paper's per-step cost (does raysim's
// runtime scale the way Ray's did?) and with this machine's real Go cost
// per step, then the real thing on loopback TCP with this machine's cores.
func ESConfigs() []ESConfig {
	var out []ESConfig
	for _, c := range []struct {
		cpus  int
		paper float64
	}{{1, 22.3e3}, {16, 290e3}, {256, 4.03e6}} {
		// The paper's rate goes beside the paper-cost rows only: the
		// others run another step cost, a different workload's rate.
		out = append(out, ESConfig{Name: fmt.Sprintf("es_sim_%dcpu_papercost", c.cpus), CPUs: c.cpus, StepCost: "paper", Paper: c.paper},
			ESConfig{Name: fmt.Sprintf("es_sim_%dcpu_gocost", c.cpus), CPUs: c.cpus, StepCost: "go"})
	}
	n := runtime.NumCPU()
	out = append(out, ESConfig{Name: "es_tcp_1cpu", TCP: true, CPUs: 1},
		ESConfig{Name: fmt.Sprintf("es_tcp_%dcpu", n), TCP: true, CPUs: n})
	return out
}

// ESResult is one ES measurement.
type ESResult struct {
	Name           string    `json:"name"`
	Transport      string    `json:"transport"`
	CPUs           int       `json:"cpus"`
	Nodes          int       `json:"nodes"`
	StepCostUs     float64   `json:"step_cost_us"` // declared per step (simulator)
	Steps          int       `json:"timesteps"`
	Seconds        float64   `json:"seconds"` // virtual in the simulator
	StepsPerSecond float64   `json:"timesteps_per_second"`
	WallSeconds    float64   `json:"wall_seconds"`
	PaperRay       float64   `json:"paper_ray_timesteps_per_second,omitempty"`
	InitialReward  float64   `json:"initial_eval_reward"`
	FinalReward    float64   `json:"final_eval_reward"`
	Iters          []es.Iter `json:"iterations"`
	Command        string    `json:"command"`
}

// GoStepCost measures this machine's CPU time per Pendulum step of the ES
// policy (real Go compute, one core): the least over five samples of
// ~40 ms of episodes, each timed by the thread's CPU time (getrusage
// RUSAGE_THREAD, the goroutine locked to its thread) where that can be
// read, else by the wall clock. CPU time and the minimum keep another
// tenant's load out of it as far as they can (qa29 #11: wall time gave
// 0.57 to 1.36 µs in one invocation).
func GoStepCost() time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w := es.InitParams(1)
	best := time.Duration(1 << 62)
	for sample := range 5 {
		steps, start, cpu0 := 0, time.Now(), threadCPU()
		for i := uint64(0); time.Since(start) < 40*time.Millisecond; i++ {
			_, n := es.Episode(w, uint64(sample)<<32|i)
			steps += n
		}
		took := time.Since(start)
		if cpu1 := threadCPU(); cpu0 >= 0 && cpu1 > cpu0 {
			took = cpu1 - cpu0
		}
		best = min(best, took/time.Duration(steps))
	}
	return best
}

// threadCPU is the calling thread's CPU time (user + system), -1 when it
// cannot be read.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is Linux's RUSAGE_THREAD (elsewhere Getrusage fails and the
// wall clock is used).
const rusageThread = 1

// RunES runs one ES configuration.
func RunES(ctx context.Context, c ESConfig) (ESResult, error) {
	if c.PerNode <= 0 {
		c.PerNode = min(c.CPUs, 16)
	}
	if c.Iterations <= 0 {
		c.Iterations = 5
	}
	if c.Pairs <= 0 {
		c.Pairs = 8
	}
	nodes := (c.CPUs + c.PerNode - 1) / c.PerNode
	res := ESResult{Name: c.Name, CPUs: c.CPUs, Nodes: nodes, PaperRay: c.Paper,
		Command: fmt.Sprintf("raysim bench --es --filter '^%s$'", c.Name)}
	cfg := es.Config{Workers: c.CPUs, Nodes: nodes, PairsPerWorker: c.Pairs, Iterations: c.Iterations,
		Seed: 7, Sigma: 0.05, LR: 0.03}
	if !c.TCP {
		switch c.StepCost {
		case "paper":
			cfg.StepCost = PaperStepCost
		case "go":
			cfg.StepCost = c.GoStep
			if cfg.StepCost <= 0 {
				cfg.StepCost = GoStepCost()
			}
			res.Command += fmt.Sprintf(" --es-go-step %s", cfg.StepCost)
		}
	}
	res.StepCostUs = float64(cfg.StepCost) / float64(time.Microsecond)
	reg := ray.NewRegistry()
	p := es.Register(reg)
	rc := ray.Config{Seed: 1}
	// The workers go round robin over the nodes (es.Config.Nodes), so the
	// nodes share the CPUs evenly (at most PerNode each): a last node of the
	// remainder (24 CPUs as 16 + 8) could not hold its share of the workers.
	for i := 0; i < nodes; i++ {
		cpus := c.CPUs / nodes
		if i < c.CPUs%nodes {
			cpus++
		}
		rc.Nodes = append(rc.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: float64(cpus)})
	}
	var st es.Stats
	train := func(ctx context.Context) error {
		var err error
		st, err = p.Train(ctx, cfg)
		return err
	}
	start := time.Now()
	if c.TCP {
		res.Transport = "tcp"
		tc, err := ray.NewTCP(ctx, rc, reg)
		if err != nil {
			return res, err
		}
		defer tc.Close()
		start = time.Now()
		if err := tc.Run(train); err != nil {
			return res, err
		}
	} else {
		res.Transport = "sim"
		sc, err := ray.NewSim(rc, reg)
		if err != nil {
			return res, err
		}
		defer sc.Close()
		if err := sc.Run(train); err != nil {
			return res, err
		}
	}
	res.WallSeconds = time.Since(start).Seconds()
	res.Steps, res.Seconds, res.StepsPerSecond = st.Steps, st.Seconds, st.StepsPerSecond
	res.InitialReward, res.Iters = st.InitialEval, st.Iters
	if len(st.Iters) > 0 {
		res.FinalReward = st.Iters[len(st.Iters)-1].EvalReward
	}
	return res, nil
}

// FormatES renders ES results as text.
func FormatES(rs []ESResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %5s %5s %6s %10s %10s %14s %14s %8s %17s\n", "run", "tr", "cpus", "nodes", "µs/step", "timesteps",
		"timesteps/s", "paper Ray", "wall-s", "reward init→end")
	goStep := -1.0
	for _, r := range rs {
		paper := "-"
		if r.PaperRay > 0 {
			paper = num(r.PaperRay)
		}
		step := fmt.Sprintf("%.2f", r.StepCostUs)
		if r.Transport == "tcp" {
			step = "real" // the workers compute; nothing is declared
		}
		if strings.HasSuffix(r.Name, "_gocost") {
			goStep = r.StepCostUs
		}
		fmt.Fprintf(&b, "%-24s %5s %5d %6d %10s %10d %14s %14s %8.2f %8.0f→%-8.0f\n", r.Name, r.Transport, r.CPUs, r.Nodes,
			step, r.Steps, num(r.StepsPerSecond), paper, r.WallSeconds, r.InitialReward, r.FinalReward)
	}
	if goStep >= 0 {
		fmt.Fprintf(&b, "  gocost rows: one Go step cost for all, %.3f µs of CPU time, measured once in this invocation (the least of 5 samples); another invocation measures its own (--es-go-step fixes it)\n", goStep)
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s: %s\n", r.Name, r.Command)
	}
	return b.String()
}
