package node

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// actorHost is an actor living on this raylet: its instance, a dedicated
// coroutine that runs its methods one at a time, and per-caller ordering.
// A threaded actor (conc above 1, Ray's max_concurrency, or concurrency
// groups) runs up to conc methods at once (per group: each its limit),
// each as a job on the raylet's worker pool (running); its own coroutine
// then only runs its constructor (and restore), and stays parked until
// the actor ends.
type actorHost struct {
	id       transport.ActorID
	creation *task
	typ      *ActorType
	instance any
	dead     bool
	// stopped tells the actor's coroutine to end: set on the loop only
	// just before the wake that resumes it, and read by it after the wake
	// (dead itself may change on the loop while the coroutine runs a
	// method: on TCP that read would race).
	stopped bool
	// ckptTooBig: a Checkpoint's bytes were too large to save once
	// already (warned once per instance: see actorLoop).
	ckptTooBig bool
	// exiting: a method called ExitActor (Caller.ExitActor); the actor
	// ends for good once that method returns (set on the loop).
	exiting bool

	expected map[transport.TaskID]uint64                         // next seq per caller
	early    map[transport.TaskID]map[uint64]*transport.TaskSpec // arrived ahead of order
	queue    []*task                                             // in execution order
	cur      *task
	// curSpec is cur's spec as it started, set with cur on the loop and
	// read by the actor's coroutine (see runMethod).
	curSpec *transport.TaskSpec
	// past: by task ID, the calls a restarted instance's restored state
	// holds (replayed, or saved with its checkpoint), whose copies are
	// answered with their results (see restorePast); pastOf: by caller,
	// in call order, those their caller has not said done; pastKept: those
	// it has, kept for a rebuild of their results in the order they were
	// said done, within maxPastKeptBytes (pastKeptBytes: theirs; see
	// pastDone).
	past          map[transport.TaskID]*pastCall
	pastOf        map[transport.TaskID][]*pastCall
	pastKept      []*pastCall
	pastKeptBytes int
	// jobCallers lists, per job, the callers of that job the instance
	// keeps a place for in expected, in the order first met: the ones it
	// forgets when the job ends for good (releaseJobCallers). Callers of
	// no job (a detached actor's code) are not listed.
	jobCallers map[transport.JobID][]transport.TaskID
	// conc is how many methods may run at once: 1 (on the actor's
	// coroutine, in cur), or a threaded actor's max concurrency, its
	// methods in running (in the order they started).
	conc    int
	running []*task
	// groups are the actor's concurrency groups (its creation's
	// ActorSpec.ConcurrencyGroups(), sorted by name), and inGroup counts the
	// methods running in each: the default group's (limit conc) at 0,
	// groups[i]'s at i+1. Both nil for an actor without groups.
	groups   []transport.ConcurrencyGroup
	inGroup  []int
	wake     func() // set while the actor's coroutine is parked
	calls    uint64 // methods run (since creation, or as of the restored checkpoint)
	restored func(*transport.ActorCheckpoint)
	// announced: the actor table has been told it is alive here. A worker
	// crash before then (Kill) of a creation its creator owns waits in
	// crash until it is: reported earlier, the shard, which has not seen it
	// alive here, took the report for stale news, and nobody restarted or
	// buried the actor. (A GCS restart's is reported lost at once.)
	announced bool
	crash     string
	// held: results waiting for the actor table's answer (holdResult);
	// written: the calls through which it has answered; resending: a
	// timer re-sends the unanswered writes.
	held      []heldResult
	written   uint64
	resending bool
	// orphan: the instance has ended on this live node with results held
	// (orphanHeld): kept in Raylet.orphans until the table answers.
	orphan bool
}

// route is what a caller's raylet knows of an actor it calls.
type route struct {
	node     transport.NodeID
	inc      uint64 // node's incarnation hosting the actor, as its ActorInfo said (0: not known)
	state    uint8
	restarts uint32 // the restarts of the instance node hosts, as its ActorInfo said
	// seen is the most restarts any news of the actor said, from either
	// of its shards (its own, its name's): the actor has restarted that
	// often, whichever instance the route points at.
	seen     uint32
	lookedUp bool // subscribed to the actor's state
	asking   bool // a lookup is out and re-sent until answered (lookupActor)
	// bounced is the node that bounced a call (CallBounced) while this
	// route pointed there, and bouncedAt the restarts known then: news of
	// the actor alive on that node with no more restarts is older than the
	// bounce, and calls wait for newer.
	bounced   transport.NodeID
	bouncedAt uint32
	// killMark says bounced was set by this node's restart kill
	// (Caller.KillActorRestart) at killedAt (Raylet.since), not by a
	// bounce: it rests on no evidence that the instance ended (the kill's
	// frame to a remote host can be lost on TCP), so it lapses after
	// killMarkWait (see onActorInfo).
	killMark bool
	killedAt time.Duration
	pending  []*transport.TaskSpec
	// cause is why a dead actor died, when known (its ActorInfo's Cause,
	// or this node's ray.Kill): its calls' errors say it.
	cause string
	// calls are the actor's call defaults as the actor table said them
	// (ActorInfo.Calls), once callsKnown: handles rebuilt from the
	// actor's ID on this node call with them (Caller.ActorCalls).
	calls      transport.CallDefaults
	callsKnown bool
	// overs are the caller-over words (CallsDone.Over) of callers that
	// ended while the actor restarted, for the instance it moves to
	// (see overWord), at most maxHeldOvers.
	overs []*transport.CallsDone
}

// deadMsg is the error message of a call to a dead actor: why it died,
// when known.
func deadMsg(id transport.ActorID, cause string) string {
	if cause == "" {
		return fmt.Sprintf("actor %s is dead", id)
	}
	return fmt.Sprintf("actor %s is dead: %s", id, cause)
}

// namedClass is the class an actor's updates carry (GcsActorUpdate.Class):
// a named actor's, for its name's shard to tell a lookup by name; none for
// an actor without a name, whose updates stay as short as they were.
func namedClass(spec *transport.TaskSpec) string {
	if spec.A().Name == "" {
		return ""
	}
	return spec.Func
}

// actorCalls is what an actor's updates tell the actor table of its
// call defaults (ActorSpec.Calls), named or not: a lookup by name hands
// them to the handle it makes (ray.GetActor), and a lookup by ID to a
// handle rebuilt from the actor's ID (ray.ActorHandleOf). An actor whose
// creation set none sends none: its updates stay as short as they were.
func actorCalls(spec *transport.TaskSpec) transport.CallDefaults {
	return spec.A().Calls()
}

func (r *Raylet) sendActorUpdate(up *transport.GcsActorUpdate) {
	if up.Node == r.self && !r.registered {
		// An actor hosted here: its shard hears of it, as of the node's
		// objects, only once this incarnation is registered (announce).
		r.whenRegistered(func() { r.sendActorUpdate(up) })
		return
	}
	shard := r.cfg.Layout.ShardOfTask(up.Actor)
	r.gcs.Send(shard, up)
	if up.Name != "" {
		if ns := r.cfg.Layout.ShardOfName(up.Name); ns != shard {
			r.gcs.Send(ns, up)
		}
	}
}

// startActor runs a creation task: the actor keeps its resources until it
// dies, and gets its own coroutine.
func (r *Raylet) startActor(t *task) {
	typ, ok := r.actorType(t.spec.Func)
	if !ok {
		r.giveBack(t)
		r.unpinArgs(t)
		r.tasks.Delete(t.spec.ID)
		why := fmt.Sprintf("no actor type %q registered", t.spec.Func)
		r.failTask(t.spec, transport.ErrKindUnknownFunction, why)
		r.actorDied(t.spec.Actor, t.spec.A().Name, why)
		return
	}
	if old := r.actors[t.spec.Actor]; old != nil && old.creation.spec.Attempt >= t.spec.Attempt {
		// A copy of the hosted instance's creation (a duplicated frame),
		// or an older attempt's: one instance is enough.
		r.giveBack(t)
		r.unpinArgs(t)
		r.tasks.Delete(t.spec.ID)
		r.dispatch()
		return
	} else if old != nil {
		// A later attempt of an actor hosted here: its creator, or the
		// actor table, took this instance for lost (its news was still on
		// its way when the table was asked). It ends as a worker crash
		// ends it, untold (the new instance's news supersedes it): held
		// results are published, their writes ahead of the new instance's
		// checkpoint request on the same link, and its other calls are
		// bounced to their owners. Left in place, it ran on unseen, and
		// the table's answers to its writes went to the new instance.
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: old.id,
			Detail: fmt.Sprintf("actor %s: creation attempt %d replaces the instance hosted here (attempt %d)", old.id, t.spec.Attempt, old.creation.spec.Attempt)})
		r.orphanHeld(old)
		r.dropActor(old)
	}
	a := &actorHost{id: t.spec.Actor, creation: t, typ: typ, conc: max(1, int(t.spec.A().MaxConcurrency)),
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	if gs := t.spec.A().ConcurrencyGroups(); len(gs) > 0 {
		a.groups, a.inGroup = gs, make([]int, 1+len(gs))
	}
	r.actors[a.id] = a
	r.tasks.Delete(t.spec.ID)
	r.env.Go(func() { r.actorLoop(a) })
}

