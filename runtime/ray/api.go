package ray

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"raysim/runtime/node"
	"raysim/runtime/objstore"
	"raysim/runtime/transport"
)

// Ref is a reference to the (future) result of a task, an actor method or a
// Put: an object of type T somewhere in the cluster.
type Ref[T any] struct {
	id  transport.ObjectID
	err error // set when the submission itself failed
}

// ObjectID is the object's ID.
func (r Ref[T]) ObjectID() transport.ObjectID { return r.id }

// refErr is why the ref names no object: its submission's error, or
// ErrZeroRef for a Ref no Remote, Put or RefOf made (a declared, unset
// variable), whose Get would otherwise wait for good on object zero.
func (r Ref[T]) refErr() error {
	if r.err == nil && r.id == (transport.ObjectID{}) {
		return ErrZeroRef
	}
	return r.err
}

// Err reports a failure to submit (nil for a valid reference).
func (r Ref[T]) Err() error { return r.err }

// String names the object.
func (r Ref[T]) String() string { return r.id.String() }

type refJSON struct {
	Task  uint64 `json:"task"`
	Index uint32 `json:"index"`
	Put   bool   `json:"put,omitempty"`
}

// MarshalJSON lets refs travel inside values (a task may return refs). A
// ref whose submission failed names no object and does not travel: its
// error is returned (as ActorHandle's), where it went as the zero ID, a ref
// with no error whose Get waited for good.
func (r Ref[T]) MarshalJSON() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	return json.Marshal(refJSON{Task: uint64(r.id.Task), Index: r.id.Index, Put: r.id.Put})
}

// UnmarshalJSON reads a ref written by MarshalJSON.
func (r *Ref[T]) UnmarshalJSON(b []byte) error {
	var j refJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Ref[T]{id: transport.ObjectID{Task: transport.TaskID(j.Task), Index: j.Index, Put: j.Put}}
	return nil
}

// RefOf rebuilds a typed reference from an object ID.
func RefOf[T any](id transport.ObjectID) Ref[T] { return Ref[T]{id: id} }

// caller is the driver or task ctx belongs to: ErrNotInRay for a ctx of
// none, and ErrWrongContext, in the simulator, for a call that does not
// run in that caller's coroutine (from a goroutine of the caller's own,
// or from another task handed this ctx), which would otherwise crash the
// process in netsim's suspension, or act as the other caller.
func caller(ctx context.Context) (*node.Caller, error) {
	c, ok := node.CallerFrom(ctx)
	if !ok {
		return nil, ErrNotInRay
	}
	if c.WrongCoroutine() {
		return nil, ErrWrongContext
	}
	return c, nil
}

// Get blocks until the object is available and returns its value, or the
// task's typed error. A task blocked in Get gives its CPU back meanwhile. A
// driver whose session has lost the cluster's head gets ErrHeadLost. On TCP
// a done ctx ends Get, Wait and GetActor with an error wrapping ctx.Err();
// in netsim a context is not watched (virtual time has no wall-clock
// deadline): bound a wait with GetTimeout's or Wait's timeout there.
func Get[T any](ctx context.Context, ref Ref[T]) (T, error) {
	return GetTimeout(ctx, ref, -1)
}

// GetTimeout is Get with a timeout (virtual time in netsim; <0: none; 0: a poll of what is here now). It
// returns ErrTimeout when the timeout passes first.
func GetTimeout[T any](ctx context.Context, ref Ref[T], timeout time.Duration) (T, error) {
	var zero T
	vs, err := GetAll(ctx, []Ref[T]{ref}, timeout)
	if err != nil {
		return zero, err
	}
	return vs[0], nil
}

// GetAll returns the values of several objects (timeout <0: none; 0: a poll). As
// Ray's get of a list, it returns as soon as one of them is an error,
// without waiting for the rest: the first error (in ref order) among those
// that have come.
func GetAll[T any](ctx context.Context, refs []Ref[T], timeout time.Duration) ([]T, error) {
	vals, err := getValues(ctx, refs, timeout)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(refs))
	for i, v := range vals {
		if out[i], err = Decode[T](v); err != nil {
			return nil, fmt.Errorf("ray: get %s: %w", refs[i].id, err)
		}
	}
	return out, nil
}

