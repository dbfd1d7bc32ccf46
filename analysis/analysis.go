// Package analysis turns a raysim trace into numbers and pictures: throughput
// over time, the task latency distribution split into queueing, argument
// fetch and execution, per-node utilization, local versus spilled
// placements, object transfer volume and locality, the time to detect each
// injected fault and to recover throughput after it, and the critical path
// of the task graph. Analyze reads one trace; Compare sets two reports side
// by side. WriteText prints terminal tables, WriteReport writes SVG and PNG
// plots and one self-contained HTML page that embeds them.
//
// Everything is computed from the trace alone (docs/analysis.md says how to
// read each section and what is approximate).
package analysis

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/traces"
)

// Endpoint IDs outside the raylets (docs/traces.md).
const (
	schedulerID = transport.NodeID(1 << 20)
)

// Report is everything Analyze computes from one trace.
type Report struct {
	Name      string // a short label (the trace's file name, or the scenario's)
	File      string // the scenario file recorded in the header
	Scenario  string // the scenario's name
	Policy    string // the scheduling policy
	Seed      int64
	Transport string
	Version   string
	// Overrides are the --set overrides the run applied to its scenario
	// file, and Buggify whether its runtime fault points were on (the
	// trace header's): two variants of one file tell apart by them.
	Overrides []string `json:",omitempty"`
	Buggify   bool     `json:",omitempty"`
	// OtherJobsEvents: a live run's count of other jobs' events it left
	// out (traces.Trailer.OtherJobsEvents): the cluster was shared, so
	// its utilization and latencies include contention the trace cannot
	// show.
	OtherJobsEvents uint64 `json:",omitempty"`
	// ScenarioErr: the header's scenario could not be parsed (the error);
	// the records are analyzed all the same, but without the scenario's
	// name, policy and nodes (named node-N, their CPUs unknown).
	ScenarioErr string `json:",omitempty"`
	// DemandGuessed lists task names that workload entries of different
	// resources share: the nodes' Resources and Utilization count such
	// tasks at the first entry's demand (a trace names a task, not what
	// it asked for).
	DemandGuessed []string `json:",omitempty"`
	Records       uint64
	End           time.Duration // virtual time of the last record
	Digest        string

	Nodes []NodeStats // raylet i (endpoint i+1) at index i

	Tasks        TaskCounts
	Throughput   Series // task completions per second over time
	Latency      Latency
	Functions    []FunctionStats
	Placement    Placement
	Transfers    Transfers
	Faults       []Fault
	CriticalPath CriticalPath

	// names is traces.NodeNamer of the trace's header: NodeName's and the
	// nodes' names, as the Chrome and OpenTelemetry exports give them.
	names func(transport.NodeID) string
}

// TaskCounts counts task lifecycle events, as the runner's Result does: the
// first end of each submission counts in Completed (task.finished,
// actor.created), Failed or Cancelled; later ends (retries racing the
// original, rebuilds from lineage) count in Reexecuted. A task submitted
// again under the same ID (a parent re-run after a crash re-submits its
// children) is a new submission: its next end counts again.
type TaskCounts struct {
	Submitted, Completed, Failed, Retried, Cancelled, Infeasible uint64
	Reexecuted                                                   uint64
	ActorsCreated, ActorsRestarted, ActorsDied                   uint64
	ObjectsLost, ObjectsReconstructed                            uint64
	// MethodsReplayed counts the methods restarted actors re-ran from
	// their logs to rebuild their state (task.finished with detail
	// replay; the runner's actor_methods_replayed).
	MethodsReplayed uint64 `json:",omitempty"`
	// ObjectsSpilled and ObjectsRestored count object.spilled and
	// object.restored (a node's spill tier; the runner's objects_spilled
	// and objects_restored); BytesSpilled the bytes written to the tiers
	// (a copy still on disk from an earlier spill writes nothing) and
	// BytesRestored those read back.
	ObjectsSpilled, ObjectsRestored uint64
	BytesSpilled, BytesRestored     int64
	// Unfinished counts the tasks submitted and not ended when the trace
	// ends (a run cut off by its duration_limit, or interrupted): the
	// latency percentiles leave them out, though each had waited at least
	// from its submission to the end, the longest of them Waited.
	Unfinished uint64        `json:",omitempty"`
	Waited     time.Duration `json:",omitempty"`
}

// Series is a quantity binned over the trace's time: Values[i] covers
// [i*Bin, (i+1)*Bin), the last bin [At(last), End] (the run's end, a
// record at End included). A rate is per the time a bin covers (Width).
// The last bin covers from half a Bin up to one and a half: the analysis
// merges a shorter tail of the run into the bin before it (see binCount),
// since a rate over a few nanoseconds is no rate (one completion in 3µs
// read as 333,333/s). A series over no time has one bin of Width 0.
type Series struct {
	Bin    time.Duration
	End    time.Duration
	Values []float64
}

// At is the start of bin i.
func (s Series) At(i int) time.Duration { return time.Duration(i) * s.Bin }

// Width is the time bin i covers of [0, End]: Bin, but for the last bin
// (of Values) from its start up to End, which may be less or more than
// Bin (0 for a series over no time).
func (s Series) Width(i int) time.Duration {
	if i == len(s.Values)-1 {
		return max(s.End-s.At(i), 0)
	}
	return max(min(s.Bin, s.End-s.At(i)), 0)
}

// stop is where bin i ends: At(i+1), but for the last bin End when that
// is later (the tail binCount merged into it).
func (s Series) stop(i int) time.Duration {
	if i == len(s.Values)-1 {
		return max(s.At(i+1), s.End)
	}
	return s.At(i + 1)
}

