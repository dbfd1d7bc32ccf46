package check

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/node"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/scenarios/workload"
)

// Run is one checked run: the scenario, the runner's result and what the
// event stream showed. Invariants read it.
type Run struct {
	Scenario *scenarios.Scenario
	Result   *runner.Result
	Events   *Events
	ctx      context.Context
	opts     runner.Options
}

// Rerun runs the same scenario again (the determinism invariant uses it),
// quietly: its warnings are the first run's, said once already.
func (r *Run) Rerun() (*runner.Result, error) {
	o := r.opts
	o.Log, o.Progress = nil, nil
	return runner.Run(r.ctx, r.Scenario, o)
}

// Events is what the event stream of a run showed, folded as it went.
type Events struct {
	Crashes    int // netsim node crashes (raylets, GCS replicas, the scheduler)
	NodeDeaths int // nodes the GCS declared dead
	// NodeFailures counts the raylet lives that ended, each once: a life
	// (one registration of a raylet with the GCS) ends when its raylet
	// crashes or is declared dead, and a kill_node is both (netsim's crash,
	// then the GCS's death notice). GCS replicas and the scheduler are not
	// nodes: their crashes fail no task. This is what charges task retries.
	NodeFailures int
	// ActorDeaths counts actor.died events except those of ray.Kill and
	// ray.ExitActor (the program ends its actors itself:
	// transport.DetailRayKill, DetailRayKillRestart, DetailExitActor).
	ActorDeaths int
	ActorKills  int // actors a kill_actor fault killed (their worker crashed)
	Faults      int // any injected fault: crash, partition, pause, degradation, actor kill
	// Phantoms are objects reported available that were not: a transfer
	// completing from a node that never held the object.
	Phantoms []string
	// LastFault is the virtual time of the last fault event seen.
	LastFault time.Duration

	held map[transport.NodeID]map[transport.ObjectID]bool
	// lives counts each raylet's registrations (node.alive events) so far;
	// failed holds the (raylet, life) pairs counted in NodeFailures.
	lives  map[transport.NodeID]int
	failed map[nodeLife]bool
}

type nodeLife struct {
	node transport.NodeID
	life int
}

func newEvents() *Events {
	return &Events{held: make(map[transport.NodeID]map[transport.ObjectID]bool),
		lives: make(map[transport.NodeID]int), failed: make(map[nodeLife]bool)}
}

// isRaylet reports whether id is a node's raylet, not the scheduler or a
// GCS replica (see ray.SchedulerID).
func isRaylet(id transport.NodeID) bool { return id < ray.SchedulerID }

// nodeFailed counts the end of raylet n's current life, once: the death
// notice of a crashed raylet comes after its crash (before its next
// registration: the GCS declares the old incarnation dead first), and a
// crash before the raylet registers again ends the life already ended.
func (e *Events) nodeFailed(n transport.NodeID) {
	if !isRaylet(n) {
		return
	}
	k := nodeLife{n, e.lives[n]}
	if !e.failed[k] {
		e.failed[k] = true
		e.NodeFailures++
	}
}

func (e *Events) runtime(at time.Duration, ev *transport.Event) {
	switch ev.Kind {
	case transport.EvObjectCreated:
		h := e.held[ev.Node]
		if h == nil {
			h = make(map[transport.ObjectID]bool)
			e.held[ev.Node] = h
		}
		h[ev.Object] = true
	case transport.EvObjectTransferred:
		// The source sent the object's bytes, so it must have held it at
		// some point (any incarnation: chunks in flight outlive an eviction
		// or a crash).
		if !e.held[ev.Peer][ev.Object] && len(e.Phantoms) < 10 {
			e.Phantoms = append(e.Phantoms, fmt.Sprintf("at %v: node %d received object %v from node %d, which never held it",
				at, ev.Node, ev.Object, ev.Peer))
		}
	case transport.EvNodeAlive:
		if isRaylet(ev.Node) {
			e.lives[ev.Node]++
		}
	case transport.EvNodeDead:
		e.NodeDeaths++
		e.nodeFailed(ev.Node)
	case transport.EvActorDied:
		switch ev.Detail {
		case transport.DetailRayKill, transport.DetailRayKillRestart, transport.DetailExitActor:
			return // the program's own ray.Kill or ray.ExitActor
		}
		e.ActorDeaths++
		if ev.Detail == transport.DetailFaultKill {
			e.ActorKills++
			e.Faults++
			e.LastFault = at
		}
	}
}

