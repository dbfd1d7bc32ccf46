package analysis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/traces"
)

// TestLastBinDividedByCoveredTime: a steady 1000 tasks/s to the end of a
// 995.5ms run. The throughput's last 10ms bin covers only 5.5ms of the run
// but was divided by 10ms: the last point read ~600/s, a dip that is not
// there. It is divided by the time it covers (Series.Width), and so are the
// utilization's and the transfer plot's.
func TestLastBinDividedByCoveredTime(t *testing.T) {
	recs := append(steady(995), traces.Record{At: ms(995.5), Source: traces.Net, Kind: uint8(netsim.EvSkew), Node: 2, Peer: 2})
	rep := synth(t, twoNodes, recs)
	th := rep.Throughput
	require.Equal(t, 10*time.Millisecond, th.Bin)
	require.Len(t, th.Values, 100)
	assert.Equal(t, ms(995.5), th.End)
	assert.Equal(t, 10*time.Millisecond, th.Width(98))
	assert.Equal(t, ms(5.5), th.Width(99), "the last bin covers [990ms, 995.5ms]")
	assert.InDelta(t, 1000, th.Values[98], 1)
	assert.InDelta(t, 1000, th.Values[99], 100, "the last bin's rate is the run's, not half of it")

	// The bins still hold every completion.
	var sum float64
	for i, v := range th.Values {
		sum += v * th.Width(i).Seconds()
	}
	assert.InDelta(t, float64(rep.Tasks.Completed), sum, 1e-6)
}

// TestSeriesWidth: every bin is Bin wide but the last, which ends at End;
// a series over no time has no width.
func TestSeriesWidth(t *testing.T) {
	s := analysis.Series{Bin: 10 * time.Millisecond, End: 25 * time.Millisecond, Values: make([]float64, 3)}
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 5 * time.Millisecond}, []time.Duration{s.Width(0), s.Width(1), s.Width(2)})
	s.End = 30 * time.Millisecond
	assert.Equal(t, 10*time.Millisecond, s.Width(2))
	s = analysis.Series{Bin: time.Microsecond, Values: make([]float64, 1)}
	assert.Zero(t, s.Width(0))
}
