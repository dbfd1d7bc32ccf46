package node

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"raysim/runtime/transport"
)

// ownedTask is a task this raylet submitted (or is rebuilding) and that has
// not reported done: where it runs (0: not known yet) and its latest spec.
type ownedTask struct {
	spec *transport.TaskSpec
	// inc is the incarnation of node the task was placed on, when known
	// (0: not known). A death of an earlier incarnation is not the task's:
	// that news can arrive after the placement on the node's next one.
	inc uint64
	// lost: an actor creation whose node died, waiting for the actor's
	// shard to say whether it saw the actor alive (askCreation).
	lost *transport.GcsCreationLost
	// The node deaths charged to the task's retries (nil until one is),
	// and how many re-submissions were not charged because they met one of
	// those deaths again (a placement on an incarnation the scheduler did
	// not yet know was dead; with two dead nodes its stale placements
	// alternate between them): one death costs one retry.
	deaths *[]nodeDeath
	free   uint32
	node   transport.NodeID // where the task was placed (0: not known)
	// restarts: for an actor call, the restarts of the instance its route
	// pointed at when it was delivered (route.restarts).
	restarts uint16 // low bits: only compared, to tell instances apart
	// retried: the task was submitted again since it was first owned
	// (retry): a run other than the first may still be on its way.
	retried bool
	// freed: a caller on this node freed one of the task's results while
	// the task was still owned (see onObjectLost).
	freed bool
	// cancelled: a caller on this node cancelled the task. A retry fails
	// it instead: the raylets' tombstones of the cancel age out, and the
	// run the cancel only marked may die with its node long after. Unless
	// the object table says the task had finished (checkCancel).
	cancelled bool
	// rebuilt: owned to rebuild a lost result (onTaskInfo): the object
	// table knows the result from an earlier run, so its answer says
	// nothing of this one (checkCancel fails a cancelled rebuild at once).
	rebuilt bool
	// held: the task table holds the rebuild as this node's run under way
	// on the word of its retry report, a result having been announced
	// before the report came (ClaimHeld): the table is told when a run is
	// heard finished (runOver).
	held bool
	// deathHeard: a node death was heard since the submission owned now
	// was made (heardDeath). Without one, an incarnation its placement
	// names that is known dead was dead before it was submitted: it never
	// ran there (placedOnKnownDead). A bit, not the count of deaths heard
	// at the submission: ownedTask keeps to its size class.
	deathHeard bool
}

// verdict is a failure an owner asks the task table to record, and waits
// for its verdict on (askFailure): a cancelled task whose node died
// (checkCancel), or one whose retries are spent (retry). Kept in
// Raylet.asking, by task, while asked: rare, so not in every ownedTask.
type verdict struct {
	kind uint8
	msg  string
}

// nodeDeath names the death of a node's incarnations up to inc.
type nodeDeath struct {
	node transport.NodeID
	inc  uint64
}

// charge records that a re-submission met the death of node's
// incarnation inc, and reports whether that death was charged already.
func (o *ownedTask) charge(node transport.NodeID, inc uint64) (again bool) {
	d := nodeDeath{node, inc}
	if o.deaths == nil {
		o.deaths = &[]nodeDeath{d}
		return false
	}
	if slices.Contains(*o.deaths, d) {
		return true
	}
	*o.deaths = append(*o.deaths, d)
	return false
}

// placedOnKnownDead notes that the submission owned now was placed on a
// node incarnation known dead, dead (the highest known) being its node's.
// If no death was heard since the submission (deathHeard), the raylet knew
// that incarnation dead when it submitted: the global scheduler's view
// lags the node table's (a NodeDead held up on a lossy link), and it
// placed the submission where it never ran. No failure met it: the death
// is recorded as charged, so its retry is free (as the actor shard does
// not charge a restart placed on a node it knew dead, actorEntry.placedAt).
// A death heard after the submission may have ended its run: charged as
// before. Before, a rebuild of a result lost with a node's death, placed
// on that dead node, was charged for the death a second time (its owned
// task is new, with no deaths recorded) and, with max_retries 1, its
// reader got ErrObjectLost "its task's retries are spent" after one node
// failure (regression rebuild-placed-on-known-dead-node).
//
// Only a rebuild is let off. "Known dead" is the node table's word, not
// that the node stopped: a node cut off from the GCS runs on, takes a
// placement on the incarnation declared dead and runs it. A rebuild may
// run twice (it re-executes a task that ran already, as lineage
// reconstruction does, with a retry to spend); a plain task with
// max_retries 0, retried free, would run twice where its owner asks the
// task table (askFailure) whether its run finished, and an actor's
// creation is the actor shard's to settle (askCreation): both are charged
// as before.
func (r *Raylet) placedOnKnownDead(o *ownedTask, node transport.NodeID, dead uint64) {
	if o.rebuilt && !o.deathHeard {
		o.charge(node, dead)
	}
}

// heardDeath marks every owned submission as made before a node death
// heard now (ownedTask.deathHeard). The order does not matter: each task
// gets the same bit.
func (r *Raylet) heardDeath() {
	for _, o := range r.owned {
		o.deathHeard = true
	}
}

// seqKey names one caller's call sequence to one actor.
type seqKey struct {
	caller transport.TaskID
	actor  transport.ActorID
}

// seqTrack follows which of a caller's calls to an actor are done, so each
// call can carry SeqBase: where a restarted actor starts the caller's order.
// live counts the calls owned here and not done; over says the caller
// (a task or a driver that ran here) has finished. A track whose caller
// is over and whose calls are all done is dropped (dropTrack).
type seqTrack struct {
	base uint64
	done map[uint64]bool
	live int
	over bool
}

func (t *seqTrack) markDone(seq uint64) {
	if seq < t.base {
		return
	}
	t.done[seq] = true
	for t.done[t.base] {
		delete(t.done, t.base)
		t.base++
	}
}

// own records a task submitted here.
func (r *Raylet) own(spec *transport.TaskSpec) *ownedTask {
	o := &ownedTask{spec: spec}
	_, again := r.owned[spec.ID]
	r.owned[spec.ID] = o
	if spec.Actor != 0 && !spec.IsCreation() {
		k := seqKey{spec.A().Caller, spec.Actor}
		t := r.seqs[k]
		if t == nil {
			t = &seqTrack{done: make(map[uint64]bool)}
			r.seqs[k] = t
		}
		if !again {
			t.live++
		}
	}
	return o
}

// callerOver notes that caller, a task, a driver or an actor method that
// ran here, has finished: its tracks (seqs) go once its calls are all
// done. Nothing of this caller submits here any more, but a new run of
// the same task (a retry, or a rebuild of its result) that comes here
// starts a track afresh, its calls' SeqBase 0 — as a new run on any other
// node does: an instance that has the caller's order passes over the
// numbers done (duplicates are answered, not run), and one restarted
// since takes the order from the new run's own calls. Before, the tracks
// stayed for good, one per (calling task, actor) ever (QA31 finding 5b).
func (r *Raylet) callerOver(caller transport.TaskID, actors []transport.ActorID) {
	// In order: a dropped track may send its actor a word (dropTrack),
	// and the callers list the actors from a map.
	slices.Sort(actors)
	for _, actor := range actors {
		k := seqKey{caller, actor}
		if t := r.seqs[k]; t != nil {
			t.over = true
			r.dropTrack(k, t)
		}
	}
}

// CallTracks is the number of (caller, actor) call sequences this raylet
// tracks (loop only; tests).
func (r *Raylet) CallTracks() int { return len(r.seqs) }

