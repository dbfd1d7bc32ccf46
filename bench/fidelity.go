package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"raysim/runtime/costs"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Fidelity compares a scenario run on the loopback TCP cluster (measured)
// with the same scenario in the simulator under a calibrated profile
// (predicted).
type Fidelity struct {
	Scenario  string             `json:"scenario"`
	Sets      []string           `json:"sets,omitempty"`
	Measured  FidelitySide       `json:"measured_tcp"`
	Predicted FidelitySide       `json:"predicted_sim"`
	ErrorPct  map[string]float64 `json:"error_pct"` // (predicted-measured)/measured; none where measured is 0
	Command   string             `json:"command"`
}

// FidelitySide is one side's numbers. For the TCP side, repeated runs, each
// figure is the median over the runs (each percentile separately), and
// ThroughputRange the lowest and highest throughput seen.
type FidelitySide struct {
	Throughput      float64        `json:"throughput"`
	Latency         runner.Latency `json:"latency_ms"`
	Seconds         float64        `json:"seconds"`
	Completed       uint64         `json:"tasks_completed"`
	OK              bool           `json:"ok"`
	Runs            int            `json:"runs"`
	ThroughputRange [2]float64     `json:"throughput_range"`
}

func side(r *runner.Result) FidelitySide {
	return FidelitySide{Throughput: r.Throughput, Latency: r.LatencyMs, Seconds: r.Seconds(),
		Completed: r.TasksCompleted, OK: r.OK, Runs: 1, ThroughputRange: [2]float64{r.Throughput, r.Throughput}}
}