func (e *Events) net(ev *netsim.Event) {
	switch ev.Kind {
	case netsim.EvCrash:
		e.Crashes++
		e.nodeFailed(transport.NodeID(ev.From))
	case netsim.EvPartition, netsim.EvPause, netsim.EvDegrade:
	default:
		return
	}
	e.Faults++
	e.LastFault = ev.At
}

// Invariant is one named property of a run; Check returns nil when it holds.
type Invariant struct {
	Name  string
	Check func(r *Run) error
}

// DefaultInvariants are checked when Property or Check is given none.
func DefaultInvariants() []Invariant {
	return []Invariant{Correct, AllowedErrors, Liveness, NoPhantomObjects, Deterministic}
}

// Correct: every value checked equals what a sequential evaluation gives
// (the workload generators compare each result; none may be wrong).
var Correct = Invariant{Name: "correct", Check: func(r *Run) error {
	if r.Result.Incorrect > 0 {
		return fmt.Errorf("%d of %d results differ from a sequential evaluation: %s", r.Result.Incorrect, r.Result.Checked, firstErrs(r.Result))
	}
	return nil
}}

// AllowedErrors: every error a driver saw is a typed ray error that the
// configured retries and restarts allow under the faults that happened:
// retries exhausted only after more node failures than max_retries (for
// actor calls, after a node failure or an actor kill), an actor died only
// after the runtime declared one dead (other than by the drivers' own
// ray.Kill) or a node failed, an object lost or a timeout only after a
// fault (an object lost because its task's retries are spent, which its
// retries and rebuilds share, only after more node failures than
// max_retries: a task's every re-execution follows one). A node failure is a raylet's life ending (Events.NodeFailures): a
// kill_node counts once, a GCS replica's or the scheduler's crash not at
// all. Never cancelled (the refs a driver cancels,
// cancel_every, count apart: ErrCancelled or the right value is their right
// outcome), never a plain task failure (the workloads' functions never
// fail; one a task_errors fault injected is allowed), never an untyped
// error.
var AllowedErrors = Invariant{Name: "allowed-errors", Check: func(r *Run) error {
	failures := r.Events.NodeFailures
	for i, w := range r.Result.Workloads {
		if w.Errors == 0 {
			continue
		}
		var retries int
		var gen string
		grouped, retryErrs := false, false
		if i < len(r.Scenario.Workload) {
			retries, gen = r.Scenario.Workload[i].MaxRetries, r.Scenario.Workload[i].Generator
			grouped = r.Scenario.Workload[i].Group != nil
			retryErrs = r.Scenario.Workload[i].RetryExceptions
		}
		// The first error of each kind, and of each reason: a first
		// error that faults allow must not hide a later one of the same
		// kind that they do not (review29 finding 5).
		errs := append(slices.Clone(w.KindErrs), w.ReasonErrs...)
		if len(errs) == 0 {
			errs = []string{w.FirstErr}
		}
		for _, e := range errs {
			if grouped && failures > 0 && groupRemoval(ErrorKind(e)) {
				// A driver's placement group ends with its node's life (as
				// Ray removes a job's groups), a life a partition can end
				// too while the driver runs on: the driver's Wait reads the
				// removal, its tasks in the group are cancelled, later ones
				// are unschedulable.
				continue
			}
			if why := notAllowed(r, e, failures, retries, gen, retryErrs); why != "" {
				return fmt.Errorf("workload %s: %d errors, %q: %s", w.Name, w.Errors, e, why)
			}
		}
	}
	return nil
}}

// groupRemoval reports whether kind is an error a placement group's
// removal gives its driver.
func groupRemoval(kind error) bool {
	return kind == ray.ErrPlacementGroupRemoved || kind == ray.ErrCancelled || kind == ray.ErrUnschedulable
}

