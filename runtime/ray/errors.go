// Package ray is raysim's public Go API, modelled on Ray's: register remote
// functions and actor classes by name, submit them with Remote to get typed
// references (Ref[T]), and Get, Wait, Put and Cancel them — from a driver or
// from inside a task, on a simulated cluster (netsim, virtual time) or a real
// one over TCP, with the same code.
//
//	reg := ray.NewRegistry()
//	double := ray.Register1(reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
//	c, _ := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}}, reg)
//	err := c.Run(func(ctx context.Context) error {
//		v, err := ray.Get(ctx, double.Remote(ctx, 21))
//		...
//	})
//
// Runnable examples are in example_test.go (go test -run Example).
//
// Goroutines. On TCP a driver or a task may call the API from goroutines
// of its own (as a Ray task's threads call ray.get). In the simulator
// every call must come from the driver's or the task's own goroutine: the
// simulator runs one coroutine at a time in virtual time, and a call from
// another goroutine races it. Such a call, and one with a ctx captured from
// another driver or task, returns ErrWrongContext when the runtime can
// tell (the ctx's own coroutine is not the one running); otherwise (a
// goroutine calling while its driver blocks outside ray, in a
// sync.WaitGroup's Wait, say) it may work, hang or crash the process.
// Fan out with more tasks (or drivers: Sim.Go), not goroutines. A
// simulated driver's ctx ends when the driver returns (ErrNotInRay).
//
// Errors. A task's failure crosses the cluster as its kind, its text and
// its causes: Get returns a *TaskError whose Kind is one of the sentinels
// below (errors.Is works with them) and whose message is the task's error
// text, or "panic: " and the panic's value. When the task's error wraps
// this package's sentinels (it returned, wrapped, the ErrActorDied or
// ErrObjectLost a Get gave it), they travel too, as the TaskError's
// Causes: errors.Is matches them on the reader's side, through any number
// of hops, as Ray's RayTaskError keeps its cause. So do your own sentinel
// errors once registered by name (RegisterError): errors.Is(err, yours)
// holds on every reader, as Ray keeps a user exception's type. Other
// errors of yours travel as text only (errors.Is or errors.As on them
// does not match), unless their type is registered (RegisterErrorType):
// a value of it then travels with its fields (JSON), and errors.As on
// the reader's side gets it, as Ray hands back the user's exception of
// its own class.
//
// Values. Arguments and results are encoded to cross nodes (codec.go):
// common types (ints, floats, strings, bools, byte slices, Refs, actor
// handles, Blob) compactly, anything else as JSON, so unexported struct
// fields are dropped, an any receives JSON's types (float64 or int64,
// map[string]any), an error-typed result does not decode, and []byte
// inside a struct is base64 (larger than its length). Decoding checks the
// type: a value of another type is an error wrapping ErrDecode. Blob
// stands for a payload of a given virtual size in the simulator.
package ray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Sentinel errors; Get's errors wrap one of them (errors.Is).
var (
	// ErrTaskFailed: the task's own code returned an error or panicked
	// (Ray's RayTaskError); retried only when the task was submitted with
	// RetryExceptions (while its MaxRetries allow; Get then returns the
	// last run's error).
	ErrTaskFailed = errors.New("ray: task failed")
	// ErrCancelled: the task was cancelled (Cancel) before it finished,
	// or its placement group was removed (the error then wraps
	// ErrPlacementGroupRemoved too), or its job ended.
	ErrCancelled = node.ErrCancelled
	// ErrWorkerCrashed: the worker that ran the task was killed, by a
	// force cancel (Cancel with Force), as Ray's WorkerCrashedError. Such
	// an error wraps ErrCancelled too. (A node's death is
	// ErrRetriesExhausted once the task's retries are spent, as before.)
	ErrWorkerCrashed = errors.New("ray: the task's worker was killed")
	// ErrActorDied: the actor is dead (killed, its constructor failed, its
	// restarts are spent, or its owner died and it was not Detached), or
	// the call's retries are spent. The error's text says why when the
	// runtime knows ("its owner, node N, died ...").
	ErrActorDied = errors.New("ray: actor died")
	// ErrObjectLost: every copy of the object is gone and it cannot be
	// rebuilt (a Put's, or its lineage's retries are spent).
	ErrObjectLost = errors.New("ray: object lost")
	// ErrOwnerDied: the object was lost with its owner, as Ray's
	// OwnerDiedError: a Put's object whose node (the worker that put it,
	// its owner) died with every copy, or a task's result lost after the
	// task's owner died and its retries were spent. Such an error wraps
	// ErrObjectLost too. (Ray loses an object with its owner even when
	// copies are left; raysim still serves a copy left on another node.)
	// A Put freed and then read is ErrObjectLost alone. A task's error wrapping it (or ErrStreamOwnerDied) crosses the
	// cluster as both: one bit of the error value carries the two.
	ErrOwnerDied = errors.New("ray: the object's owner died")
	// ErrStreamReplayInconsistent: a generator's item that a re-run of
	// the generator (a retry after its node died, a rebuild of a lost
	// item) did not make again, the re-run yielding fewer items than the
	// run that made it (Ray's StreamingGeneratorReplayInconsistentError:
	// a generator is expected to be deterministic). It is an
	// ErrObjectLost (errors.Is matches both): the item is gone for good.
	ErrStreamReplayInconsistent = fmt.Errorf("%w: a generator's re-run yielded fewer items than the run that made it", ErrObjectLost)
	// ErrStreamOwnerDied: what a generator's yield returns, under
	// GeneratorBackpressure, once the node of the caller that iterates
	// its stream is dead: nobody is left to take its items (Ray kills the
	// workers of a dead owner's tasks). Stop then.
	ErrStreamOwnerDied = node.ErrOwnerDied
	// ErrObjectTooLarge: the object does not fit the object store.
	ErrObjectTooLarge = errors.New("ray: object larger than the object store")
	// ErrUnknownFunction: no function or method of that name is registered.
	ErrUnknownFunction = errors.New("ray: unknown function")
	// ErrRetriesExhausted: the task's node died more often than its
	// max_retries allow.
	ErrRetriesExhausted = errors.New("ray: task failed after its retries")
	// ErrTimeout: GetTimeout's (or GetAll's) timeout passed first. When
	// the global scheduler has told this node (the task's owner) that the
	// task is infeasible, held because no live node has the resources it
	// asks for, the error says so, with what it asked for and the largest
	// node (Ray warns of such a task; it still runs once a node that has
	// them joins). Wait does not return it: at its timeout it returns what
	// is ready, as Ray's wait does.
	ErrTimeout = node.ErrTimeout
	// ErrNotInRay: the context is not a driver's or a task's.
	// A driver's ctx ends when the driver returns, in the simulator and
	// on TCP (a goroutine or closure that kept it gets this error).
	ErrNotInRay = errors.New("ray: context carries no ray caller (use the ctx given to a running driver or task)")
	// ErrWrongContext: in the simulator, a call made outside the
	// coroutine of its ctx's driver or task: from a goroutine the driver
	// or task started, or with a ctx captured from another driver or
	// task. The simulator runs one coroutine at a time, and only the
	// driver's or task's own may call ray with its own ctx; fan out with
	// tasks (or drivers: Sim.Go), not goroutines. Where the runtime cannot
	// tell (a goroutine calling while its driver or task is itself blocked
	// outside ray, in a sync.WaitGroup's Wait, say: to the simulator that
	// is the driver's coroutine running) the call may still work, hang or
	// crash the process. On TCP any goroutine may call.
	ErrWrongContext = errors.New("ray: simulator: ray called outside its ctx's driver or task coroutine (call ray only from the driver's or task's own goroutine, with its own ctx)")
	// ErrClosed: Run or Go on a cluster that was closed; also what a
	// driver's call blocked on a TCP cluster or a Connect session returns
	// (wrapped, with the ctx's error when it was NewTCP's or Connect's ctx
	// that ended) once that cluster or session closes, and what Run and
	// Wait return for a driver the close ended in a later call.
	ErrClosed = errors.New("ray: the cluster is closed")
	// ErrDriverNodeDied: a driver's code was ended by its node's crash
	// (Sim's netsim crash, TCP.Crash) before it returned: Run, Err and
	// Wait report it, rather than nil as for a driver that finished.
	ErrDriverNodeDied = errors.New("ray: the driver's node died before the driver returned")
	// ErrActorNotFound: no live actor has that name (GetActor), or the
	// handle is the zero handle. A handle made up from an ID no actor was
	// created under (ActorHandleOf) is not detected: its calls wait, as for
	// an actor whose creation has not reached the actor table yet (bound
	// them with GetTimeout).
	ErrActorNotFound = errors.New("ray: no live actor of that name")
	// ErrBadWait: Wait's numReturns is out of range or its refs repeat.
	ErrBadWait = errors.New("ray: wait: bad numReturns or duplicate refs")
	// ErrActorClass: GetActor found a live actor of that name, but of
	// another class than the one asked for (the error is an
	// *ActorClassError naming both).
	ErrActorClass = errors.New("ray: the named actor is of another class")
	// ErrActorNameTaken: New with ActorName found a live actor holding it.
	ErrActorNameTaken = errors.New("ray: the actor name is taken by a live actor")
	// ErrUnschedulable: the task's hard node affinity names a node the
	// cluster does not have, one that can never run it, or one declared
	// dead (Ray's TaskUnschedulableError; an actor creation so failed
	// leaves the actor dead, ErrActorDied, as Ray's
	// ActorUnschedulableError): a dead Ray node never comes back. On TCP
	// a dead target fails the task at once; the simulator, whose nodes
	// restart under their NodeID, holds it 10 s (virtual) for the node to
	// register again first. A node of the cluster not registered yet
	// holds the task instead: it may come.
	ErrUnschedulable = errors.New("ray: task unschedulable")
	// ErrInvalidOption: a task or actor option Ray would refuse (a negative
	// or too fine resource amount, a custom resource named CPU or GPU, a
	// budget below -1...): the ref's Err, and Get's error.
	ErrInvalidOption = errors.New("ray: invalid option")
	// ErrZeroRef: a Ref no Remote, Put or RefOf made (the zero value)
	// given to Get, Wait, Cancel, Free or as a task's argument.
	ErrZeroRef = errors.New("ray: zero Ref: it names no object (not made by Remote, Put or RefOf)")
	// ErrInvalidPlacementGroup: a placement group Ray would refuse (no
	// bundles, a bundle asking for nothing or a bad amount, an unknown
	// strategy), or an InPlacementGroup option naming a bundle index out
	// of range or asking for more than the bundle holds (that error wraps
	// ErrInvalidOption too).
	ErrInvalidPlacementGroup = node.ErrGroupInvalid
	// ErrPlacementGroupRemoved: the placement group was removed (its
	// Wait), or, with ErrCancelled, a task of the group that was queued
	// or running when it was removed (Ray's TaskPlacementGroupRemoved:
	// errors.Is tells it from a Cancel's).
	ErrPlacementGroupRemoved = node.ErrGroupRemoved
	// ErrPlacementGroupNotFound: no live placement group has the name
	// GetPlacementGroup was given (never created, or removed).
	ErrPlacementGroupNotFound = errors.New("ray: no placement group of that name")
	// ErrDecode: a value does not decode into the type asked for (a ref
	// rebuilt with another type than its task's result, RefOf).
	ErrDecode = errors.New("ray: value does not decode into the type asked for")
	// ErrUnknownConcurrencyGroup: a method call names a concurrency group
	// (ConcurrencyGroup) its actor does not declare (ConcurrencyGroups).
	// The call fails without running, and the actor lives on (Ray's worker
	// aborts on such a call, its code saying it should fail the task).
	ErrUnknownConcurrencyGroup = errors.New("ray: unknown concurrency group")
	// ErrNotInActor: an API for an actor's own methods (ExitActor) was
	// called elsewhere: in a task, a driver or an actor's constructor
	// (Ray's exit_actor raises TypeError outside an actor).
	ErrNotInActor = errors.New("ray: not in an actor method")
	// ErrPendingCallsLimitExceeded: a method call was refused at once
	// because the caller has as many calls to the actor not finished yet
	// as the actor's MaxPendingCalls allows (Ray's
	// PendingCallsLimitExceeded); nothing was submitted.
	ErrPendingCallsLimitExceeded = errors.New("ray: pending calls limit exceeded")
)

