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
	ErrorPct  map[string]float64 `json:"error_pct"` // (predicted-measured)/measured
	Command   string             `json:"command"`
}

// FidelitySide is one side's numbers.
type FidelitySide struct {
	Throughput float64        `json:"throughput"`
	Latency    runner.Latency `json:"latency_ms"`
	Seconds    float64        `json:"seconds"`
	Completed  uint64         `json:"tasks_completed"`
	OK         bool           `json:"ok"`
}

func side(r *runner.Result) FidelitySide {
	return FidelitySide{Throughput: r.Throughput, Latency: r.LatencyMs, Seconds: r.VirtualSeconds, Completed: r.TasksCompleted, OK: r.OK}
}

// RunFidelity runs path (with sets) on TCP, then in the simulator with
// profile p and the given one-way link latency.
func RunFidelity(ctx context.Context, path string, sets []string, p costs.Profile, latency time.Duration, profilePath string) (Fidelity, error) {
	f := Fidelity{Scenario: path, Sets: sets}
	s, err := scenarios.LoadWithOverrides(path, sets)
	if err != nil {
		return f, err
	}
	tr, err := runner.RunTCP(ctx, s, runner.Options{})
	if err != nil {
		return f, fmt.Errorf("tcp: %w", err)
	}
	f.Measured = side(tr)
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
	pct := func(pred, meas float64) float64 {
		if meas == 0 {
			return 0
		}
		return 100 * (pred - meas) / meas
	}
	f.ErrorPct = map[string]float64{
		"throughput": pct(f.Predicted.Throughput, f.Measured.Throughput),
		"p50":        pct(f.Predicted.Latency.P50, f.Measured.Latency.P50),
		"p90":        pct(f.Predicted.Latency.P90, f.Measured.Latency.P90),
		"p99":        pct(f.Predicted.Latency.P99, f.Measured.Latency.P99),
	}
	f.Command = "raysim calibrate --fidelity " + path
	if profilePath != "" {
		f.Command += " --profile " + profilePath
	}
	for _, st := range sets {
		f.Command += " --set " + st
	}
	return f, nil
}

// FormatFidelity renders a comparison.
func FormatFidelity(f Fidelity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", f.Scenario, strings.Join(f.Sets, " "))
	fmt.Fprintf(&b, "%-12s %14s %14s %9s\n", "", "measured TCP", "predicted sim", "error")
	row := func(name string, m, p float64, key string) {
		fmt.Fprintf(&b, "%-12s %14.3f %14.3f %8.1f%%\n", name, m, p, f.ErrorPct[key])
	}
	row("tasks/s", f.Measured.Throughput, f.Predicted.Throughput, "throughput")
	row("p50 ms", f.Measured.Latency.P50, f.Predicted.Latency.P50, "p50")
	row("p90 ms", f.Measured.Latency.P90, f.Predicted.Latency.P90, "p90")
	row("p99 ms", f.Measured.Latency.P99, f.Predicted.Latency.P99, "p99")
	fmt.Fprintf(&b, "%-12s %14.3f %14.3f\n", "seconds", f.Measured.Seconds, f.Predicted.Seconds)
	fmt.Fprintf(&b, "reproduce: %s\n", f.Command)
	return b.String()
}