// Percentiles of a duration distribution (nearest rank below, as the
// runner's Result computes them).
type Percentiles struct {
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

// Latency is the task latency distribution, submission to first
// completion, and its split. For every task with a complete phase record,
// Queue + Fetch + Exec == Total exactly:
//
//	Exec  = finished - running (the attempt that finished)
//	Fetch = args_ready - accepted on that node (0 when no argument was missing)
//	Queue = the rest: scheduling (Sched: submission to acceptance, spill hops
//	        included), waiting for a worker, and time lost to failed attempts
type Latency struct {
	Total Percentiles // every completion, as Result.LatencyMs
	Split []TaskPhases
	Phase struct{ Total, Queue, Sched, Fetch, Exec Percentiles }
}

// TaskPhases is one task's latency split.
type TaskPhases struct {
	Task                             transport.TaskID
	Func                             string
	Node                             transport.NodeID // where it ran
	Submit                           time.Duration
	Total, Queue, Sched, Fetch, Exec time.Duration
}

// FunctionStats is the latency per remote function name.
type FunctionStats struct {
	Func    string
	Latency Percentiles
	Exec    Percentiles
}

// NodeStats is one raylet's share of the work.
type NodeStats struct {
	ID       transport.NodeID
	Name     string
	CPUs     float64
	Executed uint64        // task.finished here
	BusyTime time.Duration // sum of running intervals (worker-time)
	// Utilization is the CPU-seconds the tasks running here asked for
	// over CPUs × End (the CPU entry of Resources); 0 on a node without
	// CPUs (see NoCPUs).
	Utilization float64
	// Busy is the CPUs the running tasks asked for per bin divided by
	// CPUs (0..1); on a node without CPUs, running tasks per bin.
	Busy     Series
	NoCPUs   bool   `json:",omitempty"` // the node has no CPUs: its utilization is not defined (tasks and actors asking for no CPU may run there)
	Owned    uint64 // tasks submitted here
	Local    uint64 // of those, placed here at once
	Spilled  uint64 // of those, sent to the global scheduler
	BytesIn  int64  // object transfers received
	BytesOut int64  // object transfers served
	Dead     int    // node.dead events
	// ObjectsSpilled, BytesSpilled, ObjectsRestored and BytesRestored are
	// this node's share of TaskCounts' (its store under pressure). Not
	// Spilled, which counts tasks sent to the global scheduler.
	ObjectsSpilled, ObjectsRestored uint64 `json:",omitempty"`
	BytesSpilled, BytesRestored     int64  `json:",omitempty"`
	// Unlisted: the trace's header does not describe this ID (its CPUs
	// are unknown: 0, NoCPUs). In a live trace these are the drivers'
	// raylets (named driver-N when they submitted tasks and ran none);
	// see Idle.
	Unlisted bool `json:",omitempty"`
	// Resources is, per resource the node has or its tasks asked for
	// (CPU, GPU, then custom names in order), the share of its capacity
	// the running tasks held over the run (see ResourceUse).
	Resources []ResourceUse `json:",omitempty"`

	capacity map[string]float64 // from the header's scenario: CPU, GPU, custom
}

// ResourceUse is a node's use of one resource: what the tasks running
// there asked for (scenarios.Workload.TaskDemand for the entries' tasks,
// Ray's default of 1 CPU for the others; actor methods hold nothing),
// integrated over their running time, over the node's capacity × the
// run's time.
type ResourceUse struct {
	Name     string  // CPU, GPU or a custom resource's name
	Capacity float64 // the node's (0: it has none, yet a task here asked for it)
	// Held is the resource-seconds the running tasks asked for.
	Held float64
	// Utilization is Held / (Capacity × End) (0 when Capacity is 0).
	Utilization float64
}

// Placement counts where tasks went at their first placement.
type Placement struct {
	Local, Spilled, Actor, Other uint64
	// Unplaced counts the tasks submitted and never placed (cancelled
	// first, infeasible, or unfinished at the end): the four counts above
	// and Unplaced add up to the tasks submitted.
	Unplaced uint64 `json:",omitempty"`
	// Respilled counts the queued tasks raylets handed back to the global
	// scheduler because other nodes had room (task.placed "respilled: ..."),
	// not first placements; RespilledBack those the scheduler placed back
	// on their sender (the room taken meanwhile, or the policy's choice).
	Respilled, RespilledBack uint64 `json:",omitempty"`
	// Decisions counts acceptances by reason (the global scheduler's policy
	// name for spilled tasks, local, actor ...), sorted by count.
	Decisions []NameCount
}

// NameCount is a named count.
type NameCount struct {
	Name  string
	Count uint64
}

// Transfers is object movement between object stores.
type Transfers struct {
	Count uint64
	Bytes int64
	Over  Series // bytes transferred per bin
	Links []Link // heaviest source->destination pairs first
	// Locality: of the task attempts accepted by a raylet, how many
	// fetched an argument from another node and how many (fetching none)
	// waited for one produced on their own node. Exact from the task.arg
	// events when the trace has them; for older traces approximate (an
	// attempt that became ready right after a transfer, or right after an
	// object was created on its node; see docs/analysis.md).
	Accepted      uint64
	Fetched       uint64
	WaitedLocal   uint64
	LocalityRatio float64 // 1 - Fetched/Accepted
	Approximate   bool    // task.args_ready but no task.arg events (a trace from before them): the counts above are inferred
	// By-reference arguments of accepted attempts (task.arg): in the store
	// at acceptance, brought by a transfer, or produced on the node later.
	// ArgsPending never arrived (the attempt died or was cancelled first).
	Args, ArgsLocal, ArgsFetched, ArgsProducedHere, ArgsPending uint64
	ArgLocality                                                 float64 // share of resolved arguments that crossed no link
}

// Link is the transfer volume over one ordered pair of nodes.
type Link struct {
	From, To transport.NodeID
	Count    uint64
	Bytes    int64
}

// Fault is one injected fault and the cluster's response.
type Fault struct {
	Kind   string // crash, restart, partition, heal, pause, degrade, skew, kill_actor, task_errors
	At     time.Duration
	Node   transport.NodeID // 0 when it concerns no single node
	Peer   transport.NodeID `json:",omitempty"` // a degraded link's other end
	Detail string
	// Symmetric: a degradation of both directions of the link, Node -> Peer
	// and Peer -> Node (a degrade_link fault is symmetric unless it says
	// otherwise): netsim logs a net.degrade per direction, the same time
	// and model, and the report shows the pair as one fault (Node <-> Peer).
	Symmetric bool `json:",omitempty"`
	// Detected is the first node.dead that detects the fault (0: none): of
	// a node the fault concerns, with no later detectable fault of that
	// node before it (see Detectable); DetectAfter = Detected - At.
	Detected    time.Duration
	DetectAfter time.Duration
	// AtRestart: the node.dead came from the node's restart (its new
	// incarnation registered before its heartbeats were missed), not from
	// failure detection: DetectAfter is then the crash-to-restart gap the
	// fault schedule set, and the mean detection delay leaves it out.
	AtRestart bool `json:",omitempty"`
	// Baseline is the completion rate before the fault (tasks/s: the median
	// of up to 5 bins), Dip the lowest smoothed rate after it; Recovered
	// the first time the smoothed rate is back to 90% of Baseline after a
	// dip (RecoverAfter = Recovered - At). NoDip: the rate never fell below
	// 90%; NotRecovered: it had not come back when the trace ended, or
	// (Drained) when the backlog ran out. Rates are judged only while the
	// backlog (tasks submitted and not yet ended: finished, failed or
	// cancelled) could keep the baseline rate up for a bin or is above what
	// it was at the fault: once it is neither, the offered load, not the
	// fault, sets the rate (a run's final drain is no dip). Drained is then
	// when the backlog ran out.
	Baseline, Dip float64
	Recovered     time.Duration
	RecoverAfter  time.Duration
	NoDip         bool
	NotRecovered  bool
	Drained       time.Duration
	// Unjudged: no task ended after the fault (it is the trace's last
	// record, or came once the workload was done): there is no throughput
	// after it to judge a dip or a recovery on.
	Unjudged bool `json:",omitempty"`
	// Ended is when a later event lifted the fault: a restart of the
	// crashed node, a heal of the partition, a restore of the degraded link
	// (see Ends), the end of task_errors' for; 0 when none did before the
	// trace ended, or nothing lifts it (pause, skew, kill_actor).
	Ended time.Duration `json:",omitempty"`

	cut []transport.NodeID // a partition's endpoints (nil: unknown, any)
}

// Ends reports whether f, an event that lifts faults, ends g (still in
// effect): a restart the crash of its node, a heal every partition (one
// naming groups, a partition's own end, only the partition of those
// groups), a link's restore the degradation of that link.
func (f Fault) Ends(g Fault) bool {
	if g.Ended != 0 {
		return false
	}
	switch f.Kind {
	case "restart":
		return g.Kind == "crash" && g.Node == f.Node
	case "heal":
		return g.Kind == "partition" && (f.Detail == "" || f.Detail == g.Detail)
	case "restore": // either direction's, for a symmetric degradation
		return g.Kind == "degrade" && (g.Node == f.Node && g.Peer == f.Peer ||
			g.Symmetric && g.Node == f.Peer && g.Peer == f.Node)
	}
	return false
}

// Detectable reports whether the fault has a detection event to wait for:
// a node.dead, which the GCS sends for a raylet it stopped hearing from (a
// raylet's crash or pause, a partition cutting raylets off). Other faults
// have none: a GCS replica's or the scheduler's crash (the chain
// reconfigures; no node.dead follows), a restart, a degradation, a skew.
func (f Fault) Detectable() bool {
	switch f.Kind {
	case "crash", "pause":
		return f.Node != 0 && f.Node < schedulerID // a raylet
	case "partition":
		return true
	}
	return false
}

// DetailText is the detail column: Detail, and for a degradation or a
// partition when it ended (its end has no row of its own, or shares one
// heal with others).
func (f Fault) DetailText() string {
	if f.Ended != 0 && (f.Kind == "degrade" || f.Kind == "partition" || f.Kind == scenarios.TaskErrors) {
		until := "until " + f.Ended.Round(time.Microsecond).String()
		if f.Detail == "" {
			return until
		}
		return f.Detail + ", " + until
	}
	return f.Detail
}

// FaultDetail is f's detail column (DetailText) with the endpoint IDs a
// partition's groups and a degraded link are recorded with given as the
// trace's node names (worker-1, not 3), as the node column names them.
func (r *Report) FaultDetail(f Fault) string {
	text := f.DetailText()
	switch f.Kind {
	case "partition":
		groups, rest, ok := strings.Cut(text, ", until ")
		named := traces.NameGroups(groups, r.NodeName)
		if ok {
			named += ", until " + rest
		}
		return named
	case "degrade":
		for _, arrow := range []string{"->", "<->"} {
			ids := fmt.Sprintf("%d%s%d ", f.Node, arrow, f.Peer)
			if strings.HasPrefix(text, ids) {
				return r.NodeName(f.Node) + arrow + r.NodeName(f.Peer) + " " + strings.TrimPrefix(text, ids)
			}
		}
	}
	return text
}

// FaultLabel is a short label of f for a plot's fault line: its kind and
// what it hit, by name ("crash worker-1", "partition [head,
// worker-0][worker-2]", "degrade head<->worker-2"); the kind alone for a
// fault of no single node.
func (r *Report) FaultLabel(f Fault) string {
	switch f.Kind {
	case "partition":
		groups, _, _ := strings.Cut(r.FaultDetail(f), ", until ")
		if groups == "" {
			return f.Kind
		}
		return f.Kind + " " + groups
	case "degrade":
		if f.Peer != 0 {
			arrow := "->"
			if f.Symmetric {
				arrow = "<->"
			}
			return f.Kind + " " + r.NodeName(f.Node) + arrow + r.NodeName(f.Peer)
		}
	}
	if f.Node == 0 {
		return f.Kind
	}
	return f.Kind + " " + r.NodeName(f.Node)
}

// CriticalPath is the dependency chain with the most work (execution plus
// argument fetch after the predecessor finished) found in the trace: the
// part of the run no amount of parallelism shortens. Tasks holds each
// task's segment of the chain: from its predecessor's finish (the first
// task: its submission) to its own finish, so Queue+Fetch+Exec == Span.
// A task's predecessor is the producer of its arguments (task.arg) that
// finished last. Traces without task.arg get inferred edges instead
// (Inferred): a task whose last missing argument arrived
// (object.transferred) or was produced (object.created) on its node at the
// instant it became ready depends on the task that produced that object;
// tasks whose arguments were all local when accepted show no edge, so the
// path is a lower bound (docs/analysis.md).
type CriticalPath struct {
	Span          time.Duration // its first task's submission to its last task's finish
	Tasks         []TaskPhases  // in dependency order
	Queue, Fetch  time.Duration // summed over Tasks
	Exec          time.Duration
	Edges         int  // tasks with a predecessor, in the whole trace
	Inferred      bool // edges inferred (a trace without task.arg)
	Depth         int  // the longest chain in tasks
	EndToEnd      time.Duration
	LongestSingle time.Duration // the longest single task latency, for scale
}

// Analyze reads a whole trace.
func Analyze(r *traces.Reader) (*Report, error) {
	a := newAnalyzer(r.Header())
	for r.Next() {
		a.record(r.Record())
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	tr, _ := r.Trailer()
	a.rep.Records, a.rep.Digest, a.rep.OtherJobsEvents = tr.Records, tr.Digest.String(), tr.OtherJobsEvents
	a.rep.End = max(tr.End, a.last)
	a.finish()
	return a.rep, nil
}

// AnalyzeFile opens and analyzes a trace file; the report is named after it.
func AnalyzeFile(path string) (*Report, error) {
	r, err := traces.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep, err := Analyze(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rep.Name = path
	return rep, nil
}

type attempt struct {
	node      transport.NodeID
	accept    time.Duration
	argsReady time.Duration
	hasArgs   bool
	running   time.Duration
	hasRun    bool
}

type taskState struct {
	fn        string
	owner     transport.NodeID
	submit    time.Duration // its latest submission
	submitted bool
	pending   bool // submitted, and no end counted since
	reread    bool // a driver's verification task (scenarios.RereadTaskName): not counted
	placed    bool // first placement seen
	attempts  []attempt
	pred      transport.TaskID   // dependency on the critical path (0: none)
	phases    int                // index+1 into rep.Latency.Split
	method    bool               // an actor method (placed "actor"): holds no resources
	producers []transport.TaskID // of its by-reference arguments (task.arg)
}

type interval struct {
	node       transport.NodeID
	task       transport.TaskID
	start, end time.Duration
}

type readyCause struct {
	at     time.Duration
	object transport.ObjectID
	remote bool
}

type analyzer struct {
	// argsReadySeen: a task.args_ready was read (see Transfers.Approximate).
	argsReadySeen bool
	rep           *Report
	tasks         map[transport.TaskID]*taskState
	running       map[[2]uint64]time.Duration // (task, node) -> start
	busy          []interval
	completes     []time.Duration
	// The backlog's steps: when a task became outstanding (submitted while
	// not pending) and when it stopped being (its first end: finished,
	// failed, cancelled or actor created), in time order.
	submits, ends []time.Duration
	transfers     []struct {
		at    time.Duration
		bytes int64
	}
	links     map[[2]transport.NodeID]*Link
	lastObj   map[transport.NodeID]readyCause
	decisions map[string]uint64
	netFaults []Fault
	dead      []death
	edges     int
	last      time.Duration
	// task.arg bookkeeping: the attempts waiting for an argument on a node
	// (Detail "fetch"), and the attempts that got one by a transfer or
	// from a local producer.
	argWait   map[nodeObject][]transport.TaskID
	argRemote map[[2]uint64]bool // (task, node)
	argLocal  map[[2]uint64]bool
	// demand is what the tasks of each name ask for, from the header's
	// scenario (scenarios.EntryTaskNames); a name not in it asks for 1 CPU.
	demand map[string]map[string]float64
}

// death is a node.dead: when, of which node, and whether the node's
// restart declared it (its new incarnation registered before its
// heartbeats were missed: the failure detector never saw the crash).
type death struct {
	at        time.Duration
	node      transport.NodeID
	byRestart bool
}

type nodeObject struct {
	node transport.NodeID
	obj  transport.ObjectID
}

// resolveArgs settles the arguments waiting for obj on node: remote when a
// transfer brought it, else produced there.
func (a *analyzer) resolveArgs(node transport.NodeID, obj transport.ObjectID, remote bool) {
	k := nodeObject{node, obj}
	waiting := a.argWait[k]
	if len(waiting) == 0 {
		return
	}
	delete(a.argWait, k)
	tr := &a.rep.Transfers
	for _, t := range waiting {
		at := [2]uint64{uint64(t), uint64(node)}
		if remote {
			tr.ArgsFetched++
			a.argRemote[at] = true
		} else {
			tr.ArgsProducedHere++
			a.argLocal[at] = true
		}
	}
}

func newAnalyzer(h *traces.Header) *analyzer {
	var demand map[string]map[string]float64
	rep := &Report{File: h.File, Seed: h.Seed, Transport: h.Transport, Version: h.Version,
		Overrides: slices.Clone(h.Overrides), Buggify: h.Buggify}
	if rep.Transport == "" {
		rep.Transport = "sim"
	}
	if len(h.Scenario) > 0 {
		if s, err := scenarios.Parse(h.File, h.Scenario); err != nil {
			rep.ScenarioErr = "the trace header's copy of the scenario (lines count in that copy, not in the file on disk): " + err.Error()
		} else {
			rep.Scenario = s.Name
			rep.Policy = s.Cluster.Scheduler.Policy
			ids := h.NodeIDs // a live cluster's: its drivers' IDs come between
			if len(ids) != len(s.Cluster.Nodes) {
				ids = nil
			}
			for i, n := range s.Cluster.Nodes {
				id := transport.NodeID(i + 1)
				if ids != nil {
					id = ids[i]
				}
				if id == 0 || id >= schedulerID {
					continue
				}
				for int(id) > len(rep.Nodes) { // the IDs between: unlisted until seen
					k := transport.NodeID(len(rep.Nodes) + 1)
					rep.Nodes = append(rep.Nodes, NodeStats{ID: k, Name: fmt.Sprintf("node-%d", k), Unlisted: true})
				}
				rep.Nodes[id-1] = NodeStats{ID: id, Name: n.Name, CPUs: n.CPUs, capacity: nodeCapacity(n)}
			}
			demand = entryDemands(s, rep)
		}
	}
	rep.Name = rep.Scenario
	rep.names = traces.NodeNamer(h)
	for i := range rep.Nodes {
		if rep.Nodes[i].Unlisted {
			rep.Nodes[i].Name = rep.names(rep.Nodes[i].ID)
		}
	}
	return &analyzer{rep: rep, tasks: make(map[transport.TaskID]*taskState),
		running: make(map[[2]uint64]time.Duration), links: make(map[[2]transport.NodeID]*Link),
		lastObj: make(map[transport.NodeID]readyCause), decisions: make(map[string]uint64),
		argWait: make(map[nodeObject][]transport.TaskID), argRemote: make(map[[2]uint64]bool), argLocal: make(map[[2]uint64]bool),
		demand: demand}
}

// nodeCapacity is node n's resources by the names tasks ask for them.
func nodeCapacity(n scenarios.NodeSpec) map[string]float64 {
	c := map[string]float64{"CPU": n.CPUs}
	if n.GPUs > 0 {
		c["GPU"] = n.GPUs
	}
	for k, v := range n.Resources {
		c[k] = v
	}
	return c
}

// entryDemands maps the names of the workload entries' tasks to what they
// ask for (scenarios.EntryTaskNames; rereads too). A name two entries give
// different demands keeps the first entry's, and is listed in
// rep.DemandGuessed (but for rereads).
func entryDemands(s *scenarios.Scenario, rep *Report) map[string]map[string]float64 {
	demand := map[string]map[string]float64{}
	for i := range s.Workload {
		w := &s.Workload[i]
		d := w.TaskDemand()
		for _, name := range append(scenarios.EntryTaskNames(w.Generator), scenarios.RereadTaskName) {
			old, ok := demand[name]
			if !ok {
				demand[name] = d
			} else if !maps.Equal(old, d) && name != scenarios.RereadTaskName && !slices.Contains(rep.DemandGuessed, name) {
				// (A driver's rereads, a few short checks, count at the
				// first entry's demand without a note.)
				rep.DemandGuessed = append(rep.DemandGuessed, name)
			}
		}
	}
	return demand
}

// OtherResources is n's use of its resources other than CPU.
func (n NodeStats) OtherResources() []ResourceUse {
	var out []ResourceUse
	for _, u := range n.Resources {
		if u.Name != "CPU" {
			out = append(out, u)
		}
	}
	return out
}

// OtherText is OtherResources as "GPU 50.0%, accel 100.0%" ("-" for
// none; "accel held 1.2 s" for one the node does not have).
func (n NodeStats) OtherText() string {
	var parts []string
	for _, u := range n.OtherResources() {
		if u.Capacity > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", u.Name, 100*u.Utilization))
		} else {
			parts = append(parts, fmt.Sprintf("%s held %.3gs", u.Name, u.Held))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// resourceUses lists a node's use of each resource it has (capacity) or
// its tasks held (held, in resource-seconds) over a run of length end:
// CPU, GPU, then the custom names in order. Nil when it has neither.
func resourceUses(capacity, held map[string]float64, end time.Duration) []ResourceUse {
	names := slices.Collect(maps.Keys(capacity))
	for k := range held {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	rank := func(k string) int {
		switch k {
		case "CPU":
			return 0
		case "GPU":
			return 1
		}
		return 2
	}
	slices.SortFunc(names, func(x, y string) int { return cmp.Or(cmp.Compare(rank(x), rank(y)), strings.Compare(x, y)) })
	var out []ResourceUse
	for _, k := range names {
		u := ResourceUse{Name: k, Capacity: capacity[k], Held: held[k]}
		if u.Capacity <= 0 && u.Held == 0 {
			continue
		}
		if u.Capacity > 0 {
			u.Utilization = u.Held / (u.Capacity * end.Seconds())
		}
		out = append(out, u)
	}
	return out
}

// defaultDemand is what a task the scenario does not describe asks for:
// Ray's default.
var defaultDemand = map[string]float64{"CPU": 1}

// demandOf is what task id asked for while it ran: nothing for an actor
// method (an actor's methods hold no CPU, as Ray's default actors).
func (a *analyzer) demandOf(id transport.TaskID) map[string]float64 {
	t := a.tasks[id]
	if t == nil {
		return defaultDemand
	}
	if t.method {
		return nil
	}
	name := t.fn
	if t.reread {
		name = scenarios.RereadTaskName
	}
	if d, ok := a.demand[name]; ok {
		return d
	}
	return defaultDemand
}

// node returns the stats of raylet id, growing the table for IDs the
// header did not describe: Unlisted, with no CPUs (they are unknown, and
// in a live trace such an ID is mostly a driver's raylet, which has
// none), so that no utilization is made up for them.
func (a *analyzer) node(id transport.NodeID) *NodeStats {
	if id == 0 || id >= schedulerID {
		return nil
	}
	for int(id) > len(a.rep.Nodes) {
		n := transport.NodeID(len(a.rep.Nodes) + 1)
		a.rep.Nodes = append(a.rep.Nodes, NodeStats{ID: n, Name: a.rep.names(n), Unlisted: true})
	}
	return &a.rep.Nodes[id-1]
}

// Idle reports whether n is an ID the header did not describe that did
// nothing in the trace but, at most, die (a driver that came and went
// before the run, its ID skipped over): tables leave it out.
func (n NodeStats) Idle() bool {
	return n.Unlisted && n.Executed == 0 && n.Owned == 0 && n.BusyTime == 0 && n.BytesIn == 0 && n.BytesOut == 0 &&
		n.ObjectsSpilled == 0 && n.ObjectsRestored == 0
}

// countEnd counts a task's end in count when it is the first since the
// task's latest submission, as the runner's Result does (its end); any
// other end is a re-execution. A first end also records the latency (done).
func (a *analyzer) countEnd(r *traces.Record, count *uint64, finished bool) (first bool) {
	t := a.task(r.Task)
	if t.reread {
		return false
	}
	if !t.pending {
		a.rep.Tasks.Reexecuted++
		return false
	}
	t.pending = false
	a.ends = append(a.ends, r.At)
	*count++
	a.done(r.Task, r.Node, r.At, finished)
	return true
}

func (a *analyzer) task(id transport.TaskID) *taskState {
	t := a.tasks[id]
	if t == nil {
		t = &taskState{}
		a.tasks[id] = t
	}
	return t
}

func (a *analyzer) record(r *traces.Record) {
	a.last = r.At
	if k, ok := r.NetKind(); ok {
		a.netRecord(k, r)
		return
	}
	c := &a.rep.Tasks
	switch r.RuntimeKind() {
	case transport.EvTaskSubmitted:
		t := a.task(r.Task)
		if r.Detail == scenarios.RereadTaskName {
			// A driver's check of a result it read already: not a
			// workload task, as the runner counts (its run still shows
			// on its node).
			t.reread = true
			break
		}
		c.Submitted++
		if !t.pending { // submitted again before it ended: outstanding once
			a.submits = append(a.submits, r.At)
		}
		if !t.submitted {
			t.submitted, t.owner, t.fn = true, r.Node, r.Detail
		}
		// The runner times a task from its latest submission: a re-submission
		// before the end restarts the clock, one after it is timed anew.
		t.submit, t.pending = r.At, true
		if n := a.node(r.Node); n != nil {
			n.Owned++
		}
	case transport.EvTaskPlaced:
		a.placed(r)
	case transport.EvTaskArgsReady:
		a.argsReadySeen = true
		t := a.task(r.Task)
		if at := t.attempt(r.Node); at != nil {
			at.argsReady, at.hasArgs = r.At, true
		}
		if cause, ok := a.lastObj[r.Node]; ok && cause.at == r.At {
			if cause.remote {
				a.rep.Transfers.Fetched++
			} else {
				a.rep.Transfers.WaitedLocal++
			}
			if p := cause.object.Task; p != r.Task && a.tasks[p] != nil && t.pred == 0 {
				t.pred = p
				a.edges++
			}
		}
	case transport.EvTaskArg:
		// An object's ID names the task that made it, a return or a Put
		// alike (map-reduce partitions are Puts of the map tasks); a
		// driver's Put names no submitted task and makes no edge.
		if p := r.Object.Task; p != r.Task {
			t := a.task(r.Task)
			if !slices.Contains(t.producers, p) {
				t.producers = append(t.producers, p)
			}
		}
		tr := &a.rep.Transfers
		tr.Args++
		if r.Detail == "local" {
			tr.ArgsLocal++
		} else {
			k := nodeObject{r.Node, r.Object}
			a.argWait[k] = append(a.argWait[k], r.Task)
		}
	case transport.EvTaskRunning:
		// A run again on the node running it (its code failed and
		// RetryExceptions runs it again there): the failed run's
		// worker-time counts, its time goes to the queue phase.
		a.stopRunning(r.Task, r.Node, r.At)
		t := a.task(r.Task)
		if at := t.attempt(r.Node); at != nil {
			at.running, at.hasRun = r.At, true
		} else {
			t.attempts = append(t.attempts, attempt{node: r.Node, accept: r.At, running: r.At, hasRun: true})
		}
		a.running[[2]uint64{uint64(r.Task), uint64(r.Node)}] = r.At
	case transport.EvTaskFinished:
		if r.Detail == transport.DetailReplay {
			c.MethodsReplayed++
		}
		if a.countEnd(r, &c.Completed, true) {
			a.completes = append(a.completes, r.At)
		}
		if n := a.node(r.Node); n != nil {
			n.Executed++
		}
		a.stopRunning(r.Task, r.Node, r.At)
	case transport.EvTaskFailed:
		a.countEnd(r, &c.Failed, false)
		a.stopRunning(r.Task, r.Node, r.At)
	case transport.EvTaskCancelled:
		a.countEnd(r, &c.Cancelled, false)
		a.stopRunning(r.Task, r.Node, r.At)
	case transport.EvTaskRetried:
		c.Retried++
	case transport.EvTaskInfeasible:
		c.Infeasible++
	case transport.EvActorCreated:
		if a.countEnd(r, &c.Completed, true) {
			a.completes = append(a.completes, r.At)
		}
		c.ActorsCreated++
		a.stopRunning(r.Task, r.Node, r.At) // the creation task's run ends
	case transport.EvActorRestarted:
		c.ActorsRestarted++
	case transport.EvActorDied:
		c.ActorsDied++
		if r.Detail == transport.DetailFaultKill {
			a.netFaults = append(a.netFaults, Fault{Kind: "kill_actor", At: r.At, Node: r.Node, Detail: "actor " + r.Task.String()})
		}
	case transport.EvObjectCreated:
		// A fetched object is stored (object.created) right after its
		// transfer: it stays a remote cause.
		if c, ok := a.lastObj[r.Node]; !ok || c.at != r.At || c.object != r.Object || !c.remote {
			a.lastObj[r.Node] = readyCause{at: r.At, object: r.Object}
		}
		a.resolveArgs(r.Node, r.Object, false)
	case transport.EvObjectTransferred:
		a.resolveArgs(r.Node, r.Object, true)
		tr := &a.rep.Transfers
		tr.Count++
		tr.Bytes += r.Bytes
		a.transfers = append(a.transfers, struct {
			at    time.Duration
			bytes int64
		}{r.At, r.Bytes})
		if n := a.node(r.Node); n != nil {
			n.BytesIn += r.Bytes
		}
		if n := a.node(r.Peer); n != nil {
			n.BytesOut += r.Bytes
		}
		l := a.links[[2]transport.NodeID{r.Peer, r.Node}]
		if l == nil {
			l = &Link{From: r.Peer, To: r.Node}
			a.links[[2]transport.NodeID{r.Peer, r.Node}] = l
		}
		l.Count++
		l.Bytes += r.Bytes
		a.lastObj[r.Node] = readyCause{at: r.At, object: r.Object, remote: true}
	case transport.EvObjectSpilled:
		c.ObjectsSpilled++
		n := a.node(r.Node)
		if n != nil {
			n.ObjectsSpilled++
		}
		if r.Detail != transport.DetailOnDisk { // bytes written (the runner's rule)
			c.BytesSpilled += r.Bytes
			if n != nil {
				n.BytesSpilled += r.Bytes
			}
		}
	case transport.EvObjectRestored:
		c.ObjectsRestored++
		c.BytesRestored += r.Bytes
		if n := a.node(r.Node); n != nil {
			n.ObjectsRestored++
			n.BytesRestored += r.Bytes
		}
	case transport.EvObjectLost:
		c.ObjectsLost++
	case transport.EvObjectReconstructed:
		c.ObjectsReconstructed++
	case transport.EvNodeDead:
		if n := a.node(r.Node); n != nil {
			n.Dead++
		}
		a.dead = append(a.dead, death{r.At, r.Node, strings.HasPrefix(r.Detail, "restarted")})
	}
}

func (t *taskState) attempt(node transport.NodeID) *attempt {
	for i := len(t.attempts) - 1; i >= 0; i-- {
		if t.attempts[i].node == node {
			return &t.attempts[i]
		}
	}
	return nil
}

func (a *analyzer) placed(r *traces.Record) {
	t := a.task(r.Task)
	switch {
	case strings.HasPrefix(r.Detail, "respilled"):
		a.rep.Placement.Respilled++
	case strings.HasPrefix(r.Detail, "respill back"):
		a.rep.Placement.RespilledBack++
	}
	if !t.placed && !t.reread { // a driver's re-read is no workload task (see submitted)
		t.placed = true
		p := &a.rep.Placement
		n := a.node(r.Node)
		switch {
		case r.Detail == "actor":
			p.Actor++
			t.method = true
		case r.Peer == r.Node && r.Detail == "local":
			p.Local++
			if n != nil {
				n.Local++
			}
		case r.Peer == schedulerID || r.Detail == "spilled":
			p.Spilled++
			if n != nil {
				n.Spilled++
			}
		default:
			p.Other++
		}
	}
	if r.Peer != r.Node { // handed on (spilled): not an acceptance
		return
	}
	a.decisions[r.Detail]++
	a.rep.Transfers.Accepted++
	t.attempts = append(t.attempts, attempt{node: r.Node, accept: r.At})
}

func (a *analyzer) stopRunning(id transport.TaskID, node transport.NodeID, at time.Duration) {
	k := [2]uint64{uint64(id), uint64(node)}
	if s, ok := a.running[k]; ok {
		a.busy = append(a.busy, interval{node: node, task: id, start: s, end: at})
		delete(a.running, k)
	}
}

// done records the latency of a submission's first end (finished, failed,
// cancelled or actor created), as the runner's latency does: from the
// task's latest submission. A task submitted again after it ended gets a
// second entry; its phases index the latest.
func (a *analyzer) done(id transport.TaskID, node transport.NodeID, at time.Duration, finished bool) {
	t := a.tasks[id]
	total := at - t.submit
	ph := TaskPhases{Task: id, Func: t.fn, Node: node, Submit: t.submit, Total: total}
	a.rep.Latency.Total.N++ // percentiles filled in finish
	ph.Queue = total
	if finished {
		// The attempt must belong to this submission (a re-submitted task's
		// earlier attempt would split time from before it was submitted).
		if att := t.attempt(node); att != nil && att.hasRun && att.running <= at && att.accept <= att.running && att.accept >= t.submit {
			ph.Exec = at - att.running
			ph.Sched = att.accept - t.submit
			if att.hasArgs && att.argsReady >= att.accept && att.argsReady <= att.running {
				ph.Fetch = att.argsReady - att.accept
			}
			ph.Queue = total - ph.Exec - ph.Fetch
		}
	}
	a.rep.Latency.Split = append(a.rep.Latency.Split, ph)
	t.phases = len(a.rep.Latency.Split)
}

// endRunning ends the runs of the tasks running on a node that stops
// (r, its crash): they are lost with it.
func (a *analyzer) endRunning(r *traces.Record) {
	for key, s := range a.running {
		if transport.NodeID(key[1]) == r.Node {
			a.busy = append(a.busy, interval{node: r.Node, task: transport.TaskID(key[0]), start: s, end: r.At})
			delete(a.running, key)
		}
	}
}

func (a *analyzer) netRecord(k netsim.EventKind, r *traces.Record) {
	switch k {
	case netsim.EvCrash, netsim.EvRestart, netsim.EvPartition, netsim.EvHeal, netsim.EvPause, netsim.EvDegrade, netsim.EvSkew:
	case netsim.EvCustom:
		a.taskErrors(r)
		return
	default:
		return
	}
	if (k == netsim.EvCrash && r.Detail == netsim.DetailTerminated) || (k == netsim.EvRestart && r.Detail == netsim.DetailLaunched) {
		// A node stopped or started on purpose (an autoscaler's, see
		// ray.Sim.Terminate, Launch): no fault. A terminated node runs
		// nothing, but what it ran ends with it.
		if k == netsim.EvCrash {
			a.endRunning(r)
		}
		return
	}
	f := Fault{Kind: k.String(), At: r.At, Detail: r.Detail}
	switch k {
	case netsim.EvCrash, netsim.EvRestart, netsim.EvSkew:
		f.Node = r.Node
		if k == netsim.EvSkew {
			f.Detail = "offset " + time.Duration(r.Bytes).String()
		}
		if k == netsim.EvCrash {
			a.endRunning(r)
		}
	case netsim.EvPartition:
		f.cut = partitioned(r)
	case netsim.EvPause:
		f.Node = r.Node
		f.Detail = "for " + time.Duration(r.Bytes).String()
	case netsim.EvDegrade:
		f.Node, f.Peer = r.Node, r.Peer
		if r.Detail == "restore" {
			f.Kind, f.Detail = "restore", ""
		} else {
			f.Detail = fmt.Sprintf("%d->%d %s", r.Node, r.Peer, traces.DegradeText(r))
			if a.reverseDegrade(f, r) {
				return // the other direction of a fault already listed
			}
			// A degrade of a link replaces the one on it (netsim keeps
			// one per direction): that one ends here, as a restore would
			// end it, so a later restore ends this one, not the first.
			replaced := Fault{Kind: "restore", Node: f.Node, Peer: f.Peer}
			for i := range a.netFaults {
				if replaced.Ends(a.netFaults[i]) {
					a.netFaults[i].Ended = f.At
				}
			}
		}
	}
	switch f.Kind {
	case "restart", "heal", "restore":
		for i := range a.netFaults {
			if f.Ends(a.netFaults[i]) {
				a.netFaults[i].Ended = f.At
				if f.Kind == "heal" && f.Detail != "" {
					break // a partition's own end: that partition alone
				}
			}
		}
		if f.Kind == "restore" || (f.Kind == "heal" && f.Detail != "") {
			// The end of a link's degradation or of one partition (its
			// `for`) is no fault: it ended the one it closes (Ended).
			// Restarts and heals a fault schedule injected stay rows.
			return
		}
	}
	a.netFaults = append(a.netFaults, f)
}

// taskErrors reads a task_errors fault's custom events: its start is a
// row (Kind "task_errors"), the end of its for ends the open row that
// describes the same rate and nodes.
func (a *analyzer) taskErrors(r *traces.Record) {
	if desc, ok := strings.CutPrefix(r.Detail, scenarios.TaskErrorsEnded); ok {
		for i := range a.netFaults {
			if g := &a.netFaults[i]; g.Kind == scenarios.TaskErrors && g.Ended == 0 && g.Detail == desc {
				g.Ended = r.At
				return
			}
		}
		return
	}
	if desc, ok := strings.CutPrefix(r.Detail, scenarios.TaskErrorsStarted); ok {
		a.netFaults = append(a.netFaults, Fault{Kind: scenarios.TaskErrors, At: r.At, Detail: desc})
	}
}

// reverseDegrade marks the degradation f (of record r) as the other
// direction of one listed at the same time, and reports whether it did:
// one there degrades r.Peer -> r.Node with the same extra latency and
// model, not yet ended nor paired. The pair is one fault, Symmetric
// (netsim logs a symmetric degrade_link as two records, one per
// direction, one after the other). Two one-way faults that happen to
// mirror each other at the same instant read as one as well: the trace
// cannot tell them apart, and what they do to the link is the same.
func (a *analyzer) reverseDegrade(f Fault, r *traces.Record) bool {
	want := fmt.Sprintf("%d->%d %s", r.Peer, r.Node, traces.DegradeText(r))
	for i := len(a.netFaults) - 1; i >= 0 && a.netFaults[i].At == f.At; i-- {
		g := &a.netFaults[i]
		if g.Kind == "degrade" && !g.Symmetric && g.Ended == 0 && g.Node == r.Peer && g.Peer == r.Node && g.Detail == want {
			g.Symmetric = true
			g.Detail = fmt.Sprintf("%d<->%d %s", g.Node, g.Peer, traces.DegradeText(r))
			return true
		}
	}
	return false
}

func (a *analyzer) finish() {
	rep := a.rep
	end := max(rep.End, time.Nanosecond)
	bin, nbins := bins(end)

	for key, s := range a.running { // still running at the end
		a.busy = append(a.busy, interval{node: transport.NodeID(key[1]), task: transport.TaskID(key[0]), start: s, end: end})
	}

	// Throughput.
	rep.Throughput = a.rate(bin, nbins, rep.End)

	// Tasks that never ended (a count and a maximum: the map's order does
	// not matter).
	for _, t := range a.tasks {
		if t.pending && !t.reread {
			rep.Tasks.Unfinished++
			rep.Tasks.Waited = max(rep.Tasks.Waited, rep.End-t.submit)
		}
		if t.submitted && !t.placed && !t.reread {
			rep.Placement.Unplaced++
		}
	}

	// Latency.
	var total, queue, sched, fetch, exec []time.Duration
	byFunc := map[string]*[2][]time.Duration{}
	for _, p := range rep.Latency.Split {
		total = append(total, p.Total)
		queue = append(queue, p.Queue)
		sched = append(sched, p.Sched)
		fetch = append(fetch, p.Fetch)
		exec = append(exec, p.Exec)
		f := byFunc[p.Func]
		if f == nil {
			f = &[2][]time.Duration{}
			byFunc[p.Func] = f
		}
		f[0] = append(f[0], p.Total)
		f[1] = append(f[1], p.Exec)
	}
	rep.Latency.Total = percentiles(total)
	ph := &rep.Latency.Phase
	ph.Total, ph.Queue, ph.Sched, ph.Fetch, ph.Exec = rep.Latency.Total, percentiles(queue), percentiles(sched), percentiles(fetch), percentiles(exec)
	for name, f := range byFunc {
		rep.Functions = append(rep.Functions, FunctionStats{Func: name, Latency: percentiles(f[0]), Exec: percentiles(f[1])})
	}
	slices.SortFunc(rep.Functions, func(x, y FunctionStats) int {
		return cmp.Or(cmp.Compare(y.Latency.N, x.Latency.N), strings.Compare(x.Func, y.Func))
	})

	// Utilization: what the running tasks asked for, per resource, over
	// the node's capacity (worker-time apart).
	held := map[transport.NodeID]map[string]float64{}
	for i := range rep.Nodes {
		rep.Nodes[i].Busy = Series{Bin: bin, End: rep.End, Values: make([]float64, nbins)}
	}
	for _, iv := range a.busy {
		n := a.node(iv.node)
		if n == nil || iv.end < iv.start {
			continue
		}
		n.BusyTime += iv.end - iv.start
		d := a.demandOf(iv.task)
		h := held[n.ID]
		if h == nil {
			h = map[string]float64{}
			held[n.ID] = h
		}
		for _, k := range slices.Sorted(maps.Keys(d)) { // a fixed order: float sums
			h[k] += d[k] * (iv.end - iv.start).Seconds()
		}
		share := d["CPU"] // the CPUs it held; a node without CPUs counts running tasks
		if n.CPUs <= 0 {
			share = 1
		}
		for b := min(int(iv.start/bin), nbins-1); b < nbins && n.Busy.At(b) < iv.end; b++ {
			lo, hi := max(iv.start, n.Busy.At(b)), min(iv.end, n.Busy.stop(b))
			if w := n.Busy.Width(b); hi > lo && w > 0 {
				n.Busy.Values[b] += share * float64(hi-lo) / float64(w)
			}
		}
	}
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		h := held[n.ID]
		n.Resources = resourceUses(n.capacity, h, end)
		if n.CPUs <= 0 {
			n.NoCPUs = true // busy with 0-CPU actors, say: no share of CPUs to speak of
			continue
		}
		n.Utilization = h["CPU"] / (n.CPUs * end.Seconds())
		for b := range n.Busy.Values {
			n.Busy.Values[b] /= n.CPUs
		}
	}

	// Placement decisions.
	for name, c := range a.decisions {
		rep.Placement.Decisions = append(rep.Placement.Decisions, NameCount{name, c})
	}
	slices.SortFunc(rep.Placement.Decisions, func(x, y NameCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Name, y.Name))
	})

	// Transfers.
	tr := &rep.Transfers
	tr.Over = Series{Bin: bin, End: rep.End, Values: make([]float64, nbins)}
	for _, x := range a.transfers {
		tr.Over.Values[min(int(x.at/bin), nbins-1)] += float64(x.bytes)
	}
	for _, l := range a.links {
		tr.Links = append(tr.Links, *l)
	}
	slices.SortFunc(tr.Links, func(x, y Link) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
	})
	// The runtime emits task.args_ready only for a task that fetched an
	// argument, and then task.arg too: args_ready without any task.arg is
	// a trace from before task.arg, whose counts are inferred. A trace
	// with neither had no argument to fetch (no by-reference arguments at
	// all, or every one local): nothing is inferred.
	tr.Approximate = tr.Args == 0 && a.argsReadySeen
	if !tr.Approximate {
		tr.Fetched = uint64(len(a.argRemote))
		tr.WaitedLocal = 0
		for at := range a.argLocal { // a count: the order does not matter
			if !a.argRemote[at] {
				tr.WaitedLocal++
			}
		}
		for _, w := range a.argWait {
			tr.ArgsPending += uint64(len(w))
		}
		if resolved := tr.ArgsLocal + tr.ArgsFetched + tr.ArgsProducedHere; resolved > 0 {
			tr.ArgLocality = float64(tr.ArgsLocal+tr.ArgsProducedHere) / float64(resolved)
		}
	}
	if tr.Accepted > 0 {
		tr.LocalityRatio = 1 - float64(tr.Fetched)/float64(tr.Accepted)
	}

	fbin, fbins := faultBins(end)
	a.faults(a.rate(fbin, fbins, rep.End))
	a.criticalPath()
}

// rate is the completion rate (per second) in n bins of width bin over
// [0, end]: each bin's count over the time it covers (the last bin's ends
// at end; divided by the whole bin, a steady rate fell there). A trace
// over no time has no rate (0).
func (a *analyzer) rate(bin time.Duration, n int, end time.Duration) Series {
	s := Series{Bin: bin, End: end, Values: make([]float64, n)}
	for _, at := range a.completes {
		s.Values[min(int(at/bin), n-1)]++
	}
	for i := range s.Values {
		if w := s.Width(i); w > 0 {
			s.Values[i] /= w.Seconds()
		} else {
			s.Values[i] = 0
		}
	}
	return s
}

// faultBins are the coarser bins (a 1-2-5 width of at least end/60: 24 to
// 60 bins) the fault analysis judges dips and recoveries on: its windows —
// a 5-bin baseline, 3-bin smoothing, no dip after 3 bins at full rate —
// were set for bins this wide, and on the 50-125 display bins a crash whose
// effect shows only at its detection would read as "no dip".
func faultBins(end time.Duration) (bin time.Duration, n int) {
	bin = oneTwoFive(float64(end) / 60)
	return bin, binCount(end, bin)
}

// bins splits [0, end] into 50 to 125 bins of a 1-2-5 width (niceBin); a
// record at end itself falls in the last bin. Runs too short for 50 bins
// of the 1µs minimum get fewer.
func bins(end time.Duration) (bin time.Duration, n int) {
	bin = niceBin(end)
	return bin, binCount(end, bin)
}

// binCount is the number of bins of width bin over [0, end]: enough to
// cover it, but a last bin that would cover less than half a bin is
// merged into the one before it (the last bin then runs to end, up to one
// and a half bins: Series.Width). Divided by the few nanoseconds it
// covered, such a tail's one completion was a spike of millions per second.
func binCount(end, bin time.Duration) int {
	n := int((end + bin - 1) / bin)
	if n > 1 && end-time.Duration(n-1)*bin < bin/2 {
		n--
	}
	return max(n, 1)
}

// niceBin picks the smallest 1-2-5 bin width at least end/125: consecutive
// 1-2-5 widths are at most 2.5 apart, so it gives 50 to 125 bins over end.
func niceBin(end time.Duration) time.Duration { return oneTwoFive(float64(end) / 125) }

// oneTwoFive is the smallest 1-2-5 width (1µs at least) of at least target
// nanoseconds.
func oneTwoFive(target float64) time.Duration {
	p := math.Pow(10, math.Floor(math.Log10(max(target, 1))))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= target {
			return max(time.Duration(m*p), time.Microsecond)
		}
	}
	return time.Duration(10 * p)
}

func percentiles(ls []time.Duration) Percentiles {
	if len(ls) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ls)
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return Percentiles{N: len(s), Mean: time.Duration(sum / float64(len(s))), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: s[len(s)-1]}
}