// methodOver is callerOver for an actor method's caller, as the method
// ends (nil: none).
func (r *Raylet) methodOver(c *Caller) {
	if c == nil {
		return
	}
	c.sub.Lock()
	called := slices.Collect(maps.Keys(c.seqs)) // callerOver sorts them
	c.sub.Unlock()
	r.callerOver(c.task, called)
}

// dropTrack drops a track whose caller is over and whose calls are done,
// and tells a restarted instance of the actor that the caller is over
// (CallsDone.Over; see overWord): its restored state keeps the result of
// each call of the caller not said done, for a retry that will not come
// now (review31 #1: the last call of a caller that calls no more was
// never said done).
func (r *Raylet) dropTrack(k seqKey, t *seqTrack) {
	if !t.over || t.live > 0 || r.seqs[k] != t {
		return
	}
	delete(r.seqs, k)
	if t.base > 0 { // its calls all done, the numbers it made are those below base
		r.overWord(k.actor, k.caller, t.base)
	}
}

// maxHeldOvers bounds the caller-over words a route holds while its
// actor restarts (route.overs); past it the oldest go (their callers'
// kept results then wait for their job's end).
const maxHeldOvers = 4096

// overWord tells actor's instance that caller is over, its calls below
// over all done: an instance the route knows restarted (an actor's first
// instance restored nothing, and is not told), or, while the actor
// restarts, the instance the route moves to next (route.overs); so too
// while the route points at an instance older than a restart it heard of
// (older news from the actor's other shard: route.seen).
func (r *Raylet) overWord(actor transport.ActorID, caller transport.TaskID, over uint64) {
	rt := r.routes[actor]
	if rt == nil {
		return
	}
	switch {
	case rt.state == transport.ActorAlive && rt.restarts >= rt.seen:
		if rt.restarts > 0 {
			r.sendOver(rt.node, &transport.CallsDone{Actor: actor, Caller: caller, Over: over})
		}
	case rt.state == transport.ActorDead:
	default: // restarting, or pending, or older news: the next instance hears it
		if len(rt.overs) >= maxHeldOvers {
			rt.overs[0] = nil
			rt.overs = rt.overs[1:]
		}
		rt.overs = append(rt.overs, &transport.CallsDone{Actor: actor, Caller: caller, Over: over})
	}
}

// sendOver sends a caller-over word to the actor's host on node.
func (r *Raylet) sendOver(node transport.NodeID, m *transport.CallsDone) {
	if node == r.self {
		r.onCallsDone(m)
	} else {
		r.send(node, m)
	}
}

// ownedDone forgets a finished task.
func (r *Raylet) ownedDone(id transport.TaskID) {
	o := r.owned[id]
	if o == nil {
		return
	}
	delete(r.owned, id)
	if len(r.asking) > 0 {
		delete(r.asking, id) // the verdict is no longer awaited
	}
	if len(r.infeasible) > 0 {
		delete(r.infeasible, id) // placed or ended: no longer held
	}
	// A rebuild that ran elsewhere is over: should its result be lost
	// again, the next ObjectLost starts another.
	delete(r.reconstructing, id)
	if s := o.spec; s.Actor != 0 && !s.IsCreation() {
		seqs := []uint64{s.A().Seq}
		k := seqKey{s.A().Caller, s.Actor}
		if t := r.seqs[k]; t != nil {
			if s.A().Seq >= t.base { // with those done above it, which markDone may pass over
				seqs = append(seqs, slices.Sorted(maps.Keys(t.done))...)
			}
			t.markDone(s.A().Seq)
			t.live--
			defer r.dropTrack(k, t) // after the word to a new instance, which reads no track
		}
		// Done at an earlier instance (its TaskDone came after the actor
		// restarted): the caller's later calls, delivered to the instance
		// the route points at now, name this number not done (SeqBase),
		// and that instance waits for it, and for any number above it done
		// out of order before (TaskDones come from the calls' own shards).
		// Tell it.
		if rt := r.routes[s.Actor]; rt != nil && o.node != 0 && rt.state == transport.ActorAlive &&
			(rt.node != o.node || rt.inc != o.inc || uint16(rt.restarts) != o.restarts) {
			r.sendCallsDone(rt.node, s.Actor, s.A().Caller, seqs)
		}
	}
}

// onNodeDead retries what this raylet owns on the dead node, restarts pulls
// from it, and holds calls to the actors it hosted until they restart.
func (r *Raylet) onNodeDead(m *transport.NodeDead) {
	if m.Node == r.self {
		if m.Incarnation == r.cfg.Incarnation && !r.left { // one that said goodbye is going: no rejoin
			r.rejoin()
		}
		return
	}
	if r.dead.known(m.Node, m.Incarnation) {
		return // older news (a folded node's: see deadNodes)
	}
	r.dead.set(m.Node, m.Incarnation, r.cfg.Layout.Raylets)
	r.heardDeath() // first: the retries below are submissions made after it
	r.genOwnerDied(m.Node)
	r.jobNews(m) // first: a task of an ended job lost with the node is not retried
	r.adoptOrphans(m.Node)
	lost := sortedKeysWhere(r.owned, func(_ transport.TaskID, o *ownedTask) bool {
		return o.node == m.Node && (o.inc == 0 || o.inc <= m.Incarnation)
	})
	for _, id := range lost {
		r.retryOrAsk(r.owned[id], m.Node, m.Incarnation)
	}
	r.restartsLost(func(p *transport.TaskPlaced) bool { return p.Node == m.Node && p.Incarnation <= m.Incarnation })
	var pulls []transport.ObjectID
	for _, id := range r.store.Awaiting() {
		if fe := r.fetchOf(id); fe.pulling && fe.source == m.Node {
			pulls = append(pulls, id)
		}
	}
	slices.SortFunc(pulls, transport.CompareObjects)
	for _, id := range pulls {
		r.fetchOf(id).pulling = false
		r.subscribe(id)
	}
	for _, rt := range r.routes {
		// Not a route to an instance a later incarnation hosts: its
		// shard keeps it alive, and no news would repair the route.
		if rt.node == m.Node && rt.state == transport.ActorAlive && (rt.inc == 0 || rt.inc <= m.Incarnation) {
			rt.state = transport.ActorRestarting
		}
	}
}

// adoptOrphans tells the task table of each task queued or running here
// whose owner, node, just died that this node runs it (GcsAdoptRun): the
// task's readers, told its owner died (ObjectOrphaned), then wait for
// this run instead of rebuilding its results at once, and rebuild them
// only if this node dies too. It looks at this node's own tasks only,
// as onNodeDead looks at the tasks it owns.
func (r *Raylet) adoptOrphans(node transport.NodeID) {
	var ids []transport.TaskID
	for id, t := range r.tasks.All() {
		if s := t.spec; s.Owner == node && t.actor == nil && s.Actor == 0 && s.NumReturns > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		r.gcs.Send(r.cfg.Layout.ShardOfTask(id), &transport.GcsAdoptRun{Task: id, Incarnation: r.cfg.Incarnation})
	}
}

