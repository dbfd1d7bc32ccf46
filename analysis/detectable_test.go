package analysis_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/traces"
)

// TestGCSCrashNotDetectable: a GCS replica's crash is not detected the way
// a raylet's is (no node.dead follows it: the chain reconfigures), so
// "not detected" says something false of it, and a comparison's mean
// detection read "not detected" for a run whose only fault was one.
// Fault.Detectable says which faults have a detection event to wait for.
func TestGCSCrashNotDetectable(t *testing.T) {
	gcs := ray.ReplicaID(0, 1)
	recs := append(steady(600), traces.Record{At: ms(300), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: gcs, Peer: gcs})
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 1)
	f := rep.Faults[0]
	assert.False(t, f.Detectable(), "a GCS replica's crash")
	assert.Equal(t, "-", f.DetectText())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.False(t, strings.Contains(out.String(), "not detected"), "the text's fault row")
	for _, m := range analysis.Compare(rep, rep) {
		if m.Name == "mean detection" {
			assert.Equal(t, "no fault to detect", m.TextA())
		}
	}

	for _, c := range []struct {
		f    analysis.Fault
		want bool
	}{
		{analysis.Fault{Kind: "crash", Node: 2}, true},
		{analysis.Fault{Kind: "pause", Node: 2}, true},
		{analysis.Fault{Kind: "partition"}, true},
		{analysis.Fault{Kind: "crash", Node: gcs}, false},
		{analysis.Fault{Kind: "pause", Node: gcs}, false},
		{analysis.Fault{Kind: "crash", Node: ray.GCSMasterID}, false},
		{analysis.Fault{Kind: "restart", Node: 2}, false},
		{analysis.Fault{Kind: "degrade", Node: 1}, false},
		{analysis.Fault{Kind: "kill_actor", Node: 1}, false},
	} {
		assert.Equal(t, c.want, c.f.Detectable(), "%s of %v", c.f.Kind, c.f.Node)
	}
	// A raylet's undetected crash still says so.
	assert.Equal(t, "not detected", analysis.Fault{Kind: "crash", Node: 2, At: time.Second}.DetectText())
}
