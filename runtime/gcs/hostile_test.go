package gcs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// Messages only the GCS sends are taken from the GCS alone (a helper's
// hostile-input audit, twelfth session): each of these, from any peer that
// passed the handshake, wedged a replica or a node table for good.

// wire is what a receiver gets of m: its encoding, decoded.
func wire(t *testing.T, m transport.Message) transport.Message {
	t.Helper()
	back, err := transport.Unmarshal(transport.Marshal(nil, m))
	require.NoError(t, err)
	return back
}

// headReplica is the head of a two-member chain of shard 0.
func headReplica(t *testing.T) *Replica {
	t.Helper()
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	return NewReplica(fakeEnv{self: replicaID(0)}, ReplicaConfig{Shard: Config{Layout: l}, Index: 0})
}

// TestChainAckFromOutsideIgnored: a ChainAck with index 2^64-1 from a
// non-member set the replica's acknowledged index beyond anything it
// applied; every real ack fell below it, nothing pending was trimmed again,
// and every write stayed in memory and was re-sent for good.
func TestChainAckFromOutsideIgnored(t *testing.T) {
	r := headReplica(t)
	r.Handle(666, wire(t, &transport.ChainAck{Shard: 0, Index: math.MaxUint64}))
	for i := range 100 {
		r.Handle(tClient, &transport.GcsRequest{Seq: uint64(i + 1), Low: 1, Epoch: 1,
			Op: &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i + 1)}, Node: tClient, Incarnation: 1}})
	}
	require.Len(t, r.pending, 100)
	r.Handle(replicaID(1), &transport.ChainAck{Shard: 0, Index: r.applied}) // the tail applied them all
	require.Zero(t, len(r.pending), "the tail's acknowledgement trims what it acknowledges")
}

// TestChainConfigFromOutsideIgnored: a ChainConfig with epoch 2^64-1 from
// anyone but the master froze the replica's (and its client's) chain: the
// master's real configurations were older.
func TestChainConfigFromOutsideIgnored(t *testing.T) {
	r := headReplica(t)
	r.Handle(666, wire(t, &transport.ChainConfig{Shard: 0, Epoch: math.MaxUint64, Members: []transport.NodeID{666}}))
	r.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{replicaID(0)}})
	epoch, members := r.Chain()
	require.Equal(t, uint64(2), epoch, "the master's configuration is the one held")
	require.Equal(t, []transport.NodeID{replicaID(0)}, members)
	require.Equal(t, []transport.NodeID{replicaID(0)}, r.Client().Chain(0), "the client routes to the master's chain")
}

// TestNodeDeadFromOutsideIgnored: a NodeDead with incarnation 2^64-1 from a
// raylet made every later incarnation of node 7 dead to the shard: its
// copies were never listed.
func TestNodeDeadFromOutsideIgnored(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99, Raylets: []transport.NodeID{1, 7}}
	s := New(fakeEnv{self: 10}, Config{Layout: l})
	s.Handle(7, &transport.RegisterNode{Node: 7, Incarnation: 1})
	s.Handle(1, wire(t, &transport.NodeDead{Node: 7, Incarnation: math.MaxUint64})) // from raylet 1
	s.Handle(7, &transport.RegisterNode{Node: 7, Incarnation: 2})                   // node 7 restarts
	id := transport.ObjectID{Task: 3}
	s.Handle(7, &transport.GcsAddObject{Object: id, Node: 7, Size: 1, Incarnation: 2})
	require.Equal(t, []transport.NodeID{7}, s.Locations(id), "the live incarnation's copy is listed")
}

// TestNodeLeavingOnlyFromItself: a node's goodbye (NodeLeaving) declares
// it dead at once, but only from the node itself and for its live
// incarnation: one raylet cannot end another, nor an old incarnation's
// goodbye the new one.
func TestNodeLeavingOnlyFromItself(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99, Raylets: []transport.NodeID{1, 7}}
	s := New(fakeEnv{self: 10}, Config{Layout: l})
	alive := func() bool {
		for _, n := range s.NodeRows() {
			if n.Node == 7 {
				return n.Alive
			}
		}
		return false
	}
	s.Handle(7, &transport.RegisterNode{Node: 7, Incarnation: 2})
	s.Handle(1, wire(t, &transport.NodeLeaving{Node: 7, Incarnation: 2}))
	require.True(t, alive(), "another raylet's word")
	s.Handle(7, wire(t, &transport.NodeLeaving{Node: 7, Incarnation: 1}))
	require.True(t, alive(), "an earlier incarnation's")
	s.Handle(7, wire(t, &transport.NodeLeaving{Node: 7, Incarnation: 2}))
	require.False(t, alive(), "its own goodbye")
}
