package otelspans

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// tiles asserts that the phase spans of each task span cover it exactly:
// sorted by start, each starts where the one before ended, the first at
// the task's start, the last ending at its end.
func tiles(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	kids := map[string][]tracetest.SpanStub{}
	for _, sp := range spans {
		if sp.Parent.IsValid() && sp.Name[:min(5, len(sp.Name))] != "task " {
			kids[sp.Parent.SpanID().String()] = append(kids[sp.Parent.SpanID().String()], sp)
		}
	}
	for _, root := range spans {
		if len(root.Name) < 5 || root.Name[:5] != "task " {
			continue
		}
		ph := kids[root.SpanContext.SpanID().String()]
		slices.SortStableFunc(ph, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
		at := root.StartTime
		for _, p := range ph {
			assert.True(t, p.StartTime.Equal(at), "%s: %s starts at %v, the phase before ended at %v", root.Name, p.Name, p.StartTime, at)
			at = p.EndTime
		}
		assert.True(t, at.Equal(root.EndTime), "%s: phases end at %v, the task at %v", root.Name, at, root.EndTime)
	}
}

// TestLostAttemptPhases: a task whose attempt was lost with its node had
// no span for the time from its acceptance there to its retry (the 452 ms
// quickstart's t068b52ba57bbf00e sat queued on the crashed worker-1): the
// interrupted phase was dropped. It now lasts until the retry, marked
// raysim.lost, and a run retried in place queues until it runs again.
func TestLostAttemptPhases(t *testing.T) {
	ms := time.Millisecond
	rt := func(at time.Duration, k transport.EventKind, node, peer transport.NodeID, detail string) traces.Record {
		return traces.Record{At: at, Source: traces.Runtime, Kind: uint8(k), Node: node, Peer: peer, Task: 7, Detail: detail}
	}
	spans := spansOf(t, []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, "f"),
		rt(1*ms, transport.EvTaskPlaced, 1, 2, "spilled"),
		rt(2*ms, transport.EvTaskPlaced, 2, 2, "local"), // accepted on 2: queued
		{At: 5 * ms, Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2},
		rt(10*ms, transport.EvTaskRetried, 1, 0, "node 2 died"),
		rt(11*ms, transport.EvTaskPlaced, 1, 1, "local"),
		rt(12*ms, transport.EvTaskRunning, 1, 0, "f"),
		rt(13*ms, transport.EvTaskRetried, 1, 0, "its code failed (retry 1)"), // in place
		rt(15*ms, transport.EvTaskRunning, 1, 0, "f"),
		rt(16*ms, transport.EvTaskFinished, 1, 0, "f"),
	})
	tiles(t, spans)
	lost := 0
	for _, sp := range spans {
		for _, a := range sp.Attributes {
			if a.Key == "raysim.lost" {
				lost++
				assert.Equal(t, "queue", sp.Name)
				assert.Equal(t, 8*ms, sp.EndTime.Sub(sp.StartTime), "acceptance to the retry")
			}
		}
	}
	require.Equal(t, 1, lost)
}

// TestQuickstartPhasesTile: the same over the quickstart run, 285 of
// whose tasks were retried after worker-1's crash.
func TestQuickstartPhasesTile(t *testing.T) {
	buf, res := recordRun(t, "../../scenarios/quickstart.yaml")
	require.Positive(t, res.TasksRetried)
	r, err := traces.NewReader(&buf)
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(t.Context(), r, exp, Options{})
	require.NoError(t, err)
	tiles(t, exp.GetSpans())
}