// ObjectRef is what every Ref[T] is, whatever its T: a handle on an
// object, as Ray's ObjectRef. A slice of them holds refs of different
// types, for WaitObjects and GetObjects (Ray's wait and get of a mixed
// list); a type switch or assertion (r.(ray.Ref[int])) gives the typed
// ref back. Only this package's refs implement it.
type ObjectRef interface {
	ObjectID() transport.ObjectID
	refErr() error
	elemType() reflect.Type
}

// GetObjects is GetAll over refs of different types: each value is
// decoded as its ref's type (an int for a Ref[int]) and returned in an
// any, in ref order. Errors as GetAll's.
func GetObjects(ctx context.Context, refs []ObjectRef, timeout time.Duration) ([]any, error) {
	vals, err := getValues(ctx, refs, timeout)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(refs))
	for i, v := range vals {
		p := reflect.New(refs[i].elemType())
		if err := decodeInto(p.Interface(), v.Data); err != nil {
			return nil, fmt.Errorf("ray: get %s: %w: %w", refs[i].ObjectID(), ErrDecode, err)
		}
		out[i] = p.Elem().Interface()
	}
	return out, nil
}

// checkRef is refErr, and ErrZeroRef for a nil ObjectRef (refs[i]).
func checkRef[R ObjectRef](r R, i int) error {
	if any(r) == nil {
		return fmt.Errorf("%w: refs[%d] is nil", ErrZeroRef, i)
	}
	return r.refErr()
}

