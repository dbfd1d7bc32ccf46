package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"raysim/runtime/objstore"
	"raysim/runtime/transport"
)

// Caller is user code's handle on the runtime: a driver, or the task or
// actor method running on a worker. It derives the IDs of what it submits
// from its own task ID (determinism rule 4). Its methods are called from user
// code (off the loop) and reach the raylet through Env.Await.
type Caller struct {
	r      *Raylet
	task   transport.TaskID
	t      *task // the running task (nil for drivers and actors)
	driver bool  // a driver's (NewDriver): its blocked calls end on Abandon
	// ended: the driver has returned (End): its ctx carries no caller.
	// Atomic: on TCP a goroutine the driver leaked its ctx to reads it
	// (CallerFrom) while the driver's goroutine sets it.
	ended atomic.Bool
	puts  uint32 // the Puts so far (read and written on the loop: see Put)
	// coro is the simulator's coroutine the caller's code runs in, bound
	// by its first API call (WrongCoroutine); 0: not yet, or on TCP.
	coro uint64
	// actor is the actor whose constructor or method the caller runs (0:
	// none); group the placement group its task or actor runs in (0:
	// none). Both fixed when the caller is made.
	actor transport.ActorID
	group transport.GroupID
	// limited holds, per actor, the calls SubmitLimited submitted (under
	// sub) that were not yet found finished.
	limited map[transport.ActorID][]transport.TaskID
	// sub guards what Submit numbers on the calling goroutine: a driver's
	// goroutines may submit at once on TCP, and two submissions given one
	// index would make one task, two actor calls given one sequence number
	// a gap the actor waits on for good. Held through the hand-off to the
	// loop, so one caller's calls reach the raylet in sequence order.
	sub      sync.Mutex
	children uint64
	seqs     map[transport.ActorID]uint64
	ev       transport.Event // Submit's event
	// posted are the submissions on their way to the loop (an Env that
	// does not post inline: TCP), in submission order, guarded by sub. The
	// first of a run posts takePosted, which takes them all: a burst costs
	// the loop one item, not one per task. takeFn is takePosted, bound
	// once; postedSpare is the loop's (takePosted's) spare room.
	posted, postedSpare []*transport.TaskSpec
	takeFn              func()

	// blocks are what a cancel interrupts in a normal task's code, set
	// and read on the loop only: each Compute, Get or Wait blocked now, in
	// the order they began. A task's code may block in several goroutines
	// at once on TCP (as a Ray task's threads call ray.get), so each block
	// keeps its own verdict and a cancel ends them all.
	blocks []blocker
	// kids are the tasks and actor calls a task or an actor method call
	// submitted so far (not its actors' creations), as their specs reached
	// the loop: a cancel of it cancels them too (Ray's recursive cancel).
	kids []transport.TaskID
	// opened are the streams with backpressure this task or method call
	// submitted (OpenStream), closed when it ends (closeStreams); on the
	// loop only.
	opened []transport.TaskID
	// flowErr is why a Yield's backpressure ended it early (ErrCancelled,
	// ErrOwnerDied; see stream.go), set on the loop before its wake.
	flowErr error
	// capture is the placement group the tasks and actors this caller
	// submits run in unless they name a scheduling strategy (0: none):
	// its task's, or its actor's, when that runs in a group with
	// CaptureChildTasks. Set before user code runs, then only read.
	capture transport.GroupID
	// job is the job of the tasks and actors this caller submits
	// (TaskSpec.Job): its own for a driver (NewJobDriver), its task's job
	// for a task, its actor's for an actor's code (none, 0, for a
	// detached actor's). Set as the caller is made (jobFor), then only
	// read.
	job transport.JobID
	// ns is the namespace the caller's code finds and names actors in
	// (Ray's namespace) when not an anonymous one: a driver's as
	// SetNamespace set it, the one its task's or actor's creation spec
	// carries (SpecExtra.Namespace) for a task's or actor's code. Empty:
	// the anonymous namespace of nsJob (transport.AnonymousNamespace),
	// kept as the job alone so that a task's caller builds no string. The
	// tasks and actors the caller submits carry it when it is not their
	// job's anonymous one. Guarded by sub.
	ns    string
	nsJob transport.JobID
	// knownCalls are the call defaults of the actors the caller asked
	// about (ActorCalls); guarded by sub.
	knownCalls map[transport.ActorID]transport.CallDefaults
	// nsAct is the Act of the normal tasks the caller submits when they
	// carry ns (see stampNamespace), shared; guarded by sub.
	nsAct *transport.ActorSpec
	// jobAct is the Act of the normal tasks the caller submits when their
	// job is not their owner's node's (see Submit), shared; guarded by
	// sub.
	jobAct *transport.ActorSpec
	// ownActors and ownGroups are the actors (not detached) and placement
	// groups (not detached) a driver created, which its job's end ends
	// wherever they are (EndJob); guarded by sub.
	ownActors []ownActor
	ownGroups []transport.GroupID
}

// ownActor is an actor a driver created (Caller.ownActors).
type ownActor struct {
	id   transport.ActorID
	name string
}

// captureOf is the group a task's (or actor's creation's) spec makes its
// code's submissions run in (Caller.capture): its own, if it captures.
func captureOf(spec *transport.TaskSpec) transport.GroupID {
	if !spec.CaptureChildTasks {
		return 0
	}
	g, _ := transport.GroupOf(spec.Resources)
	return g
}

// CaptureGroup is the placement group the caller's submissions without a
// scheduling strategy of their own run in, in any bundle (0: none): the
// group its task or actor runs in, when that captures child tasks (Ray's
// placement_group_capture_child_tasks, which propagates to them).
func (c *Caller) CaptureGroup() transport.GroupID { return c.capture }

type callerKey struct{}

func (r *Raylet) newCaller(id transport.TaskID, t *task) *Caller {
	c := &Caller{r: r, task: id, t: t, job: r.jobFor(t)}
	c.ns, c.nsJob = namespaceFor(t, c.job)
	c.placeIn(t)
	return c
}

// namespaceFor is the namespace of the code of t (Caller.ns, nsJob):
// the one its spec carries, an actor's code its creation's, else the
// anonymous one of the spec's job; a driver's (t nil) its job's (job)
// anonymous one.
func namespaceFor(t *task, job transport.JobID) (string, transport.JobID) {
	switch {
	case t == nil:
		return "", job
	case t.actor != nil:
		return t.actor.creation.spec.A().Namespace(), t.actor.creation.spec.Job()
	default:
		return t.spec.A().Namespace(), t.spec.Job()
	}
}

// Namespace is the namespace the caller finds and names actors in (Ray's
// namespace; see Caller.ns).
func (c *Caller) Namespace() string {
	c.sub.Lock()
	defer c.sub.Unlock()
	return c.namespace()
}

// namespace is Namespace with c.sub held.
func (c *Caller) namespace() string {
	if c.ns != "" {
		return c.ns
	}
	return transport.AnonymousNamespace(c.nsJob)
}

// ErrNotDriver: a call only a driver makes (SetNamespace) came from a
// task's or an actor's code.
var ErrNotDriver = errors.New("ray: not a driver")