// ActorClassError is GetActor's error for a name held by an actor of
// another class: Want is the class asked for, Have the holder's. It
// matches ErrActorClass (errors.Is).
type ActorClassError struct {
	Name, Want, Have string
}

// Error names the actor and both classes.
func (e *ActorClassError) Error() string {
	return fmt.Sprintf("%v: actor %q is a %q, not a %q", ErrActorClass, e.Name, e.Have, e.Want)
}

// Unwrap lets errors.Is match ErrActorClass.
func (e *ActorClassError) Unwrap() error { return ErrActorClass }

// TaskError is the error of a failed task as seen by Get: which object, which
// kind of failure (one of the sentinels above) and the message. A task
// whose code failed with an error wrapping this package's sentinels (the
// ErrActorDied of a Get it made, say) is an ErrTaskFailed whose Causes
// hold them: errors.Is matches the kind and each cause, as Ray's
// RayTaskError is an instance of its cause's type too.
type TaskError struct {
	Object transport.ObjectID
	Kind   error
	Msg    string
	// Causes are the sentinels the task's own error wrapped, in the
	// order of causeKinds (none for most failures).
	Causes []error
}

// Error names the kind, the object and the message.
func (e *TaskError) Error() string { return fmt.Sprintf("%v (%s): %s", e.Kind, e.Object, e.Msg) }

