package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/workload"
)

// ending is how a run ended, to say why drivers that had not returned did
// not finish.
type ending struct {
	at      time.Duration // when the run ended (virtual in netsim, wall on TCP)
	limit   time.Duration // the scenario's duration limit
	atLimit bool          // the run was cut off at limit
	stopped bool          // stopped on purpose (Options.Until, UntilEvent, a replay divergence)
	wall    bool          // times are wall-clock (TCP, a live cluster)
	// nodes names the node each driver ran on (driver k of an entry on
	// nodes[k%len(nodes)]); nil when unknown (a live cluster).
	nodes []string
	// crashes lists, by node name, when the node was killed (netsim).
	crashes map[string][]time.Duration
}

// still is the phrase for drivers that had not returned when the run ended:
// "still running at the duration limit 30s".
func (e *ending) still() string {
	clock := ""
	if e.wall {
		clock = " (wall clock)"
	}
	switch {
	case e.atLimit:
		return fmt.Sprintf("still running at the duration limit %s%s", scenarios.FormatDuration(e.limit), clock)
	case e.stopped:
		return fmt.Sprintf("still running when the run was stopped at %v", e.at.Round(time.Microsecond))
	default:
		return fmt.Sprintf("still waiting when the run ended at %v%s with nothing left to happen", e.at.Round(time.Microsecond), clock)
	}
}

// maxListed bounds how many unfinished drivers a result names.
const maxListed = 8

// unfinished describes the drivers that had not returned ("" if none):
// how many, why, and which (entry, driver index, node).
func unfinished(s *scenarios.Scenario, tallies []*workload.Tally, e *ending) (count, total int, detail string) {
	var names []string
	for i, t := range tallies {
		total += t.Drivers
		for _, k := range t.Unfinished() {
			count++
			if len(names) == maxListed {
				continue
			}
			d := fmt.Sprintf("%s driver %d", t.Name, k)
			if len(e.nodes) > 0 {
				node := e.nodes[k%len(e.nodes)]
				d += " on " + node
				for _, at := range e.crashes[node] {
					if i < len(s.Workload) && at >= s.Workload[i].Start {
						d += fmt.Sprintf(" (its node crashed at %v)", at.Round(time.Microsecond))
						break
					}
				}
			}
			names = append(names, d)
		}
	}
	if count == 0 {
		return 0, total, ""
	}
	list := strings.Join(names, ", ")
	if count > len(names) {
		list += fmt.Sprintf(" and %d more", count-len(names))
	}
	return count, total, fmt.Sprintf("%d of %d %s %s: %s", count, total, plural(total, "driver", "drivers"), e.still(), list)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// finishResult fills the latency, per-workload and expectation parts of a
// result, the same for every transport. A run whose drivers did not all
// return has failed, whatever its expectations.
func finishResult(s *scenarios.Scenario, r *Result, m *metrics, tallies []*workload.Tally, allDone bool, e *ending) {
	r.LatencyMs = percentiles(m.latencies)
	var errs, firstErrs []string
	for _, t := range tallies {
		// A driver on a crashed node never returns: it did not complete.
		allDone = allDone && t.Done == t.Drivers
		wr := WorkloadResult{Name: t.Name, Generator: t.Generator, Drivers: t.Drivers, Finished: t.Done,
			Checked: t.Checked, Rereads: t.Rereads, Incorrect: t.Incorrect, Errors: t.Errors, Cancelled: t.Cancelled, Unfinished: t.Unfinished()}
		if t.FirstErr != nil {
			wr.FirstErr = t.FirstErr.Error()
			firstErrs = append(firstErrs, wr.FirstErr)
		}
		for _, e := range t.KindErrs {
			wr.KindErrs = append(wr.KindErrs, e.Error())
		}
		for _, e := range t.ReasonErrs {
			wr.ReasonErrs = append(wr.ReasonErrs, e.Error())
		}
		r.Workloads = append(r.Workloads, wr)
		r.Checked += t.Checked
		r.Rereads += t.Rereads
		r.Incorrect += t.Incorrect
		if t.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d errors", t.Name, t.Errors))
		}
	}
	n, _, detail := unfinished(s, tallies, e)
	notDone := ""
	if n > 0 {
		r.Unfinished = detail
		notDone = fmt.Sprintf("did not finish: %d %s %s", n, plural(n, "driver", "drivers"), e.still())
	} else if !allDone {
		// Every tally is complete but the cluster still counts a running
		// driver: say so rather than pass.
		r.Unfinished = "a driver " + e.still()
		notDone = "did not finish: " + r.Unfinished
	}
	r.Expectations = expectations(s, r, m, notDone, errs, firstErrs, e.at)
	r.OK = r.Unfinished == ""
	for _, x := range r.Expectations {
		r.OK = r.OK && x.OK
	}
}