// notAllowed says why the faults of run r do not allow error text e in a
// workload of generator gen with max_retries retries ("" when they do);
// retryErrs: its tasks are retried after their own errors
// (retry_exceptions), which spend the same budget.
func notAllowed(r *Run, e string, failures, retries int, gen string, retryErrs bool) string {
	var why string
	switch kind := ErrorKind(e); kind {
	case ray.ErrTaskFailed:
		if !strings.Contains(e, node.InjectedTaskError) || !hasTaskErrors(r.Scenario) {
			why = "a task failed by itself (the workloads' functions never do, and no task_errors fault made it): an application error, e.g. an argument decoded wrong"
		}
	case ray.ErrRetriesExhausted:
		switch {
		case actorTask(gen) && failures == 0 && r.Events.ActorKills == 0:
			why = "no node failed and no actor was killed"
		case !actorTask(gen) && retries < 0:
			why = "max_retries -1 retries without bound"
		case !actorTask(gen) && failures <= retries:
			why = fmt.Sprintf("only %d node failures, max_retries %d", failures, retries)
		}
	case ray.ErrActorDied:
		switch {
		case r.Events.ActorDeaths == 0 && failures == 0:
			why = "no actor was declared dead and no node failed"
		case gen == "rl" && !actorGoneForAReason(e) && failures+r.Events.ActorKills <= workload.SimulatorRestarts:
			// Each death of a simulator is a node failure or a kill_actor
			// fault's: one dead for good by its deaths took more than its
			// restarts.
			why = fmt.Sprintf("an rl simulator (max_restarts %d) dead for good after only %d node failures and %d actor kills",
				workload.SimulatorRestarts, failures, r.Events.ActorKills)
		case gen == "actor-calls" && !actorGoneForAReason(e) && failures+r.Events.ActorKills <= workload.SequencerRestarts:
			why = fmt.Sprintf("an actor-calls sequencer (max_restarts %d) dead for good after only %d node failures and %d actor kills",
				workload.SequencerRestarts, failures, r.Events.ActorKills)
		}
	case ray.ErrObjectLost, ray.ErrTimeout:
		switch {
		case r.Events.Faults == 0:
			why = "no fault happened"
		case kind == ray.ErrObjectLost && !lostForAReason(e):
			why = "an object lost for none of the reasons the runtime has to give one up (a Put's copies gone, its task's retries spent, its owner's or its job's end, its task not in the task table, a generator's re-run short of items): a lost object with lineage is rebuilt"
		case kind == ray.ErrObjectLost && lostUnexplained(e, failures, r.Events.Crashes) != "":
			why = lostUnexplained(e, failures, r.Events.Crashes)
		case kind == ray.ErrObjectLost && strings.Contains(e, node.RetriesSpent) && !actorTask(gen) && retries < 0:
			why = "a rebuild refused for spent retries, but max_retries -1 never runs out"
		case kind == ray.ErrObjectLost && strings.Contains(e, node.RetriesSpent) && !actorTask(gen) && failures <= retries &&
			!(retryErrs && hasTaskErrors(r.Scenario) && failures > 0):
			// Each re-execution, a retry or a rebuild, follows the loss of
			// a run or of its result: a node failure; or, retried after
			// its own errors, an injected one (task_errors), and then
			// a loss of its result takes one node failure.
			why = fmt.Sprintf("a rebuild refused for spent retries after only %d node failures, max_retries %d", failures, retries)
		}
	case ray.ErrCancelled:
		// Not a driver's own cancel (those count apart): its job ended
		// with its node's life, which a partition or a pause can end while
		// the driver runs on (as its placement groups and actors).
		switch n, named := jobNode(e); {
		case !strings.Contains(e, node.JobEnded) || failures == 0:
			why = "a task cancelled by no driver, and not by its job's end after a node failure"
		case named && !slices.Contains(driverIDs(r.Scenario), n):
			why = fmt.Sprintf("a job ended with node %d, which hosts no driver (nodes %v do)", n, driverIDs(r.Scenario))
		}
	case ray.ErrObjectTooLarge:
		// a configuration matter (an object larger than a store), not a fault
	default:
		why = "not a typed error that faults may cause"
	}
	return why
}

// driverIDs are the node IDs of the nodes that host drivers
// (runner.DriverHosts; node i is ray.RayletID(i), ID i+1), ascending.
func driverIDs(s *scenarios.Scenario) []int {
	var out []int
	for _, i := range runner.DriverHosts(s) {
		out = append(out, int(ray.RayletID(i)))
	}
	return out
}