// SetNamespace makes ns the namespace of a driver (Ray's
// ray.init(namespace=...)): the actors it names from now on, the names
// it looks up, and the code of the tasks and actors it submits from now
// on. ns must pass transport.CheckNamespace; the caller must be a
// driver's (a task's or actor's code has its job's, ErrNotDriver).
func (c *Caller) SetNamespace(ns string) error {
	if !c.driver {
		return fmt.Errorf("%w: only a driver sets its namespace; a task's or actor's code runs in its job's", ErrNotDriver)
	}
	if err := transport.CheckNamespace(ns); err != nil {
		return err
	}
	c.sub.Lock()
	defer c.sub.Unlock()
	c.ns = ns
	return nil
}

// placeIn sets the actor and placement group the caller of t runs in
// (ActorID, GroupID), on the loop as the caller is made; t nil: none (a
// driver; an actor's constructor sets its own).
func (c *Caller) placeIn(t *task) {
	switch {
	case t == nil:
	case t.actor != nil:
		c.actor = t.actor.id
		c.group, _ = transport.GroupOf(t.actor.creation.spec.Resources)
	default:
		c.group, _ = transport.GroupOf(t.spec.Resources)
	}
}

// ActorID is the actor whose constructor or method the caller runs (0
// in a task or a driver).
func (c *Caller) ActorID() transport.ActorID { return c.actor }

// GroupID is the placement group the caller's task, or its actor, runs
// in (0: none).
func (c *Caller) GroupID() transport.GroupID { return c.group }

// jobFor is the job of what the code of t submits (Caller.job): a normal
// task's own job, its actor's for a method call (actorJob), this node's
// first driver's for a driver (t nil: NewJobDriver sets another; an
// actor's constructor sets its own).
func (r *Raylet) jobFor(t *task) transport.JobID {
	switch {
	case t == nil:
		return transport.JobOf(r.self, 0)
	case t.actor != nil:
		return actorJob(t.actor.creation.spec)
	default:
		return t.spec.Job()
	}
}

// actorJob is the job of what an actor's code submits: its creation's,
// or none (0) for a detached actor, which outlives its creator's job, as
// what it submits must.
func actorJob(creation *transport.TaskSpec) transport.JobID {
	if creation.A().Detached {
		return 0
	}
	return creation.Job()
}

// NewDriver returns the caller of a driver program running on this node, with
// root task ID id, in the node's first driver's job (transport.JobOf(node,
// 0)), which ends with the node (a live cluster's session: its raylet is
// the driver's). It may be used from any goroutine on TCP, and from a
// coroutine started by Env.Go in netsim.
func (r *Raylet) NewDriver(id transport.TaskID) *Caller {
	return r.NewJobDriver(id, 0)
}

// NewJobDriver is NewDriver for the driver numbered n among those started
// on this node (counted across its incarnations by whoever starts them):
// its job is transport.JobOf(node, n), and EndJob ends it as the driver
// returns, leaving the node's other drivers' jobs be.
func (r *Raylet) NewJobDriver(id transport.TaskID, n uint32) *Caller {
	c := r.newCaller(id, nil)
	c.driver = true
	c.job = transport.JobOf(r.self, n)
	c.nsJob = c.job
	return c
}

// Job is the job of what the caller submits (0: none, a detached actor's
// code).
func (c *Caller) Job() transport.JobID { return c.job }

// Context carries the caller; runtime/ray finds it with CallerFrom.
func (c *Caller) Context() context.Context { return c }

// A Caller is itself the context user code receives (it carries no
// deadline and is never cancelled: user code in netsim has no wall clock),
// which saves building a context per task.
var _ context.Context = (*Caller)(nil)

// Deadline implements context.Context: none.
func (c *Caller) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context: never.
func (c *Caller) Done() <-chan struct{} { return nil }

// Err implements context.Context: never cancelled.
func (c *Caller) Err() error { return nil }

// Value implements context.Context: the caller itself under its key.
func (c *Caller) Value(key any) any {
	if key == (callerKey{}) {
		return c
	}
	return nil
}

// WithContext binds the caller to a user context (for cancellation on TCP).
func (c *Caller) WithContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller bound to ctx.
func CallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.(*Caller)
	if !ok {
		c, ok = ctx.Value(callerKey{}).(*Caller)
	}
	if ok && c.ended.Load() {
		return nil, false
	}
	return c, ok
}

// End marks a driver's caller as returned, so that a ctx it leaked (kept
// by a goroutine or a closure past the driver's return) carries no
// caller: the ray API then answers ErrNotInRay, where in netsim the call
// would have blocked outside any coroutine. Call it on the driver's own
// coroutine, as it returns.
func (c *Caller) End() { c.ended.Store(true) }

// WrongCoroutine reports whether the call being made cannot be this
// caller's: in the simulator, it does not run in the caller's coroutine,
// the one its first call came from (its driver's or task's): the call
// comes from a goroutine of its own while that coroutine is suspended or
// another runs, or from another task handed this caller's ctx. A
// suspension there would break netsim's rule (it panics, or two
// goroutines share one coroutine). Not caught: a goroutine calling while
// the caller's coroutine itself runs, blocked outside the runtime (in a
// sync.WaitGroup's Wait, say), for it is that coroutine as netsim sees
// it. Always false on TCP, where any goroutine may call, and for an Env
// that cannot tell. Call it from the calling goroutine.
func (c *Caller) WrongCoroutine() bool {
	ce, ok := c.r.env.(interface{ Coroutine() uint64 })
	if !ok {
		return false
	}
	id := ce.Coroutine()
	if id == 0 {
		return true
	}
	if c.coro == 0 {
		c.coro = id // a fresh Caller (each run of a task has its own): bound by its first call
	}
	return c.coro != id
}

// TaskID is the ID of the running task (or the driver's root ID).
func (c *Caller) TaskID() transport.TaskID { return c.task }

// Node is the node the caller runs on.
func (c *Caller) Node() transport.NodeID { return c.r.self }

// Registry is the function table of the caller's node (Config.Registry).
func (c *Caller) Registry() Registry { return c.r.cfg.Registry }

// Now is the caller's node's clock (virtual in netsim; skewed by
// skew_clock).
func (c *Caller) Now() time.Time {
	var t time.Time
	c.r.env.Await(func(wake func()) { t = c.r.env.Now(); wake() })
	return t
}

// Mono is the caller's node's monotonic clock (transport.Monotonic).
func (c *Caller) Mono() time.Time {
	var t time.Time
	c.r.env.Await(func(wake func()) { t = c.r.mono.Now(); wake() })
	return t
}

// NextID is the ID the caller's next Submit will assign (IDs derive from
// the caller's task and its count of children, so a re-run of the task
// assigns the IDs its first run did). Another goroutine's Submit in
// between takes it first.
func (c *Caller) NextID() transport.TaskID {
	c.sub.Lock()
	defer c.sub.Unlock()
	return transport.ChildTaskID(c.task, c.children)
}

// Submit assigns the task its derived ID and submits it on this node. For an
// actor method call it also assigns the per-(caller, actor) sequence number.
func (c *Caller) Submit(spec *transport.TaskSpec) transport.TaskID {
	c.sub.Lock()
	defer c.sub.Unlock()
	spec.ID = transport.ChildTaskID(c.task, c.children)
	c.children++
	return c.submitLocked(spec)
}

// Reserve takes the ID the caller's next Submit would assign, for a
// submission made later with SubmitReserved (a creation that first claims
// its actor's name: ClaimActorName). A reserved ID never submitted is
// simply skipped, as a task's count of children moves on.
func (c *Caller) Reserve() transport.TaskID {
	c.sub.Lock()
	defer c.sub.Unlock()
	id := transport.ChildTaskID(c.task, c.children)
	c.children++
	return id
}