// startDrivers starts every workload entry's drivers through start, each
// on its node (driverHost), and returns the entries' tallies.
func startDrivers(s *scenarios.Scenario, funcs *workload.Funcs, start func(node int, driver func(context.Context) error) error) ([]*workload.Tally, error) {
	tallies := make([]*workload.Tally, len(s.Workload))
	hosts := s.Cluster.StartNodes()
	for e := range s.Workload {
		w := &s.Workload[e]
		n := driverCount(w, hosts)
		t := &workload.Tally{Name: w.Name, Generator: w.Generator, Drivers: n}
		tallies[e] = t
		for k := 0; k < n; k++ {
			if err := start(driverHost(hosts, k), funcs.Driver(w, e, k, n, s.Seed, t)); err != nil {
				return nil, err
			}
		}
	}
	return tallies, nil
}

// driverCount is how many drivers workload entry w runs, given the nodes
// up at the start (hosts: per_node counts those).
func driverCount(w *scenarios.Workload, hosts []int) int {
	return max(w.Drivers.N(len(hosts)), 1)
}

// driverHost is the node (an index into Cluster.Nodes) a workload entry's
// driver k runs on: the k-th node up at the start (hosts,
// Cluster.StartNodes), modulo their count. A late or standby node hosts
// none, wherever it is listed.
func driverHost(hosts []int, k int) int { return hosts[k%len(hosts)] }

// DriverHosts lists, ascending, the nodes (indices into s.Cluster.Nodes;
// node i is ray.RayletID(i)) the runner starts drivers on: the placement
// startDrivers makes, for whoever must know which nodes host a driver (the
// fault search never kills one, and a job's end names one).
func DriverHosts(s *scenarios.Scenario) []int {
	hosts := s.Cluster.StartNodes()
	if len(hosts) == 0 {
		return nil
	}
	var out []int
	for e := range s.Workload {
		for k := range min(driverCount(&s.Workload[e], hosts), len(hosts)) {
			out = append(out, driverHost(hosts, k))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// waitWall waits, on the wall clock, for wait to return, the scenario's
// duration limit, lost to close (the cluster is gone: the caller has the
// error), or ctx; it reports whether every driver returned.
func waitWall(ctx context.Context, s *scenarios.Scenario, wait func() error, lost <-chan struct{}) (allDone bool, err error) {
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
	case <-lost: // nil channel: never (the caller knows why)
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Seconds is the run's time on its clock (Clock): virtual seconds in
// netsim, wall seconds on TCP and a live cluster.
func (r *Result) Seconds() float64 {
	if r.Clock == "wall" {
		return r.WallSeconds
	}
	return r.VirtualSeconds
}

// result fills the counters every transport reports; end is the run's
// duration (virtual in netsim, wall on TCP).
func (m *metrics) result(s *scenarios.Scenario, transport string, end time.Duration) *Result {
	r := &Result{
		Scenario: s.Name, File: s.File, Seed: s.Seed, Transport: transport, Overrides: s.Overrides(),
		TasksSubmitted: m.submitted, TasksCompleted: m.completed, TasksFailed: m.failed, TasksFailedThenFinished: m.failedThenDone,
		TasksRetried: m.retried, TasksCancelled: m.cancelled, TasksReexecuted: m.reexecuted + uint64(len(m.early)), MethodsReplayed: m.replayed,
		ObjectsLost: m.lost, ObjectsReconstructed: m.rebuilt, ObjectCopiesFreed: m.freed,
		ObjectsSpilled: m.spilled, ObjectsRestored: m.restored, BytesSpilled: m.spillBytes, BytesRestored: m.restBytes,
		VirtualSeconds: end.Seconds(), WallSeconds: end.Seconds(), Speed: 1, Warnings: m.resultWarnings(),
	}
	r.Clock, r.DigestReproducible = "virtual", true
	if transport != "sim" {
		// No virtual time on real sockets: say so rather than pass wall
		// time off as virtual (and a speed of 1); WallSeconds is the
		// run's time (Seconds).
		r.Clock, r.DigestReproducible = "wall", false
		r.VirtualSeconds, r.Speed = 0, 0
	}
	if end > 0 {
		r.Throughput = float64(m.completed) / end.Seconds()
	}
	return r
}
