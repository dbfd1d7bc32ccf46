package analysis_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestZeroLengthTrace: a trace whose records all fall at time 0 (a task
// submitted and finished at once) covers no time: there is no rate to
// report. Its bins cover nothing (Width 0): the throughput is 0, not a
// task per the 1µs minimum bin (1,000,000/s).
func TestZeroLengthTrace(t *testing.T) {
	rep := synth(t, twoNodes, []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(0, transport.EvTaskFinished, 1, 0, 0x100, "f"),
	})
	require.Zero(t, rep.End)
	assert.Equal(t, uint64(1), rep.Tasks.Completed)
	assert.Zero(t, rep.MeanThroughput())
	assert.Zero(t, rep.PeakThroughput())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.True(t, strings.Contains(out.String(), "mean 0/s, peak 0/s"), "%s", out.String())
	_, err := analysis.WriteReport(t.TempDir(), rep)
	require.NoError(t, err)
	var none bytes.Buffer
	require.NoError(t, analysis.WriteText(&none, synth(t, twoNodes, nil)))
}
