package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestDeadActorsLeaveMemory: the shard keeps at most DeadActors dead
// actors' entries in memory, the oldest deaths leaving first, and drops a
// dead actor's creation task from memory at once; an evicted actor is
// still dead, with its cause, to a lookup, still listed, and still told to
// end if its host reports it alive; a reload from the store keeps the cap.
// (Before: every actor ever created stayed resident, with its creation
// task — QA31 finding 5.)
func TestDeadActorsLeaveMemory(t *testing.T) {
	store := NewMemStore()
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	env := toEnv{fakeEnv{self: 10}, &sent}
	cfg := Config{Layout: l, Store: store, SyncEvery: -1, DeadActors: 2}
	sh := New(env, cfg)
	const n = 6
	actor := func(i int) transport.ActorID { return transport.ActorID(1<<40 + i) }
	for i := range n {
		id := actor(i)
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, Actor: id, Act: &transport.ActorSpec{Creation: true}, Func: "A", Owner: 1, NumReturns: 1}})
		sh.Handle(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorPending})
		sh.Handle(2, &transport.GcsActorUpdate{Actor: id, Node: 2, State: transport.ActorAlive, Incarnation: 1})
	}
	require.Equal(t, n, sh.Stats().ResidentActors)
	require.Equal(t, n, sh.Stats().ResidentTasks, "a live actor's creation stays resident (a restart re-runs it)")
	for i := range n - 1 { // the last one stays alive
		sh.Handle(1, &transport.GcsActorUpdate{Actor: actor(i), State: transport.ActorDead, Cause: transport.DetailRayKill})
	}
	st := sh.Stats()
	require.Equal(t, 3, st.ResidentActors, "two dead and one live actor resident")
	require.Equal(t, n-3, st.FlushedActors)
	require.Equal(t, n, st.Actors)
	require.Equal(t, 1, st.ResidentTasks, "a dead actor's creation task leaves memory")
	require.Len(t, sh.ActorRows(), n, "the flushed entries are listed")

	lookup := func(id transport.ActorID) *transport.ActorInfo {
		sent = nil
		sh.Handle(5, &transport.GcsLookupActor{Actor: id})
		require.Len(t, sent, 1, "a lookup is answered at once")
		info, ok := sent[0].m.(*transport.ActorInfo)
		require.True(t, ok)
		return info
	}
	info := lookup(actor(0))
	require.Equal(t, transport.ActorDead, info.State, "an evicted actor is dead to a lookup, not pending")
	require.True(t, info.Found)
	require.Equal(t, transport.DetailRayKill, info.Cause)
	require.LessOrEqual(t, sh.Stats().ResidentActors, 3, "read back, it leaves again")

	// A late "alive" from the host of an evicted actor: told to end it.
	sent = nil
	sh.Handle(2, &transport.GcsActorUpdate{Actor: actor(1), Node: 2, State: transport.ActorAlive, Incarnation: 1})
	require.Equal(t, map[transport.ActorID]transport.NodeID{actor(1): 2}, kills(sent))
	require.Equal(t, transport.ActorDead, lookup(actor(1)).State)

	// A resubmitted creation of a dead actor does not stay resident.
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: actor(2), Actor: actor(2), Act: &transport.ActorSpec{Creation: true}, Func: "A", Owner: 1, NumReturns: 1}})
	require.Equal(t, 1, sh.Stats().ResidentTasks)

	// Reloaded from the store: the cap holds, the answers stay.
	re := New(env, cfg)
	st = re.Stats()
	require.Equal(t, 3, st.ResidentActors)
	require.Equal(t, n, st.Actors)
	require.Equal(t, 1, st.ResidentTasks)
	sh = re
	require.Equal(t, transport.ActorDead, lookup(actor(0)).State)
	require.Equal(t, transport.ActorAlive, lookup(actor(n-1)).State)
}
