package gcs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// TestChainFailoverKeepsEvents: a replica that is not its chain's tail
// captures an update's sends and releases them if it becomes the tail
// with the update still unacknowledged; its trace events were dropped
// instead (only a tail emits). The writes the head applied while its tail
// was dead were acknowledged with no gcs.write event in the trace, and in
// the fault search's case a node's registrations applied so had no
// node.alive: the check harness, counting a raylet's lives by them, took
// three lives of a node for one and failed a run whose task had rightly
// spent its retries on two deaths. Captured events are now emitted with
// the sends, when the replica completes the update as tail.
func TestChainFailoverKeepsEvents(t *testing.T) {
	h := newChainHarness(t, 2, 300)
	s := h.net.Sim
	s.At(100*time.Millisecond+300*time.Microsecond, func() { s.Crash(netsim.NodeID(replicaID(1))) })
	s.RunUntil(2 * time.Second)
	h.requireSettled(t, 300)
	written := map[transport.ObjectID]bool{}
	for _, ev := range h.events {
		if ev.Kind == transport.EvGCSWrite && ev.Detail == "object" {
			written[ev.Object] = true
		}
	}
	var missing []transport.ObjectID
	for _, o := range h.w.acked {
		if !written[o] {
			missing = append(missing, o)
		}
	}
	require.Empty(t, missing, "acknowledged writes with no gcs.write event in the trace (%d of %d)", len(missing), len(h.w.acked))
}