// onOrphaned starts rebuilding an object readers here wait for whose
// task's owner died before the task made it (ObjectOrphaned): nobody is
// left to retry the task should its run be lost, so it is rebuilt from
// lineage as a lost object is (claimRebuild, charged to the task's
// max_retries). Not at once: the claim goes after lookupTimeout
// (awaitRebuild), so that a node still running the task, told of the
// death at the same time, holds the rebuild first (GcsAdoptRun); the
// claim then waits for that run. A task queued or running here needs
// nothing: its result is made here.
func (r *Raylet) onOrphaned(m *transport.ObjectOrphaned) {
	id := m.Object
	if r.store.Contains(id) || !r.waited(id) || r.reconstructing[id.Task] || r.owned[id.Task] != nil || r.producesLocally(id) {
		return
	}
	r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Object: id,
		Detail: fmt.Sprintf("the owner of the task making it, node %d, died before the task finished: its rebuild from lineage is claimed in a second (a node still running the task may hold it first)", m.Owner)})
	if r.ownerless == nil {
		r.ownerless = make(map[transport.TaskID]transport.NodeID)
	}
	r.ownerless[id.Task] = m.Owner
	r.reconstructing[id.Task] = true
	r.awaitRebuild(id.Task)
}

// retryOrAsk handles an owned task whose node died: a task is retried; an
// actor creation is retried only if the actor's shard never saw the actor
// alive — it restarts what it saw alive, and only one of them may.
func (r *Raylet) retryOrAsk(o *ownedTask, node transport.NodeID, inc uint64) {
	if !o.spec.IsCreation() {
		r.retry(o, r.nodeText(node)+" died", node, inc)
		return
	}
	o.node, o.inc = 0, 0
	o.lost = &transport.GcsCreationLost{Actor: o.spec.Actor, Node: node, Incarnation: inc}
	r.askCreation(o.spec.ID, o.lost)
}

// askCreation sends the question and asks again while no answer comes (a
// reply can die with the chain's tail).
func (r *Raylet) askCreation(id transport.TaskID, q *transport.GcsCreationLost) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(q.Actor), q)
	r.env.After(lookupTimeout, func() {
		if o := r.owned[id]; o != nil && o.lost == q {
			r.askCreation(id, q)
		}
	})
}

// onCreationLost is the actor's shard's answer to askCreation.
func (r *Raylet) onCreationLost(m *transport.CreationLost) {
	o := r.owned[m.Actor]
	if o == nil || o.lost == nil || o.lost.Node != m.Node || o.lost.Incarnation != m.Incarnation {
		// Not waited for, or a late answer to an earlier question (about
		// another attempt's node): the current one is answered on its own.
		return
	}
	q := o.lost
	o.lost = nil
	if m.SeenAlive {
		// The shard restarts it (or buried it): the creation is done as far
		// as we are concerned, and we watch its restarts (TaskPlaced).
		r.ownedDone(m.Actor)
		return
	}
	r.retry(o, r.nodeText(q.Node)+" died", q.Node, q.Incarnation)
}

// retry resubmits an owned task whose node died, or fails it when its
// retries are spent. An actor call goes back to its route's queue and waits
// for the actor to restart. node and inc name the death that caused it (0
// for none): a death already charged to the task is not charged again.
func (r *Raylet) retry(o *ownedTask, why string, node transport.NodeID, inc uint64) {
	if o.spec.Actor == 0 && r.jobEnded(o.spec) {
		o.cancelled = true // its job is over: no retry resurrects it
	}
	if o.cancelled && !o.spec.IsCreation() {
		r.checkCancel(o)
		return
	}
	spec := *o.spec
	spec.Attempt++
	charged := true
	if node != 0 && o.charge(node, inc) {
		o.free++
		charged = false
	}
	budget := spec.MaxRetries
	if spec.IsCreation() {
		budget = spec.A().MaxRestarts
	}
	if budget >= 0 && int64(spec.Attempt)-int64(o.free) > int64(budget) { // -1: without bound, as in Ray
		if o.rebuilt {
			// The rebuild is given up: the table's claim on it ends, and
			// other readers waiting for it read the loss.
			r.reportRerun(&spec, true)
		}
		// Done first: an actor call's sequence number is then done for its
		// caller, whose next call names it in SeqBase; deleted without it
		// (failTask finds no owner to tell), a restarted actor waited for
		// that number for good and held the caller's later calls.
		msg := fmt.Sprintf("%s; %d retries allowed", why, budget)
		if spec.Actor != 0 && !spec.IsCreation() {
			// Ray's ActorUnavailableError or ActorDiedError: a call lost
			// with an instance is retried only as its MaxRetries say.
			msg = fmt.Sprintf("%s; %d retries allowed (the method's or call's MaxRetries)", why, budget)
			if rt := r.routes[spec.Actor]; rt != nil && rt.state == transport.ActorDead {
				// The actor is dead (killed here, or the table said so):
				// that, not where the call was lost, is why it failed.
				msg = deadMsg(spec.Actor, rt.cause)
			}
		}
		if spec.Actor == 0 && spec.NumReturns > 0 && !o.rebuilt {
			// The run may have finished all the same, its word cut off
			// with its node: the task table decides (askFailure).
			r.askFailure(o, transport.ErrKindRetriesExhausted, msg)
			return
		}
		r.ownedDone(spec.ID)
		if spec.Actor == 0 && o.rebuilt {
			// A rebuild of a result the task table recorded: the task did
			// not fail, the copy of its value is lost (as Ray's
			// ObjectReconstructionFailedMaxAttemptsExceededError is an
			// ObjectLostError). Its readers here are told so, and nothing
			// is announced: a failure located beside the recorded value
			// would tell other readers the task failed, and the rebuild
			// may have made its value all the same (on a node cut off, not
			// dead), which that node announces when it rejoins.
			r.loseTask(spec.ID, RetriesSpent+": its rebuild's "+msg)
			return
		}
		kind := transport.ErrKindRetriesExhausted
		if spec.Actor != 0 {
			kind = transport.ErrKindActorDied
		}
		r.failTask(&spec, kind, msg)
		if spec.IsCreation() {
			r.actorDied(spec.Actor, spec.A().Name, "its creation task failed: "+msg)
		}
		return
	}
	r.Stats.Retried++
	r.emit(transport.Event{Kind: transport.EvTaskRetried, Node: r.self, Task: spec.ID, Detail: why})
	if charged {
		r.reportRerun(&spec, false)
	}
	o.spec, o.node, o.inc, o.retried, o.deathHeard = &spec, 0, 0, true, false
	if spec.Actor != 0 && !spec.IsCreation() {
		rt := r.routes[spec.Actor]
		if rt == nil {
			rt = &route{state: transport.ActorRestarting}
			r.routes[spec.Actor] = rt
		}
		if rt.state == transport.ActorDead { // no lookup will answer a dead route's pending calls
			r.ownedDone(spec.ID)
			r.failTask(&spec, transport.ErrKindActorDied, deadMsg(spec.Actor, rt.cause))
			return
		}
		if rt.state == transport.ActorAlive {
			rt.state = transport.ActorRestarting
		}
		i, _ := slices.BinarySearchFunc(rt.pending, &spec, func(a, b *transport.TaskSpec) int {
			if c := cmp.Compare(a.A().Caller, b.A().Caller); c != 0 {
				return c
			}
			return cmp.Compare(a.A().Seq, b.A().Seq)
		})
		rt.pending = slices.Insert(rt.pending, i, &spec)
		r.awaitActor(spec.Actor, rt)
		return
	}
	r.schedule(&spec)
}

// reportRerun tells the task's shard that one more re-execution of the
// task was charged to its max_retries (GcsTaskRerun): a retry its owner
// made, of a first run or of a rebuild; or, with giveUp, that a rebuild
// was given up with the retries spent. A rebuild of a lost result is
// charged after them, as in Ray, where one max_retries budget covers both.
// A task of no returns has nothing to rebuild and an actor's creation
// restarts under max_restarts: neither is reported.
func (r *Raylet) reportRerun(spec *transport.TaskSpec, giveUp bool) {
	if spec.IsCreation() || spec.NumReturns == 0 {
		return
	}
	r.gcs.Send(r.cfg.Layout.ShardOfTask(spec.ID), &transport.GcsTaskRerun{Task: spec.ID, GiveUp: giveUp})
}