// getValues is what GetAll and GetObjects share: the refs' values, or the
// first error among them.
func getValues[R ObjectRef](ctx context.Context, refs []R, timeout time.Duration) ([]transport.Value, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]transport.ObjectID, len(refs))
	for i, r := range refs {
		if err := checkRef(r, i); err != nil {
			return nil, err
		}
		ids[i] = r.ObjectID()
	}
	vals, err := c.Get(ctx, ids, timeout)
	if err != nil {
		return nil, err
	}
	reg, _ := c.Registry().(*Registry)
	for i, v := range vals { // the Get ended at the first error to arrive, perhaps before the rest
		if err := valueErr(reg, ids[i], v); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// Wait returns once numReturns of refs are available (or timeout passes; <0:
// none; 0: a poll of what is ready now), split into ready and not ready, each in the order given. As Ray's
// wait, ready holds at most numReturns refs (the first ready ones in the
// order given; the rest are in notReady, ready or not), so that a loop of
// Wait(rest, 1) takes one ref per round; numReturns must be 1 to len(refs)
// and the refs unique (ErrBadWait), and no refs return at once. A ref is
// ready once its object exists on some node (Ray's fetch_local=False: Wait
// does not fetch it here; a Get does); with FetchLocal, once it is here.
func Wait[T any](ctx context.Context, refs []Ref[T], numReturns int, timeout time.Duration, opts ...WaitOption) (ready, notReady []Ref[T], err error) {
	return wait(ctx, refs, numReturns, timeout, opts)
}

// WaitObjects is Wait over refs of different types (Ray's wait of a mixed
// list): the same rules, the same split.
func WaitObjects(ctx context.Context, refs []ObjectRef, numReturns int, timeout time.Duration, opts ...WaitOption) (ready, notReady []ObjectRef, err error) {
	return wait(ctx, refs, numReturns, timeout, opts)
}

// WaitOption changes what Wait counts as ready.
type WaitOption func(*waitOptions)

type waitOptions struct{ fetchLocal bool }

// FetchLocal makes Wait count a ref ready once its object is in the
// caller's node's object store, and fetch the objects that are elsewhere
// meanwhile, as Ray's wait with fetch_local=True (Ray's default; Wait's
// is fetch_local=False, ready once the object exists anywhere). When the
// Wait returns, the fetches of objects that have not come are taken back,
// as Ray's raylet cancels a wait's pulls: a poll (timeout 0) fetches
// nothing and reports the objects already here, so a loop that polls for
// remote objects needs a timeout above 0, or a Get.
func FetchLocal() WaitOption { return func(o *waitOptions) { o.fetchLocal = true } }

func wait[R ObjectRef](ctx context.Context, refs []R, numReturns int, timeout time.Duration, opts []WaitOption) (ready, notReady []R, err error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(refs) == 0 {
		return nil, nil, nil
	}
	if numReturns < 1 || numReturns > len(refs) {
		return nil, nil, fmt.Errorf("%w: numReturns %d of %d refs: want 1 to %d", ErrBadWait, numReturns, len(refs), len(refs))
	}
	ids := make([]transport.ObjectID, len(refs))
	for i, r := range refs {
		if err := checkRef(r, i); err != nil {
			return nil, nil, err
		}
		ids[i] = r.ObjectID()
	}
	if id, dup := dupObjectID(ids); dup {
		// As Ray's: a duplicate would count twice toward numReturns.
		return nil, nil, fmt.Errorf("%w: %s is in the list twice: want unique refs", ErrBadWait, id)
	}
	var o waitOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	var ok []bool
	if o.fetchLocal {
		ok, err = c.WaitLocal(ctx, ids, numReturns, timeout)
	} else {
		ok, err = c.Wait(ctx, ids, numReturns, timeout)
	}
	for i, r := range refs {
		if ok[i] && len(ready) < numReturns {
			ready = append(ready, r)
		} else {
			notReady = append(notReady, r)
		}
	}
	return ready, notReady, err
}

// Put stores a value in the local object store and returns its reference.
// A value larger than the whole store is refused with ErrObjectTooLarge, as
// Ray's put raises (a task's too-large result becomes that error on its ref).
func Put[T any](ctx context.Context, v T) (Ref[T], error) {
	c, err := caller(ctx)
	if err != nil {
		return Ref[T]{}, err
	}
	val, err := Encode(v)
	if err != nil {
		return Ref[T]{}, err
	}
	id, err := c.Put(val)
	if errors.Is(err, objstore.ErrTooLarge) {
		return Ref[T]{}, fmt.Errorf("%w: %v", ErrObjectTooLarge, err)
	}
	return Ref[T]{id: id}, err
}

// Cancel cancels the task that makes ref: a queued task never runs, a
// running one is interrupted, as Ray's non-forced cancel raises
// KeyboardInterrupt in it: its Compute, Get or Wait (the one blocked now,
// or the next) returns an error wrapping ErrCancelled, and a running task
// declared with a Duration ends its duration there and never starts its
// code. Code that blocks on nothing can ask Cancelled. Whatever the task
// returns, its result is ErrCancelled, and a cancelled task is not retried
// when its node dies. As Ray's recursive cancel, the tasks and actor calls
// a running task submitted, and submits once cancelled, are cancelled too
// (NonRecursive leaves them alone). Get on the ref then returns an error
// wrapping ErrCancelled. Actor method calls are cancelled the same way, as
// in Ray: a queued call never runs, and a running one is not interrupted
// (Cancelled tells its code). As in Ray it is best effort: a task this
// node knows finished is left alone (a no-op), and one that finishes
// before the cancel reaches it keeps its value (see
// docs/fault-tolerance.md). A result recorded as ErrCancelled stays so:
// the task table keeps the cancel, and a copy lost with its node is not
// rebuilt by running the task. An actor's creation is never cancelled:
// Kill ends an actor. A ref whose submission failed makes Cancel return
// its error; a ref made by Put, which no task makes, is refused with
// ErrInvalidOption (as Ray's cancel takes task refs only).
//
// With Force (Ray's force=True) a running task does not get to finish:
// see Force.
func Cancel[T any](ctx context.Context, ref Ref[T], opts ...CancelOption) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	if err := ref.refErr(); err != nil {
		return err // no task to cancel: its submission failed
	}
	if ref.id.Put {
		// No task makes a Put object (its ID names the task that put it,
		// which a cancel would end instead): nothing to cancel, and Ray's
		// cancel takes task refs only.
		return fmt.Errorf("%w: Cancel of %s: an object made by Put, not a task's result (only a task's ref can be cancelled)", ErrInvalidOption, ref.id)
	}
	var mode node.CancelMode
	for _, o := range opts {
		if o != nil {
			o(&mode)
		}
	}
	if err := c.Cancel(ref.id.Task, mode); err != nil {
		if errors.Is(err, node.ErrForceActorTask) {
			return fmt.Errorf("%w: %w", ErrInvalidOption, err)
		}
		return err
	}
	return nil
}

// CancelOption changes how Cancel ends a task: Force, NonRecursive.
type CancelOption func(*node.CancelMode)

