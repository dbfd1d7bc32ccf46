package gcs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// TestChainEpochAckOnlyFromSuccessor: a tail's epoch-marked ChainAck (its
// word that its join's snapshot held the updates up to an index) makes the
// member it reaches release the side effects of its pending updates up to
// there, as the tail's. It is sent to the predecessor that re-sent those
// updates; one from another member (sent under an earlier configuration,
// or forged) says nothing of what is committed downstream of the member
// it reaches, and is ignored: the head of a 3-replica chain, its forwards
// to the middle held up, keeps its pending updates.
func TestChainEpochAckOnlyFromSuccessor(t *testing.T) {
	h := newChainHarness(t, 3, 200)
	s := h.net.Sim
	head, mid := netsim.NodeID(replicaID(0)), netsim.NodeID(replicaID(1))
	s.At(50*time.Millisecond, func() {
		s.SetLink(head, mid, netsim.Link{Latency: netsim.Constant(30 * time.Millisecond), Bandwidth: 1.25e9})
	})
	var before int
	s.At(60*time.Millisecond, func() {
		r := h.replica(0)
		before = len(r.pending)
		require.Greater(t, before, 5, "the head holds updates its successor has not acknowledged")
		h.net.Env(replicaID(2)).Send(replicaID(0), &transport.ChainAck{Shard: 0, Index: r.applied, Epoch: 1})
	})
	s.At(61*time.Millisecond, func() {
		require.GreaterOrEqual(t, len(h.replica(0).pending), before, "an epoch ack from the tail, not the successor, released nothing")
		s.SetLink(head, mid, netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 1.25e9})
	})
	s.RunUntil(2 * time.Second)
	h.requireSettled(t, 200)
	h.requireWritesTraced(t)
}

// TestChainRemovedReplicaForgetsItsJoin: a replica that joined its chain
// with a snapshot answers re-sent updates that snapshot held for the join
// (installedEpoch, installedIndex); removed from the chain, it forgets that
// join: it joins again with a new snapshot, and answers for that one.
func TestChainRemovedReplicaForgetsItsJoin(t *testing.T) {
	h := newChainHarness(t, 2, 100)
	s := h.net.Sim
	tail := netsim.NodeID(replicaID(1))
	s.At(20*time.Millisecond, func() { s.Crash(tail) })
	s.At(25*time.Millisecond, func() { s.Restart(tail) })
	s.At(300*time.Millisecond, func() {
		r := h.replica(1)
		require.True(t, r.Serving(), "the restarted tail joined")
		require.NotZero(t, r.installedEpoch, "it joined with a snapshot")
		epoch, _ := r.Chain()
		r.onConfig(&transport.ChainConfig{Shard: 0, Epoch: epoch + 1, Members: []transport.NodeID{replicaID(0)}})
		require.False(t, r.Serving())
		require.Zero(t, r.installedEpoch, "removed, it answers for no join of the old chain")
		require.Zero(t, r.installedIndex)
	})
	s.RunUntil(301 * time.Millisecond)
}