// SubmitReserved is Submit under an ID Reserve returned.
func (c *Caller) SubmitReserved(spec *transport.TaskSpec, id transport.TaskID) transport.TaskID {
	c.sub.Lock()
	defer c.sub.Unlock()
	spec.ID = id
	return c.submitLocked(spec)
}

// stampNamespace makes a normal task's or a creation's spec carry the
// caller's namespace when it is not the anonymous one of the spec's job
// (SpecExtra.Namespace): a task's code, or the actor's, then runs in it.
// A spec in its job's anonymous namespace is as long as before
// namespaces. Method calls carry none: a method runs in its actor's
// namespace. c.sub is held.
func (c *Caller) stampNamespace(spec *transport.TaskSpec) {
	job := spec.Job()
	if c.ns == "" && c.nsJob == job {
		return // the common case: no string built
	}
	ns := c.namespace()
	if ns == transport.AnonymousNamespace(job) || ns == spec.A().Namespace() {
		return
	}
	withNS := func(a *transport.ActorSpec) {
		x := new(transport.SpecExtra)
		if a.Extra != nil {
			*x = *a.Extra
		}
		x.Namespace = ns
		a.Extra = x
	}
	if spec.Act == nil || spec.Act == c.jobAct {
		// A normal task's whole Act is its job and namespace: one copy
		// serves all of them, as jobAct does.
		if a := c.nsAct; a == nil || a.Job != spec.A().Job || a.JobSet != spec.A().JobSet || a.Extra.Namespace != ns {
			c.nsAct = &transport.ActorSpec{JobSet: spec.A().JobSet, Job: spec.A().Job}
			withNS(c.nsAct)
		}
		spec.Act = c.nsAct
		return
	}
	spec.SetAct(withNS)
}

// SubmitLimited submits an actor method call (spec.Actor set) unless
// limit or more of this caller's calls to the actor submitted by
// SubmitLimited have not finished yet (Ray's max_pending_calls: a
// finished call is one whose owner, this node, no longer follows it, its
// result or failure in); ok is false then, and nothing is submitted. The
// count is the caller's own (a task run's, or a driver's): the nearest
// thing here to Ray's per-process count of a handle's calls. Only when
// the calls on record reach limit does it ask the loop which of them are
// done, so a caller far below its limit pays nothing for it.
func (c *Caller) SubmitLimited(spec *transport.TaskSpec, limit int) (id transport.TaskID, ok bool) {
	actor := spec.Actor
	c.sub.Lock()
	if len(c.limited[actor]) >= limit {
		ids := slices.Clone(c.limited[actor])
		c.sub.Unlock() // the loop's takePosted takes sub: not held across the Await
		var done []transport.TaskID
		c.r.env.Await(func(wake func()) {
			r := c.r
			r.drainSubmits() // a call just posted is owned first
			for _, id := range ids {
				if r.owned[id] == nil {
					done = append(done, id)
				}
			}
			wake()
		})
		c.sub.Lock()
		c.limited[actor] = slices.DeleteFunc(c.limited[actor], func(id transport.TaskID) bool { return slices.Contains(done, id) })
		if len(c.limited[actor]) == 0 {
			delete(c.limited, actor)
		}
		if len(c.limited[actor]) >= limit {
			c.sub.Unlock()
			return 0, false
		}
	}
	defer c.sub.Unlock()
	spec.ID = transport.ChildTaskID(c.task, c.children)
	c.children++
	if c.limited == nil {
		c.limited = make(map[transport.ActorID][]transport.TaskID)
	}
	c.limited[actor] = append(c.limited[actor], spec.ID)
	return c.submitLocked(spec), true
}

// submitLocked submits spec under the ID it was given; c.sub is held.
func (c *Caller) submitLocked(spec *transport.TaskSpec) transport.TaskID {
	spec.Parent = c.task
	spec.Owner = c.r.self
	// The job travels only when it is not the owner's (TaskSpec.JobNode):
	// a driver's submissions are as long on the wire as before jobs were.
	job := c.job
	otherJob := job != transport.JobOf(c.r.self, 0)
	if spec.IsCreation() {
		spec.Actor = spec.ID
		if c.driver && !spec.A().Detached {
			c.ownActors = append(c.ownActors, ownActor{spec.ID, spec.A().Name})
		}
	} else if spec.Actor != 0 {
		if c.seqs == nil {
			c.seqs = make(map[transport.ActorID]uint64)
		}
		seq := c.seqs[spec.Actor]
		c.seqs[spec.Actor]++
		spec.SetAct(func(a *transport.ActorSpec) {
			a.Caller, a.Seq = c.task, seq
			if otherJob {
				a.JobSet, a.Job = true, job
			}
		})
		otherJob = false
	}
	if otherJob {
		if spec.Act == nil {
			// A normal task's whole Act is its job: the caller's one
			// copy serves all of them (specs share an Act, which nobody
			// edits in place), so a spec costs no allocation for it.
			if c.jobAct == nil || c.jobAct.Job != job {
				c.jobAct = &transport.ActorSpec{JobSet: true, Job: job}
			}
			spec.Act = c.jobAct
		} else {
			spec.SetAct(func(a *transport.ActorSpec) { a.JobSet, a.Job = true, job })
		}
	}
	if spec.Actor == 0 || spec.IsCreation() {
		c.stampNamespace(spec)
	}
	if spec.NumReturns == 0 && !spec.IsCreation() {
		spec.NumReturns = 1
	}
	// The task is submitted now, as the caller sees it (Ray counts a task's
	// latency from .remote()): the event is emitted here, not when the
	// raylet gets to it, so the queue a burst builds counts in the latency
	// on TCP as in netsim. Object.Task names the parent (the submitting
	// task or driver), so a trace can nest dynamic task graphs.
	c.ev = transport.Event{Kind: transport.EvTaskSubmitted, Node: c.r.self, Task: spec.ID, Object: transport.ObjectID{Task: spec.Parent}, Detail: spec.Name}
	c.r.env.Emit(&c.ev)
	c.ev = transport.Event{}
	// Submission is asynchronous, as a core worker's is: the spec joins the
	// raylet's queue of work (it runs when the raylet is free) and the
	// caller goes on, so a burst of submissions builds a queue.
	if c.r.inlinePost {
		c.submitted(spec) // what Post would do at once, without its closure
		return spec.ID
	}
	// Posted under sub, as the Post of each submission was: a submission
	// that finds others waiting returns once an item that takes it is in
	// the loop's inbox, so whatever this caller posts next (a Get) comes
	// after it. takePosted empties the queue before another is posted, so
	// the loop never waits for sub while this blocks on a full inbox.
	c.posted = append(c.posted, spec)
	if len(c.posted) == 1 {
		if c.takeFn == nil {
			c.takeFn = c.takePosted
		}
		c.r.env.Post(c.takeFn)
	}
	return spec.ID
}

// takePosted hands the submissions posted so far to submitted, in order
// (on the loop).
func (c *Caller) takePosted() {
	c.sub.Lock()
	q := c.posted
	c.posted = c.postedSpare[:0]
	c.sub.Unlock()
	for i, spec := range q {
		q[i] = nil
		c.submitted(spec)
	}
	c.postedSpare = q[:0]
}