// Force makes Cancel end a running task as Ray's ray.cancel(force=True)
// does, by killing the worker that runs it: Get on the ref returns at once
// an error wrapping both ErrCancelled and ErrWorkerCrashed (Ray raises
// WorkerCrashedError), the task's CPU (and GPUs, and other resources) go
// back to its node at once, and it is not retried. The force reaches the
// tasks it submitted too (unless NonRecursive). A queued task is
// dropped as by any cancel.
//
// Go cannot kill a goroutine, so the task's code is not stopped: its run
// is abandoned. Its current block (Compute, Get, Wait) ends, every later
// Get, Wait, Compute or yield returns ErrCancelled at once, the tasks it
// submits are cancelled, and whatever it returns is discarded. In the
// simulator user code takes no virtual time between runtime calls, so it
// unwinds at once (if it checks those errors); on TCP, code busy in a loop
// that never calls ray runs on until it returns, on a CPU its node has
// already given to another task: the node is oversubscribed meanwhile, as
// it is by a task blocked in Get.
//
// As Ray does, Cancel refuses Force for an actor method call (an error
// wrapping ErrInvalidOption): Kill ends an actor. Only a call the caller
// submitted is recognised as one; a borrowed ref of a method call is
// cancelled at its actor without force.
func Force() CancelOption { return func(m *node.CancelMode) { *m |= node.CancelForce } }

// NonRecursive makes Cancel leave alone the tasks and actor calls the
// cancelled task submitted, as Ray's ray.cancel(recursive=False): only the
// task itself ends (a running normal task's later submissions are left
// alone too; a running actor call's later ones are still cancelled).
func NonRecursive() CancelOption { return func(m *node.CancelMode) { *m |= node.CancelShallow } }

// Cancelled reports whether the calling task (or actor method call) was
// cancelled while it ran, as Ray's is_canceled does: its result will be
// ErrCancelled whatever it returns, so a long task can check now and then
// and stop early. False outside a task, and in a method of an actor that
// replays its methods (ReplayMethods): a replay must do what the first run
// did, and the log keeps no cancel.
func Cancelled(ctx context.Context) bool {
	c, err := caller(ctx)
	return err == nil && c.Cancelled()
}

// ActorRestarted reports whether the calling actor method runs in an actor
// the GCS restarted (after its process or node died), whose state is what
// its checkpoint and replay rebuilt; false outside an actor's method.
func ActorRestarted(ctx context.Context) bool {
	c, err := caller(ctx)
	return err == nil && c.ActorRestarted()
}

// Rebuilding reports whether the calling task or actor method runs to
// rebuild a result that was lost (lineage reconstruction), not as its
// submitter sent it. Ray has no such call; raysim's own workloads use it to
// tell a rebuild of an actor call, which runs outside its caller's order
// (see the Actor restart row of docs/fault-tolerance.md) and may run again
// on an instance that ran it before, from a call run out of order or twice.
// False outside a task.
func Rebuilding(ctx context.Context) bool {
	c, err := caller(ctx)
	return err == nil && c.Rebuild()
}

// Free says the caller is done with the objects of refs, as Ray's
// internal free does: every copy is dropped from the object stores (a copy
// a running task reads, once the task is done with it), so a long run's
// stores hold only what is still wanted. raysim has no distributed
// reference counting: a ref's objects stay until it is freed or its node
// dies. Free does not wait for the drops. A ref freed before its task
// finished frees nothing. Unlike Ray's free, after which a Get of the ref
// fails, a later Get of a freed ref here rebuilds the object from lineage,
// as for a lost one: the task runs again, silently, and the value comes
// back (a Put object cannot be rebuilt: its Get fails with
// ErrObjectLost). A ref whose
// submission failed makes Free return its error and free nothing.
func Free[T any](ctx context.Context, refs ...Ref[T]) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	ids := make([]transport.ObjectID, len(refs))
	for i, r := range refs {
		if err := r.refErr(); err != nil {
			return err // names no object; nothing is freed, as Get and Wait do nothing
		}
		ids[i] = r.id
	}
	c.Free(ids)
	return nil
}

// Compute spends d of CPU time in the calling task: virtual time in netsim
// (the task's worker is busy), a sleep on TCP. In a task that is cancelled
// (Cancel) it ends at once with an error wrapping ErrCancelled, as do Get
// and Wait: a cancel interrupts a running task at its current or next
// block, as Ray's raises KeyboardInterrupt in it. On TCP it also ends at
// once, with an error wrapping ctx.Err(), when ctx is done (as Get and
// Wait do), and in a driver with an error wrapping ErrClosed when its
// cluster or session closes.
func Compute(ctx context.Context, d time.Duration) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	return c.ComputeCtx(ctx, d)
}

