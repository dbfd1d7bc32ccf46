package traces_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
		if e["ph"] == "s" {
			starts[e["id"]]++
		}
		if e["ph"] == "f" {
			finishes[e["id"]]++
		}
	}
	assert.Equal(t, starts, finishes, "every flow start has its finish")
}
