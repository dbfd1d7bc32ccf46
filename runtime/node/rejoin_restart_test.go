package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// queuedCreation places on r (incarnation 1) a creation of actor 42 that
// waits here for its argument (an object nobody has made yet), so it is
// still queued when the node rejoins.
func queuedCreation(t *testing.T, r *Raylet, owner transport.NodeID, attempt uint32, strategy uint8) transport.TaskSpec {
	t.Helper()
	r.cfg.Registry = oneActorRegistry{}
	arg := transport.ObjectID{Task: 500}
	spec := transport.TaskSpec{ID: 42, Func: "A", Owner: owner, Actor: 42, Attempt: attempt, Strategy: strategy,
		Args: []transport.Arg{{IsRef: true, Ref: arg}}, Act: &transport.ActorSpec{Creation: true, MaxRestarts: 3}}
	if owner == r.self {
		r.own(&spec)
	}
	r.Handle(60, &transport.PlaceTask{Spec: spec, Reason: "bottom-up", Incarnation: 1})
	_, queued := r.tasks.Get(spec.ID)
	require.True(t, queued, "the creation waits here for its argument")
	return spec
}

// rejoinNow tells r (incarnation 1) it was declared dead, as the node
// table's answer to a heartbeat does; r rejoins.
func rejoinNow(t *testing.T, r *Raylet) {
	t.Helper()
	r.Handle(50, &transport.NodeDead{Node: r.self, Incarnation: 1})
	require.NotEqual(t, uint64(1), r.cfg.Incarnation, "the node rejoined")
}

// registerNow answers r's registration, so the news that waited for it
// (its actor updates) leaves.
func registerNow(r *Raylet) {
	r.Handle(50, &transport.RegisterNode{Node: r.self, Incarnation: r.cfg.Incarnation})
}

// TestDroppedQueuedRestartReportedLost: a GCS restart of an actor (its
// creation with a restart attempt) that another node created was placed
// on this node's incarnation 1 and waits here for its argument when the
// node is declared dead and rejoins. Since c5533b9 dropStaleRuns drops it
// (ft.go:737), relying on its creator to report it lost (restartLost on
// the node's death). Nothing reports it: the creator may be gone (crashed
// and restarted empty, which is why the raylet itself reports a restart
// placed on a stale incarnation, raylet.go:311), or have missed the
// placement. The actor's shard hears nothing of a restart until the actor
// is alive (gcs.go restartActor/placeRestart), so the actor stays
// "restarting" for good and every call to it waits for good. It should
// be reported lost (a GcsActorUpdate with State restarting and Restart set
// to the attempt, which the shard ignores if the restart is no longer
// current), as the stale-PlaceTask path does.
func TestDroppedQueuedRestartReportedLost(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	restart := transport.RestartAttempt(1)
	spec := queuedCreation(t, r, 9, restart, 0)
	env.sent = nil
	rejoinNow(t, r)
	_, queued := r.tasks.Get(spec.ID)
	require.False(t, queued, "precondition: the restart was dropped at the rejoin (dropStaleRuns)")
	registerNow(r)
	reported := false
	for _, m := range env.sent {
		if up, ok := m.(*transport.GcsActorUpdate); ok && up.Actor == spec.Actor && up.Restart == restart && up.State == transport.ActorRestarting {
			reported = true
		}
	}
	require.True(t, reported, "a GCS restart dropped at the rejoin was not reported lost: if its creator does not report it, the actor restarts no more and its callers wait for good")
}