// jobNode is the driver's node an error of an ended job names ("its
// driver's node 6"), and whether it names one.
func jobNode(e string) (int, bool) {
	_, rest, ok := strings.Cut(e, "its driver's node ")
	if !ok {
		return 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil
}

// lostReasons are the texts of the reasons the runtime gives an object up
// for (runtime/node's loseObject callers, ray.ErrStreamReplayInconsistent):
// any other ErrObjectLost is one lineage reconstruction should have
// prevented.
var lostReasons = []string{
	"made by Put",           // a Put has no lineage
	node.RetriesSpent,       // its task's retries and rebuilds are spent (counted apart)
	"OwnerDied",             // its owner died before its task finished
	node.JobEnded,           // its job ended: not rebuilt
	"not in the task table", // the task table lost it (a GCS fault)
	"yielded fewer items",   // a generator's re-run was short
}

// actorGoneReasons are the texts of the reasons an actor ends for good
// other than by its deaths, whatever its max_restarts: its owner's death,
// its job's end, a ray.Kill (the program's), placement it can never get.
var actorGoneReasons = []string{
	"died (the actor was not detached)", // transport.OwnerDiedCause
	node.JobEnded,
	transport.DetailRayKill,
	"can never be placed",
}

// actorGoneForAReason reports whether an ErrActorDied's text e gives one
// of actorGoneReasons.
func actorGoneForAReason(e string) bool {
	return slices.ContainsFunc(actorGoneReasons, func(r string) bool { return strings.Contains(e, r) })
}

// lostForAReason reports whether an ErrObjectLost's text e gives one of the
// reasons the runtime has to give an object up (lostReasons).
func lostForAReason(e string) bool {
	return slices.ContainsFunc(lostReasons, func(r string) bool { return strings.Contains(e, r) })
}

// lostUnexplained says why an ErrObjectLost's text e gives a reason that
// the run's faults cannot explain ("" if they can, or e gives none of
// these reasons): failures are its node failures (raylet lives ended,
// by a crash, a kill or a death declared after a partition or a pause),
// crashes its crashes of any component (a GCS replica's too). Its owner's
// death, a Put's lost with its owner, and its job's end (the runner's
// drivers are threads of their node's job, which ends only with the
// node's life) each take a node failure; its task missing from the task
// table takes a node failure (the owner died before its AddTask landed)
// or a crash (a GCS replica's, with what it held). Other faults (a
// degraded link, a clock skew, a partition no death followed) lose none
// of these (review29 finding 11).
func lostUnexplained(e string, failures, crashes int) string {
	switch {
	case failures > 0:
		return ""
	case strings.Contains(e, "OwnerDied") || strings.Contains(e, "its owner died"):
		return "an object lost with its owner, but no node failed"
	case strings.Contains(e, node.JobEnded):
		return "an object not rebuilt for its job's end, but no node failed (the runner's drivers' jobs end only with their node)"
	case strings.Contains(e, "not in the task table") && crashes == 0:
		return "an object lost for its task missing from the task table, but no node failed and no GCS replica crashed"
	}
	return ""
}

// hasTaskErrors reports whether s injects application errors (a
// task_errors fault): a task failing with the injected error is then a
// fault's doing, allowed as a node failure's errors are.
func hasTaskErrors(s *scenarios.Scenario) bool {
	return s != nil && slices.ContainsFunc(s.Faults, func(f scenarios.Fault) bool { return f.Kind == scenarios.TaskErrors })
}

// ErrorKind is the ray sentinel an error text carries (Result keeps a
// workload's first error as text), or nil for an untyped error.
func ErrorKind(text string) error {
	for _, k := range workload.ErrKinds {
		if strings.Contains(text, k.Error()) {
			return k
		}
	}
	return nil
}

// actorTask says whether the generator's work goes through actors, whose
// calls fail with their actor and not by a retry count.
func actorTask(gen string) bool {
	return gen == "rl" || gen == "parameter-server" || gen == "actor-calls"
}

// Liveness: once faults stop, all work finishes within a bounded virtual
// time: every driver of every workload returns before duration_limit (which
// the generator sets to the end of the fault schedule plus Gen.Settle).
var Liveness = Invariant{Name: "liveness", Check: func(r *Run) error {
	var stuck []string
	for _, w := range r.Result.Workloads {
		if w.Finished < w.Drivers {
			stuck = append(stuck, fmt.Sprintf("%s (%d/%d drivers finished)", w.Name, w.Finished, w.Drivers))
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("work unfinished at %.3fs virtual (faults over at %v, limit %v): %s", r.Result.VirtualSeconds,
			FaultsEnd(r.Scenario), r.Scenario.DurationLimit, strings.Join(stuck, ", "))
	}
	return nil
}}

// NoPhantomObjects: no object is reported available that is not: a node
// only ever receives an object from a node that held it.
var NoPhantomObjects = Invariant{Name: "no-phantom-objects", Check: func(r *Run) error {
	if len(r.Events.Phantoms) > 0 {
		return fmt.Errorf("%s", strings.Join(r.Events.Phantoms, "; "))
	}
	return nil
}}

// Deterministic: the same scenario and seed run twice give one digest.
var Deterministic = Invariant{Name: "deterministic", Check: func(r *Run) error {
	again, err := r.Rerun()
	if err != nil {
		return fmt.Errorf("second run: %w", err)
	}
	if again.Digest != r.Result.Digest {
		return fmt.Errorf("digest %s, then %s on a second run", r.Result.Digest, again.Digest)
	}
	return nil
}}

func firstErrs(res *runner.Result) string {
	var out []string
	for _, w := range res.Workloads {
		if w.FirstErr != "" {
			out = append(out, w.FirstErr)
		}
	}
	return strings.Join(out, "; ")
}
