// Package runner runs a scenario: it builds the cluster the scenario
// describes (in netsim by default), starts the workload's drivers, applies
// the fault schedule, collects metrics from the runtime's trace events and
// checks the expectations. The CLI's `raysim run` is a thin shell over Run.
package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/workload"
	"raysim/traces"
)

// Options tune a run.
type Options struct {
	// Progress, if set, is called about every ProgressEvery of wall time.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// OnEvent sees every runtime trace event with its (virtual) time.
	OnEvent func(at time.Duration, ev *transport.Event)
	// OnNetEvent sees every netsim event.
	OnNetEvent func(ev *netsim.Event)
	// WireCheck round-trips every message through the codec.
	WireCheck bool
	// Buggify turns on the runtime's fault points, chosen by the seed.
	Buggify bool
	// Log receives warnings (nil: dropped).
	Log func(format string, args ...any)
	// Trace, if set, records the run (traces.NewRecorder with a Writer to
	// stream a file; Close it after Run). Unset, a digest-only recorder is
	// used. Either way Result.Digest is the trace's digest.
	Trace *traces.Recorder
	// Until stops the run at this virtual time, UntilEvent once this many
	// trace records exist (time travel; 0: off). Inspect, if set, sees the
	// cluster where the run stopped (or ended).
	Until      time.Duration
	UntilEvent uint64
	Inspect    func(c *ray.Sim)
	// Tamper, for tests of the workloads' checks only, rewrites values as
	// a buggy runtime would (workload.Tamper); nil in every real run.
	Tamper workload.Tamper
}