func (r *Raylet) actorType(name string) (*ActorType, bool) {
	if r.cfg.Registry == nil {
		return nil, false
	}
	return r.cfg.Registry.Actor(name)
}

// actorLoop is the actor's coroutine: constructor, then methods in order.
func (r *Raylet) actorLoop(a *actorHost) {
	t := a.creation
	c := r.newCaller(t.spec.ID, nil)
	c.capture = captureOf(t.spec)
	c.actor = a.id
	c.group, _ = transport.GroupOf(t.spec.Resources)
	c.job = actorJob(t.spec)
	c.ns, c.nsJob = t.spec.A().Namespace(), t.spec.Job()
	if d := t.spec.Duration; d > 0 {
		c.Compute(d)
	}
	var ctorErr error
	out := callUser(func() (transport.Value, error) {
		inst, err := a.typ.New(c.Context(), t.args)
		a.instance, ctorErr = inst, err
		return transport.Value{}, err
	})
	if ctorErr == nil && out.ErrKind != transport.ErrKindNone {
		// The constructor panicked: its panic value is the cause (as a
		// task's or method's panic is), not "returned no instance".
		a.instance, ctorErr = nil, errors.New(string(out.Data))
	}
	if ctorErr == nil && a.instance == nil {
		ctorErr = fmt.Errorf("constructor of %q returned no instance", t.spec.Func)
	}
	var why string // the cause of death the actor table and the calls get
	if ctorErr != nil {
		// As Ray's ActorDiedError of an actor whose constructor raised.
		why = "it died because of an error raised in its creation task: " + ctorErr.Error()
	} else if t.spec.Attempt > 0 {
		if ctorErr = r.restoreActor(a); ctorErr != nil {
			why = ctorErr.Error() // its checkpoint or its replay failed: it cannot come back as it was
		}
	}
	r.env.Await(func(wake func()) {
		r.unpinArgs(t)
		if a.dead { // dropped or killed while it started: nothing to announce (read on the loop: on TCP this runs on a goroutine of its own)
			a.stopped = true
			wake()
			return
		}
		if ctorErr != nil {
			r.failTask(t.spec, transport.ErrKindTask, "actor constructor: "+ctorErr.Error())
			a.wake = wake // killActor's pumpActor ends the coroutine (it was left parked for good)
			r.killActor(a.id, why)
			return
		}
		r.emit(transport.Event{Kind: transport.EvActorCreated, Node: r.self, Task: a.id, Detail: transport.ActorNameOf(t.spec.A().Name)})
		// The creator learns the actor is up from the GCS, once it has
		// recorded it alive — even when it is this node: an update lost
		// with this node's crash, or ignored as news from an incarnation
		// already declared dead, must not leave the creator thinking its
		// creation done (see rejoin).
		up := &transport.GcsActorUpdate{Actor: a.id, Node: r.self, State: transport.ActorAlive, Name: t.spec.A().Name, Owner: t.spec.Owner, Incarnation: r.cfg.Incarnation, Attempt: t.spec.Attempt,
			Class: namedClass(t.spec), Calls: actorCalls(t.spec)}
		r.sendActorUpdate(up)
		a.announced = true
		a.wake = wake
		if a.crash != "" { // its worker crashed while it started
			r.Kill(a.id, a.crash)
			return
		}
		r.pumpActor(a)
	})
	for !a.stopped {
		call, spec := a.cur, a.curSpec
		out, outs := r.runMethod(a, call, spec)
		ckpt := r.checkpointActor(a)
		calls := a.calls
		r.env.Await(func(wake func()) {
			a.cur, a.curSpec = nil, nil
			r.endMethod(call)
			if a.dead {
				// Dropped (its worker crashed, its node rejoined) or killed
				// while the method ran: the run died with the worker, and
				// its caller retries or fails it as the actor table says.
				// A result stored now would be a second one.
				a.stopped = true
				wake()
				return
			}
			if a.exiting {
				a.wake = wake // killActor's pumpActor ends the coroutine
				r.exitActor(a, call.spec)
				return
			}
			// Saved or logged before the result is published (stamped
			// here, on the loop, with the incarnation the actor table
			// judges it by), and the result held until the table answers.
			// (out and outs are not assigned here: captured by value, they
			// cost the closure no allocation of their own.)
			held := heldResult{spec: call.spec, out: out, outs: outs}
			if call.cancelled { // it ran to its end: its effects stay, its result does not
				held.out, held.outs = errValue(transport.ErrKindCancelled, "task cancelled"), nil
			}
			if ckpt != nil && len(ckpt.Data) > maxCheckpointData {
				// Its write could not cross TCP (a frame refused, re-sent
				// for good, the result never published): a failed
				// checkpoint, which leaves the previous one, with a
				// warning once per instance.
				if !a.ckptTooBig {
					a.ckptTooBig = true
					r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: a.id, Detail: fmt.Sprintf(
						"actor %s: Checkpoint returned %d bytes, more than %d (a checkpoint must fit a TCP frame): not saved, the previous checkpoint stands",
						a.id, len(ckpt.Data), maxCheckpointData)})
				}
				ckpt = nil
			}
			if ckpt != nil {
				ckpt.Incarnation, ckpt.Attempt = r.cfg.Incarnation, a.creation.spec.Attempt
				// With the results not published yet, this one's included:
				// a retry of one of them after a restart is answered from
				// the checkpoint, not applied again (see restorePast).
				ckpt.Data = wrapCheckpoint(ckpt.Data, a.held, held)
				held.write, held.calls = ckpt, ckpt.Calls
			} else if a.creation.spec.A().Replay { // a checkpoint covers the method
				// Logged with the call's spec as it is now, read here
				// on the loop (raiseAttempt may have replaced it).
				logged := &transport.GcsActorMethod{Actor: a.id, Calls: calls, Spec: *call.spec,
					Incarnation: r.cfg.Incarnation, Attempt: a.creation.spec.Attempt}
				held.write, held.calls = logged, logged.Calls
			}
			r.holdResult(a, held)
			a.wake = wake
			r.pumpActor(a)
		})
	}
}

// runMethod runs call t, whose spec (t.spec when it started) was read on
// the loop: on TCP this runs off it, where raiseAttempt may replace t.spec
// meanwhile.
// It returns the call's result as finishAll takes it: outs one value per
// return for a method of several returns, else out for every return.
func (r *Raylet) runMethod(a *actorHost, t *task, spec *transport.TaskSpec) (out transport.Value, outs []transport.Value) {
	c := t.caller // made on the loop (pumpActor): a cancel reads it there
	if c == nil { // a replayed call
		c = r.newCaller(spec.ID, t)
		c.capture = captureOf(a.creation.spec)
	}
	// A call holds no CPU of its own: release is a no-op.
	if d := spec.Duration; d > 0 {
		c.Compute(d)
	}
	ctx := c.Context()
	m, ok := a.typ.Methods[spec.Func]
	if !ok {
		if mm, ok := a.typ.MultiMethods[spec.Func]; ok {
			out, outs = callMulti(spec, func() ([]transport.Value, error) { return mm(ctx, a.instance, t.args, int(spec.NumReturns)) })
			c.copyInAll(outs)
			return r.named(spec, out), outs
		}
		return errValue(transport.ErrKindUnknownFunction, fmt.Sprintf("actor %s (class %q) has no method %q", a.id, a.creation.spec.Func, spec.Func)), nil
	}
	out = r.named(spec, callUser(func() (transport.Value, error) { return m(ctx, a.instance, t.args) }))
	if spec.NumReturns > 1 && out.ErrKind == transport.ErrKindNone {
		return countError(spec, 1), nil
	}
	c.copyIn(out, int64(spec.NumReturns))
	return out, nil
}

// pumpActor hands the next ready call to the parked actor coroutine.
func (r *Raylet) pumpActor(a *actorHost) {
	for {
		if a.wake == nil {
			return
		}
		if a.dead {
			w := a.wake
			a.wake = nil
			a.stopped = true
			w() // the loop sees stopped and ends
			return
		}
		if a.cur != nil || len(a.queue) == 0 || r.lease.fenced {
			return
		}
		var i int
		if a.groups != nil {
			i = a.nextGroupCall()
		} else {
			if a.conc > 1 && len(a.running) >= a.conc {
				return
			}
			i = nextCall(a.queue)
		}
		if i < 0 || r.leaseOut(r.since()) {
			return
		}
		t := a.queue[i]
		if i == 0 {
			a.queue[0] = nil
			a.queue = a.queue[1:]
		} else {
			a.queue = slices.Delete(a.queue, i, i+1)
		}
		t.args = r.argValues(t)
		if bad, ok := failedArg(t.args); ok {
			// A failed argument fails the call with the same error, as
			// it fails a task (run), and the method does not run: the
			// actor lives on, untouched. The call took its turn in its
			// caller's order (its number was taken in hostCall, and its
			// caller's next call was held only while it was queued); it
			// is no method run, so it counts toward no checkpoint and is
			// not logged for replay. Its result follows the held ones.
			r.unpinArgs(t)
			r.holdResult(a, heldResult{spec: t.spec, out: bad})
			continue
		}
		t.running = true
		t.start = r.since()
		t.caller = r.newCaller(t.spec.ID, t)
		t.caller.capture = captureOf(a.creation.spec)
		r.trackGen(t)
		r.emit(transport.Event{Kind: transport.EvTaskRunning, Node: r.self, Task: t.spec.ID, Detail: t.spec.Name})
		if a.threaded() {
			// A threaded actor: the call runs on a pool worker of its
			// own, and the next may start at once.
			a.running = append(a.running, t)
			j := &methodJob{r: r, a: a, t: t, spec: t.spec}
			if a.groups != nil {
				j.group, _ = a.groupOf(t.spec) // known: enqueueCall failed the others
				a.inGroup[j.group]++
			}
			r.pool.Submit(j)
			continue
		}
		a.cur, a.curSpec = t, t.spec
		w := a.wake
		a.wake = nil
		w()
		return
	}
}

