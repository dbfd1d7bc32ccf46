package node

import (
	"fmt"

	"raysim/runtime/transport"
)

// An infeasible task (no live node has the resources it asks for) is held
// by the global scheduler until a node that has them joins, as Ray keeps
// it pending for its autoscaler. The scheduler tells the owner once a
// hold (transport.TaskInfeasible), as Ray's driver prints its warning, and
// the owner keeps the news until the task is placed or ends: a Get of its
// results that times out says the task is infeasible, and why, instead of
// a bare timeout.

// infeasibleNote is the scheduler's news that an owned submission is held
// as infeasible (Raylet.infeasible, by task: rare, so not in ownedTask).
type infeasibleNote struct {
	attempt uint32
	rebuild bool
	detail  string
}

// onInfeasible keeps the scheduler's news that a task this node owns (or
// the GCS's restart of an actor created here) is held as infeasible.
func (r *Raylet) onInfeasible(from transport.NodeID, m *transport.TaskInfeasible) {
	if from != r.cfg.Layout.Scheduler {
		return
	}
	o := r.owned[m.Task]
	switch {
	case o != nil && o.spec.Owner == r.self && m.Holds(o.spec):
	case transport.IsRestart(m.Attempt): // the GCS's restart of an actor created here: the scheduler tells its creator
	default:
		return // news of an earlier submission, or of a task no longer owned
	}
	if r.infeasible == nil {
		r.infeasible = make(map[transport.TaskID]infeasibleNote)
	}
	r.infeasible[m.Task] = infeasibleNote{attempt: m.Attempt, rebuild: m.Rebuild, detail: m.Detail}
}

// placedFeasible drops the news of a task's hold once the task is placed
// (the submission it was about) or done.
func (r *Raylet) placedFeasible(task transport.TaskID, attempt uint32, rebuild bool) {
	if n, ok := r.infeasible[task]; ok && n.attempt == attempt && n.rebuild == rebuild {
		delete(r.infeasible, task)
	}
}

// infeasibleWhy says why the first of ids that is not here and whose task
// (or, for an actor's method call, whose actor's creation) this node knows
// to be held as infeasible waits: "" when none is. A Get that times out
// adds it to ErrTimeout. Loop only.
func (r *Raylet) infeasibleWhy(ids []transport.ObjectID) string {
	if len(r.infeasible) == 0 {
		return ""
	}
	for _, id := range ids {
		if r.store.Contains(id) {
			continue
		}
		if n, ok := r.infeasible[id.Task]; ok {
			name := ""
			if o := r.owned[id.Task]; o != nil {
				name = " (" + o.spec.Name + ")"
			}
			if o := r.owned[id.Task]; o != nil && o.spec.Strategy == transport.StrategyNodeHard {
				// Pinned to a node: held for that node, not for any
				// that joins (the scheduler's detail says for how long).
				return fmt.Sprintf("task %s%s is held by the scheduler: %s", id.Task, name, n.detail)
			}
			return fmt.Sprintf("task %s%s is infeasible, held until a node that can run it joins: %s", id.Task, name, n.detail)
		}
		o := r.owned[id.Task]
		if o == nil || o.spec.Actor == 0 || o.spec.IsCreation() {
			continue
		}
		if n, ok := r.infeasible[o.spec.Actor]; ok {
			return fmt.Sprintf("the actor %s of call %s (%s) is infeasible, its creation held until a node that can run it joins: %s",
				o.spec.Actor, id.Task, o.spec.Name, n.detail)
		}
	}
	return ""
}
