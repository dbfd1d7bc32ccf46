package ray

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"time"

	"raysim/runtime/transport"
)

type options struct {
	CPU, GPU    float64
	Custom      []transport.Quantity
	MaxRetries  int
	Name        string
	Duration    time.Duration
	Strategy    uint8
	Target      transport.NodeID
	MaxRestarts int
	ActorName   string
	// Namespace: the namespace an actor's name is registered in
	// (ActorNamespace; "": its creator's).
	Namespace  string
	Checkpoint uint32
	Replay     bool
	// Concurrency: an actor's max concurrency (MaxConcurrency; 0: not set).
	Concurrency int
	// Groups: an actor's concurrency groups, sorted by name
	// (ConcurrencyGroups); Group: the concurrency group a method call runs
	// in (ConcurrencyGroup; "": the default group).
	Groups []transport.ConcurrencyGroup
	Group  string
	// Detached: the actor outlives its owner (Detached).
	Detached bool
	// GetIfExists: New returns the live actor holding ActorName, if any,
	// and creates one otherwise (GetIfExists).
	GetIfExists bool
	// PendingCalls: an actor's max_pending_calls (MaxPendingCalls; 0:
	// none).
	PendingCalls int
	RetryErrors  bool
	// retryOn: with RetryErrors, the registered errors whose failures
	// alone are retried (RetryExceptions with errors; none: every one).
	retryOn []error
	// Backpressure: a generator's GeneratorBackpressure (0: none).
	Backpressure int
	// gen: the options of a generator function or method (GenFunc,
	// ActorGenMethod), which alone take GeneratorBackpressure.
	gen bool
	// group and bundle: run in a placement group's bundle (InPlacementGroup).
	group  *PlacementGroup
	bundle int
	// capture: with group, the task's children run in it too
	// (CaptureChildTasks); strategySet: a scheduling strategy was named
	// (Spread, NodeAffinity, InPlacementGroup, DefaultScheduling), so a
	// capturing parent's group does not take the task.
	capture, strategySet bool
	err                  error
	// set: the options given (optCPU...), so apply can refuse those the
	// submission they reach has no use for (an ActorName on a task).
	set optSet
}

// optSet holds one bit per option, for the check of where each applies.
type optSet uint32

const (
	optCPU optSet = 1 << iota
	optGPU
	optResource
	optMaxRetries
	optRetryExceptions
	optName
	optDuration
	optNodeAffinity
	optSpread
	optDefaultScheduling
	optMaxRestarts
	optCheckpoint
	optReplay
	optConcurrency
	optActorName
	optGroup
	optDetached
	optConcurrencyGroups
	optConcurrencyGroup
	optBackpressure
	optGetIfExists
	optMaxPendingCalls
	optNamespace
)

// The submissions an option applies to.
const (
	forTask      = 1 << iota // a remote function's call (Func.Remote)
	forActor                 // an actor's creation (ActorClass.New)
	forMethod                // an actor method's call (ActorMethod.Remote)
	forGen                   // a generator function's call (GenFunc.Remote)
	forGenMethod             // a generator method's call (ActorGenMethod.Remote)
)

// optRules says, per option, its name and where it applies: anywhere
// else apply refuses it (ErrInvalidOption) rather than drop it silently.
// In bit order.
var optRules = [...]struct {
	bit   optSet
	name  string
	where uint8
}{
	{optCPU, "CPUs", forTask | forGen | forActor},
	{optGPU, "GPUs", forTask | forGen | forActor},
	{optResource, "Resource", forTask | forGen | forActor},
	{optMaxRetries, "MaxRetries", forTask | forGen | forActor | forMethod | forGenMethod},
	{optRetryExceptions, "RetryExceptions", forTask | forGen},
	{optName, "Name", forTask | forGen | forActor | forMethod | forGenMethod},
	{optDuration, "Duration", forTask | forGen | forActor | forMethod | forGenMethod},
	{optNodeAffinity, "NodeAffinity", forTask | forGen | forActor},
	{optSpread, "Spread", forTask | forGen | forActor},
	{optDefaultScheduling, "DefaultScheduling", forTask | forGen | forActor},
	{optMaxRestarts, "MaxRestarts", forActor},
	{optCheckpoint, "CheckpointEvery", forActor},
	{optReplay, "ReplayMethods", forActor},
	{optConcurrency, "MaxConcurrency", forActor},
	{optActorName, "ActorName", forActor},
	{optGroup, "InPlacementGroup", forTask | forGen | forActor},
	{optDetached, "Detached", forActor},
	{optConcurrencyGroups, "ConcurrencyGroups", forActor},
	{optConcurrencyGroup, "ConcurrencyGroup", forMethod | forGenMethod},
	{optBackpressure, "GeneratorBackpressure", forGen | forGenMethod},
	{optGetIfExists, "GetIfExists", forActor},
	{optMaxPendingCalls, "MaxPendingCalls", forActor},
	{optNamespace, "ActorNamespace", forActor},
}