// runOver tells the task's shard that a run of a task whose rebuild it
// holds as this node's on the word of a retry report (ClaimHeld) has
// finished (this node heard TaskDone, or the table's verdict said a result
// was recorded): the claim is over (GcsTaskRerun.Done). Without it a report
// applied after its run's announcement, that result's copies lost
// meanwhile, held every reader of the loss for good. Sent after the
// report, so applied after it.
func (r *Raylet) runOver(o *ownedTask) {
	if o == nil || !o.held {
		return
	}
	o.held = false
	r.sendRunOver(o.spec.ID)
}

func (r *Raylet) sendRunOver(task transport.TaskID) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(task), &transport.GcsTaskRerun{Task: task, Done: true})
}

// onClaimHeld answers the table's ClaimHeld: with no run of the task owned
// here (it finished: TaskDone came), the claim is over at once; with one,
// when it is heard finished (runOver). A run that announces its result
// after the report ends the claim itself (rebuildDone); the Done then
// finds no claim of ours and changes nothing.
//
// Nor while this node claims the task's rebuild (a reader here found the
// result lost): the table grants its live claimant that claim as the same
// run, which this node then runs, and its announcement ends the claim.
func (r *Raylet) onClaimHeld(m *transport.TaskInfo) {
	if o := r.owned[m.Task]; o != nil {
		o.held = true
		return
	}
	if r.reconstructing[m.Task] {
		return
	}
	r.sendRunOver(m.Task)
}

// checkCancel decides the fate of a cancelled task whose node died. The
// owner still owns it, so it has not heard the task finished; but that
// news (TaskDone) can die with a GCS chain's tail, and a cancel of a
// finished task is a no-op. The task's shard knows, and the owner asks it
// to record the cancel unless a result came first (askFailure): a result
// recorded in its object table (TaskInfo.Recorded) means the task
// finished, and the owner's part is over as for TaskDone (a reader
// rebuilds a lost result from lineage); the cancel recorded means the
// cancelled run died unfinished, or finished unheard, and the task fails
// as cancelled (failureAnswered).
//
// An actor call fails at once: its caller's next calls, re-sent to the
// restarted actor meanwhile, would name it not done (SeqBase), and the
// actor would wait for it for good. So does a rebuild (see rebuilt).
//
// Cancellation is best effort, as in Ray: a cancel that finds the task
// finished is a no-op. A run whose result was recorded as ErrCancelled is
// over for good: the task table keeps the cancel (GcsTaskFailed), and a
// rebuild of a lost result is the cancel again (failedTask).
func (r *Raylet) checkCancel(o *ownedTask) {
	spec := o.spec
	if spec.Actor != 0 || o.rebuilt || spec.NumReturns == 0 {
		r.failCancelled(spec)
		return
	}
	r.askFailure(o, transport.ErrKindCancelled, r.cancelledMsg(spec))
}

// askFailure asks the task's shard to record a failure of an owned task (a
// cancel, or its retries spent) unless a result of the task was recorded
// first, and to say which stands (GcsTaskFailed with Ask), again every
// lookupTimeout until answered: a slow or failing-over table is waited
// for, not taken for an answer. The owner must not decide alone: its own
// reads would say the error while the table took a value that reached it
// first (from a node cut off when the task finished there, rejoined since
// with its store). Asked once: a second failure meanwhile waits for the
// same answer.
func (r *Raylet) askFailure(o *ownedTask, kind uint8, msg string) {
	id := o.spec.ID
	if _, asked := r.asking[id]; asked {
		return
	}
	r.asking[id] = verdict{kind: kind, msg: msg}
	r.sendAsk(o)
}

func (r *Raylet) sendAsk(o *ownedTask) {
	id := o.spec.ID
	v, asked := r.asking[id]
	if !asked || r.owned[id] != o {
		delete(r.asking, id) // answered, or no longer owned here
		return
	}
	r.gcs.Send(r.cfg.Layout.ShardOfTask(id), &transport.GcsTaskFailed{Task: id, ErrKind: v.kind, Ask: true})
	r.env.After(lookupTimeout, func() { r.sendAsk(o) })
}

// failCancelled fails a task as cancelled, ending its ownership here first
// (an actor call's number is then done for its caller's next calls). Never
// an actor creation: as in Ray, Cancel does not end actors (Kill does), and
// a cancelled creation would make no actor while its callers and name
// waited for it, a restart of a live one none at all.
func (r *Raylet) failCancelled(spec *transport.TaskSpec) { r.failCancelledBy(spec, 0) }

// failCancelledBy is failCancelled for a cancel in mode (a removed
// placement group's says so: cancelValue).
func (r *Raylet) failCancelledBy(spec *transport.TaskSpec, mode CancelMode) {
	r.ownedDone(spec.ID)
	r.storeResults(spec, r.cancelValue(spec, mode&cancelGroup), nil)
}

// failureAnswered takes the task table's verdict (askFailure): a result
// was recorded (the task finished; its TaskDone was lost), or a failure
// was — the one asked for, or one recorded before it (a cancel) — and the
// task fails with it. An answer that says neither (a GcsGetTask's, asked
// for something else) is not the verdict: the question is asked again.
func (r *Raylet) failureAnswered(m *transport.TaskInfo) {
	o := r.owned[m.Task]
	v, asked := r.asking[m.Task]
	if o == nil || !asked || m.Claim != transport.ClaimNone {
		return // a claim's answer (onTaskInfo) is no verdict
	}
	switch {
	case m.Found && m.Recorded:
		delete(r.asking, m.Task)
		r.runOver(o)
		r.ownedDone(m.Task)
	case m.Failed != 0 || !m.Found:
		delete(r.asking, m.Task)
		if m.Failed != 0 && m.Failed != v.kind {
			v = verdict{kind: m.Failed, msg: failureMsg(m.Failed)}
		}
		spec := o.spec
		r.ownedDone(m.Task)
		r.failTask(spec, v.kind, v.msg)
	}
}

// failureMsg is the message of a failure of record read back from the task
// table.
func failureMsg(kind uint8) string {
	if kind == transport.ErrKindCancelled {
		return "task cancelled"
	}
	return "its retries were spent (the task table's record)"
}