// Now is the calling node's clock (virtual in netsim): a wall clock,
// which netsim's skew_clock offsets. Measure intervals with Mono.
func Now(ctx context.Context) time.Time {
	c, err := caller(ctx)
	if err != nil {
		return time.Now()
	}
	return c.Now()
}

// Mono is the calling node's monotonic clock, for measuring intervals
// (pacing, timing): skew_clock does not move it. On TCP it is time.Now,
// whose readings Sub compares on the monotonic clock.
func Mono(ctx context.Context) time.Time {
	c, err := caller(ctx)
	if err != nil {
		return time.Now()
	}
	return c.Mono()
}

// TaskID is the ID of the calling task (the driver's root ID in a driver).
func TaskID(ctx context.Context) transport.TaskID {
	if c, err := caller(ctx); err == nil {
		return c.TaskID()
	}
	return 0
}

// ActorID is the ID of the actor whose method or constructor calls it
// (its ActorHandle's ID), and 0 in a task or a driver: Ray's
// get_runtime_context().get_actor_id(), which is None there. A method
// can hand itself to others with ActorHandleOf(ray.ActorID(ctx)).
func ActorID(ctx context.Context) transport.ActorID {
	if c, err := caller(ctx); err == nil {
		return c.ActorID()
	}
	return 0
}

// PlacementGroupID is the ID of the placement group the calling task, or
// the actor whose method or constructor calls it, runs in
// (InPlacementGroup, or a capturing parent's group), and 0 elsewhere (a
// driver never runs in one), as Ray's get_current_placement_group() is
// None there. Ray's returns a handle; here it is the group's ID alone
// (compare it with PlacementGroup.ID): a task that submits into its
// group is given the handle (it travels as a value), or runs with
// CaptureChildTasks, whose children join the group by themselves.
func PlacementGroupID(ctx context.Context) transport.GroupID {
	if c, err := caller(ctx); err == nil {
		return c.GroupID()
	}
	return 0
}

// NodeOf is the node the calling code runs on.
func NodeOf(ctx context.Context) transport.NodeID {
	if c, err := caller(ctx); err == nil {
		return c.Node()
	}
	return 0
}

// GPUIDs returns the GPU devices the calling task or actor holds on its
// node, as Ray's ray.get_gpu_ids(): each an index from 0 to the node's GPU
// count less one (what Ray would put in CUDA_VISIBLE_DEVICES), in the
// order they were assigned. A fractional request (GPUs(0.5)) holds one
// device, shared with the other fractions placed on it; a whole request
// as many devices as it asks for, each its own. An actor's methods and
// constructor see the actor's devices, held for its life. A placement
// group's bundle holds devices of its own, set aside with it: a task or
// actor in the bundle asking for GPUs gets what it asks for out of them,
// as from a node's (a fraction from one of the bundle's devices, a whole
// number from as many of its devices wholly free; one that does not fit
// the bundle's free devices waits), as Ray gives each its share of the
// bundle's GPUs. Empty for a driver and for a task or actor that asked
// for no GPU. ErrNotInRay if ctx is no driver's or task's.
func GPUIDs(ctx context.Context) ([]int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return c.GPUIDs(), nil
}

// ExitActor ends the actor whose method calls it, for good, as Ray's
// ray.actor.exit_actor(): once the method returns, the actor is dead, its
// resources free and its name too. Its calls not yet run, and every later
// call, fail with ErrActorDied saying it exited itself, and so does the
// calling method's own result, whatever it returns (Ray's get of that
// method raises ActorDiedError); results of calls that finished before it
// stand. No restart follows, whatever MaxRestarts allows: the exit is
// intended, as a ray.Kill is. Go has no exception to unwind the method
// with, so the method goes on to its return: return right after. On a
// threaded actor (MaxConcurrency, ConcurrencyGroups) the methods running
// beside it are ended with it, their results lost as a kill's are.
// Called anywhere but in an actor's method (a task, a driver, a
// constructor) it is ErrNotInActor and does nothing.
func ExitActor(ctx context.Context) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	if !c.ExitActor() {
		return fmt.Errorf("%w: ExitActor called outside an actor's method (in task %s)", ErrNotInActor, c.TaskID())
	}
	return nil
}
