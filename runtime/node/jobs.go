package node

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"raysim/runtime/transport"
)

// A job is a driver's work, as Ray's JobID: every task and actor its
// driver submits, and, transitively, those they submit
// (transport.TaskSpec.Job names the driver: its node and its number
// there). It ends when the driver returns (EndJob: its node tells every
// raylet and the scheduler, transport.JobEnd, as Ray's GCS marks a job
// finished when its driver exits), or with the driver's node incarnation:
// its goodbye (transport.NodeLeaving) or its death as the node table
// declares it, a node timeout later unless the node rejoins (jobNews),
// which ends every job of the node's drivers. Each raylet then ends what
// it holds of the job (endJob, endDriverJob) and refuses its tasks placed
// later, as Ray's raylets kill a finished job's workers: its queued and
// running tasks are cancelled, freeing their resources, and its actors
// die unless detached. At a node's death the actor table buries the
// actors the node's drivers created (gcs ownerDied, by owner); at a
// driver's return its node tells the table of the driver's own (EndJob),
// and the hosts end those of the job they hold. What the job's tasks
// submit after they are cancelled is cancelled too (Caller.Submit of a
// cancelled task), the owners of its tasks do not retry them (retry), and
// a lost result of one is not rebuilt (onTaskInfo).

// whyJobEnded is killActor's why for an actor whose job ended: final, as
// a ray.Kill.
const whyJobEnded = "job ended"

// JobEnded is in the text of the error a task or actor of an ended job
// fails with (ErrCancelled, ErrActorDied): the fault search tells a job's
// end, which a partition can bring on a driver that runs on, by it.
const JobEnded = "its job ended"

// jobEndedMsg says why a task or actor of job was ended: its driver
// returned, or its driver's node left or was declared dead.
func (r *Raylet) jobEndedMsg(job transport.JobID) string {
	if r.jobsDone.has(job) {
		return fmt.Sprintf("%s (its driver on %s returned)", JobEnded, r.nodeText(job.Node()))
	}
	return fmt.Sprintf("%s (its driver's %s left or was declared dead)", JobEnded, r.nodeText(job.Node()))
}

// jobEnded reports whether spec's job is known here to have ended: its
// driver returned (jobsDone: for good), or its driver's node said
// goodbye, or was declared dead and not heard of again for the grace
// (jobNews), and no newer incarnation of it registered since. A spec
// names its job's node, not the incarnation: a driver node fenced
// (declared dead while alive) lost its jobs with that incarnation, as its
// placement groups and actors; once it rejoins, the jobs of its drivers
// still running are alive again for what they submit next. This node's
// own drivers' jobs end here only as they return.
func (r *Raylet) jobEnded(spec *transport.TaskSpec) bool { return r.jobOver(spec.Job()) }

// jobGrace is how many node timeouts a driver node declared dead by
// silence has to rejoin before its jobs end. One was too few: a node cut
// off for 1.3s (declared dead at 1s in netsim) re-registers only once the
// frames its connections lost in the cut are resent, up to an RTO (3.2s)
// after the heal, and a quickstart with its head cut off so lost a
// quarter of its tasks, cancelled (review). A crashed driver's work is
// freed three node timeouts after its death (9s on TCP).
const jobGrace = 3

// jobNews takes a node's death (onNodeDead, a death not seen before) as
// news of the jobs of the drivers it ran. A goodbye ends them at once. A
// death by silence ends them once jobGrace node timeouts have passed with no newer
// news of the node: a node cut off (a partition, a pause) is declared
// dead as a crashed one is, and rejoins once it hears so, as a new
// incarnation whose registration the node table announces as the old
// one's replacement; its driver runs on, and its job with it. A
// replacement (a newer incarnation registered) ends nothing and revives
// an ended job: what the node's driver submits from then on is a live
// job's, since a spec names its job's node, not the incarnation.
func (r *Raylet) jobNews(m *transport.NodeDead) {
	node := m.Node
	switch {
	case !m.JobsEnd:
		r.jobsEnded.remove(uint64(node))
		delete(r.jobsEnding, node)
	case m.Left:
		delete(r.jobsEnding, node)
		r.endJob(node)
	default:
		if r.jobsEnded.has(uint64(node)) {
			return
		}
		if r.jobsEnding == nil {
			r.jobsEnding = make(map[transport.NodeID]uint64)
		}
		inc := m.Incarnation
		r.jobsEnding[node] = inc
		r.env.After(jobGrace*r.cfg.NodeTimeout, func() {
			if got, ok := r.jobsEnding[node]; ok && got == inc {
				delete(r.jobsEnding, node)
				r.endJob(node)
			}
		})
	}
}

