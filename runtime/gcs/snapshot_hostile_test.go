package gcs

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// joiningReplica is replica 1 of a two-member chain of shard 0, told it
// joins: it takes the next ChainSnapshot its predecessor (replica 0) sends.
func joiningReplica(t *testing.T) (*Replica, *MemStore) {
	t.Helper()
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	store := NewMemStore()
	r := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Shard: Config{Layout: l, Store: store}, Index: 0, Rejoin: true})
	r.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{replicaID(0), replicaID(1)}, Join: replicaID(1)})
	require.Equal(t, replicaID(1), r.join)
	return r, store
}

// TestSnapshotUnknownTable: a snapshot's entries name their table by a
// byte from the wire, and a store indexes its tables by it: an entry of
// table 200 panicked the joining replica (index out of range). Such a
// snapshot is refused, and the replica's state is left as it was.
func TestSnapshotUnknownTable(t *testing.T) {
	for _, table := range []uint8{0, uint8(numTables) + 1, 200, 255} {
		r, store := joiningReplica(t)
		store.Put(TableNames, []byte("kept"), taskKey(1))
		snap, err := transport.Unmarshal(transport.Marshal(nil, &transport.ChainSnapshot{Shard: 0, Index: 5, Epoch: 2,
			Entries: []transport.StoreEntry{{Table: uint8(TableNames), Key: []byte("a"), Value: taskKey(2)}, {Table: table, Key: []byte("k"), Value: []byte("v")}}}))
		require.NoError(t, err, "the codec accepts any table byte")
		require.NotPanics(t, func() { r.Handle(replicaID(0), snap) }, "table %d", table)
		require.False(t, r.synced, "table %d: snapshot refused", table)
		_, kept := store.Get(TableNames, []byte("kept"))
		require.True(t, kept, "table %d: the state it would replace is kept", table)
	}
}

// TestSnapshotNodeOrderWithoutEntry: the node table's order lists nodes
// whose entries are in the nodes table, and the liveness check reads each
// listed node's entry. A snapshot listing a node with no entry made every
// check dereference nil: the replica's process died on its next check.
// Such nodes are left out of the order on load. The order is one meta key
// per place (orderKey; the whole list, "node-order", before store format
// 19): a node listed twice is listed at its first place, and the next
// place saturates rather than wrap to a place already taken.
func TestSnapshotNodeOrderWithoutEntry(t *testing.T) {
	r, _ := joiningReplica(t)
	entry := func(node transport.NodeID) transport.StoreEntry {
		e := nodeEntry{reg: transport.RegisterNode{Node: node, Incarnation: 1}, alive: true}
		enc := transport.NewEncoder(nil)
		e.reg.MarshalWire(enc)
		e.last.MarshalWire(enc)
		enc.Bool(e.alive)
		enc.Uvarint(e.beats)
		return transport.StoreEntry{Table: uint8(TableNodes), Key: nodeKey(node), Value: enc.Bytes()}
	}
	place := func(p uint32, node transport.NodeID) transport.StoreEntry {
		return transport.StoreEntry{Table: uint8(TableMeta), Key: orderKey(p), Value: binary.BigEndian.AppendUint32(nil, uint32(node))}
	}
	old := transport.NewEncoder(nil)
	old.Nodes([]transport.NodeID{5})
	snap, err := transport.Unmarshal(transport.Marshal(nil, &transport.ChainSnapshot{Shard: 0, Index: 5, Epoch: 2,
		Entries: []transport.StoreEntry{
			{Table: uint8(TableMeta), Key: []byte("node-order"), Value: old.Bytes()},
			place(0, 5), place(1, 9), place(2, 9), place(3, 8), place(^uint32(0), 7),
			entry(7), entry(8), entry(9),
		}}))
	require.NoError(t, err)
	r.Handle(replicaID(0), snap)
	require.True(t, r.synced, "the snapshot is installed")
	require.NotPanics(t, r.Shard().checkNodes)
	require.Equal(t, []transport.NodeID{9, 8, 7}, r.Shard().nodeIDs)
	require.Equal(t, ^uint32(0), r.Shard().nextOrder, "saturated, not wrapped to 0")
}

// TestSnapshotObjectNextOfAnySize: an object entry's round-robin counter
// (which copy answers the next reader) is stored as an unbounded varint; a
// snapshot carrying 2^63 made it negative and the first subscription
// indexed the copies with it (a panic). It is now an unsigned counter.
func TestSnapshotObjectNextOfAnySize(t *testing.T) {
	r, _ := joiningReplica(t)
	id := transport.ObjectID{Task: 9}
	v := transport.NewEncoder(nil)
	v.Bool(true)                         // created
	v.Varint(1)                          // size
	v.Nodes([]transport.NodeID{5, 6, 7}) // nodes
	v.Nodes(nil)                         // subs
	v.Uvarint(1 << 63)                   // next
	v.Uvarint(1)
	v.Uvarint(1)
	v.Uvarint(1)  // incs
	v.Bool(false) // freed
	snap := wire(t, &transport.ChainSnapshot{Shard: 0, Index: 5, Epoch: 2,
		Entries: []transport.StoreEntry{{Table: uint8(TableObjects), Key: objectKey(id), Value: v.Bytes()}}})
	r.Handle(replicaID(0), snap)
	require.True(t, r.synced)
	require.NotPanics(t, func() { r.Shard().Handle(tClient, &transport.GcsSubscribeObject{Object: id}) })
}
