package otelspans

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/runtime/transport"
	"raysim/traces"
)

// spansOf writes recs to a trace and exports its spans.
func spansOf(t *testing.T, recs []traces.Record) tracetest.SpanStubs {
	t.Helper()
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for i := range recs {
		rec.Write(&recs[i])
	}
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(context.Background(), r, exp, Options{})
	require.NoError(t, err)
	return exp.GetSpans()
}

// TestQueuePhaseWithoutFetch: the raylet emits task.args_ready only when it
// had to fetch an argument (node/raylet.go resolveArgs: the record is in
// the fetch callback; a task whose arguments are all local, or that has
// none, goes straight to the queue without one). The exporter ends its
// "fetch args" phase only on task.args_ready, so for such a task — most
// tasks: in quickstart 41 "queue" spans for 2168 tasks — the whole wait
// from acceptance to a worker starting it is exported as "fetch args" and
// there is no "queue" span. Right: no fetch, so no (or an empty)
// "fetch args" span, and a "queue" span from acceptance to task.running,
// as docs/traces.md describes the phases.
func TestQueuePhaseWithoutFetch(t *testing.T) {
	ms := time.Millisecond
	rt := func(at time.Duration, k transport.EventKind, node, peer transport.NodeID, detail string) traces.Record {
		return traces.Record{At: at, Source: traces.Runtime, Kind: uint8(k), Node: node, Peer: peer, Task: 7, Detail: detail}
	}
	spans := spansOf(t, []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, "f"),
		rt(1*ms, transport.EvTaskPlaced, 1, 1, "local"), // accepted; no by-reference arguments
		rt(5*ms, transport.EvTaskRunning, 1, 0, "f"),    // waited 4ms for a worker
		rt(6*ms, transport.EvTaskFinished, 1, 0, "f"),
	})
	got := map[string]time.Duration{}
	for _, sp := range spans {
		got[sp.Name] = sp.EndTime.Sub(sp.StartTime)
	}
	require.Contains(t, got, "queue", "spans: %v", got)
	require.Equal(t, 4*ms, got["queue"], "queue: acceptance to running")
	if d, ok := got["fetch args"]; ok {
		require.Zero(t, d, "nothing was fetched")
	}
}
