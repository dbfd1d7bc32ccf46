package traces_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/traces"
)

// TestChromeFlowOfTaskThatNeverRuns: the export emits a task's flow start
// ("s") at task.submitted and its finish ("f") only at task.running, so a
// task that never runs — cancelled or failed while queued, infeasible, its
// owner gone — leaves a flow start that is never finished: exporting the
// trace of scenarios/cancel.yaml gives 1994 of them. The export's own
// invariant (TestChromeExportStructure, TestChromeResubmittedTaskOneFlow:
// "every start is finished") is that every flow has one start and one
// finish. Right: a flow is drawn only for a task that runs (e.g. the start
// is kept in c.flows and both ends are emitted at task.running), so a task
// that never runs has no flow events at all.
func TestChromeFlowOfTaskThatNeverRuns(t *testing.T) {
	ms := time.Millisecond
	evs := chromeOf(t, []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "f"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 7, "local"),
		rtRec(2*ms, transport.EvTaskCancelled, 1, 0, 7, ""), // cancelled while queued
		rtRec(3*ms, transport.EvTaskSubmitted, 1, 0, 8, "g"),
		rtRec(4*ms, transport.EvTaskInfeasible, 1<<20, 0, 8, "GPU=1"),
	})
	starts, finishes := map[any]int{}, map[any]int{}
	for _, e := range evs {
		if e["flow_out"] == true {
			starts[e["bind_id"]]++
		}
		if e["flow_in"] == true {
			finishes[e["bind_id"]]++
		}
	}
	assert.Equal(t, starts, finishes, "every flow start has its finish")
}

// TestJSONLDetailKeepsBytes: appendJSON writes Detail with json.Marshal,
// which replaces each byte of invalid UTF-8 by U+FFFD, so a detail that is
// not UTF-8 (a task's error text is the error value's raw bytes,
// node/raylet.go storeResults: detail = string(out.Data)) does not
// round-trip through `trace export --format jsonl`, and two different
// records can export identically. Right: a lossless form for such a
// detail (e.g. a "detail_b64" field when !utf8.ValidString(Detail)).
func TestJSONLDetailKeepsBytes(t *testing.T) {
	detail := "boom \xff\xfe"
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	rec.Write(&traces.Record{At: time.Millisecond, Kind: uint8(transport.EvTaskFailed), Node: 1, Task: 7, Detail: detail})
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = traces.WriteJSONL(&out, r)
	require.NoError(t, err)
	line := out.String()
	var m map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	got, _ := m["detail"].(string)
	if got != detail {
		_, hasB64 := m["detail_b64"]
		assert.True(t, hasB64, "detail %q exported as %q, losing its bytes: %s", detail, got, line)
	}
}