// Put stores a value in this node's object store and returns its ID.
//
// A value larger than the whole store is refused (objstore.ErrTooLarge),
// as Ray's put raises: no object is made, where a task's too-large result
// becomes an error value its readers get.
func (c *Caller) Put(v transport.Value) (transport.ObjectID, error) {
	if capacity, size := c.r.store.Capacity(), v.SizeOf(); capacity > 0 && size > capacity {
		return transport.ObjectID{}, fmt.Errorf("%w: a put of %d bytes, the store holds %d", objstore.ErrTooLarge, size, capacity)
	}
	c.copyIn(v, 1)
	var id transport.ObjectID
	c.r.env.Await(func(wake func()) {
		// Numbered on the loop: a driver's goroutines may put at once (on
		// TCP), and two Puts given one index would make one object, the
		// second Put's ref reading the first's value.
		id = transport.ObjectID{Task: c.task, Index: c.puts, Put: true}
		c.puts++
		c.r.put(id, v, true)
		c.r.madeFor(c.job, id)
		wake()
	})
	return id, nil
}

// ErrNotGenerator: Yield outside a running task or actor method call (a
// driver, an actor's constructor): only a call's run has returns of its
// own to stream.
var ErrNotGenerator = errors.New("ray: yield outside a running task")

// Yield stores v as return index of the caller's running task and
// announces it, while the task goes on (a streaming generator's item,
// Ray's num_returns="streaming": each yielded value is its own object,
// readable before the task ends). The readers of that object wake as for
// any result; a retry or a rebuild of the task stores the same indices
// again (so does an actor's replay of the call). A cancel of a normal task
// makes it return ErrCancelled without storing v, so that the generator
// stops (an actor method is not interrupted: Cancelled tells it); a value
// larger than the whole store is
// stored as an ErrObjectTooLarge value, as a task's result is.
//
// With backpressure (the spec's Backpressure n; see stream.go) Yield then
// blocks while n or more stored items are not yet taken by the caller,
// unless last (the error a generator ends with: its end follows at once);
// a cancel ends the block (ErrCancelled), and so does the owner's death
// (ErrOwnerDied, then every later Yield of the run).
func (c *Caller) Yield(index uint32, v transport.Value, last bool) error {
	if c.t == nil {
		return ErrNotGenerator
	}
	c.copyIn(v, 1)
	cancelled := false
	c.r.env.Await(func(wake func()) {
		c.flowErr = nil
		if cancelled = c.cancelledNow(); cancelled {
			wake()
			return
		}
		c.r.put(transport.ObjectID{Task: c.task, Index: index}, v, true)
		c.r.madeFor(c.t.spec.Job(), transport.ObjectID{Task: c.task, Index: index})
		if !last && c.t.spec.Backpressure() != 0 && c.r.throttle(c, index, wake) {
			return // the wait wakes the code
		}
		wake()
	})
	if cancelled {
		return ErrCancelled
	}
	return c.flowErr // set on the loop before the wake
}

// ErrTimeout is returned by Get when its timeout passes first.
var ErrTimeout = errors.New("ray: timed out (the timeout passed before the object was ready)")

// ErrCancelled is returned by a cancelled task's Get, Wait and Compute: a
// cancel interrupts a running normal task at its next (or current) block,
// as Ray's raises KeyboardInterrupt in it. Its result is ErrCancelled
// whatever it returns. Actor method calls are not interrupted (Ray does not
// interrupt a running call of a threaded or synchronous actor).
var ErrCancelled = errors.New("ray: task cancelled")

// interruptible reports whether a cancel interrupts this caller's code: a
// normal task's, not a driver's or an actor's. Call it on the loop.
func (c *Caller) interruptible() bool { return c.t != nil && c.t.actor == nil }

// cancelledNow reports, on the loop, as a block begins, whether the
// caller's task is cancelled already, or is a stale run its node dropped
// at a rejoin (dropStaleRuns): the block ends at once, interrupted.
func (c *Caller) cancelledNow() bool {
	if !c.interruptible() {
		return false
	}
	if c.t.cancelled {
		return true
	}
	_, stale := c.r.staleRuns[c.t]
	return stale
}

// interrupt ends the blocks of a running normal task whose cancel came
// (on the loop): each Compute's sleep, Get and Wait returns ErrCancelled. A
// task not blocked now is interrupted at its next block (cancelledNow).
func (c *Caller) interrupt() {
	blocks := c.blocks
	c.blocks = nil // each ends now: unblock need not look for it
	for _, b := range blocks {
		b.interrupt()
	}
}

// blocker is one block of a normal task's code a cancel ends (interrupt).
type blocker interface{ interrupt() }

// block registers b for a cancel to end, on the loop.
func (c *Caller) block(b blocker) { c.blocks = append(c.blocks, b) }

// unblock takes b back as it ends, on the loop.
func (c *Caller) unblock(b blocker) {
	for i, x := range c.blocks {
		if x == b {
			c.blocks = append(c.blocks[:i], c.blocks[i+1:]...)
			return
		}
	}
}

// sleepState is one Compute of a normal task (see Compute).
type sleepState struct {
	c         *Caller
	timer     transport.Timer
	wake      func()
	unabandon func() // unregisters the sleep from Abandon (onAbandon)
	cancelled bool   // set on the loop before the wake, read by the task's code after it
	err       error  // why it ended early otherwise (its ctx, Abandon); likewise
}

func (s *sleepState) fire() {
	s.c.unblock(s)
	s.unabandon()
	s.wake()
}

func (s *sleepState) interrupt() {
	if s.timer.Stop() { // false: the sleep is over, or ends now anyway
		s.cancelled = true
		s.unabandon()
		s.wake()
	}
}

// stop ends the sleep early with err (its ctx is done, or the raylet was
// abandoned), on the loop.
func (s *sleepState) stop(err error) {
	if s.timer.Stop() {
		s.err = err
		s.c.unblock(s)
		s.unabandon()
		s.wake()
	}
}

// waitStop is one Wait of a normal task: stop ends it as cancelled.
type waitStop struct{ stop func() }

func (w *waitStop) interrupt() { w.stop() }

// cancelKids cancels the tasks a cancelled task or method call submitted
// (Ray's recursive cancel; on the loop), in mode (a force cancel's force
// reaches them, as Ray's does). Each that runs somewhere cancels its own
// there, since its node owns them.
func (c *Caller) cancelKids(mode CancelMode) {
	kids := c.kids
	c.kids = nil
	for _, id := range kids {
		c.r.cancelTask(id, mode)
	}
}

