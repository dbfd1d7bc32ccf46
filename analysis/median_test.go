package analysis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestBaselineEvenMedian: a fault 4 fault bins (20ms each) into the run,
// after bins at 500, 500, 1500 and 1500 tasks/s: the baseline is their
// median, 1000/s. With an even number of bins it took the upper middle
// one (1500/s).
func TestBaselineEvenMedian(t *testing.T) {
	var recs []traces.Record
	id := transport.TaskID(0x1000)
	task := func(at float64) {
		id++
		recs = append(recs, rt(ms(at)-1, transport.EvTaskSubmitted, 1, 0, id, "f"), rt(ms(at), transport.EvTaskFinished, 1, 0, id, "f"))
	}
	for bin, n := range []int{10, 10, 30, 30} {
		for j := 0; j < n; j++ {
			task(float64(20*bin) + 20*float64(j)/float64(n) + 0.1)
		}
	}
	for at := 80.0; at < 1000; at++ { // then 1000/s to the end (1s: 20ms fault bins)
		task(at + 0.5)
	}
	recs = append(recs, traces.Record{At: ms(80), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2})
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 1)
	assert.InDelta(t, 1000, rep.Faults[0].Baseline, 1)
}
