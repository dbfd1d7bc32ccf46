package runner

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

// faultInjector applies a scenario's fault schedule to a simulated cluster.
type faultInjector struct {
	s        *scenarios.Scenario
	c        *ray.Sim
	injected int
	// actors are the workload's actors in creation order, for kill_actor
	// by index: the runner's list itself, so a fault sees every actor
	// created before it (not a copy taken between the run's slices).
	actors   *[]transport.ActorID
	log      func(format string, args ...any)
	crashes  map[string][]time.Duration // node name -> when it was killed
	degraded [][2]netsim.NodeID         // control-plane pairs degraded since the last heal
	errs     *taskErrorRates            // nil without task_errors faults
	// fired lists every fault reached, in the order reached, injected or
	// not (Result.Faults).
	fired []FaultOutcome
}

// FaultOutcome is one fault of a run's schedule (Result.Faults): what it
// was, its target, when, whether it did anything, and why not.
type FaultOutcome struct {
	Kind   string  `json:"kind"`
	Target string  `json:"target,omitempty"` // a node's name, a replica's index, a partition's groups, a link, an actor
	At     float64 `json:"at_seconds"`
	// Injected: it did something (the summary's "faults N injected"
	// counts these); not: it found nothing to do (a node down already), or
	// the run ended before it (Note says which).
	Injected bool `json:"injected"`
	Random   bool `json:"random,omitempty"` // drawn by a random process, not written in the file
	// Entry is the schedule entry it came from: its index among the
	// file's faults (from 0, the faults.N of loader errors and --set,
	// whatever the file's order by time: scenarios.Fault.EntryIndex), a
	// random process's for the faults it drew.
	Entry int    `json:"entry"`
	Note  string `json:"note,omitempty"`
	// Schedule is the entry's index in Scenario.Faults (sorted by time
	// when read from a file): a search counts drawn and injected faults
	// by it (check.SearchStats). Not in the JSON: Entry names the entry.
	Schedule int `json:"-"`
}

// faultTarget is what a fault acts on, as the file names it.
func faultTarget(fl *scenarios.Fault) string {
	switch fl.Kind {
	case scenarios.KillNode, scenarios.RestartNode, scenarios.PauseNode, scenarios.SkewClock:
		return fl.Node
	case scenarios.KillGCSReplica, scenarios.RestartGCSReplica:
		return strconv.Itoa(fl.Replica)
	case scenarios.KillActor:
		if fl.Actor != "" {
			return fl.Actor
		}
		return strconv.Itoa(fl.ActorIndex)
	case scenarios.Partition:
		var gs []string
		for _, g := range fl.Groups {
			gs = append(gs, "["+strings.Join(g, " ")+"]")
		}
		return strings.Join(gs, "")
	case scenarios.DegradeLink:
		if l := fl.Link; l != nil {
			// As written, or (a random loss process's) the resolved nodes.
			from, to := cmp.Or(l.From, strings.Join(l.FromNodes, " ")), cmp.Or(l.To, strings.Join(l.ToNodes, " "))
			arrow := "->"
			if l.Symmetric {
				arrow = "<->"
			}
			return from + arrow + to
		}
	case scenarios.TaskErrors:
		if fl.Errors != nil {
			return fl.Errors.Describe()
		}
	}
	return ""
}

// taskErrorRates is each node's task_errors rate now, which the cluster's
// ray.Config.TaskErrors reads at every run (on TCP from every host's loop:
// hence the lock), and the fault that set it.
type taskErrorRates struct {
	mu    sync.Mutex
	rates []float64
	by    []*scenarios.Fault
}

// newTaskErrorRates returns the rates of a scenario with task_errors
// faults, nil for one without (its runs then draw nothing).
func newTaskErrorRates(s *scenarios.Scenario) *taskErrorRates {
	if !slices.ContainsFunc(s.Faults, func(fl scenarios.Fault) bool { return fl.Kind == scenarios.TaskErrors }) {
		return nil
	}
	return &taskErrorRates{rates: make([]float64, len(s.Cluster.Nodes)), by: make([]*scenarios.Fault, len(s.Cluster.Nodes))}
}