// Get returns the values of the objects, fetching them to this node; it
// blocks until all are here, one of them is an error value (the others may
// then be missing: zero Values), or until timeout (<0: none) passes. While it
// blocks, a task gives its CPU back so other tasks can run (as Ray does).
func (c *Caller) Get(ctx context.Context, ids []transport.ObjectID, timeout time.Duration) ([]transport.Value, error) {
	g := &getState{c: c, ids: ids, vals: make([]transport.Value, len(ids))}
	var cw ctxWatch
	defer cw.end()
	c.r.env.Await(func(wake func()) {
		r := c.r
		r.drainSubmits() // see drainSubmits
		g.wake = wake
		if c.cancelledNow() {
			g.cancelled, g.done = true, true
			wake()
			return
		}
		var refs []getRef // one allocation for every object not here yet
		for i, id := range ids {
			if e, ok := r.store.Get(id); ok {
				if e.Spilled() {
					r.restore(e)
				}
				g.vals[i] = e.Value
				if e.Value.ErrKind != transport.ErrKindNone { // it is the answer: the rest need not come
					g.unneed()
					g.done = true
					wake()
					return
				}
				continue
			}
			if refs == nil {
				if r.abandon.err != nil { // the cluster is lost: nothing more will come
					g.err, g.done = r.abandon.err, true
					wake()
					return
				}
				refs = make([]getRef, len(ids)-i)
				g.refs = refs
			}
			ref := &refs[g.left]
			ref.g, ref.i = g, i
			g.left++
			r.needInto(id, ref, &ref.fe)
		}
		if g.left > 0 {
			c.warnSelfWait(ids)
		}
		if g.left == 0 {
			g.done = true
			wake()
			return
		}
		if timeout == 0 {
			// A poll: what is here now, or ErrTimeout, on every transport
			// (a timer of 0 fired after a local task that ended at the
			// same virtual instant in netsim, before it on TCP).
			g.timedOut, g.done = true, true
			g.why = r.infeasibleWhy(ids)
			g.unneed()
			wake()
			return
		}
		c.release()
		if c.driver { // no closure for a task's or an actor's Get: see onAbandon
			g.unblock = c.onAbandon(func() {
				g.err = r.abandon.err
				g.finish()
			})
		} else if c.interruptible() {
			c.block(g)
		}
		if timeout >= 0 {
			g.timer = r.env.After(timeout, func() {
				if !g.done {
					g.timedOut = true
					g.why = r.infeasibleWhy(ids)
					g.finish()
				}
			})
		}
		cw.unwatch = c.watch(ctx, func(err error) {
			if !g.done {
				g.err = err
				g.finish()
			}
		})
	})
	if g.err != nil {
		return nil, g.err
	}
	if g.cancelled {
		return nil, ErrCancelled
	}
	if g.timedOut {
		if g.why != "" {
			// Not merely late: its task can run on no node of the
			// cluster now (Ray warns of such a task).
			return nil, fmt.Errorf("%w: %s", ErrTimeout, g.why)
		}
		return nil, ErrTimeout
	}
	return g.vals, nil
}

// getState is one blocked Get.
type getState struct {
	c              *Caller
	ids            []transport.ObjectID
	vals           []transport.Value
	refs           []getRef // the waits (need) on the objects not here, as far as registered
	left           int      // objects not here yet
	done, timedOut bool
	cancelled      bool   // a cancel of the caller's task ended it (interrupt)
	err            error  // the cluster was abandoned (see Abandon)
	why            string // timed out: why an object is not ready, if known (infeasibleWhy)
	wake           func()
	unblock        func()          // unregisters the Get from Abandon
	timer          transport.Timer // the timeout's, stopped when the Get ends first (it holds g)
}

func (g *getState) interrupt() {
	if !g.done {
		g.cancelled = true
		g.finish()
	}
}

