package node

import (
	"fmt"
	"slices"

	"raysim/runtime/transport"
)

// A job is a driver's work, as Ray's JobID: every task and actor its
// driver submits, and, transitively, those they submit
// (transport.TaskSpec.JobNode names the driver's node). It ends with the
// driver's node incarnation: the driver's clean exit on a live cluster
// (its raylet's goodbye, transport.NodeLeaving) or its node's death as
// the node table declares it, a node timeout later unless the node rejoins
// (jobNews). Each raylet hears of that death (NodeDead) and then ends
// what it holds of the job (endJob) and refuses its tasks placed later,
// as Ray's raylets
// kill a finished job's workers: its queued and running tasks are
// cancelled, freeing their resources, and its actors die unless
// detached. Its actors the driver created itself are buried by the actor
// table, which knows them by owner (gcs ownerDied); those a task created
// are ended by their hosts here. What the job's tasks submit after they
// are cancelled is cancelled too (Caller.Submit of a cancelled task), the
// owners of its tasks do not retry them (retry), and a lost result of one
// is not rebuilt (onTaskInfo).

// whyJobEnded is killActor's why for an actor whose job ended: final, as
// a ray.Kill.
const whyJobEnded = "job ended"

// JobEnded is in the text of the error a task or actor of an ended job
// fails with (ErrCancelled, ErrActorDied): the fault search tells a job's
// end, which a partition can bring on a driver that runs on, by it.
const JobEnded = "its job ended"

// jobEndedMsg says why a task or actor of the job whose driver ran on node
// was ended.
func (r *Raylet) jobEndedMsg(node transport.NodeID) string {
	return fmt.Sprintf("%s (its driver's %s left or was declared dead)", JobEnded, r.nodeText(node))
}

// jobEnded reports whether spec's job is known here to have ended: its
// driver's node said goodbye, or was declared dead and not heard of again
// for the grace (jobNews), and no newer incarnation of it registered
// since. A spec names its job's node, not the incarnation: a
// driver node fenced (declared dead while alive) lost its job with that
// incarnation, as its placement groups and actors; once it rejoins, its
// job is alive again for what its driver submits next. This node's own
// job never ends here.
func (r *Raylet) jobEnded(spec *transport.TaskSpec) bool {
	j := spec.JobNode()
	if j == 0 || j == r.self || r.jobsEnded == nil {
		return false
	}
	_, ended := r.jobsEnded[j]
	return ended
}

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
		delete(r.jobsEnded, node)
		delete(r.jobsEnding, node)
	case m.Left:
		delete(r.jobsEnding, node)
		r.endJob(node)
	default:
		if _, ended := r.jobsEnded[node]; ended {
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

// endJob ends what this raylet holds of the job whose driver ran on node,
// an incarnation of which was declared dead (jobNews): its normal
// tasks queued, waiting for their inputs or running here are cancelled
// (running ones interrupted at their block, with the tasks they
// submitted, as a cancel does), a queued creation of its actor that is not
// detached fails, and its actors hosted here that a task created (not the
// driver: the actor table buries those with their owner) are killed for
// good. Tasks in flight to this node when the news came are not caught.
func (r *Raylet) endJob(node transport.NodeID) {
	if r.jobsEnded == nil {
		r.jobsEnded = make(map[transport.NodeID]struct{})
	}
	r.jobsEnded[node] = struct{}{}
	r.drainSubmits() // a submission not yet drained is in no table
	of := func(spec *transport.TaskSpec) bool {
		if spec.JobNode() != node {
			return false
		}
		if spec.Actor == 0 {
			return true
		}
		// The actor table buries the driver's own actors (it knows their
		// owner): only a task's are this node's to end.
		return spec.IsCreation() && !spec.A().Detached && spec.Owner != node
	}
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
	why := r.jobEndedMsg(node)
	for _, id := range ids {
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
		r.killActorSaying(id, whyJobEnded, why)
	}
	r.dispatch() // their resources are free
	if len(ids) > 0 || len(actors) > 0 {
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
			Detail: fmt.Sprintf("job of %s ended: %d tasks cancelled, %d actors killed here", r.nodeText(node), len(ids), len(actors))})
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
		return "task cancelled: " + r.jobEndedMsg(spec.JobNode())
	}
	return "task cancelled"
}
