package traces_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/scenarios"
	"raysim/traces"
)

// TestChromeGCSCrashHasNoRayletCounters (qa32 #12): a GCS replica's crash
// gave its process "queue" and "object store" counter tracks (raylet
// concepts, reset at every crash); a raylet's crash still resets them.
// Fails before: counters on the replica's pid.
func TestChromeGCSCrashHasNoRayletCounters(t *testing.T) {
	s, err := scenarios.Parse("x.yaml", []byte("name: x\ncluster:\n  nodes: [{name: head, cpus: 1}, {name: w1, cpus: 1}]\nworkload:\n  - {generator: parallel, params: {tasks: 1}}\n"))
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml", Scenario: yaml}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	replica := ray.ReplicaID(0, 1)
	rec.Write(&traces.Record{At: time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: replica})
	rec.Write(&traces.Record{At: 2 * time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2})
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	counters := map[float64][]string{}
	for _, e := range chromeOfJSON(t, out.Bytes()) {
		if e["ph"] == "C" {
			pid, _ := e["pid"].(float64)
			name, _ := e["name"].(string)
			counters[pid] = append(counters[pid], name)
		}
	}
	assert.Empty(t, counters[float64(replica)], "counters on the GCS replica's process")
	assert.ElementsMatch(t, []string{"queue", "object store"}, counters[2], "a raylet's crash resets its counters")
}