// Unwrap lets errors.Is match the kind and the causes.
func (e *TaskError) Unwrap() []error {
	if len(e.Causes) == 0 {
		return []error{e.Kind}
	}
	return append([]error{e.Kind}, e.Causes...)
}

// causeKinds are the sentinels a task's error carries across the cluster
// (transport.Value.Causes): each with its bit, that of its value kind.
// ErrTaskFailed is not among them: a failed task's error is one already.
var causeKinds = [...]struct {
	bit uint32
	err error
}{
	{1 << transport.ErrKindCancelled, ErrCancelled},
	{1 << transport.ErrKindActorDied, ErrActorDied},
	{1 << transport.ErrKindObjectLost, ErrObjectLost},
	{1 << transport.ErrKindObjectTooLarge, ErrObjectTooLarge},
	{1 << transport.ErrKindUnknownFunction, ErrUnknownFunction},
	{1 << transport.ErrKindRetriesExhausted, ErrRetriesExhausted},
	{1 << transport.ErrKindUnschedulable, ErrUnschedulable},
	{1 << transport.ErrKindDecode, ErrDecode},
	{1 << transport.ErrKindUnknownConcurrencyGroup, ErrUnknownConcurrencyGroup},
	{1 << transport.ErrKindReplayInconsistent, ErrStreamReplayInconsistent},
	{transport.CauseGroupRemoved, ErrPlacementGroupRemoved},
	{transport.CauseWorkerCrashed, ErrWorkerCrashed},
	{transport.CauseTimeout, ErrTimeout},
	{transport.CauseOwnerDied, ErrStreamOwnerDied},
	{transport.CauseOwnerDied, ErrOwnerDied}, // one bit for both: a task's error wrapping either carries both across
}

