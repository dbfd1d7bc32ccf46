package traces_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/scenarios"
	"raysim/traces"
)

// TestChromeDegradeMarkerDetail: the Chrome marker of a link degradation
// said "degrade head-\u003eworker-1 loss=0.2": no added latency (the
// record's Bytes), and '>' escaped HTML-safe. It now reads as analyze's
// faults table does, "degrade head->w1 +5ms loss=0.2", unescaped.
func TestChromeDegradeMarkerDetail(t *testing.T) {
	s, err := scenarios.Parse("x.yaml", []byte("name: x\ncluster:\n  nodes: [{name: head, cpus: 1}, {name: w1, cpus: 1}]\nworkload:\n  - {generator: parallel, params: {tasks: 1}}\n"))
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml", Scenario: yaml}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	rec.Write(&traces.Record{At: time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvDegrade), Node: 1, Peer: 2,
		Bytes: int64(5 * time.Millisecond), Detail: "loss=0.2"})
	require.NoError(t, rec.Close())

	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	assert.NotContains(t, out.String(), `\u003e`)
	var name string
	for _, e := range chromeOfJSON(t, out.Bytes()) {
		if e["cat"] == "fault" {
			name, _ = e["name"].(string)
		}
	}

	r, err = traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	require.Len(t, rep.Faults, 1)
	assert.Equal(t, "degrade head->w1 +5ms loss=0.2", name)
	assert.Equal(t, "degrade "+rep.FaultDetail(rep.Faults[0]), name, "as analyze shows it")
}