// smoothed is the 3-bin centred moving average of the throughput.
func smoothed(v []float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		lo, hi := max(i-1, 0), min(i+1, len(v)-1)
		var s float64
		for j := lo; j <= hi; j++ {
			s += v[j]
		}
		out[i] = s / float64(hi-lo+1)
	}
	return out
}

// backlog is the number of tasks outstanding at t: submitted and not yet
// ended. A failed or cancelled task has ended as much as a finished one
// (counting only completions, a run with failures never drained); a task
// submitted again before its end is outstanding once (both series are in
// time order).
func (a *analyzer) backlog(t time.Duration) int {
	in, _ := slices.BinarySearch(a.submits, t+1)
	out, _ := slices.BinarySearch(a.ends, t+1)
	return in - out
}

// faults fills in each fault's detection and its throughput dip and
// recovery, judged on th (faultBins).
func (a *analyzer) faults(th Series) {
	rep := a.rep
	sm := smoothed(th.Values)
	// The workload's active span: recovery is judged only while tasks are
	// still completing (after the last completion the rate drops anyway).
	lastDone := time.Duration(0)
	if n := len(a.completes); n > 0 {
		lastDone = a.completes[n-1]
	}
	a.matchDetections()
	for i, f := range a.netFaults {
		k0 := min(int(f.At/th.Bin), len(th.Values)-1) // a fault in the merged tail is in the last bin
		if f.Kind == "restart" || f.Kind == "heal" {
			a.netFaults[i] = f
			continue
		}
		// Baseline: the median rate over up to 5 bins before the fault
		// (robust to the tail of a burst that ended just before it); the
		// whole run's mean when the fault comes first.
		lo := max(k0-5, 0)
		if k0-lo >= 2 {
			w := slices.Clone(th.Values[lo:k0])
			slices.Sort(w)
			f.Baseline = w[len(w)/2]
			if len(w)%2 == 0 { // an even count: the mean of the middle two
				f.Baseline = (w[len(w)/2-1] + w[len(w)/2]) / 2
			}
		} else if lastDone > 0 {
			f.Baseline = float64(len(a.completes)) / lastDone.Seconds()
		}
		if lastDone <= f.At {
			// Nothing ended after it (the trace ends at the fault, or the
			// workload was done): no rate to judge a dip or a recovery on.
			f.Unjudged = true
			a.netFaults[i] = f
			continue
		}
		lastBin := min(int(lastDone/th.Bin), len(sm)-1)
		f.Dip = math.Inf(1)
		dip := -1
		// Drained: fewer tasks outstanding than a bin at the baseline rate
		// takes, and fewer than at the fault (an open-loop workload runs
		// with a small backlog: the fault's own pile-up is not a drain).
		drained := min(f.Baseline*th.Bin.Seconds(), float64(a.backlog(f.At)))
		for k := k0; k <= lastBin; k++ {
			if k > k0 && float64(a.backlog(th.At(k))) < drained {
				f.Drained = th.At(k)
				break
			}
			f.Dip = min(f.Dip, sm[k])
			if dip < 0 && sm[k] < 0.9*f.Baseline {
				dip = k
			}
			if dip >= 0 && sm[k] >= 0.9*f.Baseline {
				f.Recovered = max(th.At(k), f.At)
				f.RecoverAfter = f.Recovered - f.At
				break
			}
			if dip < 0 && k >= k0+3 { // three bins at full rate: no dip
				f.NoDip = true
				break
			}
		}
		if math.IsInf(f.Dip, 1) {
			f.Dip = 0
		}
		if dip >= 0 && f.Recovered == 0 {
			f.NotRecovered = true
		}
		if dip < 0 && !f.NoDip {
			f.NoDip = true
		}
		a.netFaults[i] = f
	}
	rep.Faults = a.netFaults
}