// TestQueuedOwnCreationNotRetriedWhenPlacementNewsIsLate: this node owns
// an actor's creation, which the global scheduler placed here (on
// incarnation 1): the PlaceTask came and the creation waits here for its
// argument. The node is then told it was declared dead and rejoins; it
// keeps its own queued creation, to run under the new incarnation
// (dropStaleRuns spares the node's own tasks, and rejoin retries only
// placements not queued here, ft.go:640). The scheduler's TaskPlaced,
// sent right after the PlaceTask on the same link, comes after the
// rejoin: TaskPlaced (raylet.go:380) sees the placement on a dead
// incarnation and retries the creation (askCreation; the actor table has
// never seen the actor alive, so it says so, and the owner submits attempt
// 1, here spilled to the scheduler), while attempt 0 stays queued here and
// runs under the new incarnation: two instances of one actor. The same
// holds for a GCS restart this node created (watchRestart reports it lost
// while it stays queued here). The late news of a placement the node
// still holds should not retry it.
func TestQueuedOwnCreationNotRetriedWhenPlacementNewsIsLate(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	spec := queuedCreation(t, r, r.self, 0, transport.StrategySpread)
	rejoinNow(t, r)
	_, queued := r.tasks.Get(spec.ID)
	require.True(t, queued, "precondition: the node's own queued creation is kept at the rejoin")
	env.sent = nil
	r.Handle(60, &transport.TaskPlaced{Task: spec.ID, Node: r.self, Incarnation: 1, Attempt: 0})
	asked := false
	for _, m := range env.sent {
		if q, ok := m.(*transport.GcsCreationLost); ok && q.Actor == spec.Actor {
			asked = true
			r.Handle(50, &transport.CreationLost{Actor: q.Actor, Node: q.Node, Incarnation: q.Incarnation, SeenAlive: false})
		}
	}
	o := r.owned[spec.ID]
	// Attempt 1 leaves for another node: spilled, or waiting to be
	// spilled until its argument exists (awaitArgs).
	left := r.argWaits[spec.ID] != nil
	for _, m := range env.sent {
		if s, ok := m.(*transport.SpillTask); ok && s.Spec.ID == spec.ID && s.Spec.Attempt > 0 {
			left = true
		}
	}
	_, stillQueued := r.tasks.Get(spec.ID)
	require.False(t, asked && left && stillQueued,
		"the creation was retried (attempt %d, on its way to another node) while attempt 0 stays queued here to run under the new incarnation: two instances", o.spec.Attempt)
}

// restartReports lists the reports r sent that a GCS restart of an actor
// was lost (GcsActorUpdate with Restart set).
func restartReports(sent []transport.Message) []*transport.GcsActorUpdate {
	var out []*transport.GcsActorUpdate
	for _, m := range sent {
		if up, ok := m.(*transport.GcsActorUpdate); ok && up.Restart != 0 && up.State == transport.ActorRestarting {
			out = append(out, up)
		}
	}
	return out
}

// TestRestartLostReportNamesIncarnation: a report that a GCS restart was
// lost names the node incarnation the restart was placed on, so the
// actor's shard can tell a placement on a node it knew dead when it asked
// for the restart (the scheduler had not heard: no failure of the actor's,
// charged nothing) from a node that died after (a failure, charged). The
// report named none, and the shard charged every placement back on the
// dead node that had caused the restart: an actor with max_restarts 3
// dead after one node death (regression sequencer-restart-charged-once).
// Each path: the owner told of the placement, then of the death; the
// owner told of the placement after the death; a node dropping at its
// rejoin a restart placed on its dead incarnation.
func TestRestartLostReportNamesIncarnation(t *testing.T) {
	restart := transport.RestartAttempt(1)
	placed := &transport.TaskPlaced{Task: 42, Node: 7, Incarnation: 1, Attempt: restart}

	r, env := hostileRaylet(t, 0)
	r.Handle(60, placed)
	env.sent = nil
	r.Handle(50, &transport.NodeDead{Node: 7, Incarnation: 1})
	reps := restartReports(env.sent)
	require.Len(t, reps, 1, "placed, then the node died")
	require.Equal(t, transport.GcsActorUpdate{Actor: 42, Node: 7, State: transport.ActorRestarting, Restart: restart, Incarnation: 1}, *reps[0])

	r, env = hostileRaylet(t, 0)
	r.Handle(50, &transport.NodeDead{Node: 7, Incarnation: 1})
	env.sent = nil
	r.Handle(60, placed)
	reps = restartReports(env.sent)
	require.Len(t, reps, 1, "placed on a node known dead")
	require.Equal(t, uint64(1), reps[0].Incarnation)

	r, env = hostileRaylet(t, 0)
	queuedCreation(t, r, 9, restart, 0)
	env.sent = nil
	rejoinNow(t, r)
	registerNow(r)
	reps = restartReports(env.sent)
	require.Len(t, reps, 1, "dropped at the rejoin")
	require.Equal(t, uint64(1), reps[0].Incarnation, "the dead incarnation it was placed on")
}
