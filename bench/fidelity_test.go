package bench

import (
	"testing"

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