// whereText says where an option applies, for its refusal.
func whereText(where uint8) string {
	switch where {
	case forTask | forGen:
		return "for tasks only, not an actor's constructor or methods"
	case forGen | forGenMethod:
		return "for generator tasks and generator methods only (RegisterGen0, 1, 2, MethodGen0, 1), not other tasks, actors or methods"
	case forActor:
		return "for an actor's creation (ActorClass.Options), not a task or a method call"
	case forTask | forGen | forActor:
		return "for tasks and actor creations, not a method call (a method runs where its actor lives, on its resources)"
	case forMethod, forMethod | forGenMethod:
		return "for an actor method's calls (ActorMethod.Options), not a task or an actor's creation"
	}
	return "not here"
}

// checkWhere refuses an option given to a submission it does not apply
// to (kind: forTask, forActor or forMethod). Free when no option is
// refused: one mask test per submission.
func (o *options) checkWhere(kind uint8) error {
	var refused optSet
	switch kind {
	case forTask:
		refused = optMaxRestarts | optCheckpoint | optReplay | optConcurrency | optActorName | optDetached |
			optConcurrencyGroups | optConcurrencyGroup | optBackpressure | optGetIfExists | optMaxPendingCalls | optNamespace
	case forGen:
		refused = optMaxRestarts | optCheckpoint | optReplay | optConcurrency | optActorName | optDetached |
			optConcurrencyGroups | optConcurrencyGroup | optGetIfExists | optMaxPendingCalls | optNamespace
	case forActor:
		refused = optRetryExceptions | optConcurrencyGroup | optBackpressure
	case forMethod:
		refused = ^(optName | optDuration | optMaxRetries | optConcurrencyGroup)
	case forGenMethod:
		refused = ^(optName | optDuration | optMaxRetries | optConcurrencyGroup | optBackpressure)
	}
	if o.set&refused == 0 {
		return nil
	}
	for _, r := range optRules {
		if o.set&r.bit != 0 && r.where&kind == 0 {
			return fmt.Errorf("%w: %s: %s", ErrInvalidOption, r.name, whereText(r.where))
		}
	}
	return nil
}

func defaultOptions() options { return options{CPU: 1, MaxRetries: 3} }

// actorCPUSpecified is the CPU an actor holds when its creation names
// GPUs or a Resource but no CPUs: Ray's DEFAULT_ACTOR_CREATION_CPU_SPECIFIED
// (python/ray/actor.py: "If any resources are specified ..., then all
// resources are acquired for the actor's lifetime"; the CPU defaults to 1
// then, to 0 for an actor that names none).
const actorCPUSpecified = 1

// Option sets a task or actor option. Each applies to some submissions
// only (tasks, actor creations, method calls; see each option): one given
// where it does not apply is refused (ErrInvalidOption on the ref or
// handle, naming the option and where it applies), not dropped. A method
// call takes Name, Duration, MaxRetries and ConcurrencyGroup only: it runs
// where its actor lives, on the actor's resources (and a generator method's
// call GeneratorBackpressure).
type Option func(*options)

