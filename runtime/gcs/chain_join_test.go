package gcs

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// requireWritesTraced: every write the client saw acknowledged had its side
// effects released by a tail: its gcs.write event is in the trace. The
// event is one of the write's side effects, as its publications are: a
// write whose event is missing had its publications (an ObjectLocated to a
// subscriber, a TaskDone to the owner) dropped too.
func (h *chainHarness) requireWritesTraced(t *testing.T) {
	t.Helper()
	traced := make(map[transport.ObjectID]bool)
	for _, ev := range h.events {
		if ev.Kind == transport.EvGCSWrite && ev.Detail == "object" {
			traced[ev.Object] = true
		}
	}
	var missing []transport.ObjectID
	for _, o := range h.w.acked {
		if !traced[o] {
			missing = append(missing, o)
		}
	}
	require.Empty(t, missing, "acknowledged writes whose side effects no tail released")
}

// TestChainJoinCompletesSnapshottedUpdates: the tail of a 2-replica chain
// crashes and restarts, before the master notices (it rejoins at once) or
// after (the head serves alone meanwhile). The writes the head applies
// while the joiner waits for its snapshot are in that snapshot, so the
// joiner, the new tail, never applies them; their side effects were
// captured at the head and dropped when the joiner acknowledged the
// snapshot (QA30 finding 1). The head now releases them then.
func TestChainJoinCompletesSnapshottedUpdates(t *testing.T) {
	for _, down := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond, 60 * time.Millisecond} {
		t.Run(fmt.Sprint("down ", down), func(t *testing.T) {
			h := newChainHarness(t, 2, 400)
			s := h.net.Sim
			tail := netsim.NodeID(replicaID(1))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(100*time.Millisecond+down, func() { s.Restart(tail) })
			s.RunUntil(2 * time.Second)
			h.requireSettled(t, 400)
			require.True(t, h.replica(1).Serving(), "the restarted tail rejoined")
			h.requireWritesTraced(t)
		})
	}
}

// TestChainJoinPredecessorDies: on a 3-replica chain the tail restarts and
// rejoins, and its predecessor (the middle) dies around the time the joiner
// installs its snapshot, before it may have released the snapshotted
// writes' side effects. The head, the joiner's new predecessor, re-sends
// its unacknowledged writes; the joiner answers those its snapshot held
// with the snapshot's index, and the head releases them.
func TestChainJoinPredecessorDies(t *testing.T) {
	for d := time.Duration(0); d <= 8*time.Millisecond; d += 250 * time.Microsecond {
		t.Run(fmt.Sprint("middle dies ", d), func(t *testing.T) {
			h := newChainHarness(t, 3, 400)
			s := h.net.Sim
			tail, mid := netsim.NodeID(replicaID(2)), netsim.NodeID(replicaID(1))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(105*time.Millisecond, func() { s.Restart(tail) })
			s.At(105*time.Millisecond+d, func() { s.Crash(mid) })
			s.RunUntil(2 * time.Second)
			h.requireSettled(t, 400)
			h.requireWritesTraced(t)
		})
	}
}
