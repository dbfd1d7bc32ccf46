package replay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/traces"
)

// TestUntilEventStateCoversTheWholeStep: with UntilEvent N the recorder
// stops the simulator after record N, and the rest of that event-loop step
// still runs (docs/traces.md: "a few more records may have run"; the
// cluster dump shows their effects). But Recorder.add hands records to the
// replay's Check only while !r.stopped (traces/recorder.go add), so those
// records are neither compared with the trace nor fed to the dump's network
// state: Result.Records and "after N events" stop at N+1, the in-flight
// table misses the messages the rest of the step sent, while the nodes'
// state and the printed "prefix digest" (Recorder.Digest, which hashes every
// record produced) include them. Here record N is a delivery and N+1 the
// receiving handler's send in the same step: the dump says nothing of it.
// Right: keep checking (and feeding netState) the records produced after
// the stop until the step ends, so Records, the in-flight table, the
// cluster state and the prefix digest all describe the same point.
func TestUntilEventStateCoversTheWholeStep(t *testing.T) {
	s := load(t, "../../scenarios/quickstart.yaml")
	data, _ := record(t, s)
	all := records(t, data)
	n := -1
	for i := 1000; i+1 < len(all); i++ {
		a, b := all[i], all[i+1]
		ka, _ := a.NetKind()
		kb, _ := b.NetKind()
		if a.IsNet() && ka == netsim.EvDeliver && b.IsNet() && kb == netsim.EvSend && b.At == a.At && b.Node == a.Peer {
			n = i
			break
		}
	}
	require.GreaterOrEqual(t, n, 0, "a delivery whose handler sends")

	res := replayBytes(t, data, Options{UntilEvent: uint64(n), HasUntilEvent: true})
	require.Nil(t, res.Divergence)
	require.True(t, res.Stopped)

	// How many records the re-run produced: the trace prefix whose digest
	// is the re-run's.
	d, prev, produced := traces.NewDigest(), time.Duration(0), -1
	for i := 0; i < n+200 && i < len(all); i++ {
		d.Add(traces.AppendRecord(nil, prev, &all[i]))
		prev = all[i].At
		if d == res.Digest {
			produced = i + 1
			break
		}
	}
	require.Greater(t, produced, n+1, "the rest of the step produced records (the handler's send)")
	assert.EqualValues(t, produced, res.Records, "records compared = records produced")
	assert.EqualValues(t, produced, res.State.Records, "the dump's event count")
	send := all[n+1]
	found := false
	for _, p := range res.State.Pending {
		if p.From == send.Node && p.To == send.Peer && p.Msg == send.Msg && p.Oldest <= send.At {
			found = true
		}
	}
	assert.True(t, found, "the handler's %s is in flight in the dump", traces.MsgName(send.Msg))
}
