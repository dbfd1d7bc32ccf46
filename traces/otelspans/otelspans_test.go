package otelspans

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// recordRun runs a shipped scenario (with overrides) and returns its trace.
func recordRun(t *testing.T, path string, sets ...string) (bytes.Buffer, *runner.Result) {
	t.Helper()
	s, err := scenarios.LoadWithOverrides(path, sets)
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	res, err := runner.Run(context.Background(), s, runner.Options{Trace: rec})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	return buf, res
}

func TestSpansInVirtualTime(t *testing.T) {
	buf, res := recordRun(t, "../../scenarios/quickstart.yaml")

	// What the spans should say, from the records.
	_, recs, _, err := traces.ReadAll(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	submitted := map[string]time.Duration{}
	finished := map[string]time.Duration{}
	for _, r := range recs {
		switch r.KindName() {
		case "task.submitted":
			if _, ok := submitted[r.Task.String()]; !ok {
				submitted[r.Task.String()] = r.At
			}
		case "task.finished": // the first: a retried task may finish twice
			if _, ok := finished[r.Task.String()]; !ok {
				finished[r.Task.String()] = r.At
			}
		}
	}

	exp := tracetest.NewInMemoryExporter()
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	n, err := Export(context.Background(), r, exp, Options{})
	require.NoError(t, err)
	assert.Equal(t, len(submitted), n)
	assert.EqualValues(t, res.TasksSubmitted, n)

	spans := exp.GetSpans()
	roots := map[string]tracetest.SpanStub{} // by span ID
	byTask := map[string]tracetest.SpanStub{}
	for _, sp := range spans {
		if !sp.Parent.IsValid() {
			require.True(t, strings.HasPrefix(sp.Name, "task "), sp.Name)
			roots[sp.SpanContext.SpanID().String()] = sp
			for _, a := range sp.Attributes {
				if a.Key == "raysim.task" {
					byTask[a.Value.AsString()] = sp
				}
			}
		}
	}
	assert.Equal(t, n, len(roots))
	children := 0
	names := map[string]int{}
	for _, sp := range spans {
		if !sp.Parent.IsValid() {
			continue
		}
		children++
		names[sp.Name]++
		parent, ok := roots[sp.Parent.SpanID().String()]
		require.True(t, ok, "child %s has a task span as parent", sp.Name)
		assert.Equal(t, parent.SpanContext.TraceID(), sp.SpanContext.TraceID())
		assert.False(t, sp.StartTime.Before(parent.StartTime), "%s starts inside its task", sp.Name)
		assert.False(t, sp.EndTime.After(parent.EndTime), "%s ends inside its task", sp.Name)
		assert.False(t, sp.EndTime.Before(sp.StartTime))
	}
	assert.Positive(t, names["schedule"])
	assert.Positive(t, names["execute"])
	assert.Positive(t, names["queue"]+names["fetch args"])
	// Virtual timestamps: epoch + the records' times.
	checked := 0
	for id, at := range submitted {
		sp, ok := byTask[id]
		require.True(t, ok, id)
		assert.Equal(t, Epoch.Add(at), sp.StartTime, id)
		if end, ok := finished[id]; ok {
			assert.Equal(t, Epoch.Add(end), sp.EndTime, id)
			checked++
		}
	}
	assert.Positive(t, checked)

	// Deterministic IDs: exporting again gives the same trace IDs.
	exp2 := tracetest.NewInMemoryExporter()
	r, err = traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	_, err = Export(context.Background(), r, exp2, Options{})
	require.NoError(t, err)
	spans2 := exp2.GetSpans()
	require.Equal(t, len(spans), len(spans2))
	for i := range spans {
		assert.Equal(t, spans[i].SpanContext.TraceID(), spans2[i].SpanContext.TraceID())
		assert.Equal(t, spans[i].SpanContext.SpanID(), spans2[i].SpanContext.SpanID())
	}
}

// TestNestedTasksShareATrace: tasks submitted by a running task are child
// spans of its task span, in its trace (a dynamic task graph is one trace).
func TestNestedTasksShareATrace(t *testing.T) {
	buf, _ := recordRun(t, "../../scenarios/nested.yaml", "workload.0.params.roots=2")
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(context.Background(), r, exp, Options{})
	require.NoError(t, err)
	taskSpans := map[string]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		if strings.HasPrefix(sp.Name, "task ") {
			taskSpans[sp.SpanContext.SpanID().String()] = sp
		}
	}
	nested, roots := 0, 0
	for _, sp := range taskSpans {
		if !sp.Parent.IsValid() {
			roots++
			continue
		}
		// A nested task's parent is a span of its parent task's trace.
		nested++
		assert.Equal(t, sp.Parent.TraceID(), sp.SpanContext.TraceID())
	}
	assert.Equal(t, 2, roots, "one trace per root task")
	assert.Positive(t, nested, "nested tasks are children")
}

// TestRetriedRunsAreExecuteSpans guards tasks retried in place after their
// code failed (retry_exceptions; QA): the failed runs had no task.running
// of their own, so their spans read schedule, queue, schedule with no
// execute span at all. Right: every run is an execute span; the failed
// ones carry raysim.retried, and a finished task's last run finished it.
func TestRetriedRunsAreExecuteSpans(t *testing.T) {
	buf, res := recordRun(t, "../../scenarios/fault-task-errors.yaml", "workload.0.params.tasks=1000", "workload.1.params.roots=4")
	require.Positive(t, res.TasksRetried)
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(context.Background(), r, exp, Options{})
	require.NoError(t, err)
	type runs struct{ failed, clean int }
	per := map[string]*runs{}
	finished := map[string]bool{}
	for _, sp := range exp.GetSpans() {
		id := sp.SpanContext.TraceID().String() + sp.Parent.SpanID().String()
		if strings.HasPrefix(sp.Name, "task ") {
			for _, a := range sp.Attributes {
				if a.Key == "raysim.status" && a.Value.AsString() == "finished" {
					finished[sp.SpanContext.TraceID().String()+sp.SpanContext.SpanID().String()] = true
				}
			}
			continue
		}
		if sp.Name != "execute" {
			continue
		}
		if per[id] == nil {
			per[id] = &runs{}
		}
		retried := false
		for _, a := range sp.Attributes {
			retried = retried || a.Key == "raysim.retried"
		}
		if retried {
			per[id].failed++
		} else {
			per[id].clean++
		}
	}
	failedRuns := 0
	for id := range finished {
		rs := per[id]
		require.NotNil(t, rs, "finished task %s has no execute span", id)
		assert.Equal(t, 1, rs.clean, "a finished task's last run is its one unmarked execute span")
		failedRuns += rs.failed
	}
	assert.Positive(t, failedRuns, "failed runs retried in place are execute spans of their own")
}
