package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// sentTo is a message a shard sent and its destination.
type sentTo struct {
	to transport.NodeID
	m  transport.Message
}

// toEnv is a fakeEnv that keeps what the shard sends, and to whom.
type toEnv struct {
	fakeEnv
	sent *[]sentTo
}

func (e toEnv) Send(to transport.NodeID, m transport.Message) {
	*e.sent = append(*e.sent, sentTo{to, m})
}

// kills lists the actors sent KillActor, and where.
func kills(sent []sentTo) map[transport.ActorID]transport.NodeID {
	out := map[transport.ActorID]transport.NodeID{}
	for _, s := range sent {
		if k, ok := s.m.(*transport.KillActor); ok {
			out[k.Actor] = s.to
		}
	}
	return out
}

// TestActorsDieWithTheirOwner: the actor table buries the actors an
// incarnation owns when it dies — alive (its host is told to end it, and
// told again by a replica that becomes the tail), restarting, or pending —
// and one whose owner is known dead when its creator's news comes (a
// zombie's submission); not a detached actor, not the actors of the
// owner's next incarnation, not one whose creator named another node its
// owner, and not through a store reload: the owner is kept with the entry.
func TestActorsDieWithTheirOwner(t *testing.T) {
	store := NewMemStore()
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	env := toEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: store, SyncEvery: -1})
	pending := func(actor transport.ActorID, owner transport.NodeID, inc uint64) {
		sh.Handle(owner, &transport.GcsActorUpdate{Actor: actor, State: transport.ActorPending, Owner: owner, Incarnation: inc})
	}
	alive := func(actor transport.ActorID, host transport.NodeID) {
		sh.Handle(host, &transport.GcsActorUpdate{Actor: actor, Node: host, State: transport.ActorAlive, Incarnation: 1})
	}
	state := func(actor transport.ActorID) transport.ActorInfo {
		for _, r := range sh.ActorRows() {
			if r.Actor == actor {
				return r
			}
		}
		t.Fatalf("actor %v not in the table", actor)
		return transport.ActorInfo{}
	}
	// Owner node 1, incarnation 1: actor 7 alive on node 2, actor 8
	// pending; actor 9 detached (its creator names no owner), alive on 2;
	// actor 11 owned by node 1's next incarnation, alive on 3.
	pending(7, 1, 1)
	alive(7, 2)
	pending(8, 1, 1)
	sh.Handle(1, &transport.GcsActorUpdate{Actor: 9, State: transport.ActorPending})
	alive(9, 2)
	pending(11, 1, 2)
	alive(11, 3)
	// Actor 13's creator, node 4, claims node 1 owns it: refused.
	sh.Handle(4, &transport.GcsActorUpdate{Actor: 13, State: transport.ActorPending, Owner: 1, Incarnation: 1})
	alive(13, 3)

	sent = nil
	sh.Handle(10, &transport.NodeDead{Node: 1, Incarnation: 1})
	require.Equal(t, transport.ActorDead, state(7).State)
	require.Equal(t, transport.OwnerDiedCause(1, ""), state(7).Cause)
	require.Equal(t, transport.ActorDead, state(8).State)
	require.Equal(t, transport.ActorAlive, state(9).State, "detached")
	require.Equal(t, transport.ActorAlive, state(11).State, "owned by the next incarnation")
	require.Equal(t, transport.ActorAlive, state(13).State, "another node's claim that node 1 owns it")
	require.Equal(t, map[transport.ActorID]transport.NodeID{7: 2}, kills(sent), "the live one's host ends it")

	// The pending one comes up after all: its host is told to end it.
	sent = nil
	alive(8, 3)
	require.Equal(t, map[transport.ActorID]transport.NodeID{8: 3}, kills(sent))

	// A creation whose owner is known dead when its news comes is dead.
	pending(12, 1, 1)
	require.Equal(t, transport.ActorDead, state(12).State, "a dead incarnation's creation")

	// Reloaded from the store: the owner stays, and a replica that
	// becomes the tail tells the host again.
	sh.Sync()
	sent = nil
	re := New(env, Config{Layout: l, Store: store, SyncEvery: -1})
	re.rekillOrphans()
	require.Equal(t, map[transport.ActorID]transport.NodeID{7: 2, 8: 3}, kills(sent))
	sh = re
	sent = nil
	sh.Handle(10, &transport.NodeDead{Node: 1, Incarnation: 2})
	require.Equal(t, transport.ActorDead, state(11).State, "the next incarnation's, after a reload")
	require.Equal(t, map[transport.ActorID]transport.NodeID{11: 3}, kills(sent))
	require.Equal(t, transport.ActorAlive, state(9).State, "detached")
}

// TestRekillForgetsDeadHosts (review): actors buried with their owner
// whose host has since been declared dead are not killed again at every
// tail change: killAt was never cleared, so each failover resent a kill
// for every such actor of the shard's history.
func TestRekillForgetsDeadHosts(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	env := toEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	const n = 1000
	for a := transport.ActorID(100); a < 100+n; a++ {
		sh.Handle(1, &transport.GcsActorUpdate{Actor: a, State: transport.ActorPending, Owner: 1, Incarnation: 1})
		sh.Handle(2, &transport.GcsActorUpdate{Actor: a, Node: 2, State: transport.ActorAlive, Incarnation: 1})
	}
	sh.Handle(10, &transport.NodeDead{Node: 1, Incarnation: 1}) // owner dies: n orphans buried
	sh.Handle(10, &transport.NodeDead{Node: 2, Incarnation: 1}) // their host dies too
	for round := range 3 {                                      // three tail changes later
		sent = nil
		sh.rekillOrphans()
		if k := len(kills(sent)); k != 0 {
			t.Errorf("tail change %d: %d KillActors sent to dead host 2 for actors buried earlier", round, k)
		}
	}
}