// endJob ends what this raylet holds of the jobs of the drivers that ran
// on node, an incarnation of which was declared dead (jobNews): every
// job whose spec names that node (endJobWhere). The actors the node's
// drivers created themselves are not this node's to end: the actor table
// buries them with their owner.
func (r *Raylet) endJob(node transport.NodeID) {
	r.jobsEnded.add(uint64(node), 0, math.MaxInt) // a NodeID is below 2^32: never refused
	r.endJobWhere(func(spec *transport.TaskSpec) bool {
		if spec.JobNode() != node {
			return false
		}
		// The actor table buries the driver's own actors (it knows their
		// owner): only a task's are this node's to end.
		return spec.Actor == 0 || spec.IsCreation() && !spec.A().Detached && spec.Owner != node
	}, "job of "+r.nodeText(node))
	r.releaseJobsOf(node)
}

// endDriverJob ends what this raylet holds of job, whose driver returned
// (JobEnd, or EndJob on its own node): for good, whatever its node's fate
// (jobsDone). Its actors here end whoever created them, the driver too:
// its owner lives on. An end jobsDone has no room left for (a node that
// ended a thousand drivers around ones still running, or a hostile peer:
// jobSet.add) is acted on all the same, but not remembered: a task of
// the job placed here later runs.
func (r *Raylet) endDriverJob(job transport.JobID) {
	if r.jobsDone.has(job) {
		return
	}
	if ok, first := r.jobsDone.add(job); !ok && first {
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
			Detail: fmt.Sprintf("%s ended drivers around more than %d still running: the ends of its jobs are no longer remembered here",
				r.nodeText(job.Node()), maxJobSpans)})
	}
	r.endJobWhere(func(spec *transport.TaskSpec) bool {
		return spec.Job() == job && (spec.Actor == 0 || spec.IsCreation() && !spec.A().Detached)
	}, fmt.Sprintf("job of %s's driver %d", r.nodeText(job.Node()), job.Driver()))
	r.releaseJob(job)
	r.releaseJobCallers(job)
}

// endJobWhere ends what this raylet holds of an ended job, the specs of
// which of matches (its normal tasks, and the creations of the actors of
// it to end here): its normal tasks queued, waiting for their inputs or
// running here are cancelled (running ones interrupted at their block,
// with the tasks they submitted, as a cancel does), a queued creation of
// its actor fails, and its actors hosted here are killed for good. Tasks
// in flight to this node when the news came are not caught here (they
// are refused as they arrive: jobEnded). what names the job in the
// warning event.
func (r *Raylet) endJobWhere(of func(spec *transport.TaskSpec) bool, what string) {
	r.drainSubmits() // a submission not yet drained is in no table
	var ids []transport.TaskID
	for id, t := range r.tasks.All() {
		if of(t.spec) {
			ids = append(ids, id)
		}
	}
	for id, o := range r.owned {
		if o.spec.Actor == 0 && of(o.spec) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		why := r.jobEndedMsg(r.jobOfTask(id))
		r.cancelForJob(id, why)
	}
	var actors []transport.ActorID
	for id, a := range r.actors {
		if !a.dead && of(a.creation.spec) {
			actors = append(actors, id)
		}
	}
	slices.Sort(actors)
	for _, id := range actors {
		a := r.actors[id]
		if a == nil {
			continue
		}
		r.killActorSaying(id, whyJobEnded, r.jobEndedMsg(a.creation.spec.Job()))
	}
	// The job's actors created here and not up here (their creations
	// held at the scheduler, infeasible or early, or up elsewhere): the
	// actor table buries them, as Ray's GCS kills every actor of a
	// finished job, pending ones too. Else a pending one kept its name
	// and its callers waited for good (review29 finding 13).
	var created []transport.TaskID
	for id, o := range r.owned {
		if o.spec.IsCreation() && !o.spec.A().Detached && of(o.spec) {
			created = append(created, id)
		}
	}
	slices.Sort(created)
	for _, id := range created {
		spec := r.owned[id].spec
		r.sendActorUpdate(&transport.GcsActorUpdate{Actor: spec.Actor, State: transport.ActorDead, Name: spec.A().Name,
			Cause: transport.CutCause(r.jobEndedMsg(spec.Job()))})
	}
	r.dispatch() // their resources are free
	if len(ids) > 0 || len(actors) > 0 {
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
			Detail: fmt.Sprintf("%s ended: %d tasks cancelled, %d actors killed here", what, len(ids), len(actors))})
	}
}

