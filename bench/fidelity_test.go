package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/costs"
	"raysim/scenarios/runner"
)

// Guards medianSide's folding of repeated TCP runs: FidelitySide says each
// figure is the median over the runs, each percentile separately. It takes
// the first run as a template and replaces throughput, seconds and
// P50/P90/P99 by medians, but leaves Latency.Max (the JSON's
// measured_tcp.latency_ms.max) and Completed as the first run's: with runs
// whose max latency is 90, 10 and 20 ms the report says 90 (the first, the
// outlier) where the median is 20.
func TestFidelityMedianSideEveryFigure(t *testing.T) {
	mk := func(thr, max float64, done uint64) *runner.Result {
		return &runner.Result{Throughput: thr, LatencyMs: runner.Latency{P50: 1, P90: 2, P99: 3, Max: max}, TasksCompleted: done, OK: true}
	}
	s := medianSide([]*runner.Result{mk(100, 90, 7), mk(300, 10, 9), mk(200, 20, 9)})
	if s.Throughput != 200 {
		t.Fatalf("setup: median throughput %v, want 200", s.Throughput)
	}
	if s.Latency.Max != 20 {
		t.Errorf("latency max over runs of 90, 10, 20 ms reported as %v, want the median 20", s.Latency.Max)
	}
	if s.Completed != 9 {
		t.Errorf("tasks completed over runs of 7, 9, 9 reported as %v, want the median 9", s.Completed)
	}
}

// TestFidelityRefusesFaults: RunTCP does not apply a scenario's faults (it
// only warns, and the fidelity report shows no warnings), while the
// simulator does. Given a scenario with a fault, the fidelity check
// compared a faulted simulation (here: its one node paused for 200ms)
// against an unfaulted TCP run and reported the difference as the
// simulator's prediction error. It must refuse such a scenario instead,
// before running anything.
func TestFidelityRefusesFaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: faulted
seed: 1
cluster:
  nodes: [{name: node, cpus: 2}]
workload:
  - {generator: parallel, params: {tasks: 20, duration: 0, output_size: 0}}
faults:
  - {at: 0s, pause_node: node, for: 200ms}
`), 0o644))
	f, err := RunFidelity(context.Background(), file, nil, costs.Zero(), time.Microsecond, "", 1)
	if err == nil {
		t.Fatalf("a scenario with faults compared: measured %.0f tasks/s (TCP, faults not applied), predicted %.0f (sim, faults applied): throughput error %.1f%%",
			f.Measured.Throughput, f.Predicted.Throughput, f.ErrorPct["throughput"])
	}
	require.Contains(t, err.Error(), "fault")
}

// TestFidelityCommandKeepsLatency: the reproduce command printed under a
// fidelity report names the simulator's link latency only when a profile
// file was named. With a measured profile (no -o) and --latency 20µs it
// read "raysim calibrate --fidelity FILE --repeat 3", which reruns with
// the newly measured loopback latency instead: not the check reported.
func TestFidelityCommandKeepsLatency(t *testing.T) {
	cmd := fidelityCommand("s.yaml", []string{"workload.0.params.tasks=10"}, 20*time.Microsecond, "", 3)
	require.Contains(t, cmd, "--latency 20µs")
	require.Contains(t, cmd, "--set workload.0.params.tasks=10")
	with := fidelityCommand("s.yaml", nil, 7100*time.Nanosecond, "p.yaml", 1)
	require.Contains(t, with, "--profile p.yaml")
	require.Contains(t, with, "--latency 7.1µs")
}

// TestFormatFidelitySaysWhenARunFailed: a side whose run failed (a driver
// unfinished at the duration limit, an unmet expectation) has "ok": false
// in the JSON, but the text report printed its numbers like any other: a
// TCP run stopped at its limit with half its tasks done read as a
// measured throughput, and the gap as the simulator's error.
func TestFormatFidelitySaysWhenARunFailed(t *testing.T) {
	f := Fidelity{Scenario: "s.yaml",
		Measured:  FidelitySide{Throughput: 500, Completed: 5000, OK: false, Runs: 3},
		Predicted: FidelitySide{Throughput: 1000, Completed: 10000, OK: true, Runs: 1},
		ErrorPct:  map[string]float64{"throughput": 100}}
	text := FormatFidelity(f)
	require.Contains(t, text, "measured TCP: not ok", text)
	require.NotContains(t, text, "predicted sim: not ok", text)
	f.Measured.OK, f.Predicted.OK = true, false
	require.Contains(t, FormatFidelity(f), "predicted sim: not ok")
}

// TestFidelityErrorUndefinedWithoutMeasure: the error of a figure whose
// measured value is 0 (a TCP side where no task ended has throughput and
// latencies 0) is undefined, but was reported as 0.0%: a perfect
// prediction, whatever the simulator said. It is left out of error_pct,
// and the text says n/a.
func TestFidelityErrorUndefinedWithoutMeasure(t *testing.T) {
	pred := FidelitySide{Throughput: 1000, Latency: runner.Latency{P50: 1, P90: 2, P99: 3}}
	got := errorPct(pred, FidelitySide{})
	for _, k := range []string{"throughput", "p50", "p90", "p99"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s: predicted %v against nothing measured reported as an error of %.1f%%", k, pred, v)
		}
	}
	f := Fidelity{Predicted: pred, ErrorPct: got}
	require.Contains(t, FormatFidelity(f), "n/a")
	require.Equal(t, 50.0, errorPct(FidelitySide{Throughput: 150}, FidelitySide{Throughput: 100})["throughput"])
}