// causesOf is the Causes bits of the runtime's sentinels err wraps.
func causesOf(err error) uint32 {
	var bits uint32
	for _, c := range causeKinds {
		if errors.Is(err, c.err) {
			bits |= c.bit
		}
	}
	return bits
}

// causeErrs is the sentinels of Causes bits: the runtime's, then those
// of the registered errors the value names (CauseUser), known to reg.
func causeErrs(reg *Registry, v transport.Value) []error {
	if v.Causes == 0 {
		return nil
	}
	var out []error
	for _, c := range causeKinds {
		if v.Causes&c.bit != 0 {
			out = append(out, c.err)
		}
	}
	if v.Causes&transport.CauseUser != 0 {
		names := v.Data[len(transport.ErrText(v)):]
		for len(names) > 0 {
			names = names[1:] // the NUL before each name
			entry := names
			if i := bytes.IndexByte(names, 0); i >= 0 {
				entry = names[:i]
			}
			names = names[len(entry):]
			// A registered type's value follows its name (RegisterErrorType).
			name, payload, _ := bytes.Cut(entry, []byte{transport.ErrorValueSep})
			if err, ok := reg.userError(string(name), payload); ok {
				out = append(out, err)
			}
		}
	}
	return out
}

// errorValue is the error value (ErrKindTask) of a task or method whose
// code returned err: its text, the runtime's sentinels it wraps, and the
// names of the errors registered with reg that it wraps (CauseUser),
// each after a NUL byte (so a NUL of the text itself is escaped); a
// registered type's name (RegisterErrorType) is followed by
// transport.ErrorValueSep and the value's JSON (which has no NUL).
func errorValue(reg *Registry, err error) transport.Value {
	v := transport.Value{ErrKind: transport.ErrKindTask, Data: []byte(err.Error()), Causes: causesOf(err)}
	for _, u := range reg.userErrors() {
		var payload []byte
		if u.encode != nil {
			b, ok := u.encode(err)
			if !ok {
				continue
			}
			payload = b
		} else if !errors.Is(err, u.err) {
			continue
		}
		if v.Causes&transport.CauseUser == 0 {
			v.Causes |= transport.CauseUser
			v.Data = bytes.ReplaceAll(v.Data, []byte{0}, []byte(`\x00`))
		}
		v.Data = append(append(v.Data, 0), u.name...)
		if u.encode != nil {
			v.Data = append(append(v.Data, transport.ErrorValueSep), payload...)
		}
	}
	return v
}