// medianSide folds repeated runs into one side: medians, the throughput
// range, OK only if every run was.
func medianSide(rs []*runner.Result) FidelitySide {
	med := func(get func(r *runner.Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		return median(v)
	}
	out := side(rs[0])
	out.Runs = len(rs)
	out.Throughput = med(func(r *runner.Result) float64 { return r.Throughput })
	out.Seconds = med(func(r *runner.Result) float64 { return r.Seconds() })
	out.Latency.P50 = med(func(r *runner.Result) float64 { return r.LatencyMs.P50 })
	out.Latency.P90 = med(func(r *runner.Result) float64 { return r.LatencyMs.P90 })
	out.Latency.P99 = med(func(r *runner.Result) float64 { return r.LatencyMs.P99 })
	out.Latency.Max = med(func(r *runner.Result) float64 { return r.LatencyMs.Max })
	out.Completed = uint64(med(func(r *runner.Result) float64 { return float64(r.TasksCompleted) }))
	for _, r := range rs {
		out.OK = out.OK && r.OK
		out.ThroughputRange[0] = min(out.ThroughputRange[0], r.Throughput)
		out.ThroughputRange[1] = max(out.ThroughputRange[1], r.Throughput)
	}
	return out
}

// LoadFidelity loads path with sets for a fidelity check. It refuses a
// scenario with faults: the TCP runner does not apply them (it only warns)
// and the simulator does, so the two sides would not run the same thing.
func LoadFidelity(path string, sets []string) (*scenarios.Scenario, error) {
	s, err := scenarios.LoadWithOverrides(path, sets)
	if err != nil {
		return nil, err
	}
	if n := len(s.Faults); n > 0 {
		return nil, fmt.Errorf("%s: %d faults: the TCP run does not apply faults and the simulator would, so the fidelity check takes scenarios without them (clear them with --set faults=)", path, n)
	}
	return s, nil
}

// RunFidelity runs path (with sets) on TCP repeat times, then once in the
// simulator (which is deterministic) with profile p and the given one-way
// link latency.
func RunFidelity(ctx context.Context, path string, sets []string, p costs.Profile, latency time.Duration, profilePath string, repeat int) (Fidelity, error) {
	f := Fidelity{Scenario: path, Sets: sets}
	s, err := LoadFidelity(path, sets)
	if err != nil {
		return f, err
	}
	var runs []*runner.Result
	for range max(repeat, 1) {
		tr, err := runner.RunTCP(ctx, s, runner.Options{})
		if err != nil {
			return f, fmt.Errorf("tcp: %w", err)
		}
		runs = append(runs, tr)
	}
	f.Measured = medianSide(runs)
	simSets := append(append([]string(nil), sets...), fmt.Sprintf("cluster.network.latency=%dns", latency.Nanoseconds()))
	s, err = scenarios.LoadWithOverrides(path, simSets)
	if err != nil {
		return f, err
	}
	s.Cluster.Costs = scenarios.Costs{Profile: "zero", Overrides: map[string]time.Duration{}}
	for _, name := range costs.Names {
		d, _ := p.Field(name)
		s.Cluster.Costs.Overrides[name] = *d
	}
	sr, err := runner.Run(ctx, s, runner.Options{})
	if err != nil {
		return f, fmt.Errorf("sim: %w", err)
	}
	f.Predicted = side(sr)
	f.ErrorPct = errorPct(f.Predicted, f.Measured)
	f.Command = fidelityCommand(path, sets, latency, profilePath, repeat)
	return f, nil
}

// errorPct is each figure's (predicted-measured)/measured, in percent; a
// figure measured as 0 has none (left out).
func errorPct(pred, meas FidelitySide) map[string]float64 {
	out := map[string]float64{}
	for _, x := range []struct {
		key        string
		pred, meas float64
	}{
		{"throughput", pred.Throughput, meas.Throughput},
		{"p50", pred.Latency.P50, meas.Latency.P50},
		{"p90", pred.Latency.P90, meas.Latency.P90},
		{"p99", pred.Latency.P99, meas.Latency.P99},
	} {
		if x.meas != 0 {
			out[x.key] = 100 * (x.pred - x.meas) / x.meas
		}
	}
	return out
}

// fidelityCommand is the command line that reproduces a fidelity check.
func fidelityCommand(path string, sets []string, latency time.Duration, profilePath string, repeat int) string {
	cmd := fmt.Sprintf("raysim calibrate --fidelity %s --repeat %d", path, max(repeat, 1))
	if profilePath != "" {
		cmd += " --profile " + profilePath
	}
	cmd += fmt.Sprintf(" --latency %v", latency) // the simulator's, measured or given
	for _, st := range sets {
		cmd += " --set " + st
	}
	return cmd
}

// FormatFidelity renders a comparison.
func FormatFidelity(f Fidelity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", f.Scenario, strings.Join(f.Sets, " "))
	fmt.Fprintf(&b, "%-12s %14s %14s %9s\n", "", "measured TCP", "predicted sim", "error")
	row := func(name string, m, p float64, key string) {
		if e, ok := f.ErrorPct[key]; ok {
			fmt.Fprintf(&b, "%-12s %14.3f %14.3f %8.1f%%\n", name, m, p, e)
		} else {
			fmt.Fprintf(&b, "%-12s %14.3f %14.3f %9s\n", name, m, p, "n/a")
		}
	}
	row("tasks/s", f.Measured.Throughput, f.Predicted.Throughput, "throughput")
	row("p50 ms", f.Measured.Latency.P50, f.Predicted.Latency.P50, "p50")
	row("p90 ms", f.Measured.Latency.P90, f.Predicted.Latency.P90, "p90")
	row("p99 ms", f.Measured.Latency.P99, f.Predicted.Latency.P99, "p99")
	fmt.Fprintf(&b, "%-12s %14.3f %14.3f\n", "seconds", f.Measured.Seconds, f.Predicted.Seconds)
	if m := f.Measured; m.Runs > 1 {
		fmt.Fprintf(&b, "TCP: median of %d runs; tasks/s ranged %.0f..%.0f\n", m.Runs, m.ThroughputRange[0], m.ThroughputRange[1])
	}
	for _, sd := range []struct {
		name string
		s    FidelitySide
	}{{"measured TCP", f.Measured}, {"predicted sim", f.Predicted}} {
		if !sd.s.OK {
			fmt.Fprintf(&b, "%s: not ok (a run did not finish, or missed an expectation: see raysim run); %d tasks completed\n", sd.name, sd.s.Completed)
		}
	}
	fmt.Fprintf(&b, "reproduce: %s\n", f.Command)
	return b.String()
}
