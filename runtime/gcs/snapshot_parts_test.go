package gcs

import (
	"testing"
	"time"

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
// figure 10b runs millions through a shard) was sent the whole store as ONE
// ChainSnapshot of 21.6 MB. On TCP a message whose body exceeds
// transport.MaxBodyBytes (8 MiB) is dropped by the sender, every resend of
// it too, so the joiner, already the chain's tail, never synced, and every
// write to the shard waited for it for good. The snapshot now travels in
// parts, each within a frame, and the joiner, given them in any order,
// installs the same store.
func TestChainSnapshotFitsInAFrame(t *testing.T) {
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	chain := []transport.NodeID{replicaID(0), replicaID(1)}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	var sent []transport.Message
	src := NewMemStore()
	r := NewReplica(sendRecEnv{fakeEnv{self: replicaID(0)}, &sent}, ReplicaConfig{Index: 0,
		Shard: Config{Layout: l, Store: src}})
	const n = 200_000
	for i := 1; i <= n; i++ {
		id := transport.TaskID(i)
		r.Shard().Handle(tClient, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1,
			Func: "workload.double", Owner: tClient, Args: []transport.Arg{{IsRef: true, Ref: transport.ObjectID{Task: id - 1}}}}})
		r.Shard().Handle(tClient, &transport.GcsAddObject{Object: transport.ObjectID{Task: id}, Node: tClient, Size: 8})
	}
	// The tail (replica 1) restarted and rejoins: the master names it the joiner.
	sent = nil
	config := &transport.ChainConfig{Shard: 0, Epoch: 3, Members: chain, Join: replicaID(1)}
	r.Handle(tMaster, config)
	var parts []*transport.ChainSnapshot
	for _, m := range sent {
		if s, ok := m.(*transport.ChainSnapshot); ok {
			parts = append(parts, s)
		}
	}
	require.Greater(t, len(parts), 1, "a 200,000-task shard's snapshot in parts")
	var enc transport.Encoder
	total := 0
	for _, p := range parts {
		body := enc.AppendMessage(nil, p)
		require.LessOrEqual(t, len(body), transport.MaxBodyBytes, "part %d of %d: larger than a frame", p.Part, p.Parts)
		back, err := transport.Unmarshal(body)
		require.NoError(t, err)
		require.Equal(t, p.Parts, back.(*transport.ChainSnapshot).Parts)
		total += len(p.Entries)
	}
	t.Logf("snapshot: %d entries in %d parts", total, len(parts))

	// The joiner gets the parts last first: it installs only once it has
	// them all, then acknowledges.
	var joinerSent []transport.Message
	dst := NewMemStore()
	j := NewReplica(sendRecEnv{fakeEnv{self: replicaID(1)}, &joinerSent}, ReplicaConfig{Index: 0,
		Shard: Config{Layout: l, Store: dst}})
	j.Handle(tMaster, config)
	acked := func() bool {
		for _, m := range joinerSent {
			if _, ok := m.(*transport.ChainAck); ok {
				return true
			}
		}
		return false
	}
	for i := len(parts) - 1; i >= 0; i-- {
		require.False(t, acked(), "acknowledged before every part came")
		j.Handle(replicaID(0), parts[i])
	}
	require.True(t, acked(), "the joiner did not install the snapshot")
	for tb := 1; tb <= numTables; tb++ {
		want, got := map[string]string{}, map[string]string{}
		src.Scan(Table(tb), func(k, v []byte) bool { want[string(k)] = string(v); return true })
		dst.Scan(Table(tb), func(k, v []byte) bool { got[string(k)] = string(v); return true })
		if tb != int(TableMeta) { // the chain's own bookkeeping differs between members
			require.Equal(t, want, got, "table %d", tb)
		}
	}
}

// clockEnv is sendRecEnv with a monotonic clock the test moves.
type clockEnv struct {
	sendRecEnv
	now *time.Time
}

func (e clockEnv) Mono() time.Time                 { return *e.now }
func (e clockEnv) Since(t time.Time) time.Duration { return e.now.Sub(t) }

// TestSnapshotResendsBackOff: a snapshot its joiner has not acknowledged
// was sent again on every tick (5ms), each time the whole store encoded
// anew; re-sends now back off as a pending update's do (RetryAfter,
// doubling): over half a second of silence, a handful, not a hundred.
func TestSnapshotResendsBackOff(t *testing.T) {
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	chain := []transport.NodeID{replicaID(0), replicaID(1)}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	var sent []transport.Message
	now := time.Unix(1000, 0)
	r := NewReplica(clockEnv{sendRecEnv{fakeEnv{self: replicaID(0)}, &sent}, &now}, ReplicaConfig{Index: 0,
		Shard: Config{Layout: l, Store: NewMemStore()}})
	r.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 3, Members: chain, Join: replicaID(1)})
	for range 100 {
		now = now.Add(5 * time.Millisecond)
		r.tick()
	}
	snaps := 0
	for _, m := range sent {
		if _, ok := m.(*transport.ChainSnapshot); ok {
			snaps++
		}
	}
	require.GreaterOrEqual(t, snaps, 2, "the snapshot is re-sent while unacknowledged")
	require.LessOrEqual(t, snaps, 8, "the snapshot was re-sent %d times in 500ms", snaps)
}