func (g *getState) finish() {
	if g.done {
		return
	}
	g.done = true
	g.unneed()
	if g.unblock != nil {
		g.unblock()
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.c.unblock(g)
	g.c.reacquire()
	g.wake()
}

// unneed takes back the waits of a Get that ends before all its objects
// are here (Raylet.unneed), as a Wait takes back its registrations.
func (g *getState) unneed() {
	if g.left == 0 {
		return // all came: their fetches are over
	}
	for k := range g.refs {
		if x := &g.refs[k]; x.g != nil { // registered (the rest were not reached)
			g.c.r.unneed(g.ids[x.i], x)
		}
	}
}

// getRef is one object a Get waits for (a waiter of need), with room for
// the object's fetch (see needInto).
type getRef struct {
	g  *getState
	i  int
	fe fetch
}

func (x *getRef) ready(e *objstore.Entry) {
	g := x.g
	if g.done {
		return
	}
	g.c.r.store.Touch(e)
	if e.Spilled() { // taken by another reader's work since it came
		g.c.r.restore(e)
	}
	g.vals[x.i] = e.Value
	g.left--
	if g.left == 0 || e.Value.ErrKind != transport.ErrKindNone {
		g.finish() // an error ends the Get at once, as Ray's get raises the first
	}
}

// warnSelfWait warns (once per Get) when an actor's method waits for a
// call on its own actor that has not finished: that call runs only once
// the method returns, so the wait is a deadlock, as in Ray for a
// synchronous actor. It only warns: a Get with a timeout still ends.
func (c *Caller) warnSelfWait(ids []transport.ObjectID) {
	if i := c.selfWaits(ids, nil); i >= 0 {
		c.emitSelfWait("Get", ids[i])
	}
}

// warnSelfWaitK is warnSelfWait for a Wait for k of ids (ready: those
// ready already): it warns (once per Wait) when the calls on the method's
// own actor among the refs not ready leave fewer than k refs that can
// become ready while it waits, so that only its timeout can end it.
func (c *Caller) warnSelfWaitK(ids []transport.ObjectID, ready []bool, k int) {
	first, n := -1, 0
	for i := range ids {
		if c.selfWaits(ids[i:i+1], ready[i:i+1]) >= 0 {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if first >= 0 && len(ids)-n < k {
		c.emitSelfWait("Wait", ids[first])
	}
}

// selfWaits returns the index of the first of ids that is the result of a
// call on the caller's own actor (the caller being one of its methods)
// that is not here (nor ready, when ready is given), or -1.
func (c *Caller) selfWaits(ids []transport.ObjectID, ready []bool) int {
	if c.t == nil || c.t.actor == nil || c.t.actor.threaded() {
		return -1 // a threaded actor (or one with concurrency groups) may run the call while the method waits
	}
	r, a := c.r, c.t.actor
	for i, id := range ids {
		if o := r.owned[id.Task]; o != nil && o.spec.Actor == a.id && !o.spec.IsCreation() {
			if ready != nil && ready[i] {
				continue
			}
			if _, ok := r.store.Peek(id); ok { // here: no wait (and no read: the LRU order stays)
				continue
			}
			return i
		}
	}
	return -1
}

// emitSelfWait emits the warning of warnSelfWait: op (Get, Wait) waits
// for id, a call on the caller's own actor.
func (c *Caller) emitSelfWait(op string, id transport.ObjectID) {
	r, a := c.r, c.t.actor
	r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: c.task,
		Detail: fmt.Sprintf("actor %s: method %s waits (in %s) for a call (%s) on its own actor, which runs only after the method returns: a deadlock", a.id, c.t.spec.Name, op, id.Task)})
}

// Wait blocks until k of the objects exist somewhere in the cluster (or
// timeout, <0: none, passes) and reports which are ready: at most k, the
// first in order when k are ready at once. It does not fetch (Ray's
// fetch_local=False).
func (c *Caller) Wait(ctx context.Context, ids []transport.ObjectID, k int, timeout time.Duration) ([]bool, error) {
	return c.wait(ctx, ids, k, timeout, false)
}

// WaitLocal is Wait where an object is ready once it is in this node's
// store (Ray's wait with fetch_local=True, its default): it fetches the
// objects not here, as a Get does, and takes the fetches back when it
// returns, as Ray's raylet cancels a wait's pulls; a poll (timeout 0)
// fetches nothing and reports what is here.
func (c *Caller) WaitLocal(ctx context.Context, ids []transport.ObjectID, k int, timeout time.Duration) ([]bool, error) {
	return c.wait(ctx, ids, k, timeout, true)
}

// localWait is one object a WaitLocal fetches (a waiter of need).
type localWait struct {
	i    int
	told bool // need told it: the fetch is over
	f    func(i int)
}

func (w *localWait) ready(*objstore.Entry) {
	w.told = true
	w.f(w.i)
}

func (c *Caller) wait(ctx context.Context, ids []transport.ObjectID, k int, timeout time.Duration, local bool) ([]bool, error) {
	ready := make([]bool, len(ids))
	k = min(k, len(ids))
	var err error
	cancelled := false // a cancel of the caller's task ended it (interrupt)
	var cw ctxWatch
	defer cw.end()
	c.r.env.Await(func(wake func()) {
		r := c.r
		r.drainSubmits() // see drainSubmits
		n := 0
		done, blocking := false, false
		var registered []transport.ObjectID // whenLocated's, taken back when done
		var fetches []*localWait            // WaitLocal's needs, taken back when done
		unblock := func() {}
		var timer transport.Timer // the timeout's, stopped when the Wait ends first (it holds finish)
		var stop *waitStop        // a cancel's way in (a normal task's)
		finish := func() {
			if !done {
				done = true
				r.forgetLocated(registered, &done)
				unfetch(r, ids, fetches)
				if stop != nil {
					c.unblock(stop)
				}
				unblock()
				if timer != nil {
					timer.Stop()
				}
				c.reacquire()
				wake()
			}
		}
		if c.cancelledNow() {
			done, cancelled = true, true
			wake()
			return
		}
		if r.abandon.err != nil { // the cluster is lost: what this node knows is all
			for i, id := range ids {
				_, located := r.locations[id]
				if ready[i] = !local && located || r.store.Contains(id); ready[i] {
					n++
				}
			}
			if n < k && timeout != 0 { // it would have to wait for news that cannot come (a poll does not)
				err = r.abandon.err
			}
			done = true
			wake()
			return
		}
		arrived := func(i int) {
			if done || ready[i] {
				return
			}
			ready[i] = true
			n++
			if blocking && n >= k {
				finish()
			}
		}
		for i, id := range ids {
			if n >= k {
				// k are ready, the first k in order (all Wait reports):
				// the rest need no subscription (a loop of Wait(rest, 1)
				// over done refs costs one ref a round, not all of them).
				break
			}
			if local {
				if r.store.Contains(id) {
					arrived(i)
				} else if timeout != 0 { // a poll fetches nothing: it would take the fetch back at once
					w := &localWait{i: i, f: arrived}
					r.need(id, w) // tells w from the loop, never now
					fetches = append(fetches, w)
				}
				continue
			}
			if r.whenLocated(id, locWaiter{owner: &done, f: func() { arrived(i) }}) {
				registered = append(registered, id)
			}
		}
		if n >= k || timeout == 0 { // k ready, or a poll: what is ready now (see Get)
			done = true
			r.forgetLocated(registered, &done)
			unfetch(r, ids, fetches)
			wake()
			return
		}
		c.warnSelfWaitK(ids, ready, k)
		blocking = true
		c.release()
		unblock = c.onAbandon(func() {
			err = r.abandon.err
			finish()
		})
		if c.interruptible() {
			stop = &waitStop{stop: func() {
				cancelled = true
				finish()
			}}
			c.block(stop)
		}
		if timeout >= 0 {
			timer = r.env.After(timeout, finish)
		}
		cw.unwatch = c.watch(ctx, func(cerr error) {
			if !done {
				err = cerr
				finish()
			}
		})
	})
	if err == nil && cancelled {
		err = ErrCancelled
	}
	return ready, err
}

// unfetch takes back the fetches of an ended WaitLocal that have not come
// (Raylet.unneed), as forgetLocated takes back a Wait's registrations.
func unfetch(r *Raylet, ids []transport.ObjectID, fetches []*localWait) {
	for _, w := range fetches {
		if !w.told {
			r.unneed(ids[w.i], w)
		}
	}
}

// Compute spends d of virtual CPU time (netsim) or sleeps d (TCP). A
// cancel of the running task cuts it short: it returns ErrCancelled.
func (c *Caller) Compute(d time.Duration) error { return c.ComputeCtx(nil, d) }

// ComputeCtx is Compute that also ends early, with an error wrapping
// ctx.Err(), once ctx is done, on a transport where the caller blocks a
// goroutine of its own (TCP; see watch), and, for a driver, with the
// error the raylet was abandoned with (Abandon: its cluster or session
// closed). In netsim a driver's or an actor's Compute is a plain spend of
// virtual time, as before.
func (c *Caller) ComputeCtx(ctx context.Context, d time.Duration) error {
	if c.r.cfg.Simulated && c.r.cfg.Costs.ComputeOvershoot > 0 {
		d += c.r.cfg.Costs.Overshoot(c.r.env.Rand().NormFloat64())
	}
	_, inline := c.r.env.(transport.InlinePoster)
	// c.t is set before the task's code starts and cleared after it ends,
	// both on the loop: the task's code may read it.
	if !c.interruptible() && inline {
		c.spend(d)
		return nil
	}
	s := &sleepState{c: c}
	var cw ctxWatch
	defer cw.end()
	c.r.env.Await(func(wake func()) {
		if s.cancelled = c.cancelledNow(); s.cancelled {
			wake()
			return
		}
		if err := c.r.abandon.err; err != nil && c.driver {
			s.err = err
			wake()
			return
		}
		s.wake = wake
		s.timer = c.r.env.After(d, s.fire)
		if c.interruptible() {
			c.block(s)
		}
		s.unabandon = c.onAbandon(func() { s.stop(c.r.abandon.err) })
		cw.unwatch = c.watch(ctx, s.stop)
	})
	if s.cancelled {
		return ErrCancelled
	}
	return s.err
}

// spend takes d of the caller's time (virtual time in netsim).
func (c *Caller) spend(d time.Duration) {
	c.r.env.Await(func(wake func()) { c.r.env.After(d, wake) })
}

// copyIn models the caller copying n copies of v into the store: in
// netsim it takes Costs.Copy of the bytes in the caller's virtual time
// (Config.Simulated); on TCP the copy already took real time.
func (c *Caller) copyIn(v transport.Value, n int64) {
	if !c.r.cfg.Simulated || n == 0 {
		return
	}
	if d := c.r.cfg.Costs.Copy(n * v.SizeOf()); d > 0 {
		c.spend(d)
	}
}

// copyInAll models the caller copying each of vs into the store (a task's
// several returns), as copyIn.
func (c *Caller) copyInAll(vs []transport.Value) {
	if !c.r.cfg.Simulated || len(vs) == 0 {
		return
	}
	var n int64
	for _, v := range vs {
		n += v.SizeOf()
	}
	if d := c.r.cfg.Costs.Copy(n); d > 0 {
		c.spend(d)
	}
}

// submitted queues a spec the caller submitted (on the loop). A task or
// an actor method call keeps its children's IDs for a cancel of itself to
// reach them, and a child submitted once it is cancelled is cancelled at
// once.
func (c *Caller) submitted(spec *transport.TaskSpec) {
	c.r.enqueueSubmit(spec)
	if c.t == nil || spec.IsCreation() { // a driver's or a constructor's; an actor is ended by Kill, not Cancel
		return
	}
	if a := c.t.actor; a != nil && a.creation.spec.A().Replay {
		return // a replay re-runs the call, children too, with no cancel in its log (see Cancelled)
	}
	if c.t.cancelled && c.r.cancelNotes[c.t].mode&CancelShallow == 0 {
		c.r.cancelTask(spec.ID, 0)
		return
	}
	c.kids = append(c.kids, spec.ID)
}

// ErrForceActorTask is Cancel's error for a force cancel of an actor's
// method call, which Ray refuses ("force=True is not supported for actor
// tasks"): killing the worker would kill the actor (Kill does that).
var ErrForceActorTask = errors.New("force cancel is not supported for actor tasks (kill the actor instead)")

// Cancel asks every raylet and the global scheduler to drop a task (see
// Raylet.cancelTask), as mode says. A force cancel of an actor method
// call this node owns is refused (ErrForceActorTask); one it does not
// own (a borrowed ref: the call's kind is not known here) reaches the
// actor's host, which cancels the call without force.
func (c *Caller) Cancel(id transport.TaskID, mode CancelMode) error {
	var err error
	c.r.env.Await(func(wake func()) {
		r := c.r
		if mode&CancelForce != 0 {
			r.drainSubmits() // a call just submitted is owned once drained
			if o := r.owned[id]; o != nil && o.spec.Actor != 0 {
				err = fmt.Errorf("cancel of task %s (%s): %w", id, o.spec.Name, ErrForceActorTask)
				wake()
				return
			}
		}
		r.cancelTask(id, mode&(CancelForce|CancelShallow))
		wake()
	})
	return err
}

// ExitActor marks the actor whose method this caller runs to end once
// the method returns (Ray's exit_actor); see Raylet.exitActor. It reports
// false, doing nothing, where the caller runs no actor method (a task, a
// driver, an actor's constructor).
func (c *Caller) ExitActor() bool {
	var ok bool
	c.r.env.Await(func(wake func()) {
		if t := c.t; t != nil && t.actor != nil {
			t.actor.exiting, ok = true, true
		}
		wake()
	})
	return ok
}

// Cancelled reports whether the task this caller runs was cancelled while
// it ran (Cancel): its result will be ErrCancelled whatever it returns, so
// code that checks can stop early, as Ray's is_canceled lets it. An actor
// method sees it too (a running call is not interrupted), unless its actor
// replays its methods (ReplayMethods): a replay re-runs the method from the
// log, where no cancel is, and must do what the first run did. A driver is
// never cancelled.
func (c *Caller) Cancelled() bool {
	var yes bool
	c.r.env.Await(func(wake func()) {
		t := c.t
		yes = t != nil && t.cancelled && (t.actor == nil || !t.actor.creation.spec.A().Replay)
		wake()
	})
	return yes
}

// ActorRestarted reports whether the caller is a method call of an actor
// the GCS has restarted (its instance is not the first): its state is then
// what its checkpoint and replay rebuilt. False outside an actor's method.
func (c *Caller) ActorRestarted() bool {
	var yes bool
	c.r.env.Await(func(wake func()) {
		if t := c.t; t != nil && t.actor != nil && t.actor.creation != nil {
			yes = transport.IsRestart(t.actor.creation.spec.Attempt)
		}
		wake()
	})
	return yes
}

// Rebuild reports whether the caller runs a task or method call to rebuild
// a result that was lost (lineage reconstruction, TaskSpec.Rebuild), not
// as its submitter sent it: a method call so run travels outside its
// caller's order (as the first call of a fresh caller) and may run again
// on an instance that ran it before (its result freed or lost without the
// instance). False outside a task.
func (c *Caller) Rebuild() bool {
	var yes bool
	c.r.env.Await(func(wake func()) {
		yes = c.t != nil && c.t.spec.Rebuild
		wake()
	})
	return yes
}

// Free tells the GCS the caller is done with objects: every copy is dropped
// (see transport.GcsFreeObjects). It does not wait for the drops elsewhere;
// this node forgets at once what it knew of the objects (a copy in its
// store, unless a task reads it, and cached locations), so that a Wait or
// Get here that follows the free asks the GCS, which the free reaches
// first, instead of reporting the object ready from what the free undoes.
func (c *Caller) Free(ids []transport.ObjectID) {
	c.r.env.Await(func(wake func()) {
		var order []transport.NodeID
		per := map[transport.NodeID][]transport.ObjectID{}
		for _, id := range ids {
			c.r.forget(id)
			if o := c.r.owned[id.Task]; o != nil && !id.Put {
				o.freed = true
			}
			sh := c.r.cfg.Layout.ShardOfObject(id)
			if _, ok := per[sh]; !ok {
				order = append(order, sh)
			}
			per[sh] = append(per[sh], id)
		}
		for _, sh := range order {
			m := &transport.GcsFreeObjects{Objects: per[sh]}
			// After the announcements still waiting for this node's
			// registration: a free the GCS took before the location of a
			// copy made here would leave that location standing, for a
			// copy this node no longer holds.
			c.r.whenRegisteredObject(func() { c.r.gcs.Send(sh, m) })
		}
		wake()
	})
}

// KillActor ends an actor wherever it lives.
//
// An actor hosted here is killed here, and its death reported. Otherwise
// every raylet is told to kill it, and the actor table is told it is dead
// (death is final there, so callers fail with ErrActorDied and its name is
// free): its host may have crashed without being declared dead yet, or it
// may not have been created yet (its creation queued here, at the
// scheduler or on another node), and the node that creates it later, or
// hosts it still, is told by the table to kill it (killUp). name is the actor's name, if it has
// one and the caller knows it (the table frees the name with it).
func (c *Caller) KillActor(id transport.ActorID, name string) {
	c.r.env.Await(func(wake func()) {
		r := c.r
		r.drainSubmits() // a creation just submitted is queued first
		r.killedHere(id)
		if _, ok := r.actors[id]; ok {
			r.killActor(id, whyRayKill)
		} else {
			r.sendOthers(&transport.KillActor{Actor: id, NoRestart: true})
			// The actor table is told every time, as Ray's kill goes
			// through the GCS: a host that crashed and is not yet
			// declared dead cannot report the kill, and the table would
			// restart the actor when the death came.
			r.sendActorUpdate(&transport.GcsActorUpdate{Actor: id, State: transport.ActorDead, Name: name, Cause: transport.DetailRayKill})
		}
		wake()
	})
}

// KillActorRestart ends the worker of an actor as a crash would (Ray's
// ray.kill with no_restart=False): its host, this node or any other told
// so, ends it (Raylet.Kill), and the actor table restarts it while its
// MaxRestarts allow, or holds it dead. An actor no node hosts (its
// creation still queued, or on its way to a node) is not affected.
func (c *Caller) KillActorRestart(id transport.ActorID) {
	c.r.env.Await(func(wake func()) {
		r := c.r
		r.drainSubmits()
		if rt := r.routes[id]; rt != nil && rt.state == transport.ActorAlive {
			// This node's later calls wait for the restart (Ray's calls
			// to a RESTARTING actor queue at the caller) rather than go
			// to the instance this kill ends, bounce, and fail as a
			// death charged to their MaxRetries (0 by default for
			// methods). As a bounce marks it: news of the actor alive
			// there with no more restarts is older than the kill — for
			// killMarkWait, after which it says the kill was lost (a
			// remote host is told by one frame, which TCP may drop) and
			// calls go to the instance the kill missed.
			rt.state = transport.ActorRestarting
			rt.bounced, rt.bouncedAt = rt.node, rt.restarts
			rt.killMark, rt.killedAt = true, r.since()
		}
		if _, ok := r.actors[id]; ok {
			r.Kill(id, transport.DetailRayKillRestart)
		} else {
			r.sendOthers(&transport.KillActor{Actor: id})
		}
		wake()
	})
}

// NamedActor is what the actor table says of the actor holding a name:
// its ID, its class (its creation's Func; "" when the table has none on
// record) and its creation's call defaults (ActorSpec.Calls), which a
// handle found by the name calls with.
type NamedActor struct {
	ID    transport.ActorID
	Class string
	Calls transport.CallDefaults
}

// LookupActor finds a named actor; ok is false when no live actor has it.
func (c *Caller) LookupActor(ctx context.Context, name string) (found NamedActor, ok bool, err error) {
	return c.awaitName(ctx, name, nil)
}

// awaitName asks the name's shard who holds name, after before (if not
// nil) has run on the loop, and waits for the answer (LookupActor).
func (c *Caller) awaitName(ctx context.Context, name string, before func(r *Raylet)) (found NamedActor, ok bool, err error) {
	err = c.awaitAnswer(ctx, func(finish func(error), ended *bool) func() {
		r := c.r
		// A named creation just submitted tells the name's shard first
		// (the same link): the lookup finds it pending, as Ray's, and a
		// second New with the name is refused.
		r.drainSubmits()
		if before != nil {
			before(r)
		}
		first := len(r.nameWaiters[name]) == 0
		r.nameWaiters[name] = append(r.nameWaiters[name], func(info transport.ActorInfo) {
			if *ended {
				return
			}
			found, ok = NamedActor{ID: info.Actor, Class: info.Class, Calls: info.Calls}, info.Found && info.State != transport.ActorDead
			finish(nil)
		})
		if first {
			r.nameAsks[name]++ // a new round of asking: an older round's timer stops
			r.lookupName(name, r.nameAsks[name])
		}
		return nil
	})
	return found, ok, err
}

// ClaimActorName claims name for the actor id (an ID from Reserve, of a
// creation of class, with call defaults calls, not submitted yet) and
// says who holds the name once the claim is in: the name's shard
// decides, as for two creations racing with the name (see
// gcs.Shard.refuseName), so of claims racing for a free name exactly one
// finds itself the holder. The claim is the creation's
// own "pending" actor update (its owner named, detached or not), sent
// ahead of the creation: a claim that won is followed by SubmitReserved,
// whose update repeats it; one that lost is dead in the actor table
// already (refused), and ReleaseActorName makes sure of it. ok is false
// when no live actor holds the name. The answer is the first the name's
// shard sends for the name after the claim was sent, or one that was
// already on its way (a lookup of the name in flight): an answer that
// does not name id may be older than the claim, and is worth asking again
// (LookupActor) before the claim is given up.
func (c *Caller) ClaimActorName(ctx context.Context, id transport.ActorID, name, class string, detached bool, calls transport.CallDefaults) (holder NamedActor, ok bool, err error) {
	return c.awaitName(ctx, name, func(r *Raylet) {
		// Owned by its claimer even when detached: a claimer that dies
		// before it submits the creation takes the claim with it (the
		// name is not held for good by an actor nobody creates); once
		// the creation is recorded, a detached actor outlives it
		// (gcs.Shard.ownerDied reads the creation's spec).
		r.sendActorUpdate(&transport.GcsActorUpdate{Actor: id, State: transport.ActorPending, Name: name, Class: class,
			Owner: r.self, Incarnation: r.cfg.Incarnation, Calls: calls})
	})
}

// ReleaseActorName ends the claim of ClaimActorName for actor id, which
// will not be created: the actor table holds it dead (a no-op where the
// name's shard refused the claim already), so the name is never held by
// an actor nobody creates.
func (c *Caller) ReleaseActorName(id transport.ActorID, name string) {
	c.r.env.Await(func(wake func()) {
		c.r.sendActorUpdate(&transport.GcsActorUpdate{Actor: id, State: transport.ActorDead, Name: name,
			Cause: transport.CutCause(fmt.Sprintf("its creator found the name %s held by another actor (get if exists): it was never created", transport.ActorNameText(name)))})
		wake()
	})
}

// ctxWatch holds what stops a blocking call's watch of its context
// (watch's unwatch, set on the loop once the call registers), for the call
// to stop it on its way out (end, deferred).
type ctxWatch struct{ unwatch func() bool }

// end stops the watch, if one was set.
func (w *ctxWatch) end() {
	if w.unwatch != nil {
		w.unwatch()
	}
}

// watch ends a blocking call (stop, run on the loop, with an error wrapping
// ctx.Err()) once ctx is done, when the caller blocks a goroutine of its own
// (TCP). It returns what stops the watch, or nil. In netsim the caller is a
// coroutine of the loop, and virtual time has no wall clock for a deadline
// to be read on: a context is not watched there (a Get's or Wait's timeout
// is the virtual-time bound). Call it on the loop.
func (c *Caller) watch(ctx context.Context, stop func(error)) (unwatch func() bool) {
	if ctx == nil || ctx.Done() == nil {
		return nil
	}
	if _, inline := c.r.env.(transport.InlinePoster); inline {
		return nil
	}
	// Even for a ctx done already, stop runs from the loop's queue, after
	// the register that called watch: the caller must not wake before it
	// has the unwatch.
	return context.AfterFunc(ctx, func() {
		c.r.env.Post(func() { stop(fmt.Errorf("ray: %w", ctx.Err())) })
	})
}

// lookupName asks the GCS which actor has a name, and asks again, backing
// off (reask), while someone waits and no answer has come (a reply lost
// with a GCS replica's connection is not sent again for a request the
// chain has applied). Any answer for the name will do.
func (r *Raylet) lookupName(name string, round uint64) {
	r.reask(func() {
		r.gcs.Send(r.cfg.Layout.ShardOfName(name), &transport.GcsLookupActor{Name: name})
	}, func() bool {
		return len(r.nameWaiters[name]) > 0 && r.nameAsks[name] == round
	})
}

// release gives a blocked task's CPU back to the node, and counts what
// else it holds as held by a blocked task (Raylet.blocked).
func (c *Caller) release() {
	if c.t == nil || c.t.borrowed || c.t.res().IsZero() {
		return
	}
	c.t.borrowed = true
	res := c.t.res()
	c.r.avail = c.r.avail.Add(transport.Resources{CPU: res.CPU})
	res.CPU = 0
	c.r.blocked = c.r.blocked.Add(res)
	c.r.dispatch()
}

// reacquire takes the CPU back when the task resumes (possibly
// oversubscribing the node for a while, as Ray does).
func (c *Caller) reacquire() {
	if c.t == nil || !c.t.borrowed {
		return
	}
	c.t.borrowed = false
	res := c.t.res()
	c.r.avail = c.r.avail.Sub(transport.Resources{CPU: res.CPU})
	res.CPU = 0
	if c.r.blocked = c.r.blocked.Sub(res); c.r.blocked.IsZero() {
		c.r.blockedSpills = nil // none blocked: none spilled for it (blockedOut)
	}
}