// with returns a copy of o with opts applied; the copy shares nothing
// with o that an option edits (Resource edits its custom list in place;
// ConcurrencyGroups replaces its list whole).
func (o options) with(opts []Option) options {
	o.Custom = slices.Clone(o.Custom)
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// CPUs sets the CPUs a task or actor needs (fractions allowed, to 0.0001,
// as in Ray; default 1 for tasks). An actor given none of CPUs, GPUs and
// Resource is Ray's default actor: it needs 1 logical CPU free to be
// scheduled and holds 0 while it lives, so a node with no CPU (a head
// started with --num-cpus=0) never gets one; one in a placement group
// runs on its bundle and needs no CPU of its own. An actor given GPUs or
// a Resource but not CPUs needs and holds 1 CPU for its life besides them
// (Ray's DEFAULT_ACTOR_CREATION_CPU_SPECIFIED), in a placement group's
// bundle too: give CPUs(0) for an actor that holds only its GPUs. An
// actor given CPUs(n) needs and holds n; CPUs(0) asks for nothing, and
// such an actor may go to any node, a 0-CPU one included (Ray's
// num_cpus=0). Not for method calls.
func CPUs(n float64) Option { return func(o *options) { o.CPU, o.set = n, o.set|optCPU } }

// GPUs sets the GPUs a task or actor needs: a fraction below 1 (to
// 0.0001), or a whole number, as Ray's num_gpus. Not for method calls.
func GPUs(n float64) Option { return func(o *options) { o.GPU, o.set = n, o.set|optGPU } }

// Resource asks for an amount of a custom resource; asking twice for one
// name keeps the last amount. As Ray, it refuses the names CPU and GPU (use
// CPUs and GPUs) and an amount finer than 0.0001 (ErrInvalidOption on the
// ref). Not for method calls.
func Resource(name string, amount float64) Option {
	return func(o *options) {
		o.set |= optResource
		if name == "" || name == "CPU" || name == "GPU" {
			o.err = fmt.Errorf("%w: resource name %q: want a custom resource's name (CPUs and GPUs set CPU and GPU)", ErrInvalidOption, name)
			return
		}
		if err := transport.CheckRequest(amount, false); err != nil {
			o.err = fmt.Errorf("%w: resource %q: %w", ErrInvalidOption, name, err)
			return
		}
		q := transport.Quantity{Name: name, Amount: transport.Units(amount)}
		for i := range o.Custom {
			if o.Custom[i].Name == name {
				o.Custom[i] = q
				return
			}
		}
		o.Custom = append(o.Custom, q)
	}
}

// MaxRetries sets how often a task is retried after a node failure (default
// 3; 0 for actor methods), or, with -1, retries it without bound, as Ray's
// max_retries=-1. Below -1 is an error. On an actor's creation
// (ActorClass.Options) it is Ray's max_task_retries: the default budget of
// every call of the actor's methods, unless the method handle or the call
// sets its own. As Ray's, it is kept with the actor (its creation spec, and
// the actor table for a named actor; a restart keeps it): the creator's
// handle, a copy of it passed to a task and a handle found by name
// (GetActor, GetIfExists) all call with it. Only a handle rebuilt from a
// bare ID by ActorHandleOf does not know it: its calls take their
// method's (0 unless set). The constructor's own budget is not
// MaxRetries but MaxRestarts.
func MaxRetries(n int) Option {
	return func(o *options) { o.MaxRetries, o.set = n, o.set|optMaxRetries }
}

// RetryExceptions makes a task run again when its code returns an error or
// panics, as Ray's retry_exceptions=True: at once, on the node that ran it,
// while its MaxRetries allow (the runs its nodes' deaths took count against
// the same budget; -1 retries without bound). Each retry is a task.retried
// event naming the error; Get returns the last run's error once they are
// spent. Given errors, it retries only a failure whose error matches one
// of them (errors.Is, as the reader of the result would see it), as Ray's
// retry_exceptions=[ValueError, ...]: each must be registered with the
// program's registry (RegisterError), whose name the task's spec carries
// to where it runs; any other failure, a panic included, is final. An
// error not registered is refused (ErrInvalidOption on the ref). Given
// again, the last one counts. For tasks only: an actor's constructor or
// methods refuse it (ErrInvalidOption).
func RetryExceptions(errs ...error) Option {
	errs = slices.Clone(errs)
	return func(o *options) { o.RetryErrors, o.retryOn, o.set = true, errs, o.set|optRetryExceptions }
}

// retryNames are the registered names of the errors RetryExceptions was
// given (none: every error is retried), known to reg.
func (o *options) retryNames(reg *Registry) ([]string, error) {
	if len(o.retryOn) == 0 {
		return nil, nil
	}
	if len(o.retryOn) > transport.MaxRetryOn {
		return nil, fmt.Errorf("%w: RetryExceptions with %d errors, more than %d", ErrInvalidOption, len(o.retryOn), transport.MaxRetryOn)
	}
	names := make([]string, 0, len(o.retryOn))
	for _, e := range o.retryOn {
		name, ok := reg.errorName(e)
		if !ok && e != nil && !reflect.TypeOf(e).Comparable() {
			return nil, fmt.Errorf("%w: RetryExceptions: error %q is of type %T, which is not comparable: it cannot be matched as that very value (pass a sentinel: a pointer, or a comparable value)", ErrInvalidOption, fmt.Sprint(e), e)
		}
		if !ok {
			return nil, fmt.Errorf("%w: RetryExceptions: error %q is not registered (RegisterError): its name is how a failure is matched where the task runs", ErrInvalidOption, fmt.Sprint(e))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// Name names the task in traces.
func Name(s string) Option { return func(o *options) { o.Name, o.set = s, o.set|optName } }

// Duration declares the task's CPU time, spent before the function runs:
// in virtual time in the simulator (the simulation's duration model), as a
// wall-clock sleep on TCP (as Compute is), the worker busy meanwhile. A
// cancel ends it (the function then never runs).
func Duration(d time.Duration) Option {
	return func(o *options) { o.Duration, o.set = d, o.set|optDuration }
}

// NodeAffinity pins the task (or actor; not a method call) to a node. As Ray's
// NodeAffinitySchedulingStrategy: while the node is alive and can run it
// (its total resources suffice), it runs there only, waiting for the
// node's resources when they are busy; otherwise soft lets it run
// elsewhere, and hard fails it (ErrUnschedulable; an actor is then dead)
// when the node is not in the cluster, too small, or declared dead —
// submitted after the death, or pending at it (held for the node's
// resources, or running there and retried): at once on TCP, after 10 s
// of virtual time in the simulator, whose nodes restart under their
// NodeID, if the node has not registered again by then. It holds the
// task while the node has not registered yet. An actor pinned to a node
// that dies is dead, restarts left or not (its restart is held for the
// node only while its owner is dead too).
func NodeAffinity(n transport.NodeID, soft bool) Option {
	return func(o *options) {
		o.group, o.strategySet = nil, true // one scheduling strategy: the last given
		o.set |= optNodeAffinity
		o.Target = n
		o.Strategy = transport.StrategyNodeHard
		if soft {
			o.Strategy = transport.StrategyNodeSoft
		}
	}
}

// Spread spreads tasks (or actors; not method calls) over nodes rather
// than packing them locally.
func Spread() Option {
	return func(o *options) {
		o.group, o.Strategy, o.strategySet = nil, transport.StrategySpread, true
		o.set |= optSpread
	}
}

// DefaultScheduling names the default scheduling strategy (Ray's
// scheduling_strategy="DEFAULT"): it replaces a Spread, NodeAffinity or
// InPlacementGroup option given before it, and, named, keeps a task
// submitted by a task that captures child tasks (CaptureChildTasks) out of
// that task's placement group. Not for method calls.
func DefaultScheduling() Option {
	return func(o *options) {
		o.group, o.Strategy, o.Target, o.strategySet = nil, transport.StrategyDefault, 0, true
		o.set |= optDefaultScheduling
	}
}

// MaxRestarts sets how often an actor is restarted after its node dies
// or its worker crashes (Sim.Raylet(i).Kill, a scenario's kill_actor)
// (default 0), or, with
// -1, restarts it without bound, as Ray's max_restarts=-1. ray.Kill ends
// an actor for good whatever its restarts. It is also the actor's
// constructor's retry budget when its node dies while the constructor
// runs (MaxRetries on a creation is its calls' budget instead). Below -1
// is an error. For an actor's creation only.
func MaxRestarts(n int) Option {
	return func(o *options) { o.MaxRestarts, o.set = n, o.set|optMaxRestarts }
}

// CheckpointEvery makes a checkpointable actor (its instance implements
// Checkpointer) save its state to the GCS after every n-th method, so a
// restart restores it instead of starting from the constructor's state.
// A checkpoint is saved before its method's result is published, with the
// results not published yet: a call the restored state holds whose result
// died with the node is answered with that result when its caller
// retries it, not applied again (with n = 1, the call running at a crash
// is applied once: in the checkpoint, or by its retry).
// For an actor's creation only, and refused (ErrInvalidOption) with n > 0
// for a class whose instances do not implement Checkpointer: there would
// be nothing to save.
func CheckpointEvery(n int) Option {
	return func(o *options) {
		o.set |= optCheckpoint
		if n < 0 {
			o.err = fmt.Errorf("%w: CheckpointEvery(%d): want n >= 0", ErrInvalidOption, n)
			return
		}
		o.Checkpoint = uint32(n)
	}
}

// ReplayMethods makes a restarted actor re-run, in their original order, the
// methods it ran since its last checkpoint (since its creation without
// checkpoints), rebuilding its state as the Ray paper's actor reconstruction
// does. The GCS logs every method of such an actor (a write per method, the
// log trimmed at each checkpoint). A logged method whose argument is an
// error value by the restart (a Put its owner freed, an object lost for
// good) cannot run as it ran: the actor then dies for good (ErrActorDied)
// rather than come back with another state. A logged method runs once in
// the rebuilt state: its caller's retry (its result died with the node
// before it was published), or a rebuild of its lost result, gets the
// replayed run's result instead of running it again. Without it a
// restarted actor starts from its constructor's state or its last
// checkpoint, as today's Ray does. For an actor's creation only.
func ReplayMethods() Option { return func(o *options) { o.Replay, o.set = true, o.set|optReplay } }

// MaxConcurrency lets up to n of an actor's methods run at once, as Ray's
// max_concurrency makes a threaded actor: calls still start in each
// caller's submission order, but a method that computes (Compute) or
// blocks (Get, Wait) lets the next call start, and calls may finish out of
// order. The methods share the instance: on a real cluster they run on
// goroutines at once, and its state needs a lock. 1 (the default) runs
// them one at a time. Refused (ErrInvalidOption) below 1, above
// transport.MaxActorConcurrency, on a method call, and with more than 1
// alongside ReplayMethods or CheckpointEvery, whose method counts and logs
// assume one method at a time.
func MaxConcurrency(n int) Option {
	return func(o *options) {
		o.set |= optConcurrency
		if n < 1 || n > transport.MaxActorConcurrency {
			o.err = fmt.Errorf("%w: MaxConcurrency(%d): want 1 to %d", ErrInvalidOption, n, transport.MaxActorConcurrency)
			return
		}
		o.Concurrency = n
	}
}

// ConcurrencyGroups declares an actor's named concurrency groups and how
// many of its methods each runs at once, as Ray's
// concurrency_groups={"io": 2, "compute": 4}: a call runs in the group its
// method's ConcurrencyGroup option names, and a call that names none in
// the default group, whose limit is MaxConcurrency (1 by default). The
// groups run beside each other and the default group: a method blocked or
// computing in one holds up no call of another. Within a group, at most
// its limit run at once, and each caller's calls start in the order they
// were made (calls of one caller in two groups may start out of order).
// The methods share the instance: on a real cluster they run on goroutines
// at once, and its state needs a lock. The names are sorted (the map's
// order does not show); each must be non-empty and at most
// transport.MaxConcurrencyGroupName bytes, each limit 1 or more, at most
// transport.MaxConcurrencyGroups groups, and all the limits with
// MaxConcurrency at most transport.MaxActorConcurrency. A restarted actor
// keeps its groups (they are its creation's). Refused (ErrInvalidOption)
// otherwise, anywhere but an actor's creation, and alongside
// ReplayMethods or CheckpointEvery, whose method counts and logs assume
// one method at a time. An empty map declares none.
func ConcurrencyGroups(groups map[string]int) Option {
	return func(o *options) {
		o.set |= optConcurrencyGroups
		o.Groups = nil
		for _, name := range slices.Sorted(maps.Keys(groups)) {
			n := groups[name]
			if err := transport.CheckGroupName(name); err != nil {
				o.err = fmt.Errorf("%w: ConcurrencyGroups: %w", ErrInvalidOption, err)
				return
			}
			if n < 1 || n > transport.MaxActorConcurrency {
				o.err = fmt.Errorf("%w: ConcurrencyGroups: group %q with a limit of %d: want 1 to %d", ErrInvalidOption, name, n, transport.MaxActorConcurrency)
				return
			}
			o.Groups = append(o.Groups, transport.ConcurrencyGroup{Name: name, Limit: uint32(n)})
		}
	}
}

// ConcurrencyGroup runs a method's calls in the named concurrency group of
// their actor (ConcurrencyGroups), as Ray's
// @ray.method(concurrency_group=...) on a method handle's Options, and
// .options(concurrency_group=...) on one call's. "" names the default
// group. A call naming a group its actor does not declare fails with
// ErrUnknownConcurrencyGroup (the actor lives on). For method calls only;
// a name longer than transport.MaxConcurrencyGroupName is refused
// (ErrInvalidOption).
func ConcurrencyGroup(name string) Option {
	return func(o *options) {
		o.set |= optConcurrencyGroup
		if len(name) > transport.MaxConcurrencyGroupName {
			o.err = fmt.Errorf("%w: ConcurrencyGroup: a name of %d bytes, more than %d", ErrInvalidOption, len(name), transport.MaxConcurrencyGroupName)
			return
		}
		o.Group = name
	}
}

// ActorName names an actor so others can find it with GetActor. As
// Ray's, a name is registered in a namespace: its creator's (Namespace:
// the driver's, or its job's anonymous one), or the one ActorNamespace
// gives. The same name in two namespaces is two actors. A name is 1 to
// transport.MaxActorName bytes, without a NUL byte (ErrInvalidOption at
// New; ActorName("") too: it is not "no name"). For an actor's creation
// only.
func ActorName(s string) Option {
	return func(o *options) { o.ActorName, o.set = s, o.set|optActorName }
}

// ActorNamespace registers the actor's name (ActorName) in namespace ns
// rather than its creator's, as Ray's .options(name=..., namespace=...):
// GetActor finds it there with InNamespace(ns), or from a driver whose
// namespace is ns. The actor's own code still runs in its creator's
// namespace (its GetActor looks there), as Ray's. ns is 1 to
// transport.MaxNamespace bytes, without a NUL byte. For an actor's
// creation only, and with ActorName (ErrInvalidOption without: the
// namespace is the name's).
func ActorNamespace(ns string) Option {
	return func(o *options) { o.Namespace, o.set = ns, o.set|optNamespace }
}

// GetIfExists makes New return the live actor that holds the name
// ActorName gives, and create the actor only when none does, as Ray's
// .options(name=..., get_if_exists=True): without it a second New of the
// name fails (ErrActorNameTaken). It is race-free: creators racing for a
// free name all end with handles to one actor, the first whose claim
// reaches the name's GCS shard (the shard that already settles two
// creations racing for a name). A loser's constructor never runs. The
// existing actor is returned as it is: the other options of this New
// (resources, MaxRestarts...) and its arguments do not apply to it, and
// its handle calls with the holder's call defaults (MaxRetries,
// MaxPendingCalls on its creation), as GetActor's. The name is looked
// up in the namespace it would be created in (ActorNamespace, else the
// creator's). A holder of another class is an *ActorClassError
// (ErrActorClass), as GetActor's. For an actor's creation only, and with
// ActorName (ErrInvalidOption without: Ray requires the name too).
func GetIfExists() Option {
	return func(o *options) { o.GetIfExists, o.set = true, o.set|optGetIfExists }
}

// MaxPendingCalls bounds the calls a caller may have on the actor not
// finished yet, as Ray's max_pending_calls: a call beyond n is refused at
// once, its ref's error ErrPendingCallsLimitExceeded (Ray raises
// PendingCallsLimitExceeded at .remote()), and nothing is submitted; once
// earlier calls finish (their result or failure in), calls are taken
// again. -1 (the default) is no bound; 0 and below -1 are refused
// (ErrInvalidOption). Ray counts per handle in each process; here each
// caller counts its own (the driver, or one run of a task or method) over
// all its copies of the handle. The bound is kept with the actor, as
// Ray's (its creation spec, and the actor table for a named actor): the
// creator's handle, a copy passed to a task and a handle found by name
// (GetActor, GetIfExists) are bounded alike; only a handle rebuilt from a
// bare ID by ActorHandleOf does not know it, and its calls are not
// bounded. For an actor's creation only.
func MaxPendingCalls(n int) Option {
	return func(o *options) {
		o.set |= optMaxPendingCalls
		switch {
		case n == -1:
			o.PendingCalls = 0
		case n < 1 || n > math.MaxInt32:
			o.err = fmt.Errorf("%w: MaxPendingCalls(%d): want n >= 1, or -1 for no bound", ErrInvalidOption, n)
		default:
			o.PendingCalls = n
		}
	}
}

// Detached makes an actor outlive its owner, as Ray's
// lifetime="detached". An actor's owner is the node incarnation whose
// driver or worker created it (a task's or an actor's node, for an actor
// created in a task or a method): by default, as Ray's, an actor dies for
// good when its owner does — its restarts left do not matter, its host
// ends it and frees its resources, its name is released, and its calls
// fail with ErrActorDied saying its owner died. A node that rejoins as a
// new incarnation (it was declared dead while it ran) is a dead owner for
// the actors its earlier incarnation created. A detached actor lives on
// until ray.Kill, or its own death with no restart left; give it a name
// (ActorName) so another driver can find it with GetActor. For an actor's
// creation only.
func Detached() Option { return func(o *options) { o.Detached, o.set = true, o.set|optDetached } }

// GeneratorBackpressure makes a generator task's yield block once n of
// the items it yielded are not yet taken by the caller (Stream.Next), as
// Ray's _generator_backpressure_num_objects: the generator runs at most n
// items ahead of its caller. 1 is most like a local generator (the next
// item is made once the last is taken); -1 (the default) is none, and 0
// or below -1 is refused (ErrInvalidOption), as Ray refuses 0. The blocked
// generator keeps its CPU, as Ray's does; a cancel ends the block (yield
// returns ErrCancelled), and so does the death of the caller's node
// (yield returns an error wrapping ErrStreamOwnerDied: nobody is left to
// take the items). A task or method call that returns with its stream
// unfinished lets the generator run on unthrottled (as Ray's, once the
// ObjectRefGenerator is collected); a Stream that a live caller stops
// taking from keeps the generator blocked: Cancel it. For generator tasks and generator actor methods only
// (RegisterGen0, 1, 2, MethodGen0, 1), not other tasks, actors or
// methods (ErrInvalidOption). A generator method's blocked yield ends too
// when the call is cancelled (a running method is otherwise not
// interrupted) or its actor ends; a method of an actor created with
// ReplayMethods runs without backpressure (its replay must do what the
// run did, and replays block on nobody).
func GeneratorBackpressure(n int) Option {
	return func(o *options) {
		o.set |= optBackpressure
		switch {
		case n == -1:
			o.Backpressure = 0
		case n < 1 || n > math.MaxUint32:
			o.err = fmt.Errorf("%w: GeneratorBackpressure(%d): want n >= 1, or -1 for none", ErrInvalidOption, n)
		default:
			o.Backpressure = n
		}
	}
}

// apply writes the options into spec. capture is the submitting caller's
// capturing placement group (node.Caller.CaptureGroup; 0: none): a task
// that names no scheduling strategy runs in it, in any bundle, and
// captures its own children in turn. reg is the submitting program's
// registry, which names the errors RetryExceptions was given.
func (o *options) apply(spec *transport.TaskSpec, capture transport.GroupID, reg *Registry) error {
	if o.err != nil {
		return o.err
	}
	if o.set&optActorName != 0 && o.ActorName == "" {
		// Not "no name": a name computed from an empty variable would
		// make an actor nobody can find (Ray raises ValueError too).
		return fmt.Errorf("%w: ActorName(\"\"): an empty name (a name is 1 to %d bytes; leave ActorName out for an unnamed actor)", ErrInvalidOption, transport.MaxActorName)
	}
	if err := transport.CheckRequest(o.CPU, false); err != nil {
		return fmt.Errorf("%w: CPU: %w", ErrInvalidOption, err)
	}
	if err := transport.CheckRequest(o.GPU, true); err != nil {
		return fmt.Errorf("%w: GPU: %w", ErrInvalidOption, err)
	}
	var custom []transport.Quantity
	if len(o.Custom) > 0 { // each spec its own sorted copy; most tasks ask for none (no sort then)
		custom = append(custom, o.Custom...)
		sort.SliceStable(custom, func(i, j int) bool { return custom[i].Name < custom[j].Name })
	}
	if err := checkBudget("MaxRetries", o.MaxRetries); err != nil {
		return err
	}
	if err := checkBudget("MaxRestarts", o.MaxRestarts); err != nil {
		return err
	}
	kind := uint8(forTask)
	if spec.IsCreation() {
		kind = forActor
	} else if spec.Actor != 0 {
		kind = forMethod
		if o.gen {
			kind = forGenMethod
		}
	} else if o.gen {
		kind = forGen
	}
	if err := o.checkWhere(kind); err != nil {
		return err
	}
	spec.RetryExceptions = o.RetryErrors
	retryOn, err := o.retryNames(reg)
	if err != nil {
		return err
	}
	cpu := o.CPU
	if kind == forActor && o.set&optCPU == 0 && o.set&(optGPU|optResource) != 0 {
		// Ray's actor that names resources but no CPUs holds 1 CPU for
		// its life (DEFAULT_ACTOR_CREATION_CPU_SPECIFIED), in a
		// placement group's bundle too.
		cpu = actorCPUSpecified
	}
	spec.Resources = transport.Resources{CPU: transport.Units(cpu), GPU: transport.Units(o.GPU), Custom: custom}
	if o.group != nil {
		if err := o.inGroup(spec); err != nil {
			return err
		}
	} else if capture != 0 && !o.strategySet {
		spec.Resources = transport.InBundle(capture, -1, spec.Resources)
		spec.CaptureChildTasks = true
	}
	spec.MaxRetries = int32(o.MaxRetries)
	spec.Name = o.Name
	if spec.Name == "" {
		spec.Name = spec.Func
	}
	spec.Duration = o.Duration
	if o.Backpressure > 0 {
		spec.SetAct(func(a *transport.ActorSpec) { a.Backpressure = uint32(o.Backpressure) })
	}
	spec.Strategy = o.Strategy
	spec.Target = o.Target
	conc := uint32(0) // one at a time (1) travels as none: such an actor's spec stays as it was
	if o.Concurrency > 1 {
		conc = uint32(o.Concurrency)
	}
	if spec.Act == nil && (o.MaxRestarts != 0 || o.ActorName != "" || o.Checkpoint != 0 || o.Replay || conc != 0 || o.Detached ||
		len(o.Groups) > 0 || o.Group != "" || len(retryOn) > 0) {
		spec.Act = new(transport.ActorSpec) // the spec is new: nothing shares its Act yet
	}
	if a := spec.Act; a != nil {
		a.MaxRestarts = int32(o.MaxRestarts)
		a.Name = o.ActorName
		a.CheckpointEvery = o.Checkpoint
		a.Replay = o.Replay
		a.MaxConcurrency = conc
		a.Detached = o.Detached
		// Ray's default actor (no CPUs, GPUs nor Resource) needs a CPU
		// free to be placed and holds none; one in a placement group
		// runs on its bundle (its marker places it there).
		_, grouped := transport.GroupOf(spec.Resources)
		a.ScheduleCPU = a.Creation && o.set&(optCPU|optGPU|optResource) == 0 && !grouped
		var calls transport.CallDefaults
		if a.Creation {
			// Ray's max_task_retries and max_pending_calls, kept with the
			// actor (its spec, the actor table) for every handle's calls.
			calls.Pending = uint32(o.PendingCalls)
			if o.set&optMaxRetries != 0 {
				calls.Retries, calls.RetriesSet = int32(o.MaxRetries), true
			}
		}
		a.Extra = nil
		if len(o.Groups) > 0 || o.Group != "" || !calls.IsZero() || len(retryOn) > 0 {
			// Never edited: ConcurrencyGroups makes a new list, and
			// retryNames a new slice for each spec.
			a.Extra = &transport.SpecExtra{Groups: o.Groups, Group: o.Group, Calls: calls, RetryOn: retryOn}
		}
		if conc != 0 && (a.Replay || a.CheckpointEvery != 0) {
			// The method log and the checkpoint count assume one method
			// at a time: a restart could not rebuild the state they saw.
			return fmt.Errorf("%w: MaxConcurrency(%d) with ReplayMethods or CheckpointEvery: they assume one method at a time", ErrInvalidOption, o.Concurrency)
		}
		if len(o.Groups) > 0 {
			// Groups run beside each other: the same holds, and their
			// limits together are bounded as MaxConcurrency is.
			if err := transport.CheckConcurrency(*a); err != nil {
				return fmt.Errorf("%w: ConcurrencyGroups: %w", ErrInvalidOption, err)
			}
		}
	}
	return nil
}

// checkBudget checks a retry or restart budget: a count the spec's int32
// holds, or -1 for no bound.
func checkBudget(name string, n int) error {
	if n < -1 || n > math.MaxInt32 {
		return fmt.Errorf("%w: %s(%d): want n >= 0, or -1 for no bound", ErrInvalidOption, name, n)
	}
	return nil
}
