package runner

import (
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