// matchDetections gives each node.dead to the fault it detects: the
// latest detectable fault at or before it that concerns its node (that
// node's crash or pause, a partition cutting it off). A fault's detection
// is the first node.dead it gets. Faults of other nodes, and faults no
// node.dead detects (a GCS replica's crash), come between a fault and its
// detection without taking it.
func (a *analyzer) matchDetections() {
	for _, d := range a.dead {
		owner := -1
		for i, f := range a.netFaults { // in time order
			if f.At > d.at {
				break
			}
			if f.Detectable() && f.concerns(d.node) {
				owner = i
			}
		}
		if owner < 0 {
			continue // no fault it detects (a live cluster's own failure)
		}
		if f := &a.netFaults[owner]; f.Detected == 0 {
			f.Detected, f.DetectAfter, f.AtRestart = d.at, d.at-f.At, d.byRestart
		}
	}
}

// concerns reports whether a node.dead of node can be the fault's
// detection: the crashed or paused node itself; for a partition, a node
// in one of its groups (any node when its groups are not known).
func (f Fault) concerns(node transport.NodeID) bool {
	switch f.Kind {
	case "crash", "pause":
		return f.Node == node
	case "partition":
		return f.cut == nil || slices.Contains(f.cut, node)
	}
	return false
}

// partitioned lists the endpoints a partition's detail names: its groups
// ("[1 2][3]"), or from and to of a one-way cut; nil when it cannot tell.
func partitioned(r *traces.Record) []transport.NodeID {
	if r.Detail == "cut" {
		return []transport.NodeID{r.Node, r.Peer}
	}
	groups, _ := traces.PartitionGroups(r.Detail)
	return slices.Concat(groups...)
}