// methodJob runs a method of a threaded actor (actorHost.threaded) on a
// pool worker: Run off the loop, Done on it.
type methodJob struct {
	r     *Raylet
	a     *actorHost
	t     *task
	spec  *transport.TaskSpec // t.spec as the call started (see runMethod)
	group int                 // its concurrency group (actorHost.inGroup's index), for an actor with groups
	out   transport.Value
	outs  []transport.Value // a method of several returns' values (see runMethod)
}

func (j *methodJob) Run() { j.out, j.outs = j.r.runMethod(j.a, j.t, j.spec) }

// endMethod lets go of what an actor method's run held, as it ends on
// either kind of actor (actorLoop, methodJob.Done): its caller's open
// streams and coroutine, its generator's tracking, its arguments' pins.
func (r *Raylet) endMethod(call *task) {
	if c := call.caller; c != nil && len(c.opened) > 0 {
		r.closeStreams(c)
	}
	r.methodOver(call.caller)
	call.caller = nil
	if len(r.gens) > 0 {
		r.untrackGen(call)
	}
	r.unpinArgs(call)
}

// Done ends a threaded actor's method as actorLoop ends a one-at-a-time
// actor's (without its checkpoint or method log: CheckConcurrency refuses
// them for a threaded actor), and starts the next ready calls.
func (j *methodJob) Done() {
	r, a, call, out, outs := j.r, j.a, j.t, j.out, j.outs
	j.t, j.spec, j.out, j.outs = nil, nil, transport.Value{}, nil
	if i := slices.Index(a.running, call); i >= 0 {
		a.running = slices.Delete(a.running, i, i+1)
		if a.groups != nil {
			a.inGroup[j.group]--
		}
	}
	r.endMethod(call)
	if a.dead {
		// Dropped or killed while the method ran: its caller retries or
		// fails it (heldCalls listed it), as a one-at-a-time actor's.
		return
	}
	if a.exiting {
		r.exitActor(a, call.spec)
		return
	}
	a.calls++
	if call.cancelled {
		out, outs = errValue(transport.ErrKindCancelled, "task cancelled"), nil
	}
	r.holdResult(a, heldResult{spec: call.spec, out: out, outs: outs})
	r.pumpActor(a)
}

// threaded reports whether the actor runs its methods on pool workers,
// several at once: it has a max concurrency above 1, or concurrency
// groups (which run beside each other even with limits of 1).
func (a *actorHost) threaded() bool { return a.conc > 1 || a.groups != nil }

// groupOf returns the index in inGroup of the concurrency group a call
// runs in (0: the default group, for a call naming none), and false if
// the call names a group the actor does not declare.
func (a *actorHost) groupOf(spec *transport.TaskSpec) (int, bool) {
	name := spec.A().ConcurrencyGroup()
	if name == "" {
		return 0, true
	}
	i, ok := slices.BinarySearchFunc(a.groups, name, func(g transport.ConcurrencyGroup, name string) int { return cmp.Compare(g.Name, name) })
	return i + 1, ok
}

// groupLimit is how many methods group g (an inGroup index) runs at once.
func (a *actorHost) groupLimit(g int) int {
	if g == 0 {
		return a.conc
	}
	return int(a.groups[g-1].Limit)
}

// nextGroupCall is nextCall for an actor with concurrency groups: the
// first queued call whose group has room, whose arguments are all here,
// and that no earlier call of its caller in its group precedes. Each
// caller's calls start in their order within a group, as in Ray a group is
// an executor of its own: a full group, or a call waiting for an argument,
// holds up no call of another group.
func (a *actorHost) nextGroupCall() int {
	type key struct {
		caller transport.TaskID
		group  int
	}
	var blocked []key
	for i, t := range a.queue {
		g, _ := a.groupOf(t.spec)
		if a.inGroup[g] >= a.groupLimit(g) {
			continue // full: none of its calls starts now
		}
		k := key{t.spec.A().Caller, g}
		if slices.Contains(blocked, k) {
			continue
		}
		if t.missing == 0 {
			return i
		}
		blocked = append(blocked, k)
	}
	return -1
}

// runningCall returns the call with this ID running on the actor, or nil.
func (a *actorHost) runningCall(id transport.TaskID) *task {
	if a.cur != nil && a.cur.spec.ID == id {
		return a.cur
	}
	for _, t := range a.running {
		if t.spec.ID == id {
			return t
		}
	}
	return nil
}

// nextCall picks the queued call to run next (-1: none is ready): the
// first whose arguments are all here and that no earlier call of its
// caller precedes. Methods run in submission order per caller, as in Ray,
// and one caller's call waiting for an argument (a large one on its way,
// one being rebuilt, or one nobody will make) does not hold up the
// others' calls.
func nextCall(q []*task) int {
	if q[0].missing == 0 {
		return 0
	}
	blocked := []transport.TaskID{q[0].spec.A().Caller}
	for i := 1; i < len(q); i++ {
		c := q[i].spec.A().Caller
		if slices.Contains(blocked, c) {
			continue
		}
		if q[i].missing == 0 {
			return i
		}
		blocked = append(blocked, c)
	}
	return -1
}

// sendCallsDone tells the actor's host on node (this node, or another)
// that the caller's calls with these numbers are done (CallsDone), in
// messages of at most transport.MaxCallsDone numbers.
func (r *Raylet) sendCallsDone(node transport.NodeID, actor transport.ActorID, caller transport.TaskID, seqs []uint64) {
	for part := range slices.Chunk(seqs, transport.MaxCallsDone) {
		m := &transport.CallsDone{Actor: actor, Caller: caller, Seqs: part}
		if node == r.self {
			r.onCallsDone(m)
		} else {
			r.send(node, m)
		}
	}
}

// cancelCall cancels a method call queued for, or running on, an actor
// hosted here, as Ray does: a queued call is dropped and fails with
// ErrCancelled (its number is done all the same for its caller's next
// calls); a running one is not interrupted, since an actor's state must
// not be left half-changed, but Caller.Cancelled tells its code, and its
// result is replaced by ErrCancelled. It reports whether the call was
// here.
func (r *Raylet) cancelCall(id transport.TaskID, rebuild bool, mode CancelMode) bool {
	for _, a := range r.actors { // one actor at most has the call: the order cannot show
		if cur := a.runningCall(id); cur != nil {
			if cur.spec.Rebuild && !rebuild {
				return true // a cancel of the finished call this remakes: a no-op
			}
			cur.cancelled = true
			if c := cur.caller; c != nil {
				if mode&CancelShallow == 0 {
					c.cancelKids(mode & CancelForce) // not interrupted, but its children are cancelled, as Ray's are
				}
			}
			r.endCallFlow(cur, ErrCancelled) // a yield blocked by backpressure is
			return true
		}
		for i, t := range a.queue {
			if t.spec.ID != id {
				continue
			}
			if t.spec.Rebuild && !rebuild {
				return true
			}
			a.queue = slices.Delete(a.queue, i, i+1)
			r.dropWaits(t)
			r.failCancelled(t.spec)
			r.pumpActor(a) // it may have held up its caller's next call
			return true
		}
	}
	return false
}

