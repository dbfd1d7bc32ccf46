package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// restartsPlaced lists the attempts of the actor restarts the shard handed
// to the scheduler, in order.
func restartsPlaced(sent []sentTo, sched transport.NodeID) []uint32 {
	var out []uint32
	for _, s := range sent {
		if sp, ok := s.m.(*transport.SpillTask); ok && s.to == sched && transport.IsRestart(sp.Spec.Attempt) {
			out = append(out, sp.Spec.Attempt)
		}
	}
	return out
}

// TestRestartOnNodeDeadBeforePlacementNotCharged: one node failure costs
// an actor one restart, as in Ray, whose GCS restarts an actor (and counts
// it, num_restarts) when its current instance fails, and schedules the
// restart from its own node table, never on a node it knows dead. Here the
// actor's restart is placed by the global scheduler, whose news of the
// death can lag the actor shard's (it was held behind a frame lost in a
// partition): the scheduler put the restart that the death of node 2
// caused back on node 2, the owner reported it lost there, and the shard
// charged another restart for the same death, three times over, until an
// actor with max_restarts 3 was dead for good after one node failure
// (scenarios/check/testdata/sequencer-restart-charged-once.yaml). A
// report of a restart placed on an incarnation the shard knew dead when
// it asked for the restart now costs nothing: the shard tells the
// scheduler of the death and places the restart again (a new attempt).
// A node that dies after the restart was placed on it is a failure of its
// own and costs a restart, as Ray's rescheduling of an actor whose lease's
// node died does.
func TestRestartOnNodeDeadBeforePlacementNotCharged(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	env := toEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	const actor = transport.ActorID(7)
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: transport.TaskID(actor), Actor: actor, Func: "A", Owner: 1,
		Act: &transport.ActorSpec{Creation: true, MaxRestarts: 3}}})
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, State: transport.ActorPending, Owner: 1, Incarnation: 1})
	sh.Handle(2, &transport.GcsActorUpdate{Actor: actor, Node: 2, State: transport.ActorAlive, Incarnation: 1})
	state := func() transport.ActorInfo {
		rows := sh.ActorRows()
		require.Len(t, rows, 1)
		return rows[0]
	}

	sent = nil
	sh.Handle(10, &transport.NodeDead{Node: 2, Incarnation: 1}) // the failure: restart 1
	require.Equal(t, int32(1), sh.actors[actor].restarts)
	require.Equal(t, []uint32{transport.RestartAttempt(1)}, restartsPlaced(sent, 99))

	// The scheduler, not told of node 2's death yet, places the restart
	// there, three times; the owner reports each lost.
	attempt := transport.RestartAttempt(1)
	for round := range 3 {
		sent = nil
		sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 2, State: transport.ActorRestarting, Restart: attempt, Incarnation: 1})
		require.Equal(t, transport.ActorRestarting, state().State, "round %d: dead after one node failure", round)
		require.Equal(t, int32(1), sh.actors[actor].restarts, "round %d: the death that caused the restart charged again", round)
		placed := restartsPlaced(sent, 99)
		require.Len(t, placed, 1, "round %d: the restart is placed again", round)
		require.Greater(t, placed[0], attempt, "round %d: a new attempt (the scheduler ignores one it had)", round)
		require.Contains(t, sent, sentTo{99, &transport.NodeDead{Node: 2, Incarnation: 1}}, "round %d: the scheduler is told of the death", round)
		attempt = placed[0]
	}
	// A late copy of an earlier report is not the current restart's.
	sent = nil
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 2, State: transport.ActorRestarting, Restart: transport.RestartAttempt(1), Incarnation: 1})
	require.Empty(t, sent)

	// Placed on node 3, alive then, which dies before the actor is up
	// there: a failure of its own, charged.
	sh.Handle(10, &transport.NodeDead{Node: 3, Incarnation: 1})
	sent = nil
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 3, State: transport.ActorRestarting, Restart: attempt, Incarnation: 1})
	require.Equal(t, int32(2), sh.actors[actor].restarts)
	placed := restartsPlaced(sent, 99)
	require.Len(t, placed, 1)
	require.Greater(t, placed[0], attempt)
	attempt = placed[0]

	// Reloaded from the store (a restarted shard, a replica given a
	// snapshot): the attempt numbering and the order of the deaths stay,
	// so the same stale report is judged the same.
	sh.Sync()
	sh = New(env, Config{Layout: l, Store: sh.cfg.Store, SyncEvery: -1})
	require.Equal(t, int32(2), sh.actors[actor].restarts)
	sent = nil
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 3, State: transport.ActorRestarting, Restart: attempt, Incarnation: 1})
	require.Equal(t, int32(2), sh.actors[actor].restarts, "reloaded: a placement on a node dead before it was asked for charged")
	placed = restartsPlaced(sent, 99)
	require.Len(t, placed, 1)
	require.Greater(t, placed[0], attempt, "reloaded: the attempts numbered past those placed")
	attempt = placed[0]

	// A report that names no incarnation (a host that crashed under a
	// restart not yet up) is a failure too.
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 4, State: transport.ActorRestarting, Restart: attempt})
	require.Equal(t, int32(3), sh.actors[actor].restarts)
	require.Equal(t, transport.ActorRestarting, state().State)
	// And the next failure, past max_restarts 3, buries the actor.
	sh.Handle(1, &transport.GcsActorUpdate{Actor: actor, Node: 4, State: transport.ActorRestarting, Restart: transport.RestartAttempt(sh.actors[actor].attempt)})
	require.Equal(t, transport.ActorDead, state().State)
}

// TestRestartWaitingForSpecSurvivesReload: an actor whose worker crashed
// before its creation's spec reached the shard (the creator's link lossy)
// is left restarting, the restart decided when the spec comes. A replica
// given a snapshot (or a shard reloaded from its store) must know the
// restart still waits: before, the note was kept in memory alone, the
// replica that rejoined the chain became its tail, and when the spec came
// it placed no restart, the actor restarting for good and its callers
// waiting (scenarios/check/testdata/restart-spec-wait-lost-at-chain-join.yaml).
func TestRestartWaitingForSpecSurvivesReload(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	env := toEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	const actor = transport.ActorID(7)
	sh.Handle(2, &transport.GcsActorUpdate{Actor: actor, Node: 2, State: transport.ActorAlive, Incarnation: 1})
	sh.Handle(2, &transport.GcsActorUpdate{Actor: actor, Node: 2, State: transport.ActorRestarting, Incarnation: 1})
	require.True(t, sh.actors[actor].specWait)
	require.Empty(t, restartsPlaced(sent, 99), "no spec: no restart placed yet")

	sh.Sync()
	sh = New(env, Config{Layout: l, Store: sh.cfg.Store, SyncEvery: -1})
	sent = nil
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: transport.TaskID(actor), Actor: actor, Func: "A", Owner: 1,
		Act: &transport.ActorSpec{Creation: true, MaxRestarts: 3}}})
	require.Len(t, restartsPlaced(sent, 99), 1, "reloaded: the spec's arrival places the restart that waited for it")
	require.Equal(t, int32(1), sh.actors[actor].restarts)
}
