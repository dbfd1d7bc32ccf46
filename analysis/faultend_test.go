package analysis_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// steady: a task a millisecond (submitted at i ms, done 1ms later) for n
// tasks, on node a.
func steady(n int) []traces.Record {
	var recs []traces.Record
	for i := 0; i < n; i++ {
		id := transport.TaskID(0x1000 + i)
		recs = append(recs, rt(ms(float64(i)), transport.EvTaskSubmitted, 1, 0, id, "steady"),
			rt(ms(float64(i+1)), transport.EvTaskFinished, 1, 0, id, "steady"))
	}
	return sorted(recs)
}

// TestFaultAtTraceEnd: a crash that is the trace's last record has nothing
// after it to judge the throughput's recovery on. Its row said "no dip"
// (the fault's bin was past the last completion's, so the judging loop
// never ran and "no dip" was the fallback) or, when the fault fell on a bin
// boundary, "0s" (recovered at once). It says it cannot judge.
func TestFaultAtTraceEnd(t *testing.T) {
	for _, at := range []float64{400, 450, 437.5} {
		recs := append(steady(400), traces.Record{At: ms(at), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2})
		rep := synth(t, twoNodes, recs)
		require.Equal(t, ms(at), rep.End)
		f := crashFault(t, rep)
		assert.True(t, f.Unjudged, "at %vms: %+v", at, f)
		assert.False(t, f.NoDip, "at %vms: no dip is a claim", at)
		assert.False(t, f.NotRecovered, "at %vms", at)
		assert.Zero(t, f.RecoverAfter, "at %vms", at)
		assert.Equal(t, "cannot judge: no task ended after it", f.RecoverText(), "at %vms", at)
		assert.Equal(t, "not detected", f.DetectText(), "at %vms: none in the trace", at)
		assert.Equal(t, "-", f.DipText(), "at %vms: no dip to show", at)
		assert.NotEqual(t, "-", f.BaselineText(), "at %vms: the rate before it is known", at)
		var out bytes.Buffer
		require.NoError(t, analysis.WriteText(&out, rep))
		assert.True(t, strings.Contains(out.String(), "cannot judge"), "the text's fault row")
		_, err := analysis.WriteReport(t.TempDir(), rep)
		require.NoError(t, err)
	}
}

// TestFaultAfterWorkload: a fault after the last task ended (the trace
// goes on) cannot be judged either.
func TestFaultAfterWorkload(t *testing.T) {
	recs := append(steady(400),
		traces.Record{At: ms(450), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2},
		rt(ms(700), transport.EvNodeDead, 2, 0, 0, ""))
	rep := synth(t, twoNodes, recs)
	f := crashFault(t, rep)
	assert.True(t, f.Unjudged, "%+v", f)
	assert.Equal(t, "cannot judge: no task ended after it", f.RecoverText())
	assert.Equal(t, ms(250), f.DetectAfter, "detection is judged as ever")
}