// hostCall takes a method call for an actor hosted here. Each caller's
// calls run in their order (Seq): one that comes early waits in a.early.
func (r *Raylet) hostCall(spec *transport.TaskSpec) {
	a := r.actors[spec.Actor]
	if a == nil || a.dead {
		if rt := r.routes[spec.Actor]; rt != nil && rt.state == transport.ActorDead {
			// Dead for good (ended here, or this node was told so): the
			// call fails with the cause, as a call queued at the death
			// did. A bounce would fail it for where it was sent ("not on
			// node N"), its caller not knowing the death yet. A copy of
			// a call failed here already (a duplicated frame) is dropped:
			// its failure stands, and is not traced twice.
			if spec.NumReturns > 0 && r.store.Contains(spec.Return(0)) {
				return
			}
			r.failTask(spec, transport.ErrKindActorDied, deadMsg(spec.Actor, rt.cause))
			return
		}
		r.bounceCall(spec)
		return
	}
	if job := spec.Job(); job != 0 && r.jobsDone.has(job) {
		r.refuseEndedCall(spec)
		return
	}
	call := spec.A()
	c := call.Caller
	next, seen := a.expected[c]
	if !seen {
		a.noteCaller(c, spec.Job())
	}
	if !seen || call.SeqBase > next {
		// A (re)started actor takes the caller's order from the oldest call
		// the caller has not seen done, and passes over the numbers above it
		// the caller said done (CallsDone). Every number below SeqBase is
		// done, so a later call whose SeqBase is past the expected number
		// moves it on too: the caller saw a number this actor waits for
		// done elsewhere (failed, cancelled) with no word of it here.
		a.expected[c] = call.SeqBase
		for n := range a.early[c] { // deletes only: the order cannot show
			if n < call.SeqBase {
				delete(a.early[c], n)
			}
		}
		r.advance(a, c)
	}
	if len(a.past) > 0 {
		r.pastDone(a, c, call.SeqBase, nil) // every number below SeqBase is done for the caller
	}
	if r.answerCopy(a, spec) {
		// A copy of a call this instance ran (or holds): its retry, a
		// rebuild of its lost result, a duplicated frame.
		return
	}
	if call.Seq > a.expected[c] {
		m := a.early[c]
		if m == nil {
			m = make(map[uint64]*transport.TaskSpec)
			a.early[c] = m
		}
		if old, ok := m[call.Seq]; ok && old == nil {
			return // its caller said it is done (CallsDone): a stale copy
		}
		m[call.Seq] = spec
		return
	}
	a.expected[c]++
	r.takeCall(a, spec)
	r.advance(a, c)
}

// answerFinished answers a duplicate of a call this instance ran and
// finished (see answerCopy): its result's location is announced again,
// naming the copy's owner, so that the task table tells that owner the
// call is done (TaskDone), as it told the owner of the first run. A
// caller task retried elsewhere owns its calls anew, under the same IDs:
// without that word its sequence never passes the call's number, and an
// instance restarted after it takes the caller's order from that number
// (SeqBase) and waits for good for a call nobody sends again (the fault
// search's actor-calls found it: a caller retried on its rejoined node,
// then a kill_actor). A result no longer here is not announced: the
// owner's read finds or rebuilds it.
func (r *Raylet) answerFinished(spec *transport.TaskSpec) {
	id := spec.Return(spec.NumReturns - 1)
	e, ok := r.store.Peek(id)
	if !ok || localOnly(e.Value, e.Primary) {
		return
	}
	r.announce(transport.GcsAddObject{Object: id, Node: r.self, Size: e.Value.SizeOf(), Incarnation: r.cfg.Incarnation,
		Owner: spec.Owner, Failed: transport.IsFailureOfRecord(e.Value.ErrKind)})
}

// advance takes the caller's calls that waited in a.early and are next in
// its order now, and passes over the numbers its owner said done (nil
// entries, see onCallsDone).
func (r *Raylet) advance(a *actorHost, c transport.TaskID) {
	m := a.early[c]
	for len(m) > 0 {
		n := a.expected[c]
		spec, ok := m[n]
		if !ok {
			return
		}
		delete(m, n)
		a.expected[c] = n + 1
		if spec != nil {
			r.takeCall(a, spec)
		}
	}
}

// takeCall queues a call whose turn has come in its caller's order, or
// fails it if it was cancelled before it came (or while it waited for an
// earlier call of its caller): its number is done either way. Retries too:
// an owner that knows of the cancel sends it ahead of the retry
// (deliverCall), and one that does not yet relies on the tombstone. Not a
// rebuild (TaskSpec.Rebuild).
func (r *Raylet) takeCall(a *actorHost, spec *transport.TaskSpec) {
	if !spec.Rebuild && r.tombstones.take(spec.ID) {
		r.failCancelled(spec)
		return
	}
	r.enqueueCall(a, spec)
}

// onCallsDone takes a caller's word that its calls with these numbers are
// done (transport.CallsDone): the actor passes over them in the caller's
// order instead of waiting for them. A call with such a number that waits
// here is a duplicate of a finished one, and is dropped.
//
// A caller's word that it is over (m.Over: every number below it done) is
// a done word as a call's SeqBase is: the results a restored state kept
// for the caller's retries go among the done ones (pastDone), and the
// caller's order moves past the numbers. Its place in the order stays (a
// new run of the caller task sends its calls again, and they must be
// duplicates), until its job ends (releaseJobCallers). A caller this
// instance never met gets no place from it.
func (r *Raylet) onCallsDone(m *transport.CallsDone) {
	a := r.actors[m.Actor]
	if a == nil || a.dead {
		return // the calls it comes with bounce, and come again with it
	}
	if len(a.past) > 0 {
		r.pastDone(a, m.Caller, m.Over, m.Seqs)
	}
	next, seen := a.expected[m.Caller]
	if m.Over > 0 {
		if !seen {
			return
		}
		if m.Over > next {
			a.expected[m.Caller] = m.Over
			next = m.Over
			for n := range a.early[m.Caller] { // deletes only: the order cannot show
				if n < m.Over {
					delete(a.early[m.Caller], n)
				}
			}
		}
	}
	early := a.early[m.Caller]
	for _, n := range m.Seqs {
		if seen && n < next {
			continue
		}
		if early == nil {
			early = make(map[uint64]*transport.TaskSpec)
			a.early[m.Caller] = early
		}
		early[n] = nil
	}
	if seen {
		r.advance(a, m.Caller)
	}
}

func (r *Raylet) enqueueCall(a *actorHost, spec *transport.TaskSpec) {
	if act := spec.Act; act != nil && act.Extra != nil && act.Extra.Group != "" {
		if _, ok := a.groupOf(spec); !ok {
			// A group its actor does not declare: the call fails without
			// running (Ray's worker aborts on it; its code says the task
			// should fail), in its turn, and the actor lives on. Not
			// queued, it holds up no later call of its caller.
			why := fmt.Sprintf("actor %s (class %q) has no concurrency group %q", a.id, a.creation.spec.Func, act.Extra.Group)
			r.holdResult(a, heldResult{spec: spec, out: errValue(transport.ErrKindUnknownConcurrencyGroup, why)})
			return
		}
	}
	r.emit(transport.Event{Kind: transport.EvTaskPlaced, Node: r.self, Peer: r.self, Task: spec.ID, Detail: "actor"})
	t := &task{spec: spec, actor: a}
	a.queue = append(a.queue, t)
	r.resolveArgs(t, func() { r.pumpActor(a) })
}

// routeCall sends a method call from a local caller toward its actor.
func (r *Raylet) routeCall(spec *transport.TaskSpec) {
	rt := r.routes[spec.Actor]
	if rt == nil {
		rt = &route{state: transport.ActorPending}
		r.routes[spec.Actor] = rt
	}
	switch rt.state {
	case transport.ActorAlive:
		r.deliverCall(rt.node, rt.inc, spec)
	case transport.ActorDead:
		r.failTask(spec, transport.ErrKindActorDied, deadMsg(spec.Actor, rt.cause))
	default:
		rt.pending = append(rt.pending, spec)
		r.awaitActor(spec.Actor, rt)
	}
}

// awaitActor makes sure calls waiting on rt hear where the actor lives
// next: a lookup (which subscribes) is out, and asked again every
// lookupTimeout while calls wait and the actor is neither alive nor dead.
// A publication can be lost for good — the GCS tail that sent it died with
// the frame unacknowledged, or this node was fenced meanwhile — so waiting
// calls never rely on the subscription alone.
func (r *Raylet) awaitActor(id transport.ActorID, rt *route) {
	rt.lookedUp = true
	r.lookupActor(id, rt)
}

// lookupTimeout is how long calls may wait for an actor's location before
// the lookup is sent again (a lost publication, a GCS failover).
const lookupTimeout = time.Second

// killMarkWait is how long a restart kill's mark on its caller's route
// (route.killMark) holds out news of the actor alive at the count it was
// killed at: longer than the kill's effect takes to reach the actor table
// (its host reports the death) or, if the host crashed, than the node
// table takes to declare it dead; news of the instance alive after that
// says the kill was lost.
func (r *Raylet) killMarkWait() time.Duration {
	return 2*r.cfg.NodeTimeout + lookupTimeout
}

// lookupActor asks the GCS where an actor is (subscribing to its state),
// and asks again while calls wait and no answer has come.
func (r *Raylet) lookupActor(id transport.ActorID, rt *route) {
	if rt.asking {
		return
	}
	rt.asking = true
	r.askActor(id, rt)
}

func (r *Raylet) askActor(id transport.ActorID, rt *route) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(id), &transport.GcsLookupActor{Actor: id})
	r.env.After(lookupTimeout, func() {
		if r.routes[id] == rt && len(rt.pending) > 0 && rt.state != transport.ActorAlive && rt.state != transport.ActorDead {
			r.askActor(id, rt)
			return
		}
		rt.asking = false
	})
}