// jobOfTask is the job of a task held here (queued or owned; 0 if
// neither).
func (r *Raylet) jobOfTask(id transport.TaskID) transport.JobID {
	if t, ok := r.tasks.Get(id); ok {
		return t.spec.Job()
	}
	if o := r.owned[id]; o != nil {
		return o.spec.Job()
	}
	return 0
}

// EndJob ends the job of a driver that returned (NewJobDriver), as Ray
// ends a job when its driver exits: this raylet ends what it holds of it
// and tells every other raylet and the global scheduler (JobEnd), which
// do the same; the actors the driver created that are not detached are
// told dead to the actor table, wherever they are (pending, alive,
// restarting: a host still running one is told to end it), and its
// placement groups that are not detached are removed. Call it from the
// driver's own goroutine or coroutine once the driver has returned, not
// on a driver whose node crashed (its death ends the job). A driver made
// by NewDriver (a live cluster's session) is ended by its node's
// goodbye instead; calling EndJob on it ends the job of the node's first
// driver all the same.
func (c *Caller) EndJob() {
	if !c.driver {
		return
	}
	c.sub.Lock()
	actors, groups := c.ownActors, c.ownGroups
	c.ownActors, c.ownGroups = nil, nil
	called := slices.Collect(maps.Keys(c.seqs)) // callerOver sorts them
	c.sub.Unlock()
	c.r.env.Post(func() {
		c.r.callerOver(c.task, called)
		c.r.driverReturned(c.job, actors, groups)
	})
}

// driverReturned ends job, whose driver returned (EndJob), here and
// across the cluster.
func (r *Raylet) driverReturned(job transport.JobID, actors []ownActor, groups []transport.GroupID) {
	if r.jobsDone.has(job) {
		return
	}
	r.drainSubmits()
	r.endDriverJob(job)
	r.sendOthers(&transport.JobEnd{Job: job})
	r.send(r.cfg.Layout.Scheduler, &transport.JobEnd{Job: job})
	cause := transport.CutCause(r.jobEndedMsg(job))
	for _, a := range actors {
		// Killed here if it lived here (endDriverJob); the table is told
		// in any case, as for a ray.Kill by its owner: it may be pending,
		// restarting, or up on a host the JobEnd has not reached.
		r.sendActorUpdate(&transport.GcsActorUpdate{Actor: a.id, State: transport.ActorDead, Name: a.name, Cause: cause})
	}
	for _, id := range groups {
		og := r.groups[id]
		if og == nil || og.removing || og.state == transport.GroupRemoved || og.state == transport.GroupRejected {
			continue
		}
		og.removing = true
		r.send(r.cfg.Layout.Scheduler, &transport.GroupRemove{Group: id})
	}
}

// cancelForJob ends one task of an ended job (endJob): as cancelLocal
// does, but for good whoever owns it, and a creation too.
func (r *Raylet) cancelForJob(id transport.TaskID, why string) {
	if o := r.owned[id]; o != nil && !o.spec.IsCreation() {
		o.cancelled = true // a retry fails it (retry)
		if w := r.argWaits[id]; w != nil {
			r.spillAwaited(w) // waiting for its inputs: it ends now, cancelled
			return
		}
	}
	t, ok := r.tasks.Get(id)
	if !ok || t.cancelled {
		return
	}
	if t.spec.IsCreation() {
		if t.running || r.actors[id] != nil {
			return // its actor is here: endJob kills it
		}
		r.dropQueued(t)
		r.ownedDone(id)
		msg := "its creation task failed: " + why
		r.failTask(t.spec, transport.ErrKindActorDied, msg)
		r.actorDiedDetail(id, t.spec.A().Name, whyJobEnded, msg, 0)
		return
	}
	if t.running {
		t.cancelled = true
		if c := t.caller; c != nil {
			c.interrupt() // a normal task's block ends now
			c.cancelKids(0)
		}
		return // finish stores the cancellation
	}
	r.dropQueued(t)
	r.ownedDone(id)
	r.failTask(t.spec, transport.ErrKindCancelled, "task cancelled: "+why)
}

// cancelledMsg is the error text of a task whose run was cancelled: its
// job's end says so.
func (r *Raylet) cancelledMsg(spec *transport.TaskSpec) string {
	if r.jobEnded(spec) {
		return "task cancelled: " + r.jobEndedMsg(spec.Job())
	}
	return "task cancelled"
}
