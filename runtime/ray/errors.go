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
// another goroutine races it (it may work, hang or crash the process).
// Fan out with more tasks (or drivers: Sim.Go), not goroutines. A
// simulated driver's ctx ends when the driver returns (ErrNotInRay).
//
// Errors. A task's failure crosses the cluster as its kind and its text:
// Get returns a *TaskError whose Kind is one of the sentinels below
// (errors.Is works with them) and whose message is the task's error text,
// or "panic: " and the panic's value. The task's own error value and its
// chain do not travel (errors.Is or errors.As on your own error types
// does not match), as between Ray's processes; test the text, or return a
// value that says what happened.
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
	"errors"
	"fmt"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Sentinel errors; Get's errors wrap one of them (errors.Is).
var (
	// ErrTaskFailed: the task's own code returned an error or panicked
	// (Ray's RayTaskError); not retried.
	ErrTaskFailed = errors.New("ray: task failed")
	// ErrCancelled: the task was cancelled (Cancel) before it finished.
	ErrCancelled = node.ErrCancelled
	// ErrActorDied: the actor is dead (killed, its constructor failed, its
	// restarts are spent, or its owner died and it was not Detached), or
	// the call's retries are spent. The error's text says why when the
	// runtime knows ("its owner, node N, died ...").
	ErrActorDied = errors.New("ray: actor died")
	// ErrObjectLost: every copy of the object is gone and it cannot be
	// rebuilt (a Put's, or its lineage's retries are spent).
	ErrObjectLost = errors.New("ray: object lost")
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
	// ErrTimeout: GetTimeout's (or GetAll's) timeout passed first. Wait
	// does not return it: at its timeout it returns what is ready, as
	// Ray's wait does.
	ErrTimeout = node.ErrTimeout
	// ErrNotInRay: the context is not a driver's or a task's.
	// In the simulator a driver's ctx ends when the driver returns (a
	// goroutine or closure that kept it gets this error).
	ErrNotInRay = errors.New("ray: context carries no ray caller (use the ctx given to a running driver or task)")
	// ErrClosed: Run or Go on a cluster that was closed.
	ErrClosed = errors.New("ray: the cluster is closed")
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
	// ErrPlacementGroupRemoved: the placement group was removed (its Wait).
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
// kind of failure (one of the sentinels above) and the message.
type TaskError struct {
	Object transport.ObjectID
	Kind   error
	Msg    string
}

// Error names the kind, the object and the message.
func (e *TaskError) Error() string { return fmt.Sprintf("%v (%s): %s", e.Kind, e.Object, e.Msg) }

// Unwrap lets errors.Is match the kind.
func (e *TaskError) Unwrap() error { return e.Kind }

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

func valueErr(id transport.ObjectID, v transport.Value) error {
	if v.ErrKind == transport.ErrKindNone {
		return nil
	}
	return &TaskError{Object: id, Kind: kindErr(v.ErrKind), Msg: string(v.Data)}
}
