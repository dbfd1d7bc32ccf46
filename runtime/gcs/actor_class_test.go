package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// sentEnv is a fakeEnv that keeps what the shard sends.
type sentEnv struct {
	fakeEnv
	sent *[]transport.Message
}

func (e sentEnv) Send(_ transport.NodeID, m transport.Message) { *e.sent = append(*e.sent, m) }

// TestActorTableKeepsClassAndCause: a named actor's class, told by its
// creator's "pending" and its host's "alive" (which may come first), stays
// in the table through updates that do not say it, a lookup by name
// answers it, and the store keeps it. A dead actor's cause of death is
// published to its subscribers and kept; a cause on news of a live actor
// is not.
func TestActorTableKeepsClassAndCause(t *testing.T) {
	store := NewMemStore()
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []transport.Message
	sh := New(sentEnv{fakeEnv{self: 10}, &sent}, Config{Layout: l, Store: store, SyncEvery: -1})
	lookup := func() transport.ActorInfo {
		sent = nil
		sh.Handle(3, &transport.GcsLookupActor{Name: "n"})
		require.Len(t, sent, 1)
		return *sent[0].(*transport.ActorInfo)
	}
	// The host's news overtakes the creator's.
	sh.Handle(2, &transport.GcsActorUpdate{Actor: 7, Node: 2, State: transport.ActorAlive, Name: "n", Incarnation: 1, Class: "Counter", Cause: "not dead"})
	sh.Handle(1, &transport.GcsActorUpdate{Actor: 7, State: transport.ActorPending, Name: "n", Class: "Counter"})
	info := lookup()
	require.Equal(t, transport.ActorInfo{Actor: 7, Node: 2, State: transport.ActorAlive, Name: "n", Found: true, Incarnation: 1, Class: "Counter"}, info)

	sent = nil
	sh.Handle(2, &transport.GcsActorUpdate{Actor: 7, Node: 2, State: transport.ActorDead, Name: "n", Cause: "constructor: boom"})
	require.Len(t, sent, 1, "the lookup's subscriber hears of the death")
	require.Equal(t, "constructor: boom", sent[0].(*transport.ActorInfo).Cause)
	require.Equal(t, "Counter", sent[0].(*transport.ActorInfo).Class)
	require.False(t, lookup().Found, "a dead actor's name is free")

	sh.Sync()
	re := New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	require.Equal(t, []transport.ActorInfo{{Actor: 7, Node: 2, State: transport.ActorDead, Name: "n", Found: true, Class: "Counter", Cause: "constructor: boom"}}, re.ActorRows())
}