// onObjectLost starts rebuilding an object this node needs whose every copy
// is gone: from lineage (re-running the task that made it), unless it has
// none (a Put, an actor method's result), which makes it an error.
//
// ownerDied (the object table's word: transport.PutOwnerLost) says
// a Put's object went with its owner's node: its error then carries
// CauseOwnerDied (Ray's OwnerDiedError).
func (r *Raylet) onObjectLost(id transport.ObjectID, ownerDied bool) {
	if fe := r.fetchOf(id); fe != nil && fe.pull != nil && !fe.pulling {
		// Every copy is gone: the next is a rebuild's, perhaps of other
		// bytes (a task need not be deterministic); the chunks kept from
		// the lost one must not be mixed with it.
		fe.seen, fe.data, fe.got = nil, nil, 0
	}
	if r.store.Contains(id) || !r.waited(id) {
		return
	}
	if id.Put {
		if ownerDied {
			r.loseObjectCaused(id, "its owner died: the object was made by Put on a node the GCS has since declared dead (crashed, or its heartbeats missed), which dropped every copy, and it has no lineage to rebuild it from", transport.CauseOwnerDied)
			return
		}
		r.loseObject(id, "the object was made by Put and every copy is gone (it was freed): it has no lineage to rebuild it from")
		return
	}
	if o := r.owned[id.Task]; o != nil && !r.reconstructing[id.Task] && (!o.retried || (o.freed && o.spec.Actor == 0)) && !o.spec.IsCreation() {
		if _, queued := r.tasks.Get(id.Task); !queued {
			// The GCS recorded a result of the task's only run: the run is
			// over, and its TaskDone, a side effect of a GCS chain's tail,
			// was lost with the tail (nothing sends it again). Rebuild.
			// For a retried task the lost copy may be an earlier run's,
			// the retry still on its way; the owner cannot tell that from
			// a retry that finished, its TaskDone lost with the tail. Once
			// a caller here has freed the result it rebuilds anyway: a
			// read after a free must not wait on a run that may be over.
			// At worst the retry and the rebuild both run (at-least-once,
			// as retries are); without a free it waits for the retry. Not
			// an actor call: its retry may be running on the restarted
			// actor, and a second run would change the actor's state twice.
			r.ownedDone(id.Task)
		}
	}
	if r.reconstructing[id.Task] || r.owned[id.Task] != nil {
		return // already being (re)made
	}
	r.reconstructing[id.Task] = true
	r.claimRebuild(id)
	r.awaitRebuild(id.Task) // its answer may be lost (a GCS failover): asked again
}

// OwnerJobEnded is in the text of the error a reader gets for an object
// that went with the end of the job it was made for (ObjectJobEnded): an
// ErrOwnerDied. The fault search tells such a loss from others by it.
const OwnerJobEnded = "the job it was made for ended"

// onObjectJobEnded fails the readers here of an object the object table
// says went with its job's end (transport.ObjectJobEnded): an ErrOwnerDied
// (CauseOwnerDied), as Ray's reader of an object whose owner's job
// finished gets OwnerDiedError; it is not rebuilt from lineage.
//
// A fetch every reader left (unneed keeps it, to pull the object once it
// is located) is dropped: the object will never be located, and the
// fetch stayed for good, one per object a job's reader gave up on (a Get
// or a Wait that timed out, a task cancelled while it waited for an
// argument) and the job's end took: TestLocatingLeaves.
func (r *Raylet) onObjectJobEnded(id transport.ObjectID) {
	delete(r.locations, id) // gone for good: no copy will be read
	fe := r.fetchOf(id)
	if fe != nil && fe.pull != nil && !fe.pulling {
		fe.seen, fe.data, fe.got = nil, nil, 0 // as onObjectLost
	}
	if fe != nil && fe.first == nil && !fe.pulling && !fe.local && len(r.located[id]) == 0 {
		r.store.Await(id, nil) // nobody reads it here any more: see unneed
		return
	}
	if r.store.Contains(id) || !r.waited(id) {
		return
	}
	r.loseObjectCaused(id, "its owner died: "+OwnerJobEnded+" ("+JobEnded+": its driver returned, or its driver's node left or was declared dead), and the objects a job made go with it (Ray's OwnerDiedError); it is not rebuilt", transport.CauseOwnerDied)
}

// claimRebuild asks the task table to rebuild a lost object (GcsRebuild):
// the task's shard keeps its re-executions, which its max_retries bound
// (retries and rebuilds alike), and the rebuild under way, so that readers
// hearing of one loss at once run one rebuild between them (onTaskInfo).
func (r *Raylet) claimRebuild(id transport.ObjectID) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(id.Task), &transport.GcsRebuild{Object: id})
}

// awaitRebuild waits for a rebuild another node runs (or for a copy the
// table knows of: ClaimWait), asking the task table again every
// lookupTimeout while a reader here still waits for an object of the task:
// the rebuild may be given up (its retries spent) or die with the node
// that claimed it, and the table then answers otherwise.
//
// A claim's answer granting the rebuild can be lost too (a reply that
// dies with a GCS tail at a failover is not sent again: the chain answers
// a re-sent request it applied with an acknowledgement only), and the
// table then holds the rebuild as this node's while nothing runs it and
// every other reader waits: so every claim is asked again until a run is
// ours or the object came (the table grants its live claimant the same
// run again, uncharged). One re-ask is pending per task at a time.
func (r *Raylet) awaitRebuild(task transport.TaskID) {
	if r.rebuildAsk[task] {
		return
	}
	r.rebuildAsk[task] = true
	r.env.After(lookupTimeout, func() {
		delete(r.rebuildAsk, task)
		if !r.reconstructing[task] || r.owned[task] != nil {
			return // the object came (put clears it), or a rebuild is ours
		}
		for _, id := range r.awaitedOf(task) {
			if !r.store.Contains(id) {
				r.claimRebuild(id)
				r.awaitRebuild(task)
				return
			}
		}
		delete(r.reconstructing, task) // nobody here waits any more
		delete(r.ownerless, task)
	})
}

func (r *Raylet) onTaskInfo(m *transport.TaskInfo) {
	if m.Claim == transport.ClaimHeld {
		r.onClaimHeld(m)
		return
	}
	r.failureAnswered(m)
	if r.owned[m.Task] != nil {
		// A run of it is ours (a claim granted meanwhile is ended by
		// that run's result, or by our report if it fails for good).
		return
	}
	if !r.reconstructing[m.Task] && m.Claim != transport.ClaimRun {
		// Not asked, or no longer needed here (the object came). A
		// granted claim is run all the same: the task table holds the
		// rebuild as ours, and other readers wait for it.
		return
	}
	spec := m.Spec
	switch {
	case !m.Found:
		r.loseTask(m.Task, "its task is not in the task table")
		return
	case m.Failed != 0 && !spec.IsCreation():
		// Its results were recorded as a failure (a cancel, its retries
		// spent): that is what they are.
		r.failedTask(m.Task, m.Failed)
		return
	case m.Claim == transport.ClaimWait:
		// Another reader's rebuild is under way (or a copy exists): its
		// result reaches this node's readers through their subscriptions.
		r.awaitRebuild(m.Task)
		return
	case m.Claim == transport.ClaimSpent:
		why := spentMsg(&spec)
		if owner, ok := r.ownerless[m.Task]; ok {
			why = fmt.Sprintf("its owner, node %d, died before the task finished (Ray's OwnerDiedError), and %s", owner, why)
			r.loseTaskCaused(m.Task, why, transport.CauseOwnerDied)
			return
		}
		r.loseTask(m.Task, why)
		return
	case m.Claim != transport.ClaimRun:
		// Not an answer to a claim (a verdict's, asked for something
		// else): the claim's own answer comes.
		return
	case spec.Actor == 0 && r.jobEnded(&spec):
		// Its job is over: its results are not made again. The claim is
		// given up, so other readers read the loss too.
		r.reportRerun(&spec, true)
		r.loseTaskCaused(m.Task, "not rebuilt: "+r.jobEndedMsg(spec.Job())+", and its objects with it (Ray's OwnerDiedError)", transport.CauseOwnerDied)
		return
	case spec.Actor != 0 && !spec.IsCreation():
		// As Ray does for a restartable actor's method with retries left,
		// re-run the call on the (restarted) actor. It travels as the
		// first call of a fresh caller, outside any caller's order: fresh
		// for every rebuild. The task table's spec is the same each time,
		// so a caller derived from it alone would name a rebuild done
		// before: its sequence here says call 0 is done (SeqBase 1), and an
		// actor that took the caller's order from that, or saw its call 0,
		// drops the call as a duplicate and the object never comes. The
		// table numbers the task's re-executions (Attempt: this one's);
		// the claimant and its count of rebuilds keep callers apart even
		// where that number repeats (a shard that lost unsynced writes).
		r.rebuilds++
		caller := transport.ChildTaskID(spec.ID, uint64(spec.Attempt)<<32)
		caller = transport.ChildTaskID(caller, uint64(r.self))
		caller = transport.ChildTaskID(caller, r.cfg.Incarnation)
		caller = transport.ChildTaskID(caller, r.rebuilds)
		spec.SetAct(func(a *transport.ActorSpec) { a.Caller, a.Seq, a.SeqBase = caller, 0, 0 })
		r.reown(&spec)
		spec.Rebuild = true
		r.own(&spec).rebuilt = true
		r.emit(transport.Event{Kind: transport.EvObjectReconstructed, Node: r.self, Task: spec.ID, Object: spec.Return(0), Detail: spec.Name})
		r.routeCall(&spec)
		return
	}
	r.reown(&spec)
	spec.Rebuild = true
	var offset uint32
	if !spec.IsCreation() { // a creation's attempts mean more (restarts): not renumbered
		// Each rebuild's submissions are numbered apart from every other
		// rebuild's (the table's spec is the same for all): a placement of
		// an earlier rebuild, held up by a partition, names an attempt the
		// owner no longer owns (TaskPlaced), and is not taken for this
		// one's. The offset is not charged to the retries (free).
		r.rebuildSeq = (r.rebuildSeq + 1) % (1 << 22)
		offset = r.rebuildSeq << 8
		spec.Attempt += offset // on the table's count of re-executions, this one's included
	}
	o := r.own(&spec)
	o.rebuilt, o.free = true, offset
	r.emit(transport.Event{Kind: transport.EvObjectReconstructed, Node: r.self, Task: spec.ID, Object: spec.Return(0), Detail: spec.Name})
	r.schedule(&spec)
}

