package otelspans

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/traces"
)

// runTrace writes the same records under the header h.
func runTrace(t *testing.T, h traces.Header) []byte {
	t.Helper()
	ms := time.Millisecond
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, h, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for _, r := range []traces.Record{
		{At: 0, Kind: uint8(transport.EvTaskSubmitted), Node: 1, Task: 7, Detail: "f"},
		{At: ms, Kind: uint8(transport.EvTaskPlaced), Node: 1, Peer: 1, Task: 7, Detail: "local"},
		{At: 2 * ms, Kind: uint8(transport.EvTaskRunning), Node: 1, Task: 7, Detail: "f"},
		{At: 3 * ms, Kind: uint8(transport.EvTaskFinished), Node: 1, Task: 7, Detail: "f"},
	} {
		rec.Write(&r)
	}
	require.NoError(t, rec.Close())
	return buf.Bytes()
}

// exportIDs exports a trace (with the digest of its end block, as `raysim
// trace export` does) and returns its spans' trace and span IDs and its
// resource's attributes.
func exportIDs(t *testing.T, data []byte) (ids []string, res map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.trace")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	tr, ok, err := traces.ReadTrailer(path)
	require.NoError(t, err)
	require.True(t, ok)
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(context.Background(), r, exp, Options{Digest: tr.Digest.String()})
	require.NoError(t, err)
	res = map[string]string{}
	for i, sp := range exp.GetSpans() {
		ids = append(ids, sp.SpanContext.TraceID().String(), sp.SpanContext.SpanID().String())
		if i == 0 {
			for _, a := range sp.Resource.Attributes() {
				res[string(a.Key)] = a.Value.Emit()
			}
		}
	}
	return ids, res
}

// TestRunsGetTheirOwnIDs: the OTLP trace and span IDs were a function of
// the task IDs alone, which do not depend on the policy or the transport,
// so two runs of a scenario (two policies, sim and --tcp) exported to one
// collector merged into the same traces with duplicate span IDs, and
// their resources were identical. The IDs now mix the run's identity (its
// digest, else its header), the resource names the digest, transport,
// policy and overrides, and one trace still exports the same IDs twice.
func TestRunsGetTheirOwnIDs(t *testing.T) {
	yaml := func(policy string) []byte {
		s, err := scenarios.Parse("x.yaml", []byte("name: x\ncluster:\n  nodes: [{name: a, cpus: 1}]\n  scheduler: {policy: "+policy+"}\nworkload:\n  - {generator: parallel, params: {tasks: 1}}\n"))
		require.NoError(t, err)
		b, err := s.Marshal()
		require.NoError(t, err)
		return b
	}
	bottomUp := runTrace(t, traces.Header{File: "x.yaml", Scenario: yaml("bottom-up"), Seed: 1})
	random := runTrace(t, traces.Header{File: "x.yaml", Scenario: yaml("random"), Seed: 1, Overrides: []string{"cluster.scheduler.policy=random"}})
	tcp := runTrace(t, traces.Header{File: "x.yaml", Scenario: yaml("bottom-up"), Seed: 1, Transport: "tcp"})

	a, resA := exportIDs(t, bottomUp)
	a2, _ := exportIDs(t, bottomUp)
	assert.Equal(t, a, a2, "one trace, the same IDs")
	seen := map[string]bool{}
	for _, id := range a {
		seen[id] = true
	}
	for name, data := range map[string][]byte{"random": random, "tcp": tcp} {
		b, res := exportIDs(t, data)
		for _, id := range b {
			assert.False(t, seen[id], "%s run shares ID %s with the bottom-up run", name, id)
		}
		assert.NotEqual(t, resA, res, name)
	}
	_, resR := exportIDs(t, random)
	_, resT := exportIDs(t, tcp)
	assert.Equal(t, "bottom-up", resA["raysim.policy"])
	assert.Equal(t, "random", resR["raysim.policy"])
	assert.Equal(t, "sim", resA["raysim.transport"])
	assert.Equal(t, "tcp", resT["raysim.transport"])
	assert.Equal(t, `["cluster.scheduler.policy=random"]`, resR["raysim.overrides"])
	assert.Len(t, resA["raysim.digest"], 32)
	// The records (so the digests) are the same: the headers tell them apart.
	assert.Equal(t, resA["raysim.digest"], resR["raysim.digest"])
	live1 := RunIdentity(&traces.Header{Transport: "remote"}, "00000000000000000000000000000001")
	live2 := RunIdentity(&traces.Header{Transport: "remote"}, "00000000000000000000000000000002")
	assert.NotEqual(t, live1, live2, "two live runs of one scenario: their digests tell them apart")
}
