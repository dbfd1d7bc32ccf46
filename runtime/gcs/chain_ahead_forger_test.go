package gcs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestChainAheadForgerCannotCrowdOutClients: holdAhead kept a request
// from any sender whose GcsRequest.Chain was beyond the replica's epoch, up
// to maxAhead in all, and takeAhead kept those still ahead for good: one
// sender that is no client of the chain (on TCP, any holder of the cluster
// token) sending maxAhead requests with distinct Seq and Chain = MaxUint64
// filled the hold for the replica's whole life, and every real client's
// request sent under a configuration the replica had not heard of yet was
// dropped again. Each held request keeps its Op (up to a frame): they could
// pin up to 32 GiB. A sender now holds its share only, a few configurations
// ahead at most.
func TestChainAheadForgerCannotCrowdOutClients(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	next := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Shard: Config{Layout: l}, Index: 0})
	const forger transport.NodeID = 77 // no replica, raylet, master or scheduler of the layout
	for i := range maxAhead {
		next.Handle(forger, wire(t, &transport.GcsRequest{Seq: uint64(i + 1), Low: 1, Epoch: 1, Chain: math.MaxUint64,
			Op: &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i + 1)}, Node: forger, Incarnation: 1}}))
	}
	// Replica 0 dies; the master names replica 1 the head. A real client
	// heard first and re-sends its request under the new configuration.
	next.Handle(tClient, wire(t, &transport.GcsRequest{Seq: 1, Low: 1, Epoch: 1, Chain: 2,
		Op: &transport.GcsAddObject{Object: transport.ObjectID{Task: 9999}, Node: tClient, Incarnation: 1}}))
	next.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{replicaID(1)}})
	require.NotNil(t, next.seen[tClient],
		"the client's request sent under configuration 2 was dropped: %d held requests of a non-client naming configuration %d (never to come) fill the hold",
		len(next.ahead), uint64(math.MaxUint64))
}
