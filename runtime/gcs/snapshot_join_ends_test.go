package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestSnapshotPartsDroppedWhenJoinEnds: a joiner gathers the parts of a
// chain snapshot in snapIn, which only onSnapshot clears, and only once
// every part of one sending came. A join that ends otherwise — the
// predecessor dies and the joiner is left the chain alone (it serves what
// its store recovered), or the master removes it — leaves the parts it got
// in memory for as long as no later snapshot arrives, which for a replica
// that serves alone from then on is for good: up to a whole shard's state
// less one part (parts are up to MaxBodyBytes/2 each).
func TestSnapshotPartsDroppedWhenJoinEnds(t *testing.T) {
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	chain := []transport.NodeID{replicaID(0), replicaID(1)}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	big := make([]byte, 1<<10) // stands for up to MaxBodyBytes/2 a part
	part := func(i uint32) *transport.ChainSnapshot {
		return &transport.ChainSnapshot{Shard: 0, Index: 9, Epoch: 3, Part: i, Parts: 4,
			Entries: []transport.StoreEntry{{Table: uint8(TableTasks), Key: []byte{byte(i)}, Value: big}}}
	}
	for _, tc := range []struct {
		name string
		cfg  *transport.ChainConfig
	}{
		{"left alone", &transport.ChainConfig{Shard: 0, Epoch: 4, Members: []transport.NodeID{replicaID(1)}}},
		{"removed", &transport.ChainConfig{Shard: 0, Epoch: 4, Members: []transport.NodeID{replicaID(0)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Index: 0, Rejoin: true, Shard: Config{Layout: l}})
			j.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 3, Members: chain, Join: replicaID(1)})
			for i := range uint32(3) { // the last part is lost with the predecessor
				j.Handle(replicaID(0), part(i))
			}
			require.NotNil(t, j.snapIn)
			j.Handle(tMaster, tc.cfg) // the join is over
			if in := j.snapIn; in != nil {
				t.Fatalf("the parts of an abandoned join are kept: %d parts of %d (epoch %d), replica now at epoch %d, synced %v", len(in.got), in.parts, in.epoch, j.epoch, j.synced)
			}
		})
	}
}