// bounceCall answers a call for an actor not hosted here: its caller's
// route is stale (this node restarted, or the actor's worker died here,
// since the caller learned where it lived). In the simulator a call sent
// to a dead incarnation is lost and the caller retries it when it hears of
// the death; a call reaching the node's next incarnation, or a worker that
// is gone, is bounced to its owner to the same end.
func (r *Raylet) bounceCall(spec *transport.TaskSpec) {
	r.bounce(spec, false)
}

func (r *Raylet) bounce(spec *transport.TaskSpec, dropped bool) {
	m := &transport.CallBounced{Task: spec.ID, Attempt: spec.Attempt, Incarnation: r.cfg.Incarnation, Dropped: dropped}
	if spec.Owner == r.self {
		r.onCallBounced(r.self, m)
		return
	}
	r.send(spec.Owner, m)
}

// onCallBounced: a node this raylet delivered a call to hosts no such
// actor. The call is lost with the instance it was sent to: it is retried
// as calls to a dead node are (one retry per death: a second bounce from
// the same incarnation is not charged again), and waits for the actor
// table's word on where the actor lives now — news of it alive on the
// node that bounced it, and not restarted since, is older than the bounce.
func (r *Raylet) onCallBounced(from transport.NodeID, m *transport.CallBounced) {
	o := r.owned[m.Task]
	if o == nil || o.node != from || o.spec.Attempt != m.Attempt || o.spec.Actor == 0 || o.spec.IsCreation() {
		return // settled, or sent on again, since
	}
	id := o.spec.Actor
	if rt := r.routes[id]; rt != nil && rt.node == from && rt.state == transport.ActorAlive && uint16(rt.restarts) == o.restarts {
		// Only while the route points at the instance the call was sent
		// to: a bounce that comes after news of a restart on the same
		// node (the call reached the node between the instances, its
		// bounce slowed on the way back) says nothing of the new
		// instance, and marked so, the route would wait for a restart
		// newer than it, which never comes; the retry then waits for
		// good, and the caller's later calls wait at the new instance
		// for its number.
		rt.bounced, rt.bouncedAt, rt.killMark = from, rt.restarts, false
	}
	node, inc, why := from, m.Incarnation, fmt.Sprintf("actor %s is not on %s (it ended there, or is restarting, since this caller last heard where it lived)", id, r.nodeText(from))
	if m.Dropped {
		// The instance died (its worker crashed, its node rejoined):
		// charged every time. A worker crash leaves the node's incarnation
		// as it was, so one charge per (node, incarnation) would let a
		// call whose actor keeps crashing there retry for ever.
		node, inc, why = 0, 0, fmt.Sprintf("actor %s lost its instance on %s with the call there (its worker crashed, or the node rejoined)", id, r.nodeText(from))
	}
	r.retry(o, why, node, inc)
	if rt := r.routes[id]; rt != nil && len(rt.pending) > 0 && rt.state != transport.ActorAlive && rt.state != transport.ActorDead {
		rt.lookedUp = true
		r.lookupActor(id, rt)
	}
}

// deliverCall sends a call to the actor on node, whose incarnation inc
// hosts it (0: not known).
func (r *Raylet) deliverCall(node transport.NodeID, inc uint64, spec *transport.TaskSpec) {
	o := r.owned[spec.ID]
	if o != nil {
		o.node, o.inc = node, inc
		if rt := r.routes[spec.Actor]; rt != nil {
			o.restarts = uint16(rt.restarts)
		}
	}
	t := r.seqs[seqKey{spec.A().Caller, spec.Actor}]
	if t != nil && spec.A().SeqBase != t.base {
		spec.SetAct(func(a *transport.ActorSpec) { a.SeqBase = t.base })
	}
	if t != nil && len(t.done) > 0 && spec.Attempt > 0 {
		// A retry may meet a restarted actor, which takes this caller's
		// order from SeqBase: the numbers above it done out of order (a
		// call failed here or cancelled at its host, TaskDones that came
		// out of order) would never come, and it would wait for them.
		r.sendCallsDone(node, spec.Actor, spec.A().Caller, slices.Sorted(maps.Keys(t.done)))
	}
	// A call its owner here knows cancelled still goes, for its number's
	// sake (the actor must pass it in its caller's order); the cancel goes
	// first on the same link, so the host holds its tombstone when the
	// call comes and fails it in order (sent after, an idle actor could
	// start the call before the cancel came).
	cancelled := o != nil && o.cancelled
	if node == r.self {
		if cancelled {
			r.cancelLocal(spec.ID, spec.Rebuild, 0)
		}
		if inc != 0 && inc != r.cfg.Incarnation {
			r.bounceCall(spec) // meant for this node's earlier incarnation
			return
		}
		r.hostCall(spec)
		return
	}
	if cancelled {
		r.send(node, &transport.CancelTask{Task: spec.ID, Rebuild: spec.Rebuild})
	}
	r.send(node, &transport.ActorCall{Spec: *spec, Incarnation: inc})
}

func (r *Raylet) onActorInfo(m *transport.ActorInfo) {
	if m.Name != "" || !m.Found {
		if ws, ok := r.nameWaiters[m.Name]; ok {
			delete(r.nameWaiters, m.Name)
			for _, w := range ws {
				w(*m)
			}
		}
	}
	if !m.Found {
		return
	}
	rt := r.routes[m.Actor]
	if rt == nil {
		rt = &route{lookedUp: true}
		r.routes[m.Actor] = rt
	}
	r.tellCalls(rt, m)
	if rt.state == transport.ActorDead {
		return // death is final (in the actor table too): older news, or this node's own kill
	}
	if m.State == transport.ActorAlive && m.Incarnation != 0 && r.dead.known(m.Node, m.Incarnation) {
		return // alive on an incarnation known dead: older than the shard's restart, which is coming
	}
	if rt.bounced != 0 {
		stale := m.State == transport.ActorAlive && m.Node == rt.bounced && m.Restarts <= rt.bouncedAt
		if stale && (!rt.killMark || r.since()-rt.killedAt < r.killMarkWait()) {
			return // older than the bounce; lookups are re-sent while calls wait
		}
		// A restart kill's mark lapses: the actor is still alive there at
		// the same count long after the kill, whose frame was lost (TCP
		// drops a frame of a failed write): the instance the kill missed
		// takes the calls, rather than their waiting for good.
		if stale || m.State == transport.ActorAlive || m.State == transport.ActorDead {
			rt.bounced, rt.killMark = 0, false
		}
	}
	// The calls delivered to an earlier instance are not settled here: news
	// of a restart comes from the actor's shard, and a call that finished
	// has its TaskDone on the way from its own, in either order (taken for
	// lost, it failed or ran twice). Each is settled by what ended its
	// instance: its host's death (onNodeDead), its host's drop of the actor
	// (a bounce, CallBounced.Dropped), or, sent after the drop, a bounce.
	// moved: alive at an instance other than the last one the route knew
	// alive (not its first: rt.node is 0 until one, and after news of a
	// restart; restarts counts the instances).
	// The news of the instance the route points at (same node and
	// incarnation) with fewer restarts is older news of it, from the
	// actor's other shard (its own, or its name's): it neither moves the
	// route nor takes its count back (a count that went back took the
	// restarted instance for the one before: a spurious move to it when
	// the newer count came again, and no caller-over words for it).
	sameHost := rt.node != 0 && rt.node == m.Node && rt.inc == m.Incarnation
	moved := m.State == transport.ActorAlive && (sameHost && m.Restarts > rt.restarts || !sameHost && (rt.restarts != m.Restarts || rt.node != 0))
	rt.node, rt.inc, rt.state = m.Node, m.Incarnation, m.State
	rt.seen = max(rt.seen, m.Restarts)
	if m.State == transport.ActorAlive && (!sameHost || m.Restarts > rt.restarts) {
		// The instance the route now points at. Not the most restarts any
		// info reported: a "restarting" (or a restart's "alive") can come
		// before older news of the instance before it, on another node,
		// from another shard (a name shard), and a call that news sends on
		// and that bounces must not wait for a restart newer than the one
		// that is coming.
		rt.restarts = m.Restarts
	}
	if moved {
		r.tellDoneToNewInstance(m.Actor, m.Node)
	}
	if len(rt.overs) > 0 && (m.State == transport.ActorDead || m.State == transport.ActorAlive && rt.restarts >= rt.seen) {
		// The words held while the actor restarted go to the instance it
		// moved to (to none, dead, or its first). Older news of an
		// instance before the restart the route heard of leaves them held
		// for the restarted one.
		overs := rt.overs
		rt.overs = nil
		for _, o := range overs {
			if m.State == transport.ActorAlive && rt.restarts > 0 {
				r.sendOver(m.Node, o)
			}
		}
	}
	pending := rt.pending
	switch m.State {
	case transport.ActorAlive:
		rt.pending = nil
		for _, spec := range pending {
			r.deliverCall(m.Node, m.Incarnation, spec)
		}
	case transport.ActorDead:
		rt.pending, rt.cause = nil, m.Cause
		for _, spec := range pending {
			r.failTask(spec, transport.ErrKindActorDied, deadMsg(spec.Actor, rt.cause))
		}
		r.forgetDeadRoutes(m.Actor)
	}
}

