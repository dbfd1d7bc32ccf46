package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// sendRecEnv is fakeEnv recording what is sent.
type sendRecEnv struct {
	fakeEnv
	sent *[]transport.Message
}

func (e sendRecEnv) Send(_ transport.NodeID, m transport.Message) { *e.sent = append(*e.sent, m) }

// TestChainSnapshotFitsInAFrame: a replica that rejoins a chain whose shard
// holds a realistic task table (200,000 finished tasks: the Ray paper's
// figure 10b runs millions through a shard) is sent the whole store as ONE
// ChainSnapshot message. On TCP a message whose body exceeds
// transport.MaxBodyBytes (8 MiB) is dropped by the sender (tcp/conn.go:
// "message larger than a frame"), every resend of it too, so the joiner —
// already the chain's tail — never syncs, and every write to the shard
// waits for it for good. The snapshot must fit in a frame (or be sent in
// pieces).
func TestChainSnapshotFitsInAFrame(t *testing.T) {
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	chain := []transport.NodeID{replicaID(0), replicaID(1)}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	var sent []transport.Message
	r := NewReplica(sendRecEnv{fakeEnv{self: replicaID(0)}, &sent}, ReplicaConfig{Index: 0,
		Shard: Config{Layout: l, Store: NewMemStore()}})
	const n = 200_000
	for i := 1; i <= n; i++ {
		id := transport.TaskID(i)
		r.Shard().Handle(tClient, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1,
			Func: "workload.double", Owner: tClient, Args: []transport.Arg{{IsRef: true, Ref: transport.ObjectID{Task: id - 1}}}}})
		r.Shard().Handle(tClient, &transport.GcsAddObject{Object: transport.ObjectID{Task: id}, Node: tClient, Size: 8})
	}
	// The tail (replica 1) restarted and rejoins: the master names it the joiner.
	sent = nil
	r.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 3, Members: chain, Join: replicaID(1)})
	var snap *transport.ChainSnapshot
	for _, m := range sent {
		if s, ok := m.(*transport.ChainSnapshot); ok {
			snap = s
		}
	}
	require.NotNil(t, snap, "the joiner is sent a snapshot")
	var enc transport.Encoder
	body := enc.AppendMessage(nil, snap)
	t.Logf("snapshot: %d entries, %d bytes on the wire (frame limit %d)", len(snap.Entries), len(body), transport.MaxBodyBytes)
	require.LessOrEqual(t, len(body), transport.MaxBodyBytes, "a chain snapshot larger than a frame is dropped on TCP: the joiner never syncs")
}
