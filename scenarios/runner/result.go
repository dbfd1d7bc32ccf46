package runner

import (
	"context"
	"fmt"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/workload"
)

// finishResult fills the latency, per-workload and expectation parts of a
// result, the same for both transports.
func finishResult(s *scenarios.Scenario, r *Result, m *metrics, tallies []*workload.Tally, allDone bool, end time.Duration) {
	r.LatencyMs = percentiles(m.latencies)
	var errs, firstErrs []string
	for _, t := range tallies {
		// A driver on a crashed node never returns: it did not complete.
		allDone = allDone && t.Done == t.Drivers
		wr := WorkloadResult{Name: t.Name, Generator: t.Generator, Drivers: t.Drivers, Finished: t.Done,
			Checked: t.Checked, Incorrect: t.Incorrect, Errors: t.Errors}
		if t.FirstErr != nil {
			wr.FirstErr = t.FirstErr.Error()
			firstErrs = append(firstErrs, wr.FirstErr)
		}
		r.Workloads = append(r.Workloads, wr)
		r.Checked += t.Checked
		r.Incorrect += t.Incorrect
		if t.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d errors", t.Name, t.Errors))
		}
	}
	r.Expectations = expectations(s, r, m, allDone, errs, firstErrs, end)
	r.OK = true
	for _, e := range r.Expectations {
		r.OK = r.OK && e.OK
	}
}

// startDrivers starts every workload entry's drivers through start (driver k
// of an entry goes to node k modulo the cluster size) and returns the
// entries' tallies.
func startDrivers(s *scenarios.Scenario, funcs *workload.Funcs, start func(node int, driver func(context.Context) error) error) ([]*workload.Tally, error) {
	tallies := make([]*workload.Tally, len(s.Workload))
	for e := range s.Workload {
		w := &s.Workload[e]
		n := max(w.Drivers.N(len(s.Cluster.Nodes)), 1)
		t := &workload.Tally{Name: w.Name, Generator: w.Generator, Drivers: n}
		tallies[e] = t
		for k := 0; k < n; k++ {
			if err := start(k%len(s.Cluster.Nodes), funcs.Driver(w, e, k, n, s.Seed, t)); err != nil {
				return nil, err
			}
		}
	}
	return tallies, nil
}

// waitWall waits, on the wall clock, for wait to return, the scenario's
// duration limit, or ctx; it reports whether every driver returned.
func waitWall(ctx context.Context, s *scenarios.Scenario, wait func() error) (allDone bool, err error) {
	limit := s.DurationLimit
	if limit <= 0 {
		limit = scenarios.DefaultDurationLimit
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case <-done:
		return true, nil
	case <-time.After(limit):
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// result fills the counters every transport reports; end is the run's
// duration (virtual in netsim, wall on TCP).
func (m *metrics) result(s *scenarios.Scenario, transport string, end time.Duration) *Result {
	r := &Result{
		Scenario: s.Name, File: s.File, Seed: s.Seed, Transport: transport,
		TasksSubmitted: m.submitted, TasksCompleted: m.completed, TasksFailed: m.failed,
		TasksRetried: m.retried, TasksCancelled: m.cancelled, TasksReexecuted: m.reexecuted, MethodsReplayed: m.replayed,
		ObjectsLost: m.lost, ObjectsReconstructed: m.rebuilt, ObjectCopiesFreed: m.freed,
		VirtualSeconds: end.Seconds(), WallSeconds: end.Seconds(), Speed: 1, Warnings: m.warnings,
	}
	if end > 0 {
		r.Throughput = float64(m.completed) / end.Seconds()
	}
	return r
}