// maxDeadRoutes bounds the routes to dead actors a raylet keeps.
const maxDeadRoutes = 1024

// forgetDeadRoutes notes the route to id just turned dead and forgets the
// oldest dead routes beyond maxDeadRoutes: a caller that called an actor
// per job kept a route per actor ever called, for good (QA31 finding 5).
// A dead route is a cache of the actor table's final word: a later call
// to a forgotten one looks the actor up again, and the table (which keeps
// dead actors' entries, in memory or in its store) answers dead with the
// cause, so the call fails as it would have; a call another node sends
// here for it is bounced, and its caller's lookup finds it dead.
func (r *Raylet) forgetDeadRoutes(id transport.ActorID) {
	r.deadRoutes = append(r.deadRoutes, id)
	for len(r.deadRoutes) > maxDeadRoutes {
		old := r.deadRoutes[0]
		r.deadRoutes = r.deadRoutes[1:]
		if rt := r.routes[old]; rt != nil && rt.state == transport.ActorDead && len(rt.pending) == 0 {
			delete(r.routes, old)
		}
	}
}

// tellDoneToNewInstance tells an actor instance the route has just moved
// to (on node) which numbers of each caller here are done, as far as a
// call of theirs still on its way may not know: such a call, sent to an
// earlier instance before its caller heard its predecessors done, may
// reach this one (its bounce or loss still to come, or held up by a
// partition), and the instance would take the caller's order from its
// stale SeqBase and wait for good for numbers that never come again (the
// fault search's actor-calls found it: a call done on the instance the
// fault schedule then killed, its TaskDone in before the restart's news,
// the caller's next calls held by a partition and taken by the new
// instance). The numbers are those from the lowest SeqBase a call owned
// here and not yet done carries up to the caller's base, and those done
// above it; ownedDone tells an instance of the numbers done after the
// route moved.
func (r *Raylet) tellDoneToNewInstance(actor transport.ActorID, node transport.NodeID) {
	low := map[transport.TaskID]uint64{}
	for _, o := range r.owned { // a minimum per caller: the order cannot show
		if o.spec.Actor != actor || o.spec.IsCreation() || o.spec.Rebuild || o.node == 0 {
			continue
		}
		a := o.spec.A()
		if b, ok := low[a.Caller]; !ok || a.SeqBase < b {
			low[a.Caller] = a.SeqBase
		}
	}
	callers := make([]transport.TaskID, 0, len(low))
	for c := range low {
		callers = append(callers, c)
	}
	slices.Sort(callers)
	for _, c := range callers {
		t := r.seqs[seqKey{c, actor}]
		if t == nil {
			continue
		}
		var seqs []uint64
		for n := low[c]; n < t.base; n++ {
			seqs = append(seqs, n)
		}
		seqs = append(seqs, slices.Sorted(maps.Keys(t.done))...)
		if len(seqs) > 0 {
			r.sendCallsDone(node, actor, c, seqs)
		}
	}
}

// killedHere marks this node's route to an actor its caller killed
// (ray.Kill) dead: the kill is final, and a call made after it fails at
// once, saying so, instead of going to where the actor was (whose host
// bounced it: "not on node N").
func (r *Raylet) killedHere(id transport.ActorID) { r.routeDead(id, transport.DetailRayKill) }

// routeDead marks this node's route to an actor dead for good, of cause:
// its caller's ray.Kill (killedHere), a kill this node was told of
// (transport.KillActor without restart: the killer's, or the actor
// table's), or an end this node gave the actor it hosted for good
// (killActorSaying). Calls waiting on the route fail now, later calls from
// here fail at once, and a call another node sends here for the actor
// (its owner took the actor table's word, older than the death) fails
// saying why (hostCall) rather than bouncing with "not on node N", which
// would fail it for where it was sent rather than for the kill. Death is
// final in the actor table too, so no later news revives the route.
func (r *Raylet) routeDead(id transport.ActorID, cause string) {
	rt := r.routes[id]
	if rt == nil {
		rt = &route{}
		r.routes[id] = rt
	}
	if rt.state == transport.ActorDead {
		return
	}
	pending := rt.pending
	rt.state, rt.cause, rt.pending, rt.bounced, rt.killMark, rt.overs = transport.ActorDead, cause, nil, 0, false, nil
	for _, spec := range pending {
		r.failTask(spec, transport.ErrKindActorDied, deadMsg(spec.Actor, rt.cause))
	}
	r.forgetDeadRoutes(id)
}

// killActor ends an actor hosted here: queued calls fail, its resources go
// back, and the actor table says dead. why is the cause of death (its
// calls' errors, the table's record): whyRayKill for ray.Kill.
func (r *Raylet) killActor(id transport.ActorID, why string) { r.killActorSaying(id, why, why) }

// killActorSaying is killActor whose calls (and the actor table) are told
// cause: the table's own, when it ends an actor for another reason than a
// ray.Kill (its name taken by another), though the kill is as final.
func (r *Raylet) killActorSaying(id transport.ActorID, why, cause string) {
	a := r.actors[id]
	if a == nil || a.dead {
		return
	}
	r.publishHeld(a)
	a.dead = true
	r.endRestore(a)
	delete(r.actors, id)
	r.giveBack(a.creation)
	msg := deadMsg(id, cause)
	for _, t := range a.queue {
		r.dropWaits(t)
	}
	for _, spec := range r.heldCalls(a) { // the running one too: its result will not be stored
		r.failTask(spec, transport.ErrKindActorDied, msg)
	}
	a.queue, a.early = nil, nil
	detail, inc := transport.ActorNameOf(a.creation.spec.A().Name), r.cfg.Incarnation
	switch why {
	case whyRayKill, whyGroupRemoved:
		// Its owner's doing, not a fault, and final whatever this node's
		// fate: the actor table takes it from any incarnation. (An actor
		// of a removed placement group is killed for good too, as Ray's.)
		detail, inc = transport.DetailRayKill, 0
	case whyOwnerDied:
		// The table buried it already; final too.
		detail, inc = transport.DetailOwnerDied, 0
	case whyJobEnded:
		// Its job is over (endJob): final, whatever this node's fate.
		detail, inc = whyJobEnded, 0
	case whyExited:
		// It ended itself (ExitActor): final, no restart, as Ray's
		// exit_actor (an intended exit).
		detail, inc = transport.DetailExitActor, 0
	}
	if inc == 0 {
		// Final: a call that still comes here for it (sent by an owner
		// whose word from the actor table predates the death) fails
		// saying why (hostCall). A constructor's failure is not final
		// here (the table ignores it from an incarnation known dead).
		r.routeDead(id, cause)
	}
	r.actorDiedDetail(id, a.creation.spec.A().Name, detail, cause, inc)
	r.pumpActor(a)
	r.dispatch()
}

// whyRayKill is killActor's why for ray.Kill: the killer's own raylet, or
// a host told by the killer or the actor table (transport.KillActor).
const whyRayKill = transport.DetailRayKill

// whyExited is killActor's why for an actor that ended itself
// (Caller.ExitActor); the calls' errors say so.
const whyExited = "it exited itself (ray.ExitActor in one of its methods; no restart)"

// exitActor ends an actor one of whose methods called ExitActor, once
// that method (call) has returned: the results held before it are
// published, the call itself fails with ErrKindActorDied (Ray's get of
// the method that called exit_actor raises ActorDiedError), and the actor
// is killed for good, its queued calls failing the same way.
func (r *Raylet) exitActor(a *actorHost, call *transport.TaskSpec) {
	r.publishHeld(a)
	r.failTask(call, transport.ErrKindActorDied, deadMsg(a.id, whyExited))
	r.killActor(a.id, whyExited)
}

// whyOwnerDied is killActor's why for an actor the actor table buried
// with its owner (a KillActor whose cause is transport.OwnerDiedCause).
const whyOwnerDied = transport.DetailOwnerDied

// actorDied tells the actor table an actor whose creation failed here is
// dead, and why (cause).
func (r *Raylet) actorDied(id transport.ActorID, name, cause string) {
	r.actorDiedDetail(id, name, transport.ActorNameOf(name), cause, 0)
}

// actorDiedDetail emits the actor.died event (its Detail: detail) and tells
// the actor table, with the cause of death (cut to transport.MaxActorCause;
// the table publishes it to the actor's callers). inc, when not 0, is the
// incarnation of the host whose instance died (its constructor, restore or
// replay failed): the table ignores the news if that incarnation is dead,
// for the actor has been restarted since, and an instance left running on
// a node declared dead must not end the restarted one for good.
func (r *Raylet) actorDiedDetail(id transport.ActorID, name, detail, cause string, inc uint64) {
	r.emit(transport.Event{Kind: transport.EvActorDied, Node: r.self, Task: id, Detail: detail})
	r.sendActorUpdate(&transport.GcsActorUpdate{Actor: id, Node: r.self, State: transport.ActorDead, Name: name, Incarnation: inc,
		Cause: transport.CutCause(cause)})
}

// GCSClient is the raylet's GCS client (its delay and retry counters).
func (r *Raylet) GCSClient() *gcs.Client { return r.gcs }

