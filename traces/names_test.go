package traces_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/traces"
	"raysim/traces/otelspans"
)

// namesTrace is a live cluster's trace (nodes head, w1, w2 at IDs 1, 2, 3)
// whose driver, ID 4, submits a task that runs on w1; with a bad scenario
// the header's scenario cannot be read.
func namesTrace(t *testing.T, scenario []byte) []byte {
	t.Helper()
	ms := time.Millisecond
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "live.yaml", Scenario: scenario, Transport: "remote",
		NodeIDs: []transport.NodeID{1, 2, 3}}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for _, r := range []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 4, 0, 7, "f"),
		rtRec(ms, transport.EvTaskPlaced, 4, 2, 7, "spilled"),
		rtRec(ms, transport.EvTaskPlaced, 2, 2, 7, "local"),
		rtRec(2*ms, transport.EvTaskRunning, 2, 0, 7, "f"),
		rtRec(3*ms, transport.EvTaskFinished, 2, 0, 7, "f"),
	} {
		rec.Write(&r)
	}
	require.NoError(t, rec.Close())
	return buf.Bytes()
}

// names returns what the Chrome export, the OTLP export and analyze call
// endpoints 2 and 4 of a trace.
func names(t *testing.T, data []byte) (chrome, otel, analyze [2]string) {
	t.Helper()
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	evs := chromeOfJSON(t, out.Bytes())
	for _, e := range evs {
		if e["name"] == "process_name" {
			name := e["args"].(map[string]any)["name"].(string)
			switch e["pid"].(float64) {
			case 2:
				chrome[0] = name
			case 4:
				chrome[1] = name
			}
		}
	}
	r, err = traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = otelspans.Export(context.Background(), r, exp, otelspans.Options{})
	require.NoError(t, err)
	for _, sp := range exp.GetSpans() {
		for _, a := range sp.Attributes {
			switch {
			case a.Key == "raysim.owner":
				otel[1] = a.Value.AsString()
			case a.Key == "raysim.node" && sp.Name == "execute":
				otel[0] = a.Value.AsString()
			}
		}
	}
	r, err = traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	analyze = [2]string{rep.NodeName(2), rep.NodeName(4)}
	assert.Equal(t, analyze[0], rep.Nodes[1].Name, "the node table")
	assert.Equal(t, analyze[1], rep.Nodes[3].Name, "the node table")
	return chrome, otel, analyze
}

// TestOneNamePerEndpoint: one endpoint had three names — the live
// driver's raylet (ID 4) was "node 3" in the Chrome JSON (its ID minus
// one), "node4" in OTLP and "driver-4" in analyze; with an unreadable
// header's scenario, Chrome's "node 0".."node 3" were analyze's
// "node-1".."node-4". traces.NodeNamer now names them for all three.
func TestOneNamePerEndpoint(t *testing.T) {
	s, err := scenarios.Parse("live.yaml", []byte(`
name: live
cluster:
  nodes: [{name: head, cpus: 2}, {name: w1, cpus: 2}, {name: w2, cpus: 2}]
workload:
  - {generator: parallel, params: {tasks: 1}}
`))
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	want := [2]string{"w1", "driver-4"}
	chrome, otel, analyze := names(t, namesTrace(t, yaml))
	assert.Equal(t, want, chrome, "chrome")
	assert.Equal(t, want, otel, "otel")
	assert.Equal(t, want, analyze, "analyze")

	want = [2]string{"node-2", "node-4"} // no listed node: which is a driver is unknown
	chrome, otel, analyze = names(t, namesTrace(t, []byte("name: [unreadable")))
	assert.Equal(t, want, chrome, "chrome, unreadable header")
	assert.Equal(t, want, otel, "otel, unreadable header")
	assert.Equal(t, want, analyze, "analyze, unreadable header")
}

func chromeOfJSON(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var f struct{ TraceEvents []map[string]any }
	require.NoError(t, jsonUnmarshal(b, &f))
	return f.TraceEvents
}

var jsonUnmarshal = json.Unmarshal