// reown makes this node the owner of a rebuild's spec, keeping the job the
// task belongs to: a spec's job is its owner's unless it says otherwise
// (TaskSpec.Job), and a driver's task rebuilt by a reader on another node
// is still that driver's work. Under the reader's node's own job, it was
// cancelled where that job had ended with an earlier incarnation of the
// node (declared dead by silence, then restarted: QA29 finding 19, the
// paper-scale figure 11a run lost 4 of its 1,000 chains).
func (r *Raylet) reown(spec *transport.TaskSpec) {
	if job := spec.Job(); job != transport.JobOf(r.self, 0) {
		spec.SetAct(func(a *transport.ActorSpec) { a.JobSet, a.Job = true, job })
	}
	spec.Owner = r.self
}

// RetriesSpent is in the text of the ErrObjectLost a reader gets for a
// result whose task cannot run again: its max_retries, shared by its
// retries and its rebuilds, are spent, or are 0 (which disables lineage
// reconstruction, as Ray's max_retries=0). The fault search tells such a
// loss from others by it.
const RetriesSpent = "its task's retries are spent"

// spentMsg says why a task's lost result is not rebuilt: its retries are
// spent (the task table's count, spec.Attempt), or it has none.
func spentMsg(spec *transport.TaskSpec) string {
	if spec.MaxRetries == 0 {
		return RetriesSpent + ": max_retries 0 disables lineage reconstruction (Ray's ObjectReconstructionFailedMaxAttemptsExceededError)"
	}
	return fmt.Sprintf("%s: max_retries %d, and its retries and rebuilds ran it again %d times (Ray's ObjectReconstructionFailedMaxAttemptsExceededError)",
		RetriesSpent, spec.MaxRetries, spec.Attempt)
}

// loseTask fails every object of a task this node is waiting for.
func (r *Raylet) loseTask(task transport.TaskID, why string) { r.loseTaskCaused(task, why, 0) }

// loseTaskCaused is loseTask with the errors' causes (loseObjectCaused).
func (r *Raylet) loseTaskCaused(task transport.TaskID, why string, causes uint32) {
	delete(r.reconstructing, task)
	delete(r.ownerless, task)
	for _, id := range r.awaitedOf(task) {
		r.loseObjectCaused(id, why, causes)
	}
}

