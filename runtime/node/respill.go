package node

import (
	"strconv"
	"time"

	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// Re-spilling queued tasks (Ray's ClusterTaskManager re-runs its policy
// over the tasks it queued whenever the cluster's resource view changes,
// and spills one back to a node with its resources available).
//
// A raylet keeps a task it can run while its queue is short (bottom-up):
// a burst submitted on one node queues there. When nodes join later
// (ray.NodeConfig.Start, an autoscaler's launch) or others free up, the
// global scheduler's answer to this node's heartbeat lists the other nodes
// with resources free (transport.ClusterRoom), and the raylet hands back
// (transport.RespillTask) as many of its queued tasks as fit there, from
// the back of each queue: the front ones start here first.
//
// Only a task waiting for resources moves: accepted, its arguments all
// here, in its scheduling class (not one whose arguments are being
// fetched: they may be on their way to this node, and it is not waiting
// for resources yet; once they are here it is a candidate, as Ray spills
// a waiting task only when its dependencies are not being pulled). Never
// an actor's creation or method call (an actor lives where it was
// created), nor a task with a node affinity (its node is this one, or the
// scheduler's choice when its target was gone); under locality-aware
// placement not a task with by-reference arguments either (its inputs are
// here: that is why it is). A placement group's task moves only where its
// bundle resources are free, which its renamed resources say.
//
// Nothing ping-pongs: a round re-spills at most what fits in the room
// offered (first fit over the listed nodes, each task's resources taken
// from a copy of it), the scheduler places a re-spilled task only on a
// node whose resources for it are free in its view (which counts its own
// placements at once) or back on this node, whose queue it then rejoins,
// and a task placed by a re-spill on another node (its PlaceTask's reason
// says so) moves no more: a view gone stale (a heartbeat sent before the
// node took tasks of its own) can leave it queued there, but not sent
// round again. Nor is a task lost or run twice: it leaves the node's
// tables as a cancelled one does (dropQueued), so nothing here runs it,
// and it travels as a spill does (the owner's record, a cancel's
// tombstones, its readers' subscriptions: see spill).

// movedIn is the start (task.start) of a queued task placed here by a
// re-spill: it moves no more.
const movedIn time.Duration = -1

// movable reports whether t, queued here, may be re-spilled (see above).
func (r *Raylet) movable(t *task) bool {
	s := t.spec
	switch {
	case t.cancelled || t.running || t.missing > 0 || t.actor != nil || t.start == movedIn:
		return false
	case s.Actor != 0: // an actor's creation or method call
		return false
	case s.Strategy == transport.StrategyNodeHard || s.Strategy == transport.StrategyNodeSoft:
		return false
	case scheduler.WaitsForArgs(r.cfg.Policy) && hasRefArgs(s):
		return false
	}
	return true
}

// respill hands back to the global scheduler the queued tasks that fit the
// free room of other nodes (the scheduler's ClusterRoom), at most what
// fits there, from the back of each scheduling class.
func (r *Raylet) respill(room []transport.NodeRoom) {
	if r.left || r.cfg.Driver || r.ready == 0 || len(room) == 0 {
		return
	}
	free := make([]transport.Resources, len(room))
	for i := range room {
		free[i] = room[i].Available
	}
	for _, c := range r.classes {
		for k := len(c.q) - 1; k >= c.head; k-- {
			t := c.q[k]
			if !r.movable(t) {
				continue
			}
			res := t.spec.Resources
			if res.Fits(r.avail) && (res.GPU == 0 || r.gpusFit(res.GPU)) {
				break // its class starts here now (a turn of dispatch away)
			}
			at := -1
			for i := range free {
				if res.Fits(free[i]) {
					at = i
					break
				}
			}
			if at < 0 {
				break // nor does the rest of its class (one shape) fit anywhere
			}
			free[at] = free[at].Sub(res)
			r.respillTask(t, room[at].Node)
		}
	}
}

// respillTask takes a queued task out of this node and hands it to the
// global scheduler (RespillTask), room having been seen on node at.
func (r *Raylet) respillTask(t *task, at transport.NodeID) {
	r.env.Charge(r.cfg.Costs.Schedule)
	r.dropQueued(t) // the dispatch loop skips it now
	spec := t.spec
	if o := r.owned[spec.ID]; o != nil && spec.Owner == r.self {
		// Placed nowhere until the scheduler says where (TaskPlaced), as
		// a task spilled at submission: a rejoin of this node meanwhile
		// must not retry it as one lost with the old incarnation (it
		// would run twice), nor a death of this node's old self.
		o.node, o.inc = 0, 0
	}
	r.leaving(spec)
	r.Stats.Respilled++
	m := &transport.RespillTask{SpillTask: transport.SpillTask{Spec: *spec}}
	r.argLocs(&m.SpillTask)
	r.emit(transport.Event{Kind: transport.EvTaskPlaced, Node: r.self, Peer: r.cfg.Layout.Scheduler, Task: spec.ID,
		Detail: "respilled: room on node " + strconv.FormatUint(uint64(at), 10)})
	r.send(r.cfg.Layout.Scheduler, m)
}

// Backlog returns the resources of each task queued here that cannot
// start soon and could run elsewhere: movable (see respill), and beyond
// the node's next wave — the queued tasks, in queue order, that fit the
// node's whole resources once its running tasks end. An autoscaler counts
// them as demand (Ray's reads the raylets' queued resource load), which
// the re-spill then moves onto the nodes it launches. Loop only.
func (r *Raylet) Backlog() []transport.Resources {
	var out []transport.Resources
	wave := r.total
	for _, c := range r.classes {
		for _, t := range c.q[c.head:] {
			if t.cancelled {
				continue
			}
			if need := t.spec.Placement(); need.Fits(wave) {
				wave = wave.Sub(need)
				continue
			}
			if r.movable(t) {
				out = append(out, t.spec.Resources)
			}
		}
	}
	return out
}
