package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// infosTo are the actor infos sent to node to, in order.
func infosTo(sent []sentTo, to transport.NodeID) []transport.ActorInfo {
	var out []transport.ActorInfo
	for _, s := range sent {
		if info, ok := s.m.(*transport.ActorInfo); ok && s.to == to {
			out = append(out, *info)
		}
	}
	return out
}

// TestNameShardCountsRestarts: only an actor's shard counts its
// restarts; the name's shard of a named actor, another shard, kept its
// own entry for the actor and answered every lookup by name, and told
// every subscriber, Restarts 0 after the actor restarted, so a raylet
// that found the actor by name took its restarted instance for its first
// (and its news flipped between 0 and the count as it came from one
// shard or the other). The actor's shard tells the name's shard the count
// with its news (GcsActorUpdate.Restarts, through the wire): the name's
// shard reports it, keeps the most it was told whatever the order, tells
// its subscribers again when a late "restarting" counts the restart its
// host's "alive" reported first, and keeps the count in its store.
// (Fails before: the name's shard said 0.)
func TestNameShardCountsRestarts(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	id, q := splitShards(t, l)
	var sentHome, sentName []sentTo
	home := New(toEnv{fakeEnv{self: 10}, &sentHome}, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	nameStore := NewMemStore()
	names := New(toEnv{fakeEnv{self: 11}, &sentName}, Config{Layout: l, Store: nameStore, SyncEvery: -1})
	both := func(from transport.NodeID, m transport.Message) {
		home.Handle(from, m)
		names.Handle(from, m)
	}
	home.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: transport.TaskID(id), Actor: id, Func: "A", Owner: 1,
		Act: &transport.ActorSpec{Creation: true, MaxRestarts: 3, Name: q}}})
	both(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorPending, Name: q, Owner: 1, Incarnation: 1})
	both(2, &transport.GcsActorUpdate{Actor: id, Node: 2, State: transport.ActorAlive, Name: q, Incarnation: 1})
	const caller = 5
	names.Handle(caller, &transport.GcsLookupActor{Name: q}) // subscribes the caller
	lookup := func(sh *Shard, sent *[]sentTo, m *transport.GcsLookupActor) transport.ActorInfo {
		t.Helper()
		*sent = nil
		sh.Handle(caller, m)
		infos := infosTo(*sent, caller)
		require.Len(t, infos, 1)
		return infos[0]
	}
	// restart kills the actor's node: the actor's shard restarts it and
	// returns its word to the name's shard, as the name's shard receives
	// it (through the wire).
	restart := func(node transport.NodeID) *transport.GcsActorUpdate {
		t.Helper()
		sentHome = nil
		home.Handle(10, &transport.NodeDead{Node: node, Incarnation: 1})
		var fwd *transport.GcsActorUpdate
		for _, s := range sentHome {
			if up, ok := s.m.(*transport.GcsActorUpdate); ok && s.to == 11 {
				require.Nil(t, fwd, "one word to the name's shard")
				b := transport.Marshal(nil, up)
				m, err := transport.Unmarshal(b)
				require.NoError(t, err)
				fwd = m.(*transport.GcsActorUpdate)
			}
		}
		require.NotNil(t, fwd, "the name's shard is told of the restart")
		require.Equal(t, transport.ActorRestarting, fwd.State)
		return fwd
	}

	// In order: the restart's "restarting", then its host's "alive".
	fwd := restart(2)
	sentName = nil
	names.Handle(10, fwd)
	pub := infosTo(sentName, caller)
	require.Len(t, pub, 1)
	require.Equal(t, transport.ActorRestarting, pub[0].State)
	require.EqualValues(t, 1, pub[0].Restarts, "the name's shard published the restart uncounted")
	attempt := transport.RestartAttempt(home.actors[id].attempt)
	sentName = nil
	both(3, &transport.GcsActorUpdate{Actor: id, Node: 3, State: transport.ActorAlive, Name: q, Incarnation: 1, Attempt: attempt})
	pub = infosTo(sentName, caller)
	require.Len(t, pub, 1)
	require.EqualValues(t, 1, pub[0].Restarts, "the restarted instance published as the first")
	require.EqualValues(t, 1, lookup(names, &sentName, &transport.GcsLookupActor{Name: q}).Restarts, "a lookup by name says 0 restarts")
	require.EqualValues(t, 1, lookup(home, &sentHome, &transport.GcsLookupActor{Actor: id}).Restarts)

	// Out of order: the host's "alive" reaches the name's shard before the
	// "restarting" that counts its restart.
	fwd = restart(3)
	attempt = transport.RestartAttempt(home.actors[id].attempt)
	sentName = nil
	both(4, &transport.GcsActorUpdate{Actor: id, Node: 4, State: transport.ActorAlive, Name: q, Incarnation: 1, Attempt: attempt})
	pub = infosTo(sentName, caller)
	require.Len(t, pub, 1)
	require.EqualValues(t, 1, pub[0].Restarts, "not counted yet")
	sentName = nil
	names.Handle(10, fwd)
	pub = infosTo(sentName, caller)
	require.Len(t, pub, 1, "the subscribers hear the instance counted")
	require.Equal(t, transport.ActorAlive, pub[0].State)
	require.Equal(t, transport.NodeID(4), pub[0].Node)
	require.EqualValues(t, 2, pub[0].Restarts)
	// A stale word (a duplicated frame of the first restart's) takes no
	// count back.
	restarting1 := *fwd
	restarting1.Restarts, restarting1.Attempt = 1, transport.RestartAttempt(1)
	names.Handle(10, &restarting1)
	require.EqualValues(t, 2, lookup(names, &sentName, &transport.GcsLookupActor{Name: q}).Restarts)

	// Reloaded from the store, the count holds.
	names.Sync()
	names = New(toEnv{fakeEnv{self: 11}, &sentName}, Config{Layout: l, Store: nameStore, SyncEvery: -1})
	require.EqualValues(t, 2, lookup(names, &sentName, &transport.GcsLookupActor{Name: q}).Restarts, "reloaded: the count is lost")
}