// failedValue is the error value of a task or method whose code returned
// err (what the raylet makes of it, ErrKindTask and its text) with the
// sentinels err wraps as its Causes (the runtime's, and those registered
// with ctx's registry: RegisterError), or ok false when it wraps none (the
// raylet makes the value then, as it always did).
func failedValue(ctx context.Context, err error) (v transport.Value, ok bool) {
	v = errorValue(registryOf(ctx), err)
	if v.Causes == 0 {
		return transport.Value{}, false
	}
	return v, true
}

// registryOf is the registry of the node ctx runs on (nil outside a task
// or a driver, or with a registry of another kind).
func registryOf(ctx context.Context) *Registry {
	c, ok := node.CallerFrom(ctx)
	if !ok {
		return nil
	}
	reg, _ := c.Registry().(*Registry)
	return reg
}

// withCauses wraps a function's body so that an error wrapping the
// runtime's sentinels becomes an error value carrying them (failedValue).
func withCauses(f node.Func) node.Func {
	return func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		v, err := f(ctx, args)
		if err != nil {
			if ev, ok := failedValue(ctx, err); ok {
				return ev, nil
			}
		}
		return v, err
	}
}

// withCausesMulti is withCauses for a function of several returns: the
// one error value fails every return, as the raylet's does.
func withCausesMulti(f node.MultiFunc) node.MultiFunc {
	return func(ctx context.Context, args []transport.Value, n int) ([]transport.Value, error) {
		vs, err := f(ctx, args, n)
		if err != nil {
			if ev, ok := failedValue(ctx, err); ok {
				return []transport.Value{ev}, nil
			}
		}
		return vs, err
	}
}

// methodWithCauses is withCauses for a method.
func methodWithCauses(m node.Method) node.Method {
	return func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
		v, err := m(ctx, self, args)
		if err != nil {
			if ev, ok := failedValue(ctx, err); ok {
				return ev, nil
			}
		}
		return v, err
	}
}

// multiMethodWithCauses is withCausesMulti for a method.
func multiMethodWithCauses(m node.MultiMethod) node.MultiMethod {
	return func(ctx context.Context, self any, args []transport.Value, n int) ([]transport.Value, error) {
		vs, err := m(ctx, self, args, n)
		if err != nil {
			if ev, ok := failedValue(ctx, err); ok {
				return []transport.Value{ev}, nil
			}
		}
		return vs, err
	}
}

func kindErr(k uint8) error {
	switch k {
	case transport.ErrKindCancelled:
		return ErrCancelled
	case transport.ErrKindActorDied:
		return ErrActorDied
	case transport.ErrKindObjectLost:
		return ErrObjectLost
	case transport.ErrKindObjectTooLarge:
		return ErrObjectTooLarge
	case transport.ErrKindUnknownFunction:
		return ErrUnknownFunction
	case transport.ErrKindRetriesExhausted:
		return ErrRetriesExhausted
	case transport.ErrKindUnschedulable:
		return ErrUnschedulable
	case transport.ErrKindDecode:
		return ErrDecode
	case transport.ErrKindUnknownConcurrencyGroup:
		return ErrUnknownConcurrencyGroup
	case transport.ErrKindReplayInconsistent:
		return ErrStreamReplayInconsistent
	}
	return ErrTaskFailed
}

func valueErr(reg *Registry, id transport.ObjectID, v transport.Value) error {
	if v.ErrKind == transport.ErrKindNone {
		return nil
	}
	causes := causeErrs(reg, v)
	if v.ErrKind != transport.ErrKindTask && v.Causes&transport.CauseOwnerDied != 0 {
		// The runtime's own error (an object lost with its owner): an
		// owner's death, not a stream's.
		causes = slices.DeleteFunc(causes, func(e error) bool { return e == ErrStreamOwnerDied })
	}
	return &TaskError{Object: id, Kind: kindErr(v.ErrKind), Msg: string(transport.ErrText(v)), Causes: causes}
}