// hook is the ray.Config.TaskErrors of the rates (nil for none).
func (e *taskErrorRates) hook() func(i int) float64 {
	if e == nil {
		return nil
	}
	return func(i int) float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.rates[i]
	}
}

// start applies task_errors fault fl to its nodes (every node when it
// names none) and returns them, for end.
func (e *taskErrorRates) start(s *scenarios.Scenario, fl *scenarios.Fault) []int {
	var idx []int
	for i, n := range s.Cluster.Nodes {
		if len(fl.Errors.Nodes) == 0 || slices.Contains(fl.Errors.Nodes, n.Name) {
			idx = append(idx, i)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, i := range idx {
		e.rates[i], e.by[i] = fl.Errors.Rate, fl
	}
	return idx
}

// end ends fl (its for is over) on the nodes it still holds: a later
// task_errors replaced it on the others, and holds until its own end.
func (e *taskErrorRates) end(fl *scenarios.Fault, idx []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, i := range idx {
		if e.by[i] == fl {
			e.rates[i], e.by[i] = 0, nil
		}
	}
}

// setTaskErrors applies a task_errors fault in the simulator, logging its
// start and its end (into the digest too) for analyses.
func (f *faultInjector) setTaskErrors(fl *scenarios.Fault) {
	idx := f.errs.start(f.s, fl)
	sim := f.c.Netsim()
	sim.Emit(netsim.EvCustom, 0, scenarios.TaskErrorsStarted+fl.Errors.Describe())
	if fl.For > 0 {
		sim.After(fl.For, func() {
			f.errs.end(fl, idx)
			sim.Emit(netsim.EvCustom, 0, scenarios.TaskErrorsEnded+fl.Errors.Describe())
		})
	}
}

func (f *faultInjector) node(name string) netsim.NodeID {
	i, _ := f.s.NodeIndex(name) // validated by the loader
	return netsim.NodeID(ray.RayletID(i))
}

// endpoints is what a partition group names: nodes' raylets, and the
// control plane's endpoints (see endpointIDs).
func (f *faultInjector) endpoints(names []string) []netsim.NodeID {
	var out []netsim.NodeID
	for _, n := range names {
		out = append(out, endpointIDs(f.s, n)...)
	}
	return out
}

// schedule registers every fault (random processes expanded with the
// scenario's seed) as a harness event.
func (f *faultInjector) schedule() {
	sim := f.c.Netsim()
	for i := range f.s.Faults {
		fl := &f.s.Faults[i]
		if fl.Kind == scenarios.Random {
			f.expandRandom(i, fl.Random)
			continue
		}
		sim.At(fl.At, func() { f.inject(fl, i, true) })
	}
}

// late lists the faults the file wrote for after end, which the run did
// not reach; a random process's are left out (drawn over its window, any
// may fall past the end).
func late(s *scenarios.Scenario, end time.Duration) []*scenarios.Fault {
	var out []*scenarios.Fault
	for _, i := range lateEntries(s, end) {
		out = append(out, &s.Faults[i])
	}
	return out
}

// lateEntries are late's faults' indices among the scenario's.
func lateEntries(s *scenarios.Scenario, end time.Duration) []int {
	var out []int
	for i := range s.Faults {
		if fl := &s.Faults[i]; fl.Kind != scenarios.Random && fl.At > end {
			out = append(out, i)
		}
	}
	return out
}

// lateFaults is the warning for the faults late lists ("kill_node
// worker-1 at 2s, ...: not injected"), or "" for none.
func lateFaults(s *scenarios.Scenario, end time.Duration) string {
	var names []string
	for _, fl := range late(s, end) {
		what := fl.Kind
		if t := faultTarget(fl); t != "" {
			what += " " + t
		}
		names = append(names, what+" at "+scenarios.FormatDuration(fl.At))
	}
	if len(names) == 0 {
		return ""
	}
	them := "them"
	if len(names) == 1 {
		them = "it"
	}
	return fmt.Sprintf("%s: not injected: the run ended at %v, before %s (put the faults earlier, or lengthen the workload)",
		strings.Join(names, ", "), end.Round(time.Microsecond), them)
}

// inject applies fl and counts it if it did something: the summary's
// "faults N injected" leaves out a kill_actor that found no live actor, a
// kill_node or pause_node of a node that is down, a restart_node of one that
// is up (each said with a warning when the file wrote it; a random process's
// are not).
// entry is fl's schedule entry, its index in the scenario's Faults
// (FaultOutcome.Schedule).
func (f *faultInjector) inject(fl *scenarios.Fault, entry int, written bool) bool {
	ok := f.apply(fl, written)
	out := FaultOutcome{Kind: fl.Kind, Target: faultTarget(fl), At: f.c.Netsim().Now().Seconds(), Injected: ok, Random: !written,
		Entry: f.s.Faults[entry].EntryIndex(entry), Schedule: entry}
	switch {
	case ok:
	case written:
		out.Note = "nothing to do (a warning says why)"
	default: // a random process's say nothing
		out.Note = "nothing to do (its target was down, or up for a restart)"
	}
	f.fired = append(f.fired, out)
	if ok {
		f.injected++
	}
	return ok
}

// outcomes is Result.Faults: the faults reached, then those the file
// wrote for after end.
func (f *faultInjector) outcomes(end time.Duration) []FaultOutcome {
	out := f.fired
	for _, i := range lateEntries(f.s, end) {
		fl := &f.s.Faults[i]
		out = append(out, FaultOutcome{Kind: fl.Kind, Target: faultTarget(fl), At: fl.At.Seconds(), Note: "not reached: the run ended first",
			Entry: fl.EntryIndex(i), Schedule: i})
	}
	return out
}

// alive reports whether the netsim node id is up.
func (f *faultInjector) alive(id netsim.NodeID) bool {
	n := f.c.Netsim().Node(id)
	return n != nil && n.Alive()
}

// apply applies fl and reports whether it did anything; warn: say so when
// it did not.
func (f *faultInjector) apply(fl *scenarios.Fault, warn bool) bool {
	sim := f.c.Netsim()
	noop := func(format string, args ...any) bool {
		if warn {
			f.log(format, args...)
		}
		return false
	}
	switch fl.Kind {
	case scenarios.KillNode, scenarios.RestartNode, scenarios.PauseNode, scenarios.SkewClock:
		if sim.Node(f.node(fl.Node)) == nil {
			return noop("%s at %v: node %s is not up yet (its group's start, or its autoscaler has not launched it); nothing to do", fl.Kind, fl.At, fl.Node)
		}
	}
	switch fl.Kind {
	case scenarios.KillNode:
		if !f.alive(f.node(fl.Node)) {
			return noop("kill_node at %v: node %s is down already; nothing to kill", fl.At, fl.Node)
		}
		sim.Crash(f.node(fl.Node))
		if f.crashes == nil {
			f.crashes = map[string][]time.Duration{}
		}
		f.crashes[fl.Node] = append(f.crashes[fl.Node], sim.Now())
	case scenarios.RestartNode:
		if f.alive(f.node(fl.Node)) {
			return noop("restart_node at %v: node %s is up; nothing to restart", fl.At, fl.Node)
		}
		sim.Restart(f.node(fl.Node))
	case scenarios.Partition:
		groups := make([][]netsim.NodeID, len(fl.Groups))
		for i, g := range fl.Groups {
			groups[i] = f.endpoints(g)
		}
		id := sim.Partition(groups...)
		if fl.For > 0 {
			// Its end heals this partition alone: not one made later (an
			// overlapping partition holds until its own end), and nothing
			// if a heal fault removed it already.
			sim.After(fl.For, func() { sim.HealPartition(id) })
		}
	case scenarios.Heal: // every partition and degradation, `for` or not
		sim.Heal()
		f.restoreAll()
	case scenarios.DegradeLink:
		l := fl.Link
		var d netsim.Degradation
		if l.Latency != nil {
			d.Extra = time.Duration(l.Latency.Expected())
		}
		if l.Jitter != nil {
			d.Jitter = time.Duration(l.Jitter.Expected())
		}
		if l.Bandwidth != nil {
			d.Bandwidth = *l.Bandwidth
		}
		if l.Loss != nil {
			d.Loss = *l.Loss
		}
		if l.Duplicate != nil {
			d.Duplicate = *l.Duplicate
		}
		if l.Reorder != nil {
			d.Reorder = *l.Reorder
		}
		pairs := f.pairs(l)
		ids := make([]netsim.DegradationID, len(pairs))
		for i, p := range pairs {
			ids[i] = sim.DegradeWith(p[0], p[1], d)
		}
		if fl.For > 0 {
			// Its end restores only the links this fault's degradation is
			// still on: a later degrade of a link (explicit or a random
			// loss process) replaced it there and holds until its own end.
			sim.After(fl.For, func() {
				for i, p := range pairs {
					sim.RestoreDegradation(p[0], p[1], ids[i])
				}
			})
		}
	case scenarios.PauseNode:
		if !f.alive(f.node(fl.Node)) {
			return noop("pause_node at %v: node %s is down; nothing to pause", fl.At, fl.Node)
		}
		sim.Pause(f.node(fl.Node), fl.For)
	case scenarios.SkewClock:
		sim.SetSkew(f.node(fl.Node), fl.Offset)
	case scenarios.KillGCSReplica, scenarios.RestartGCSReplica:
		shards := max(f.s.Cluster.GCS.Shards, 1)
		replicas := max(f.s.Cluster.GCS.Replicas, 1)
		shard, i := fl.Replica/replicas, fl.Replica%replicas
		if shard >= shards {
			return noop("%s at %v: no replica %d", fl.Kind, fl.At, fl.Replica)
		}
		id := netsim.NodeID(ray.ReplicaID(shard, i))
		switch up := f.alive(id); {
		case fl.Kind == scenarios.KillGCSReplica && !up:
			return noop("kill_gcs_replica at %v: replica %d is down already; nothing to kill", fl.At, fl.Replica)
		case fl.Kind == scenarios.RestartGCSReplica && up:
			return noop("restart_gcs_replica at %v: replica %d is up; nothing to restart", fl.At, fl.Replica)
		case fl.Kind == scenarios.KillGCSReplica:
			sim.Crash(id)
			left := 0
			for k := range replicas {
				if f.alive(netsim.NodeID(ray.ReplicaID(shard, k))) {
					left++
				}
			}
			if left == 0 {
				f.log("kill_gcs_replica at %v: GCS shard %d has no live replica left (outside the failure model, replicas-1 per shard): its tables are out of reach until one comes back (restart_gcs_replica)", fl.At, shard)
			}
		default:
			sim.Restart(id) // it rejoins its chain at the tail, from a snapshot
		}
	case scenarios.KillActor:
		return f.killActor(fl)
	case scenarios.TaskErrors:
		f.setTaskErrors(fl)
	}
	return true
}

func (f *faultInjector) pairs(l *scenarios.Link) [][2]netsim.NodeID {
	pairs := linkPairs(f.s, l)
	for _, p := range pairs {
		if !isRaylet(p[0]) || !isRaylet(p[1]) { // restoreAll restores the others
			f.degraded = append(f.degraded, p)
		}
	}
	return pairs
}

// restoreAll ends every link degradation: between every two nodes, and on
// every pair with a control-plane end a fault degraded.
func (f *faultInjector) restoreAll() {
	sim := f.c.Netsim()
	for _, a := range f.s.Cluster.Nodes {
		for _, b := range f.s.Cluster.Nodes {
			if a.Name != b.Name {
				sim.Restore(f.node(a.Name), f.node(b.Name))
			}
		}
	}
	for _, p := range f.degraded {
		sim.Restore(p[0], p[1])
	}
	f.degraded = nil
}

// killActor kills the actor a kill_actor fault names: by index in creation
// order, or by name (a named actor's, else its display name, ray.Name) —
// the first created of those alive with that name. It reports whether it
// found one (if not, it says so).
func (f *faultInjector) killActor(fl *scenarios.Fault) bool {
	type hosted struct {
		raylet int
		name   string
	}
	live := map[transport.ActorID]hosted{}
	for i := range f.s.Cluster.Nodes {
		if r := f.c.Raylet(i); r != nil {
			for _, a := range r.HostedActors() {
				live[a.Actor] = hosted{i, a.Name}
			}
		}
	}
	var actors []transport.ActorID
	if f.actors != nil {
		actors = *f.actors
	}
	for i, id := range actors {
		h, ok := live[id]
		if !ok {
			continue
		}
		if (fl.Actor != "" && h.name == fl.Actor) || (fl.Actor == "" && i == fl.ActorIndex) {
			f.c.Raylet(h.raylet).Kill(id, transport.DetailFaultKill)
			return true
		}
	}
	if fl.Actor != "" {
		f.log("kill_actor at %v: no live actor named %q", fl.At, fl.Actor)
	} else {
		f.log("kill_actor at %v: no live actor #%d (the workload's actors in creation order)", fl.At, fl.ActorIndex)
	}
	return false
}

// expandRandom turns a random fault process into timed faults, drawn from a
// stream seeded by the scenario seed and the entry's index in Faults (time
// order: FaultOutcome.Schedule, not the file's Entry).
func (f *faultInjector) expandRandom(entry int, r *scenarios.RandomFaults) {
	if r == nil || !(r.Rate > 0) || math.IsInf(r.Rate, 0) {
		return // the loader refuses these: no process, rather than one without end
	}
	rng := rand.New(rand.NewPCG(uint64(f.s.Seed), uint64(entry)+0xfa017))
	names := r.Nodes
	if len(names) == 0 {
		for _, n := range f.s.Cluster.Nodes {
			names = append(names, n.Name)
		}
	}
	sim := f.c.Netsim()
	t := r.From
	for {
		// In float, compared with what is left of the window before it
		// is a Duration: a gap past time.Duration's range (a tiny rate)
		// would wrap negative and the loop would never reach until.
		gap := rng.ExpFloat64() / r.Rate * float64(time.Second)
		if !(gap < float64(r.Until-t)) {
			return
		}
		t += time.Duration(gap)
		if t >= r.Until {
			return
		}
		name := names[rng.IntN(len(names))]
		var fl scenarios.Fault
		fl.At, fl.Node = t, name
		switch r.Kind {
		case scenarios.RandomCrash:
			fl.Kind = scenarios.KillNode
			if r.RestartAfter > 0 {
				// The restart belongs to its kill: a kill that found the
				// node down (killed already, not launched yet, terminated
				// by the autoscaler) restarts nothing.
				kill := fl
				re := scenarios.Fault{At: t + r.RestartAfter, Kind: scenarios.RestartNode, Node: name}
				sim.At(kill.At, func() {
					if f.inject(&kill, entry, false) {
						sim.At(re.At, func() { f.inject(&re, entry, false) })
					}
				})
				continue
			}
		case scenarios.RandomPause:
			fl.Kind, fl.For = scenarios.PauseNode, r.For
		case scenarios.RandomPartition:
			var rest []string
			for _, n := range f.s.Cluster.Nodes {
				if n.Name != name {
					rest = append(rest, n.Name)
				}
			}
			fl.Kind, fl.For, fl.Groups = scenarios.Partition, r.For, [][]string{{name}, rest}
		case scenarios.RandomLoss:
			loss := r.Loss
			var others []string
			for _, n := range f.s.Cluster.Nodes {
				if n.Name != name {
					others = append(others, n.Name)
				}
			}
			fl.Kind, fl.For = scenarios.DegradeLink, r.For
			fl.Link = &scenarios.Link{FromNodes: []string{name}, ToNodes: others, Symmetric: true, Loss: &loss}
		default:
			panic(fmt.Sprintf("runner: random fault kind %q passed validation", r.Kind))
		}
		sim.At(fl.At, func() { f.inject(&fl, entry, false) })
	}
}

// isRaylet reports whether id is a node's raylet (not the scheduler or a
// GCS replica: see ray.SchedulerID).
func isRaylet(id netsim.NodeID) bool { return id < netsim.NodeID(ray.SchedulerID) }