// awaitedOf lists the objects of a task this node's readers wait for, in
// order: fetched, or waited for where they are (whenLocated: a Wait, a
// spill waiting for its inputs), which the error an object turns out to be
// must reach too.
func (r *Raylet) awaitedOf(task transport.TaskID) []transport.ObjectID {
	var ids []transport.ObjectID
	for _, id := range r.store.Awaiting() {
		if id.Task == task {
			ids = append(ids, id)
		}
	}
	for id := range r.located {
		if id.Task == task {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, transport.CompareObjects)
	return slices.Compact(ids)
}

// failedTask gives the readers here of a task whose results the task
// table recorded as a failure (a cancel, its retries spent) that error
// again, as loseTask gives them ErrObjectLost: such a task is not run to
// rebuild its results.
func (r *Raylet) failedTask(task transport.TaskID, kind uint8) {
	delete(r.reconstructing, task)
	delete(r.ownerless, task)
	v := errValue(kind, failureMsg(kind))
	for _, id := range r.awaitedOf(task) {
		e, evicted, _, _ := r.store.PutAt(nil, id, v, false)
		r.evicted(evicted)
		r.wake(id, e)
	}
}

// loseObject makes an unrecoverable object an error value, here only: the
// readers waiting on this node get ErrObjectLost.
func (r *Raylet) loseObject(id transport.ObjectID, why string) { r.loseObjectCaused(id, why, 0) }

// loseObjectCaused is loseObject with the error's causes
// (transport.Value.Causes): CauseOwnerDied for a Put lost with its owner.
func (r *Raylet) loseObjectCaused(id transport.ObjectID, why string, causes uint32) {
	r.emit(transport.Event{Kind: transport.EvObjectLost, Node: r.self, Object: id, Detail: why})
	v := errValue(transport.ErrKindObjectLost, fmt.Sprintf("object %s lost: %s", id, why))
	v.Causes = causes
	e, evicted, _, _ := r.store.PutAt(nil, id, v, false) // e is nil if even the error does not fit
	r.evicted(evicted)
	r.wake(id, e)
}

// rejoinStride separates the incarnations a raylet gives itself when it
// rejoins from those netsim (or a process restart) gives it. A restart
// after a rejoin must still number itself above it (runtime/ray's
// simulated cluster takes the previous raylet's incarnation + 1 when that
// is more than netsim's), or the GCS refuses its registration as stale.
const rejoinStride = 1 << 32

// rejoin fences a raylet the GCS declared dead while it was alive (paused,
// cut off): as Ray's raylet would exit and be restarted, it takes a new
// incarnation and registers again. Its owners have already retried its
// tasks elsewhere and the GCS has restarted or buried its actors, so its
// actors are dropped here (their queued calls are retried by their callers;
// a creation the GCS never saw succeed is retried by its owner; a GCS
// restart of an actor it created that was placed on it is reported lost).
// The task results its dead incarnation made are dropped, as a restarted
// Ray raylet starts empty; its other objects survive and are announced
// again under the new incarnation.
func (r *Raylet) rejoin() {
	oldInc := r.cfg.Incarnation
	// The dead incarnation's objects: what follows stores results under
	// the new one (calls failed, tasks cancelled), announced as they are
	// made, which the loop at the end must neither drop nor announce again.
	objs := r.store.IDs()
	slices.SortFunc(objs, transport.CompareObjects)
	r.cfg.Incarnation += rejoinStride
	r.dropBundles() // the scheduler places them again (a later incarnation registers)
	// The old incarnation's waiting news of its objects stays, and leaves
	// once the new one is registered, still naming the old incarnation:
	// the GCS takes such a location as a copy that died with it, so an
	// object made (and freed, or evicted) before the old registration was
	// answered is known to have existed, and its readers rebuild it rather
	// than wait for it for good. The copies still here are announced again
	// below, under the new incarnation. Its actors' news goes (dropActor).
	r.registered = false
	r.unannounced = slices.DeleteFunc(r.unannounced, func(u unannounced) bool { return !u.object })
	r.emit(transport.Event{Kind: transport.EvNodeAlive, Node: r.self, Detail: "rejoined after being declared dead"})
	ids := make([]transport.ActorID, 0, len(r.actors))
	for id := range r.actors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r.dropOrphans() // the dead incarnation's writes: those not taken before its death never will be (see dropOrphans)
	for _, id := range ids {
		a := r.actors[id]
		r.dropActor(a)
		r.restartDropped(a.creation.spec, oldInc)
	}
	r.register()
	// A creation of ours that ran here and has no TaskDone yet: the
	// actor's shard may never have seen it alive (our news came from a
	// dead incarnation: it neither restarts nor buries it, and we retry),
	// or may have seen it and restarted it already, its TaskDone still on
	// the way. As on any other node's death, only the shard can tell.
	for _, id := range ids {
		r.redoCalls(id)
		if o := r.owned[id]; o != nil && o.node == r.self {
			r.retryOrAsk(o, r.self, oldInc)
		}
	}
	// Our old incarnation is dead to us too: a placement of ours on it,
	// held behind a lost frame, is dropped when it comes (see PlaceTask),
	// so a task of ours the scheduler put there and not queued here is
	// retried now, or when the news of its placement comes (TaskPlaced
	// checks r.dead).
	r.dead.set(r.self, oldInc, r.cfg.Layout.Raylets)
	r.heardDeath()
	placed := sortedKeysWhere(r.owned, func(id transport.TaskID, o *ownedTask) bool {
		_, queued := r.tasks.Get(id)
		return !queued && o.node == r.self && o.inc != 0 && o.inc <= oldInc && !slices.Contains(ids, id)
	})
	for _, id := range placed {
		r.retryOrAsk(r.owned[id], r.self, oldInc)
	}
	// A GCS restart of an actor we created that the scheduler placed on
	// our old incarnation: as when any other node dies with a restart
	// placed on it, we, its owner, are the ones to tell the shard (it
	// hears nothing of a restart until the actor is alive, and news of it
	// alive from our old incarnation is ignored). A restart still queued
	// here is not lost: it comes up under the new incarnation.
	r.restartsLost(func(p *transport.TaskPlaced) bool {
		_, queued := r.tasks.Get(p.Task)
		return !queued && p.Node == r.self && p.Incarnation <= oldInc
	})
	r.dropStaleRuns(oldInc)
	r.respillUnfit() // its own tasks of groups whose bundles it dropped
	for _, id := range objs {
		e, ok := r.store.Peek(id) // no read: the LRU order stays
		switch {
		case !ok || e.Freed():
			// A freed copy still pinned by a task is not announced: it
			// goes at its last unpin, which tells nobody.
		case e.Primary && !id.Put && !decidedError(e.Value.ErrKind):
			// A result a run here made, by the old incarnation: the task
			// table may refuse it (its owner failed the task, cut off from
			// this node, and the table took that failure first), and until
			// the refusal came this node's readers would take it, one ref
			// giving two answers. Dropped, as a restarted Ray raylet holds
			// none: its news (made, or made and freed) has reached the
			// GCS under the old incarnation, or waits to (see above), so
			// the table knows it existed and readers rebuild it — or read
			// the failure that won (a cancel or spent retries stored here
			// is of record: the table gives it again, unless a value won).
			// Not an actor call's ErrActorDied its caller stored here: no
			// table holds it, and dropped, a second read would differ.
			// A copy a task here has pinned (an argument) goes at its last
			// unpin, as a freed one does (and is traced then, as freed).
			delete(r.locations, id)
			if r.store.Free(id) {
				r.emit(transport.Event{Kind: transport.EvObjectEvicted, Node: r.self, Object: id, Detail: transport.DetailRejoin})
			}
		case e.Value.ErrKind == transport.ErrKindNone || e.Primary:
			// A copy pulled from another node (the table located it
			// there), or made by Put here (no task to fail), is announced
			// again under the new incarnation. An error copy that stands
			// here only for readers here (an object lost, or too large for
			// this store, a failure read back from the task table) is not.
			r.announce(transport.GcsAddObject{Object: id, Node: r.self, Size: e.Value.SizeOf(), Incarnation: r.cfg.Incarnation,
				Failed: transport.IsFailureOfRecord(e.Value.ErrKind)})
		}
	}
	// The new incarnation cannot be declared dead before it registers: a
	// node fenced while cut off starts work again.
	r.renewLease(r.since())
	r.dispatch()
}

// decidedError reports whether an error kind is one a caller stores as a
// task's result without a run, and that no table records: an actor call's
// ErrActorDied. Dropped at a rejoin, a second read could not find it again
// (the task table gives a failure of record again, failedTask, or the value
// that won). A run can store it too (an argument's error passed on): kept
// all the same, an error either way.
func decidedError(kind uint8) bool {
	return kind == transport.ErrKindActorDied
}

// dropStaleRuns drops, as this node rejoins, the normal tasks of other
// owners it holds: they were placed on its old incarnation, whose death
// their owners heard, and each owner has retried its task elsewhere or
// failed it for good on the task table's verdict (askFailure). As Ray's
// raylet, restarted, holds none. A run kept here would hand its value to
// this node's own readers (who wait for a local producer without asking
// the GCS) though the table refuses it: one ref, two answers. A queued
// task goes as a cancel drops one, without a result; a running one runs
// on (its code cannot be stopped; a cancel's interrupt ends its block) and
// finish discards what it makes (staleRuns). A run a reader here waits for
// is kept (awaitedHere). Other owners' creations still queued here go
// too, awaited or not: each creator heard of the old incarnation's death
// and asks the actor table, which has never seen the actor alive from
// this node, so the creator retries it (or the creator restarts a GCS
// restart placed here, restartLost); run here as well, it made a second
// instance of the actor. Actors' calls and running creations are not
// here (dropActor bounced or ended them), and tasks this node owns run on
// under the new incarnation. oldInc is the dead incarnation the dropped
// runs were placed on (a dropped GCS restart's report names it).
func (r *Raylet) dropStaleRuns(oldInc uint64) {
	var stale []*task
	for _, t := range r.tasks.All() {
		if t.spec.Owner != r.self && t.actor == nil && (t.spec.IsCreation() || !r.awaitedHere(t.spec)) {
			stale = append(stale, t)
		}
	}
	slices.SortFunc(stale, func(a, b *task) int { return cmp.Compare(a.spec.ID, b.spec.ID) })
	for _, t := range stale {
		id := t.spec.ID
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: id, Detail: "dropped at rejoin: placed on the node's dead incarnation"})
		if t.running {
			if r.staleRuns == nil {
				r.staleRuns = make(map[*task]struct{})
			}
			// Out of r.tasks: a retry placed on the new incarnation is no
			// duplicate of it, and no reader here waits for it. Keyed by
			// the run, so a new run of the same task is not taken for it.
			r.staleRuns[t] = struct{}{} // its later blocks end at once too (cancelledNow)
			r.tasks.Delete(id)
			if c := t.caller; c != nil {
				// Not cancelled: its children, submitted or to come, are
				// left alone, as their IDs derive from the task's and the
				// owner's retry submits children of the same IDs. But its
				// actor calls are forgotten (forgetStaleCalls).
				c.interrupt()
				r.forgetStaleCalls(c)
			}
		} else {
			r.dropQueued(t)
			r.restartDropped(t.spec, oldInc)
		}
	}
}