// HostedActors returns the actors living on this raylet, sorted by ID, with
// their names: the registered name of a named actor, else its display name
// (ray.Name) (loop only; for fault injection and status).
func (r *Raylet) HostedActors() []transport.ActorInfo {
	out := make([]transport.ActorInfo, 0, len(r.actors))
	for id, a := range r.actors {
		name := cmp.Or(transport.ActorNameOf(a.creation.spec.A().Name), a.creation.spec.Name)
		out = append(out, transport.ActorInfo{Actor: id, Node: r.self, State: transport.ActorAlive, Name: name, Found: true})
	}
	slices.SortFunc(out, func(a, b transport.ActorInfo) int { return cmp.Compare(a.Actor, b.Actor) })
	return out
}

// Kill ends a hosted actor from outside (a fault schedule's kill_actor).
//
// It models the actor's worker process crashing, not ray.kill: the GCS
// restarts the actor elsewhere while it has restarts left, and callers retry
// their in-flight calls as their retries allow.
func (r *Raylet) Kill(id transport.ActorID, why string) {
	a := r.actors[id]
	if a == nil || a.dead {
		return
	}
	if !a.announced {
		if s := a.creation.spec; transport.IsRestart(s.Attempt) {
			// A restart of the GCS's that had not come up (it waited for
			// its checkpoint, or ran its constructor): reported lost, as
			// when its node dies under it, the shard restarts the actor
			// again or buries it.
			r.orphanHeld(a)
			r.dropActor(a)
			r.emit(transport.Event{Kind: transport.EvActorDied, Node: r.self, Task: id, Detail: why})
			r.reportRestartLost(id, r.self, s.Attempt, 0)
			r.dispatch()
			return
		}
		a.crash = why // the creator's own attempt: reported once announced (see announced)
		return
	}
	r.orphanHeld(a)
	r.dropActor(a)
	r.emit(transport.Event{Kind: transport.EvActorDied, Node: r.self, Task: id, Detail: why})
	up := &transport.GcsActorUpdate{Actor: id, Node: r.self, State: transport.ActorRestarting, Name: a.creation.spec.A().Name, Incarnation: r.cfg.Incarnation}
	r.whenRegistered(func() { r.gcs.Send(r.cfg.Layout.ShardOfTask(id), up) })
	r.dispatch()
}

// dropActor ends a hosted actor's life here without deciding its fate: its
// queued calls are dropped (their callers retry or fail them when the GCS
// publishes the actor's new state) and its resources freed.
func (r *Raylet) dropActor(a *actorHost) {
	a.dead = true
	r.endActorFlows(a)
	r.endRestore(a)
	delete(r.actors, a.id)
	r.giveBack(a.creation)
	for _, t := range a.queue {
		r.dropWaits(t)
	}
	// Their owners hear of it now (CallBounced), as of a call that found
	// no actor: each is retried as its budget allows, or fails, and waits
	// for the actor table's word. Waiting for that word alone left them
	// for good when the actor had no restart left (it goes from alive
	// to dead, and a caller retries only on "restarting").
	for _, spec := range r.heldCalls(a) {
		r.bounce(spec, true)
	}
	a.queue, a.early = nil, nil
	r.pumpActor(a)
}

// runs yields the calls whose run an actor answers for: those that ran
// and whose results wait for the actor table's answer (held; an orphan's
// are not listed: see orphanHeld), the one running, a threaded actor's
// running ones, and the queued ones, in that order. A copy of one of them
// is answered by that run (answerCopy), and they are what heldCalls lists
// besides the calls waiting for their turn.
func (a *actorHost) runs() iter.Seq[*transport.TaskSpec] {
	return func(yield func(*transport.TaskSpec) bool) {
		if !a.orphan { // an orphan's wait for the table's answer (orphanHeld)
			for _, h := range a.held {
				if !yield(h.spec) {
					return
				}
			}
		}
		if a.cur != nil && !yield(a.cur.spec) {
			return
		}
		for _, t := range a.running {
			if !yield(t.spec) {
				return
			}
		}
		for _, t := range a.queue {
			if !yield(t.spec) {
				return
			}
		}
	}
}

// runsCall reports whether the actor answers for the call id by its run
// (see runs).
func (a *actorHost) runsCall(id transport.TaskID) bool {
	for spec := range a.runs() {
		if spec.ID == id {
			return true
		}
	}
	return false
}

// heldCalls lists the calls an actor hosted here holds: those that ran
// and whose results wait for the actor table's answer (holdResult; at a
// rejoin: they will not be stored), the one running (its result will not be stored
// either: the run dies with the actor), the queued ones, and those waiting
// for an earlier call of their caller, in a fixed order.
func (r *Raylet) heldCalls(a *actorHost) []*transport.TaskSpec {
	out := slices.Collect(a.runs())
	for _, caller := range sortedCallers(a.early) {
		for _, spec := range sortedSpecs(a.early[caller]) {
			if spec != nil { // nil: a number its caller said done (onCallsDone)
				out = append(out, spec)
			}
		}
	}
	if len(a.past) > 0 {
		out = append(out, a.waitingPast()...) // retries waiting for a replayed run
	}
	return out
}

// Checkpointer is implemented by actor instances whose state survives a
// restart: with a checkpoint interval set (ray.CheckpointEvery), the raylet
// saves Checkpoint's bytes in the GCS actor table after every n-th method,
// before that method's result is published, with the results not published
// yet (wrapCheckpoint); an actor restarted elsewhere runs its constructor
// and then Restore with the last checkpoint, and answers a retry of a call
// the checkpoint covers with its saved result (restorePast). Methods
// that ran after the last checkpoint are not replayed unless the actor was
// created with Replay (ray.ReplayMethods): otherwise their effects are lost
// with the node (the calls in flight are retried as their max_retries
// allow), so with an interval of 1 the call running at the crash is
// applied once: in the checkpoint (its retry answered), or by its retry.
type Checkpointer interface {
	Checkpoint() ([]byte, error)
	Restore(data []byte) error
}

// checkpointActor counts a method and, when one is due, takes the actor's
// checkpoint (off the loop: it is user code).
func (r *Raylet) checkpointActor(a *actorHost) *transport.GcsActorCheckpoint {
	a.calls++
	every := uint64(a.creation.spec.A().CheckpointEvery)
	cp, ok := a.instance.(Checkpointer)
	if !ok || every == 0 || a.calls%every != 0 {
		return nil
	}
	var data []byte
	var err error
	out := callUser(func() (transport.Value, error) {
		data, err = cp.Checkpoint()
		return transport.Value{}, err
	})
	if err != nil || out.ErrKind != 0 {
		return nil // a failed checkpoint leaves the previous one
	}
	return &transport.GcsActorCheckpoint{Actor: a.id, Calls: a.calls, Data: data}
}

// restoreActor gives a restarted checkpointable actor its last saved state
// and, for an actor created with Replay, re-runs the methods logged since.
func (r *Raylet) restoreActor(a *actorHost) error {
	cp, ok := a.instance.(Checkpointer)
	checkpointed := ok && a.creation.spec.A().CheckpointEvery > 0
	if !checkpointed && !a.creation.spec.A().Replay {
		return nil
	}
	var got *transport.ActorCheckpoint
	r.env.Await(func(wake func()) {
		a.restored = func(m *transport.ActorCheckpoint) { got = m; wake() }
		r.askCheckpoint(a)
	})
	var saved []savedCall // the calls the checkpoint covers, results unpublished when it was taken
	if got.Found && checkpointed {
		alive := false // user code (Restore) runs under the lease too (see whenLeased)
		r.env.Await(func(wake func()) {
			r.whenLeased(a, func() { alive = true; wake() }, wake)
		})
		if !alive {
			return nil // dropped or killed meanwhile: the caller sees a.dead
		}
		data, calls, err := unwrapCheckpoint(got.Data)
		if err != nil {
			return fmt.Errorf("restore from checkpoint: %w", err)
		}
		saved = calls
		a.calls = got.Calls
		out := callUser(func() (transport.Value, error) { return transport.Value{}, cp.Restore(data) })
		if out.ErrKind != 0 {
			return fmt.Errorf("restore from checkpoint: %s", out.Data)
		}
	}
	var log []transport.TaskSpec
	if a.creation.spec.A().Replay && a.calls == got.Calls {
		log = got.Log
	}
	if len(saved) > 0 || len(log) > 0 {
		r.env.Await(func(wake func()) {
			if !a.dead {
				r.restorePast(a, saved, log)
			}
			wake()
		})
	}
	if len(log) > 0 {
		return r.replayMethods(a, log)
	}
	return nil
}

// askCheckpoint asks the GCS for a restarting actor's checkpoint, and asks
// again while no answer has come: a reply can be lost with the GCS replica
// that sent it (its connection dies with it), and a chain acknowledges a
// re-sent request it has applied without replying again.
func (r *Raylet) askCheckpoint(a *actorHost) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(a.id), &transport.GcsGetActorCheckpoint{Actor: a.id})
	r.env.After(lookupTimeout, func() {
		if a.restored != nil && !a.dead && r.actors[a.id] == a {
			r.askCheckpoint(a)
		}
	})
}