func (a *analyzer) criticalPath() {
	rep := a.rep
	cp := &rep.CriticalPath
	split := func(t *taskState) TaskPhases { return rep.Latency.Split[t.phases-1] }
	finish := func(ph TaskPhases) time.Duration { return ph.Submit + ph.Total }
	if !rep.Transfers.Approximate {
		// Exact edges: a task's predecessor is the producer of its
		// arguments that finished last (the one it waited for), ties to
		// the smaller ID. Producers that finished after the task (a parent
		// whose Put its child took) or were submitted after it cannot
		// precede it in a chain and are passed over. Each task is decided
		// alone, so the order the map is walked in does not matter.
		a.edges = 0
		for _, t := range a.tasks {
			t.pred = 0
			var last time.Duration
			for _, id := range t.producers {
				p := a.tasks[id]
				if p == nil || p.phases == 0 || p.submit > t.submit || (t.phases > 0 && finish(split(p)) > finish(split(t))) {
					continue
				}
				if f := finish(split(p)); t.pred == 0 || f > last || (f == last && id < t.pred) {
					t.pred, last = id, f
				}
			}
			if t.pred != 0 {
				a.edges++
			}
		}
	}
	cp.Edges, cp.Inferred = a.edges, rep.Transfers.Approximate
	pred := func(t *taskState) *taskState {
		p := a.tasks[t.pred]
		if t.pred == 0 || p == nil || p.phases == 0 || p.submit > t.submit || finish(split(p)) > finish(split(t)) {
			return nil
		}
		return p
	}
	// segment is a task's share of a chain: from its predecessor's finish
	// (its own submission for the first task) to its finish, split so the
	// segments of a chain add up to its span exactly.
	segment := func(t *taskState) TaskPhases {
		ph := split(t)
		p := pred(t)
		if p == nil {
			return ph
		}
		from := finish(split(p))
		seg := ph
		seg.Total = finish(ph) - from
		seg.Exec = min(ph.Exec, seg.Total)
		ready := finish(ph) - ph.Exec - (ph.Queue - ph.Sched) // args ready (or accepted)
		// Fetching starts once the task is accepted on its node: the time
		// before that since the predecessor finished is scheduling, queue.
		accept := ready - ph.Fetch
		seg.Fetch = min(max(ready-max(from, accept), 0), seg.Total-seg.Exec)
		seg.Sched = 0
		seg.Queue = seg.Total - seg.Exec - seg.Fetch
		return seg
	}
	// work[t]: execution + fetch summed over the segments of the chain
	// ending at t; memoised over the predecessor links (acyclic: a task
	// depends on an earlier one).
	type chain struct {
		work  time.Duration
		depth int
	}
	memo := map[transport.TaskID]chain{}
	var walk func(id transport.TaskID) chain
	walk = func(id transport.TaskID) chain {
		if c, ok := memo[id]; ok {
			return c
		}
		memo[id] = chain{} // breaks any cycle
		t := a.tasks[id]
		seg := segment(t)
		c := chain{work: seg.Exec + seg.Fetch, depth: 1}
		if p := pred(t); p != nil {
			pc := walk(t.pred)
			c.work += pc.work
			c.depth += pc.depth
		}
		memo[id] = c
		return c
	}
	var best transport.TaskID
	var bestC chain
	var bestEnd time.Duration
	for i, p := range rep.Latency.Split {
		cp.LongestSingle = max(cp.LongestSingle, p.Total)
		if a.tasks[p.Task].phases != i+1 {
			continue // an earlier submission of a task submitted again: chains use its latest
		}
		end := finish(p)
		c := walk(p.Task)
		cp.Depth = max(cp.Depth, c.depth)
		if c.work > bestC.work || (c.work == bestC.work && (c.depth > bestC.depth || (c.depth == bestC.depth && end > bestEnd))) {
			best, bestC, bestEnd = p.Task, c, end
		}
	}
	if best == 0 {
		return
	}
	for t := a.tasks[best]; t != nil && len(cp.Tasks) <= len(a.tasks); t = pred(t) {
		seg := segment(t)
		cp.Tasks = append(cp.Tasks, seg)
		cp.Queue += seg.Queue
		cp.Fetch += seg.Fetch
		cp.Exec += seg.Exec
	}
	slices.Reverse(cp.Tasks)
	cp.Span = bestEnd - cp.Tasks[0].Submit
	if len(a.completes) > 0 {
		first := time.Duration(math.MaxInt64)
		for _, p := range rep.Latency.Split {
			first = min(first, p.Submit)
		}
		cp.EndToEnd = a.completes[len(a.completes)-1] - first
	}
}

// NodeName is the scenario name of raylet id, or the endpoint's role:
// traces.NodeNamer's name from the trace's header, the one the Chrome and
// OpenTelemetry exports give; "-" for none (ID 0).
func (r *Report) NodeName(id transport.NodeID) string {
	switch {
	case id == 0:
		return "-"
	case r.names != nil:
		return r.names(id)
	case int(id) <= len(r.Nodes):
		return r.Nodes[id-1].Name
	case id >= schedulerID: // the scheduler, GCS shards and replicas, the chain master
		return traces.EndpointName(id)
	}
	return fmt.Sprintf("node-%d", id)
}

// Clock names the trace's time axis: "virtual" for a simulated run, "wall
// clock" for one on real sockets (tcp, a live cluster).
func (r *Report) Clock() string {
	if r.Transport == "" || r.Transport == "sim" {
		return "virtual"
	}
	return "wall clock"
}
