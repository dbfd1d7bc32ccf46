package analysis_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/traces"
)

// TestUnlistedIDsHaveNoCPUs: a live trace's header describes the live
// nodes, not the drivers' raylets, whose IDs come after them (and earlier
// drivers' IDs are skipped over). analyze made every ID the header did
// not describe a 1-CPU node: rows of drivers that came and went, "CPUs 1
// util 0.0%", and the run's own driver shown as a 1-CPU node. Such an ID
// now has no CPUs (utilization "-"), the one that submitted tasks and ran
// none is named driver-N, and those that did nothing are left out.
func TestUnlistedIDsHaveNoCPUs(t *testing.T) {
	s, err := scenarios.Parse("live.yaml", []byte(`
name: live
cluster:
  nodes: [{name: head, cpus: 2}, {name: n1, cpus: 2}]
workload:
  - {generator: parallel, params: {tasks: 1}}
`))
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "live.yaml", Scenario: yaml, Transport: "remote"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	ms := time.Millisecond
	const driver, gone = 5, 4
	rec.Runtime(0, &transport.Event{Kind: transport.EvNodeDead, Node: gone, Detail: "left"})
	rec.Runtime(1*ms, &transport.Event{Kind: transport.EvTaskSubmitted, Node: driver, Task: 9, Object: transport.ObjectID{Task: 1}, Detail: "wl.task"})
	rec.Runtime(2*ms, &transport.Event{Kind: transport.EvTaskPlaced, Node: driver, Peer: 2, Task: 9, Detail: "spilled"})
	rec.Runtime(3*ms, &transport.Event{Kind: transport.EvTaskRunning, Node: 2, Task: 9})
	rec.Runtime(8*ms, &transport.Event{Kind: transport.EvTaskFinished, Node: 2, Task: 9})
	require.NoError(t, rec.Close())
	rd, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(rd)
	require.NoError(t, err)

	require.Len(t, rep.Nodes, driver)
	d := rep.Nodes[driver-1]
	assert.Equal(t, "driver-5", d.Name)
	assert.Zero(t, d.CPUs)
	assert.True(t, d.NoCPUs && d.Unlisted)
	assert.Equal(t, uint64(1), d.Owned)
	assert.True(t, rep.Nodes[gone-1].Idle(), "an ID that only died")
	assert.False(t, rep.Nodes[1].Unlisted, "n1 is the header's")
	assert.Equal(t, float64(2), rep.Nodes[1].CPUs)

	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	text := out.String()
	assert.NotContains(t, text, "node-4", "a driver that came and went")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "driver-5") {
			f := strings.Fields(line)
			assert.Equal(t, "0", f[1], "CPUs: %s", line)
			assert.Equal(t, "-", f[4], "utilization: %s", line)
		}
	}
	assert.Contains(t, text, "driver-5")
}

// TestLiveNodeIDsFromHeader: a live cluster's node that joined after a
// driver has an ID past the drivers' (n1 here is ID 6, driver 5 came
// between), and the header's nodes were matched to IDs by position: n1's
// work showed on an invented node-6 and n1's row stayed empty. The header
// now names each node's ID (traces.Header.NodeIDs).
func TestLiveNodeIDsFromHeader(t *testing.T) {
	s, err := scenarios.Parse("live.yaml", []byte(`
name: live
cluster:
  nodes: [{name: head, cpus: 2}, {name: n1, cpus: 4}]
workload:
  - {generator: parallel, params: {tasks: 1}}
`))
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "live.yaml", Scenario: yaml, Transport: "remote",
		NodeIDs: []transport.NodeID{1, 6}}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	ms := time.Millisecond
	rec.Runtime(1*ms, &transport.Event{Kind: transport.EvTaskSubmitted, Node: 5, Task: 9, Object: transport.ObjectID{Task: 1}, Detail: "wl.task"})
	rec.Runtime(3*ms, &transport.Event{Kind: transport.EvTaskRunning, Node: 6, Task: 9})
	rec.Runtime(8*ms, &transport.Event{Kind: transport.EvTaskFinished, Node: 6, Task: 9})
	require.NoError(t, rec.Close())
	rd, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(rd)
	require.NoError(t, err)
	require.Len(t, rep.Nodes, 6)
	n1 := rep.Nodes[5]
	assert.Equal(t, "n1", n1.Name)
	assert.Equal(t, float64(4), n1.CPUs)
	assert.Equal(t, uint64(1), n1.Executed)
	assert.False(t, n1.Unlisted)
	assert.Equal(t, "driver-5", rep.Nodes[4].Name)
	assert.True(t, rep.Nodes[1].Idle(), "ID 2: not n1")
	assert.Equal(t, "n1", rep.NodeName(6))
}