// heldResult is a method's result waiting to be published: for the actor
// table to answer the write made after it (write, through calls), or for
// an earlier one's answer (write nil).
type heldResult struct {
	spec  *transport.TaskSpec
	out   transport.Value
	outs  []transport.Value // a method of several returns' values (see runMethod)
	write transport.Message // GcsActorCheckpoint or GcsActorMethod
	calls uint64
}

// holdResult sends a method's checkpoint or method-log write, if it made
// one, and publishes its result once the actor table has answered it
// (ActorWritten), in call order. Published before, a result could be read
// while its write was still on its way, and lost: refused as a dead
// incarnation's (the node cut off, declared dead, its instance restarted),
// or read too late by a restart. Held, a call the table never took fails
// to its caller as its node's death says, and a call read is in the state.
func (r *Raylet) holdResult(a *actorHost, h heldResult) {
	if h.write == nil && len(a.held) == 0 {
		r.storeAll(h.spec, h.out, h.outs, nil)
		return
	}
	a.held = append(a.held, h)
	if h.write != nil {
		r.gcs.Send(r.cfg.Layout.ShardOfTask(a.id), h.write)
		r.resendWrites(a)
	}
}

// resendWrites sends an actor's unanswered writes again every
// lookupTimeout while some remain: an answer can be lost with the GCS
// replica that sent it, and a chain acknowledges a re-sent request it has
// applied without answering again.
func (r *Raylet) resendWrites(a *actorHost) {
	if a.resending {
		return
	}
	a.resending = true
	r.env.After(lookupTimeout, func() {
		a.resending = false
		if !a.orphan && (a.dead || r.actors[a.id] != a) {
			return
		}
		again := false
		for _, h := range a.held {
			if h.write != nil && h.calls > a.written {
				r.gcs.Send(r.cfg.Layout.ShardOfTask(a.id), h.write)
				again = true
			}
		}
		if again {
			r.resendWrites(a)
		}
	})
}

// publishHeld publishes the results an actor holds, as ray.Kill ends it
// for good: their calls ran, and no later instance's state is to hold
// them.
func (r *Raylet) publishHeld(a *actorHost) {
	for _, h := range a.held {
		r.storeAll(h.spec, h.out, h.outs, nil)
	}
	a.held = nil
}

// orphanHeld keeps the results an instance ending on this live node holds
// (its worker crashed, or a later attempt replaced it) until the actor
// table answers their writes, still sent again while unanswered. Published
// at once, a result whose write the table then refused (this node was
// declared dead meanwhile: its incarnation's writes are refused) was read
// yet is in no state a restarted instance rebuilds; bounced at once, a
// call whose write the table kept would run again on the restarted
// instance. Answered, they are published (onActorWritten); if this node
// rejoins, the table will never answer them, and their calls go back to
// their owners (dropOrphans).
func (r *Raylet) orphanHeld(a *actorHost) {
	if len(a.held) == 0 || a.orphan {
		return
	}
	a.orphan = true
	r.orphans = append(r.orphans, a)
	r.resendWrites(a)
}

// dropOrphans bounces the calls ended instances still hold (a rejoin).
// A write the table took before this node was declared dead, its answer
// lost, is bounced too, and its call failed while its effect is in the
// state if it has no retries left: known
// (TestAcceptedWriteOfDeadHostAgreesWithCall); retried, the restarted
// instance answers it from its restored state (restorePast). The live
// instances' held calls, bounced by dropActor, are in the same case.
func (r *Raylet) dropOrphans() {
	for _, o := range r.orphans {
		o.orphan = false
		for _, h := range o.held {
			r.bounce(h.spec, true)
		}
		o.held = nil
	}
	r.orphans = nil
}

// onActorWritten publishes, in call order, the results the actor table's
// answer releases: the hosted instance's, or an ended one's (orphanHeld),
// whichever wrote it (m.Attempt).
func (r *Raylet) onActorWritten(m *transport.ActorWritten) {
	if a := r.actors[m.Actor]; a != nil && !a.dead && a.creation.spec.Attempt == m.Attempt {
		r.releaseHeld(a, m.Calls)
	}
	if len(r.orphans) == 0 {
		return
	}
	for _, o := range r.orphans {
		if o.id == m.Actor && o.creation.spec.Attempt == m.Attempt {
			r.releaseHeld(o, m.Calls)
			o.orphan = len(o.held) > 0
		}
	}
	r.orphans = slices.DeleteFunc(r.orphans, func(o *actorHost) bool { return !o.orphan })
}

// releaseHeld publishes a's held results the table has answered through
// calls, in call order.
func (r *Raylet) releaseHeld(a *actorHost, calls uint64) {
	a.written = max(a.written, calls)
	for len(a.held) > 0 {
		h := a.held[0]
		if h.write != nil && h.calls > a.written {
			return
		}
		a.held = a.held[1:]
		r.storeAll(h.spec, h.out, h.outs, nil)
	}
	a.held = nil
}

// whenLeased runs start once the node holds its lease, at once if it does
// now, or stop if the actor is dead by then: work a restarted actor starts
// after a wait (a checkpoint's restore, a replayed call's arguments) starts
// under the lease as dispatch and pumpActor start theirs (see lease). On
// the loop.
func (r *Raylet) whenLeased(a *actorHost, start, stop func()) {
	var try func()
	try = func() {
		switch {
		case a.dead:
			stop()
		case r.leaseOut(r.since()):
			r.lease.waiters = append(r.lease.waiters, try)
		default:
			start()
		}
	}
	try()
}

// replayMethods re-runs logged methods on a restarted actor, in order,
// before it takes new calls: arguments are fetched as for any call, results
// are kept to answer a copy of the call (its caller's retry, when the
// original result died with its node before it was published; a rebuild
// of a lost result: see restorePast), and each run is traced as a
// re-execution (task.running and task.finished with detail "replay").
//
// A logged method ran with its arguments' values; one whose argument is now
// an error value (a Put its owner freed, an object lost for good) cannot
// run as it did, and skipped or run on the error it would rebuild another
// state than the one its callers saw. The replay stops there with an error
// (a warning names the actor, the method and its argument's error): the
// actor dies for good (restoreActor's error, see actorLoop), and its
// callers get ErrActorDied. A method that fails is replayed all the same:
// the log keeps no outcome, and one that failed when it ran fails again.
func (r *Raylet) replayMethods(a *actorHost, log []transport.TaskSpec) error {
	for i := range log {
		spec := &log[i]
		t := &task{spec: spec, actor: a}
		started := false
		var diverged error
		r.env.Await(func(wake func()) {
			if a.dead { // dropped or killed meanwhile: replay no more
				wake()
				return
			}
			// A replayed call starts under the lease, as any call does,
			// once its arguments are here (see whenLeased).
			r.resolveArgs(t, func() {
				r.whenLeased(a, func() {
					t.args = r.argValues(t)
					if bad, ok := failedArg(t.args); ok {
						diverged = fmt.Errorf("replay of %s (%s): an argument is now an error: %s", spec.Func, spec.ID, transport.ErrText(bad))
						r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: a.id, Detail: fmt.Sprintf("actor %s: %v: dead for good", a.id, diverged)})
						r.unpinArgs(t)
						wake()
						return
					}
					started = true
					r.emit(transport.Event{Kind: transport.EvTaskRunning, Node: r.self, Task: spec.ID, Detail: transport.DetailReplay})
					wake()
				}, func() {
					r.unpinArgs(t)
					wake()
				})
			})
		})
		if !started {
			return diverged
		}
		out, outs := r.runMethod(a, t, spec)
		a.calls++
		r.env.Await(func(wake func()) {
			r.unpinArgs(t)
			r.emit(transport.Event{Kind: transport.EvTaskFinished, Node: r.self, Task: spec.ID, Detail: transport.DetailReplay})
			if !a.dead {
				r.replayedPast(a, spec, out, outs) // a retry of the call gets this run's result
			}
			wake()
		})
	}
	return nil
}

// endRestore wakes an actor that ends while it waits for its checkpoint
// (with none: it is dead, and its loop ends without announcing it).
func (r *Raylet) endRestore(a *actorHost) {
	if f := a.restored; f != nil {
		a.restored = nil
		f(&transport.ActorCheckpoint{Actor: a.id})
	}
}

// onActorCheckpoint delivers a checkpoint to the actor waiting to restore it.
func (r *Raylet) onActorCheckpoint(m *transport.ActorCheckpoint) {
	if a := r.actors[m.Actor]; a != nil && a.restored != nil {
		f := a.restored
		a.restored = nil
		f(m)
	}
}

// raiseAttempt gives the call an actor holds (running or queued) the
// attempt of a later copy of it.
func (r *Raylet) raiseAttempt(a *actorHost, spec *transport.TaskSpec) {
	held := func(t *task) {
		if t != nil && t.spec.ID == spec.ID && t.spec.Attempt < spec.Attempt {
			ns := *t.spec
			ns.Attempt = spec.Attempt
			t.spec = &ns
		}
	}
	held(a.cur)
	for _, t := range a.running {
		held(t)
	}
	for _, t := range a.queue {
		held(t)
	}
}
