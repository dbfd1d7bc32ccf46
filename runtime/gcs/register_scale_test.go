package gcs

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// byteStore is a MemStore that counts the bytes of the values put in it.
type byteStore struct {
	*MemStore
	put int
}

func (s *byteStore) Put(t Table, key, value []byte) {
	s.put += len(key) + len(value)
	s.MemStore.Put(t, key, value)
}

// TestRegistrationWritesDoNotGrow: each registration wrote the node
// table's whole registration order again (meta "node-order"), so a
// start-up of N nodes wrote N²/2 node IDs to the store, a third of a
// 10,000-node start-up's CPU (QA32). A registration now writes its node's
// row, the function digest and its own place in the order (orderKey): the
// bytes written per registration do not grow with the nodes registered
// before. The order still survives a restart of the shard on its store.
// (Fails at main 2a2ffb2: one registration wrote 4059 bytes by the
// 2000th, the first 60.)
func TestRegistrationWritesDoNotGrow(t *testing.T) {
	store := &byteStore{MemStore: NewMemStore()}
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []regSent
	var events []transport.Event
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	const n = 2000
	var order []transport.NodeID
	var first, most int
	for i := range n {
		id := transport.NodeID(1000 + (i*7919)%n) // not in ID order
		order = append(order, id)
		before := store.put
		sh.Handle(id, &transport.RegisterNode{Node: id, Incarnation: 1, Functions: 7})
		w := store.put - before
		if i == 0 {
			first = w
		}
		most = max(most, w)
	}
	require.Equal(t, order, sh.nodeIDs)
	// A varint or two grows by a byte as the IDs and places grow.
	require.LessOrEqual(t, most, first+4, "bytes written by one registration: the first %d, the most %d", first, most)

	// Restarted on its store, the shard has the same order; the next node
	// registered comes after every one before.
	sh = New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	require.Equal(t, order, sh.nodeIDs, "the registration order, read back")
	sh.Handle(5, &transport.RegisterNode{Node: 5, Incarnation: 1, Functions: 7})
	sh.Handle(order[0], &transport.RegisterNode{Node: order[0], Incarnation: 2, Functions: 7}) // restarted: keeps its place
	sh = New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	require.Equal(t, append(order, 5), sh.nodeIDs, "a node registered after the restart comes last")
}

// TestDeathWritesDoNotGrow: each death wrote the list of every dead
// incarnation again (meta "dead", and the node order with it), so N
// deaths wrote N²/2 entries: 10,000 nodes dying took a shard 8 s of CPU
// and 450 MB of writes (at 13e5b09). A death
// now writes its own key and the count of deaths: the bytes written per
// death do not grow with the deaths before. The deaths and their order
// (deathSeq, diedAt) still survive a restart of the shard on its store.
// (Fails at main 2a2ffb2: one death wrote 11943 bytes at most, the first
// 4069.)
func TestDeathWritesDoNotGrow(t *testing.T) {
	store := &byteStore{MemStore: NewMemStore()}
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []regSent
	var events []transport.Event
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	const n = 2000
	id := func(i int) transport.NodeID { return transport.NodeID(1000 + (i*7919)%n) }
	for i := range n {
		sh.Handle(id(i), &transport.RegisterNode{Node: id(i), Incarnation: 3, Functions: 7})
	}
	var first, most int
	seq0 := sh.deathSeq
	for i := range n {
		before := store.put
		sh.Handle(10, &transport.NodeDead{Node: id(i), Incarnation: 3})
		w := store.put - before
		if i == 0 {
			first = w
		}
		most = max(most, w)
		sent, events = sent[:0], events[:0]
	}
	require.Equal(t, seq0+n, sh.deathSeq, "a death counted each")
	require.LessOrEqual(t, most, first+4, "bytes written by one death: the first %d, the most %d", first, most)

	inc, at, seq := maps.Clone(sh.deadInc), maps.Clone(sh.diedAt), sh.deathSeq
	sh = New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	require.Equal(t, inc, sh.deadInc, "the dead incarnations, read back")
	require.Equal(t, at, sh.diedAt, "the order of deaths, read back")
	require.Equal(t, seq, sh.deathSeq)
}
