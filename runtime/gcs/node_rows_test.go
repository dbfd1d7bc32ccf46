package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestDeadNodeRowsBounded: two thousand driver sessions (a node each, as
// on a live cluster) register with the node table and say goodbye while
// one node lives on. Every dead node's row stayed in memory for good (QA31
// finding 6); now at most Config.DeadNodes of them (100 here), the rest in
// the store.
// A flushed row is still what the node table goes by: the node's dead
// incarnation registering again is told it is dead, its zombie heartbeat
// too, and a new incarnation of it is alive (its row back in memory). A
// shard loaded from the store keeps the bound.
func TestDeadNodeRowsBounded(t *testing.T) {
	const first, sessions, keep = 100, 2_000, 100
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	store := NewMemStore()
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store, DeadNodes: keep})
	incOf := func(n transport.NodeID) uint64 { return 1_000 + uint64(n) }
	sh.Handle(1, &transport.RegisterNode{Node: 1, Incarnation: 1, Functions: 7})
	for n := transport.NodeID(first); n < first+sessions; n++ {
		sh.Handle(n, &transport.RegisterNode{Node: n, Incarnation: incOf(n), Functions: 7})
		sh.Handle(n, &transport.NodeLeaving{Node: n, Incarnation: incOf(n)})
	}
	st := sh.Stats()
	t.Logf("after %d sessions: %d node rows, %d in memory", sessions, st.Nodes, st.ResidentNodes)
	require.Equal(t, sessions+1, st.Nodes, "every row is in the table (the store)")
	require.Less(t, st.ResidentNodes, sessions/5, "a row in memory per session, for good")
	require.Equal(t, keep+1, st.ResidentNodes)
	require.Equal(t, sessions-keep, st.FlushedNodes)
	require.Len(t, sh.NodeRows(), keep+1, "the live node and the latest deaths")

	to := func(n transport.NodeID) []transport.Message {
		var out []transport.Message
		for _, s := range sent {
			if s.to == n {
				out = append(out, s.m)
			}
		}
		return out
	}
	old := transport.NodeID(first + 5)
	sent = nil
	sh.Handle(old, &transport.RegisterNode{Node: old, Incarnation: incOf(old), Functions: 7})
	require.Equal(t, []transport.Message{&transport.NodeDead{Node: old, Incarnation: incOf(old)}}, to(old), "a dead incarnation is told so, not revived")
	sent = nil
	sh.Handle(old, &transport.Heartbeat{Node: old, Incarnation: incOf(old)})
	require.Equal(t, []transport.Message{&transport.NodeDead{Node: old, Incarnation: incOf(old)}}, to(old), "a zombie is told it is dead")
	sent = nil
	sh.Handle(old, &transport.RegisterNode{Node: old, Incarnation: incOf(old) - 1, Functions: 7})
	require.Empty(t, to(old), "an older incarnation's registration is stale")
	require.Equal(t, keep+1, sh.Stats().ResidentNodes)

	reg := transport.RegisterNode{Node: old, Incarnation: incOf(old) + 1, Functions: 7}
	sh.Handle(old, &reg)
	require.Equal(t, []transport.Message{&reg}, to(old), "a new incarnation is answered")
	st = sh.Stats()
	require.Equal(t, sessions+1, st.Nodes)
	require.Equal(t, keep+2, st.ResidentNodes)
	sh.Handle(old, &transport.NodeLeaving{Node: old, Incarnation: incOf(old) + 1})
	st = sh.Stats()
	require.Equal(t, sessions+1, st.Nodes)
	require.Equal(t, keep+1, st.ResidentNodes)

	loaded := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store, DeadNodes: keep})
	require.Equal(t, st.Nodes, loaded.Stats().Nodes)
	require.Equal(t, keep+1, loaded.Stats().ResidentNodes)
	// The deaths (each on its own key, saveDeath) and the rows in memory
	// in registration order (each on its own key, deleted as its row
	// leaves memory) are the same loaded.
	require.Equal(t, sh.nodeIDs, loaded.nodeIDs)
	require.Equal(t, sh.deadInc, loaded.deadInc)
	require.Equal(t, sh.diedAt, loaded.diedAt)
}