// Progress is a snapshot of a running simulation.
type Progress struct {
	Virtual        time.Duration
	TasksSubmitted uint64
	TasksDone      uint64
	Events         uint64
	EventsPerSec   float64
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Expectation is one checked expectation.
type Expectation struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Result is what a run reports (the --json output).
type Result struct {
	Scenario  string `json:"scenario"`
	File      string `json:"file"`
	Seed      int64  `json:"seed"`
	Transport string `json:"transport"`
	// Overrides are the --set overrides the run's scenario was loaded
	// with, as "path=value" (scenarios.Scenario.Overrides).
	Overrides []string `json:"overrides,omitempty"`
	// Buggify: the run had the runtime's fault points on (Options.Buggify,
	// raysim run --buggify): its digest is another run's than without.
	Buggify              bool   `json:"buggify,omitempty"`
	TasksSubmitted       uint64 `json:"tasks_submitted"`
	TasksCompleted       uint64 `json:"tasks_completed"`
	TasksFailed          uint64 `json:"tasks_failed"`
	TasksRetried         uint64 `json:"tasks_retried"`
	TasksCancelled       uint64 `json:"tasks_cancelled"`
	TasksReexecuted      uint64 `json:"tasks_reexecuted"`       // ends after the first: retries racing the original, lineage rebuilds, actor replays
	MethodsReplayed      uint64 `json:"actor_methods_replayed"` // methods re-run by restarted actors to rebuild their state (replay)
	ObjectsLost          uint64 `json:"objects_lost"`
	ObjectsReconstructed uint64 `json:"objects_reconstructed"`
	ObjectCopiesFreed    uint64 `json:"object_copies_freed"` // copies dropped because their owner freed them (ray.Free) before the run ended
	// ObjectsSpilled and ObjectsRestored count the primary copies that
	// left memory for a node's spill tier (cluster.nodes[].object_spill)
	// and came back; BytesSpilled the bytes written to the tiers (an object
	// spilled again after a restore writes none: its copy was kept) and
	// BytesRestored the bytes read back. Absent without spilling.
	ObjectsSpilled  uint64 `json:"objects_spilled,omitempty"`
	ObjectsRestored uint64 `json:"objects_restored,omitempty"`
	BytesSpilled    int64  `json:"bytes_spilled,omitempty"`
	BytesRestored   int64  `json:"bytes_restored,omitempty"`
	FaultsInjected  int    `json:"faults_injected"`
	// Faults lists the schedule's faults as the run met them (the
	// simulator's runs): each reached, injected or not, in order, then any
	// the file wrote for after the run's end.
	Faults          []FaultOutcome   `json:"faults,omitempty"`
	VirtualSeconds  float64          `json:"virtual_seconds"` // 0 on TCP and a live cluster, which have none (Clock)
	WallSeconds     float64          `json:"wall_seconds"`
	Events          uint64           `json:"events"`
	EventsPerSecond float64          `json:"events_per_second"`
	Speed           float64          `json:"speed"`
	Throughput      float64          `json:"throughput"`
	LatencyMs       Latency          `json:"latency_ms"`
	Checked         int              `json:"results_checked"`
	Rereads         int              `json:"rereads_checked,omitempty"` // of Checked: see WorkloadResult.Rereads
	Incorrect       int              `json:"results_incorrect"`
	Warnings        []string         `json:"warnings,omitempty"`
	Expectations    []Expectation    `json:"expectations"`
	OK              bool             `json:"ok"`
	Digest          string           `json:"digest"`
	Workloads       []WorkloadResult `json:"workloads"`
	// Unfinished names the drivers that had not returned when the run
	// ended, and why ("" when every driver returned). Such a run has
	// failed, whatever its expectations.
	Unfinished string `json:"unfinished,omitempty"`
	// Clock is the clock of the run's times and trace: "virtual"
	// (netsim) or "wall" (tcp, remote).
	Clock string `json:"clock"`
	// DigestReproducible says whether the same scenario and seed give the
	// same digest again: true in netsim; false on a wall clock, whose
	// trace's times (and, on a live cluster, what else runs) differ on
	// every run, so that digest identifies nothing.
	DigestReproducible bool `json:"digest_reproducible"`
	// TasksFailedThenFinished: of TasksFailed (tasks counted by their
	// first end), those a later run finished with a value (a rebuild of
	// the error result lost with its node, once the fault that failed it
	// was over; a run that raced its retry). A driver that read such a
	// task after the value came read the value, so the drivers' errors
	// can be fewer than the failed tasks.
	TasksFailedThenFinished uint64 `json:"tasks_failed_then_finished,omitempty"`
}

// WorkloadResult is the outcome of one workload entry.
type WorkloadResult struct {
	Name      string `json:"name"`
	Generator string `json:"generator"`
	Drivers   int    `json:"drivers"`
	Finished  int    `json:"drivers_finished"`
	Checked   int    `json:"results_checked"`
	Incorrect int    `json:"results_incorrect"`
	Errors    int    `json:"errors"`
	// Rereads: of Checked, the second reads of cancelled or failed refs
	// checked for agreeing with the first (values compared with the
	// sequential evaluation are the rest).
	Rereads int `json:"rereads_checked,omitempty"`
	// Cancelled counts the refs the driver cancelled whose Get returned
	// ErrCancelled (the workload's cancel_every); not errors.
	Cancelled int    `json:"cancelled,omitempty"`
	FirstErr  string `json:"first_error,omitempty"`
	// KindErrs is the first error of each kind the drivers saw (a ray
	// sentinel, or untyped), in the order seen.
	KindErrs []string `json:"errors_by_kind,omitempty"`
	// ReasonErrs is the first error of each distinct reason the drivers
	// saw (its text with IDs and numbers stripped), at most
	// workload.MaxReasons: what the fault search's allowed-errors judges
	// beside KindErrs.
	ReasonErrs []string `json:"errors_by_reason,omitempty"`
	// Unfinished are the indices of the drivers that had not returned.
	Unfinished []int `json:"drivers_unfinished,omitempty"`
}

// metrics folds runtime events into counters and latencies (the run's
// digest is the trace recorder's, see trace.go).
type metrics struct {
	// lossy: the events come from other processes, and one killed mid-run
	// (a node's SIGKILL) takes the events it had not sent yet with it: a
	// task whose end was not heard may have ended (a live run's).
	lossy      bool
	now        func() time.Duration
	submitted  uint64
	completed  uint64
	failed     uint64
	retried    uint64
	cancelled  uint64
	reexecuted uint64
	replayed   uint64
	lost       uint64
	rebuilt    uint64
	freed      uint64
	spilled    uint64
	restored   uint64
	spillBytes int64
	restBytes  int64
	submitAt   map[transport.TaskID]time.Duration // submitted, not ended since
	// ended holds every task that has ended once: a later end is a
	// re-execution, and a submission still without an end when the run
	// ends (pending) is one re-submitted after it ended, not one that
	// never ran. early holds ends that came before their task's
	// submission (a live run whose clocks disagree): the submission
	// counts them.
	ended map[transport.TaskID]struct{}
	// resubmits counts submissions of a task submitted before (a
	// re-executed parent submits its children again, same IDs).
	resubmits  uint64
	early      map[transport.TaskID]earlyEnd
	rereads    map[transport.TaskID]bool // verification tasks (scenarios.RereadTaskName): not counted
	latencies  []time.Duration
	warnings   []string
	actors     *[]transport.ActorID
	infeasible int
	// warnSeen: the runtime warnings listed, by text, at their index in
	// warnings; repeats their repeats; warnDropped those not listed (see
	// runtimeWarning).
	warnSeen    map[string]int
	repeats     map[int]repeat
	warnDropped int
	onEvent     func(time.Duration, *transport.Event)
	// silent lists the node deaths the GCS declared for missed heartbeats,
	// in order: with no fault injected, each is a raylet too busy to send
	// them (see unfaultedDeaths).
	silent []silentDeath
	// nodeName names an event's node in warnings (the scenario's node
	// name, gcs-0, scheduler); nil or "" for one it does not know: "node N".
	nodeName func(transport.NodeID) string

	// failedFirst holds the tasks whose first end was a failure, until a
	// later end finishes one (a rebuild of its lost error result, a run
	// racing its retry), which failedThenDone counts (Result's
	// TasksFailedThenFinished).
	failedFirst    map[transport.TaskID]bool
	failedThenDone uint64
}

// silentDeath is a node declared dead for missed heartbeats: when, which.
type silentDeath struct {
	at   time.Duration
	node transport.NodeID
}

// unfaultedDeaths warns of the nodes declared dead for missed heartbeats
// in a run that injected no fault: no crash, pause or partition silenced
// them, so their raylets were too busy to send heartbeats (a heartbeat
// waits behind the work under way on the raylet's loop: serving one pull
// of a large object costs object_per_mb per MiB there; a burst of pulls
// no longer queues ahead of it, see node.Raylet.onPull). Such a death is no
// less final for it: the GCS drops the node's copies, so a Put's object
// there is lost ("its owner died"), and the summary's "faults 0 injected"
// alone would hide why.
func (m *metrics) unfaultedDeaths(injected int) {
	if injected > 0 || len(m.silent) == 0 {
		return
	}
	names := make([]string, 0, len(m.silent))
	for _, d := range m.silent {
		names = append(names, fmt.Sprintf("%s at %v", m.name(d.node), d.at))
	}
	m.warn("%d %s declared dead for missed heartbeats though no fault was injected (%s): a raylet too busy to send heartbeats (they wait behind the work under way on its loop, such as one pull of a large object served at object_per_mb per MiB) is declared dead as a crashed one is, and the GCS dropped its objects' copies",
		len(m.silent), plural(len(m.silent), "node incarnation", "node incarnations"), strings.Join(names, ", "))
}

// warn adds a warning to the run's result (its summary's warning lines,
// --json's warnings).
func (m *metrics) warn(format string, args ...any) {
	m.warnings = append(m.warnings, fmt.Sprintf(format, args...))
}

// The runtime's warnings a result lists: at most maxRuntimeWarnings
// different ones (a repeat of one listed counts on its line), and the
// first maxInfeasibleWarnings infeasible tasks; the rest are counted in a
// last line (every one is in the trace).
const (
	maxRuntimeWarnings    = 20
	maxInfeasibleWarnings = 5
)

// repeat is a listed runtime warning seen again: how often, the last time.
type repeat struct {
	n    int
	last time.Duration
}

// runtimeWarning lists a runtime warning (text: its node's name and
// detail) the first time it is seen, counts its repeats on that line, and
// counts a different one past maxRuntimeWarnings as dropped: 20 lines of
// one node's full store used to hide the partition's fencing after them.
func (m *metrics) runtimeWarning(at time.Duration, text string) {
	if i, ok := m.warnSeen[text]; ok {
		r := m.repeats[i]
		r.n++
		r.last = at
		m.repeats[i] = r
		return
	}
	if len(m.warnSeen) >= maxRuntimeWarnings {
		m.warnDropped++
		return
	}
	if m.warnSeen == nil {
		m.warnSeen, m.repeats = map[string]int{}, map[int]repeat{}
	}
	m.warnSeen[text] = len(m.warnings)
	m.warnings = append(m.warnings, fmt.Sprintf("at %v: %s", at, text))
}

// resultWarnings are the warnings as a result lists them: repeats told on
// their line, and what was left out counted at the end.
func (m *metrics) resultWarnings() []string {
	out := slices.Clone(m.warnings)
	for i, r := range m.repeats { // each writes its own line: the order does not matter
		times := "times"
		if r.n == 1 {
			times = "time"
		}
		out[i] += fmt.Sprintf(" (and %d more %s, the last at %v)", r.n, times, r.last)
	}
	if m.warnDropped > 0 {
		out = append(out, fmt.Sprintf("%d more runtime warnings, of other kinds or nodes, not listed (every one is in a --trace: raysim trace stats counts them)", m.warnDropped))
	}
	if n := m.infeasible - maxInfeasibleWarnings; n > 0 {
		out = append(out, fmt.Sprintf("%d more tasks infeasible when submitted, not listed", n))
	}
	return out
}

// name is how warnings name node id.
func (m *metrics) name(id transport.NodeID) string {
	if m.nodeName != nil {
		if n := m.nodeName(id); n != "" {
			return n
		}
	}
	return fmt.Sprintf("node %d", id)
}

// newMetrics returns the counters of one run: created actors go to
// actors, and every event also to onEvent (if set).
func newMetrics(actors *[]transport.ActorID, onEvent func(time.Duration, *transport.Event)) *metrics {
	return &metrics{submitAt: map[transport.TaskID]time.Duration{}, rereads: map[transport.TaskID]bool{},
		ended: map[transport.TaskID]struct{}{}, early: map[transport.TaskID]earlyEnd{}, failedFirst: map[transport.TaskID]bool{},
		actors: actors, onEvent: onEvent}
}

func (m *metrics) event(ev *transport.Event) {
	at := m.now()
	switch ev.Kind {
	case transport.EvTaskSubmitted:
		if ev.Detail == scenarios.RereadTaskName { // a driver's check of a result, not a workload task
			m.rereads[ev.Task] = true
			break
		}
		m.submitted++
		if _, pending := m.submitAt[ev.Task]; pending {
			m.resubmits++
		} else if _, done := m.ended[ev.Task]; done {
			m.resubmits++
		}
		m.submitAt[ev.Task] = at
		if e, ok := m.early[ev.Task]; ok {
			delete(m.early, ev.Task)
			m.end(ev.Task, max(e.at, at), e.count)
		}
	case transport.EvTaskFinished:
		if ev.Detail == transport.DetailReplay {
			m.replayed++
		}
		m.end(ev.Task, at, &m.completed)
	case transport.EvTaskFailed:
		m.end(ev.Task, at, &m.failed)
	case transport.EvTaskCancelled:
		m.end(ev.Task, at, &m.cancelled)
	case transport.EvActorCreated:
		m.end(ev.Task, at, &m.completed)
		*m.actors = append(*m.actors, ev.Task)
	case transport.EvTaskRetried:
		m.retried++
	case transport.EvObjectLost:
		m.lost++
	case transport.EvObjectReconstructed:
		m.rebuilt++
	case transport.EvObjectEvicted:
		if ev.Detail == transport.DetailFreed {
			m.freed++
		}
	case transport.EvObjectSpilled:
		m.spilled++
		if ev.Detail != transport.DetailOnDisk { // bytes written
			m.spillBytes += ev.Bytes
		}
	case transport.EvObjectRestored:
		m.restored++
		m.restBytes += ev.Bytes
	case transport.EvTaskInfeasible:
		m.infeasible++
		if m.infeasible <= maxInfeasibleWarnings {
			m.warnings = append(m.warnings, fmt.Sprintf("at %v: task %v infeasible: %s", at, ev.Task, ev.Detail))
		}
	case transport.EvWarning:
		m.runtimeWarning(at, m.name(ev.Node)+": "+ev.Detail)
	case transport.EvNodeDead:
		if ev.Detail == transport.DetailMissedHeartbeats {
			m.silent = append(m.silent, silentDeath{at: at, node: ev.Node})
		}
	}
	if m.onEvent != nil {
		m.onEvent(at, ev)
	}
}

// end records a task's first end (finished, failed, cancelled) in count,
// with its latency; a later end is a re-execution (a retry racing the
// original, a rebuild from lineage, a duplicate) and counts as one.
func (m *metrics) end(id transport.TaskID, at time.Duration, count *uint64) {
	if m.rereads[id] {
		return
	}
	t, ok := m.submitAt[id]
	if !ok {
		if _, before := m.ended[id]; before {
			m.reexecuted++
			if count == &m.completed && m.failedFirst[id] {
				delete(m.failedFirst, id)
				m.failedThenDone++
			}
		} else if _, twice := m.early[id]; twice {
			m.reexecuted++
		} else {
			m.early[id] = earlyEnd{at: at, count: count}
		}
		return
	}
	*count++
	if count == &m.failed {
		m.failedFirst[id] = true
	}
	m.latencies = append(m.latencies, at-t)
	delete(m.submitAt, id)
	m.ended[id] = struct{}{}
}

// earlyEnd is a task's end that came before its submission: when, and the
// counter it goes to.
type earlyEnd struct {
	at    time.Duration
	count *uint64
}

// neverEnded counts the tasks submitted that never ended (a task
// re-submitted after it ended, whose result was kept, need not run again).
func (m *metrics) neverEnded() int {
	n := 0
	for id := range m.submitAt {
		if _, ok := m.ended[id]; !ok {
			n++
		}
	}
	return n
}

// ErrBadScenario wraps errors in a scenario the loader could not catch (the
// CLI exits 2 for it, as for a loading error).
var ErrBadScenario = errors.New("bad scenario")

// Run runs a scenario in netsim and checks its expectations. The error is
// for runs that could not happen at all; failed expectations are in Result.
func Run(ctx context.Context, s *scenarios.Scenario, o Options) (*Result, error) {
	cfg, err := clusterConfig(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	cfg.WireCheck = o.WireCheck
	cfg.Buggify = o.Buggify
	cfg.OnNetEvent = o.OnNetEvent
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	var actors []transport.ActorID
	m := newMetrics(&actors, o.OnEvent)
	m.nodeName = func(id transport.NodeID) string { return endpointName(s, id) }
	// A fault that did nothing is a warning of the result too, not only
	// of the log (standard error): --json's warnings carry it.
	log := o.Log
	o.Log = func(format string, args ...any) {
		m.warn(format, args...)
		log(format, args...)
	}
	cfg.OnEvent = m.event
	rec := startTrace(&o, &cfg, m)
	reg := ray.NewRegistry()
	funcs := workload.RegisterTampered(reg, o.Tamper)
	if err := funcs.RegisterOwn(reg, s.Extensions()); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadScenario, s.File, err)
	}
	fi := &faultInjector{s: s, log: o.Log, errs: newTaskErrorRates(s)}
	cfg.TaskErrors = fi.errs.hook()
	c, err := ray.NewSim(cfg, reg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadScenario, s.File, err)
	}
	defer c.Close()
	sim := c.Netsim()
	m.now = sim.Now
	applyLinks(s, sim, cfg.Link)
	attachTrace(rec, sim, &o)

	fi.c = c
	fi.schedule()
	if as := newAutoscaler(s, c); as != nil {
		as.start()
	}
	fi.actors = &actors

	tallies, err := startDrivers(s, funcs, c.GoThread)
	if err != nil {
		return nil, err
	}

	wallStart := time.Now()
	every := o.ProgressEvery
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	lastProgress := wallStart
	limit := s.DurationLimit
	if limit <= 0 {
		limit = scenarios.DefaultDurationLimit
	}
	const slice = 10 * time.Millisecond
	done := false
	// RunUntil stops at its time exactly (with events left): the loop ends
	// at the limit, having run every event due by then.
	for !done && sim.Now() < limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done = c.RunUntil(min(sim.Now()+slice, limit))
		if rec.Stopped() {
			break
		}
		if o.Progress != nil && time.Since(lastProgress) >= every {
			lastProgress = time.Now()
			st := sim.Stats()
			o.Progress(Progress{Virtual: sim.Now(), TasksSubmitted: m.submitted, TasksDone: m.completed + m.failed,
				Events: st.Events, EventsPerSec: st.EventsPerSec})
		}
		if sim.Pending() == 0 {
			break
		}
	}
	if o.Inspect != nil {
		o.Inspect(c)
	}
	// A GCS endpoint with a hundred messages still waiting when the run
	// ends is saturated; a few are the last turn's, in flight.
	if total, most, worst, _ := c.GCSBacklog(); most >= 100 {
		m.warnings = append(m.warnings, fmt.Sprintf("at %v: the GCS had %d messages left to handle (%d at endpoint %d): it could not keep up, and the counts here do not wait for it (more cluster.gcs.shards, or a cheaper gcs_write, would)",
			sim.Now(), total, most, worst))
	}
	m.unfaultedDeaths(fi.injected)
	end := sim.Now()
	if w := lateFaults(s, end); w != "" {
		m.warn("%s", w)
	}
	wall := time.Since(wallStart)
	st := sim.Stats()

	r := m.result(s, "sim", end)
	r.Buggify = o.Buggify
	r.FaultsInjected = fi.injected
	r.Faults = fi.outcomes(end)
	r.WallSeconds = wall.Seconds()
	r.Events = st.Events
	r.EventsPerSecond = float64(st.Events) / max(wall.Seconds(), 1e-9)
	r.Speed = end.Seconds() / max(wall.Seconds(), 1e-9)
	r.Digest = rec.Digest().String()
	stopped := rec.Stopped()
	finishResult(s, r, m, tallies, c.Running() == 0, &ending{at: end, limit: limit, stopped: stopped,
		atLimit: !stopped && sim.Pending() > 0 && end >= limit, nodes: nodeNames(s), crashes: fi.crashes})
	return r, nil
}

// nodeNames lists the scenario's nodes in order (driver k of an entry runs
// on node k modulo their number).
func nodeNames(s *scenarios.Scenario) []string {
	out := make([]string, len(s.Cluster.Nodes))
	for i, n := range s.Cluster.Nodes {
		out[i] = n.Name
	}
	return out
}

func percentiles(ls []time.Duration) Latency {
	if len(ls) == 0 {
		return Latency{}
	}
	slices.Sort(ls)
	at := func(q float64) float64 {
		i := int(q * float64(len(ls)-1))
		return float64(ls[i]) / float64(time.Millisecond)
	}
	return Latency{P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: at(1)}
}