// forgetStaleCalls forgets, as this node rejoins, the actor calls a
// caller run it dropped as stale (dropStaleRuns) submitted: they are not
// retried, delivered or answered any more, as a dead Ray worker's owned
// calls are not. The caller's owner has retried it, on another node or
// to come here, and that attempt owns calls of the same IDs and numbers
// anew, from its own sequence (SeqBase 0 until they are done for it).
// Retried from here (their instance's node declared dead), the stale
// calls carried this node's base for the caller, past the numbers done
// for the stale run; a restarted instance they reached first took the
// caller's order from it, and passed over the calls the live attempt
// sent for those numbers, which it had never run: that caller waited for
// good (the fault search's actor-calls found it:
// stale-caller-calls-skip-retried-callers). The caller's sequence
// here goes too, so that an attempt retried here starts its own.
func (r *Raylet) forgetStaleCalls(c *Caller) {
	seqs := map[seqKey]bool{}
	for _, id := range c.kids {
		o := r.owned[id]
		if o == nil || o.spec.Actor == 0 || o.spec.IsCreation() || o.spec.Owner != r.self {
			continue
		}
		delete(r.owned, id)
		if len(r.asking) > 0 {
			delete(r.asking, id)
		}
		if rt := r.routes[o.spec.Actor]; rt != nil {
			rt.pending = slices.DeleteFunc(rt.pending, func(s *transport.TaskSpec) bool { return s.ID == id })
		}
		seqs[seqKey{o.spec.A().Caller, o.spec.Actor}] = true
	}
	for k := range seqs { // deletes only: the order cannot show
		delete(r.seqs, k)
	}
}

// restartDropped reports lost a GCS restart of an actor (a creation with a
// restart attempt) that this node will not run: one it dropped as it
// rejoined, queued or running, or one placed on an earlier incarnation of
// it (PlaceTask). The actor's shard hears nothing of a restart until the
// actor is alive, and the creator, which reports a restart placed on a
// dead incarnation (restartLost), may be gone or may have missed the
// placement. The shard ignores the report if that restart is no longer
// current, so a second report from the creator is harmless. It leaves
// once this incarnation is registered (sendActorUpdate). It names the
// dead incarnation oldInc the restart was held by: placed there after the
// shard knew it dead, it costs the actor no restart.
func (r *Raylet) restartDropped(spec *transport.TaskSpec, oldInc uint64) {
	if !spec.IsCreation() || !transport.IsRestart(spec.Attempt) {
		return
	}
	r.reportRestartLost(spec.Actor, r.self, spec.Attempt, oldInc)
}

// reportRestartLost tells the actor's shard that the GCS's restart
// numbered attempt (a transport.RestartAttempt), placed on incarnation inc
// of node, went lost before the actor came up there: the shard restarts
// the actor again or buries it, and ignores the report if that restart is
// no longer current (gcs.Shard.actorUpdate). The one builder of such a
// report, for the creator that watched the placement (restartLost), the
// node that dropped the restart (restartDropped) and the host whose
// instance crashed before it came up (Kill). inc 0 names no incarnation:
// the restart is charged (see gcs.Shard.staleRestart).
func (r *Raylet) reportRestartLost(actor transport.ActorID, node transport.NodeID, attempt uint32, inc uint64) {
	r.sendActorUpdate(&transport.GcsActorUpdate{Actor: actor, Node: node, State: transport.ActorRestarting, Restart: attempt, Incarnation: inc})
}

// awaitedHere reports whether a reader on this node waits for a result of
// the task from its run here (fetch.local). Such a run is kept at a
// rejoin: the reader may be this node's own resubmission of the task (a
// parent re-run here submits children of the same IDs, and accept took
// it for the run it already had), which nobody else would run. Left: a
// reader that waited since before the rejoin for a run whose owner has
// failed it for good still takes its value.
func (r *Raylet) awaitedHere(spec *transport.TaskSpec) bool {
	for i := uint32(0); i < spec.NumReturns; i++ {
		if fe := r.fetchOf(spec.Return(i)); fe != nil && fe.local {
			return true
		}
	}
	return false
}

// redoCalls points this raylet's route to an actor it hosted and dropped
// when it rejoined away from itself: the calls it had delivered there were
// bounced by the drop (dropActor) and wait, with any others, for the GCS's
// word on where the actor lives now, or go on at once if it is known alive
// elsewhere.
func (r *Raylet) redoCalls(id transport.ActorID) {
	rt := r.routes[id]
	if rt == nil || rt.state != transport.ActorAlive {
		return
	}
	if rt.node == r.self {
		rt.state = transport.ActorRestarting // news of its new place will come
		return
	}
	pending := rt.pending
	rt.pending = nil
	for _, spec := range pending {
		r.deliverCall(rt.node, rt.inc, spec)
	}
}

// watchRestart keeps where the global scheduler put the GCS's restart of an
// actor this node created. The GCS restarts an actor by handing its
// creation task to the scheduler and hears nothing until the actor reports
// alive, so if that node dies first, the owner (told of placements as for
// any of its tasks) is the one who can tell the GCS to place it again.
func (r *Raylet) watchRestart(m *transport.TaskPlaced) {
	p := *m
	r.restarts[m.Task] = &p
	if r.dead.known(m.Node, m.Incarnation) {
		if r.queuedHere(m) {
			p.Incarnation = r.cfg.Incarnation // kept at the rejoin: it comes up here
			return
		}
		r.restartLost(&p)
	}
}

// queuedHere reports whether the placement m names is of this node and is
// still queued here: late news (TaskPlaced follows PlaceTask from the
// scheduler, and the node may have rejoined between the two) of a task
// the rejoin kept, to run under the new incarnation.
func (r *Raylet) queuedHere(m *transport.TaskPlaced) bool {
	if m.Node != r.self {
		return false
	}
	t, ok := r.tasks.Get(m.Task)
	return ok && m.Places(t.spec)
}

// restartsLost reports lost (restartLost), in actor order, the watched
// restarts lost says are: those placed on a node incarnation now dead.
func (r *Raylet) restartsLost(lost func(p *transport.TaskPlaced) bool) {
	ids := sortedKeysWhere(r.restarts, func(_ transport.ActorID, p *transport.TaskPlaced) bool { return lost(p) })
	for _, id := range ids {
		r.restartLost(r.restarts[id])
	}
}

// restartLost tells the actor's shard that restart number p.Attempt went
// to a node that died; the shard ignores it if the actor has since come up
// or been restarted again. The report names the incarnation the restart
// was placed on: one the shard knew dead when it asked for the restart
// (the scheduler had not heard yet) costs the actor no restart (see
// gcs.Shard.staleRestart).
func (r *Raylet) restartLost(p *transport.TaskPlaced) {
	delete(r.restarts, p.Task)
	r.reportRestartLost(p.Task, p.Node, p.Attempt, p.Incarnation)
}
