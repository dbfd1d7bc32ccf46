package traces_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/traces"
)

// boundSlice is the slice a flow end binds to: its event index in the
// file (-1: none).
type flowEnds struct{ from, to int }

// perfettoFlows binds the flows of a Chrome trace-event file to slices as
// Perfetto's JSON importer does (trace_processor importers/json,
// FlowTracker): events are taken in timestamp order (file order on ties);
// each thread keeps a stack of its open slices, a slice being closed by
// the first later event on its thread at or after its end. A v2 flow end
// (bind_id with flow_out / flow_in on an X event) binds to the slice of
// that very event. A v1 start ("ph":"s") binds to the thread's topmost
// open slice at its timestamp; a v1 finish ("ph":"f") with "bp":"e" binds
// to the topmost open slice too, without it to the next slice to begin
// on its thread. It returns each flow's two slices by flow ID.
func perfettoFlows(t *testing.T, evs []map[string]any) map[string]*flowEnds {
	t.Helper()
	order := make([]int, len(evs))
	for i := range order {
		order[i] = i
	}
	ts := func(i int) int64 { return int64(math.Round(evs[i]["ts"].(float64) * 1e3)) }
	sort.SliceStable(order, func(a, b int) bool { return ts(order[a]) < ts(order[b]) })
	type open struct {
		idx int
		end int64
	}
	stacks := map[[2]float64][]open{}
	waitNext := map[[2]float64][]string{} // v1 finishes binding to the next slice
	flows := map[string]*flowEnds{}
	flow := func(id string) *flowEnds {
		if flows[id] == nil {
			flows[id] = &flowEnds{-1, -1}
		}
		return flows[id]
	}
	for _, i := range order {
		e := evs[i]
		pid, _ := e["pid"].(float64)
		tid, _ := e["tid"].(float64)
		k := [2]float64{pid, tid}
		at := ts(i)
		st := stacks[k]
		for len(st) > 0 && st[len(st)-1].end <= at && !(st[len(st)-1].end == at && ts(st[len(st)-1].idx) == at) {
			st = st[:len(st)-1]
		}
		top := -1
		if len(st) > 0 {
			top = st[len(st)-1].idx
		}
		switch e["ph"] {
		case "X":
			st = append(st, open{i, at + int64(math.Round(e["dur"].(float64)*1e3))})
			for _, id := range waitNext[k] {
				flow(id).to = i
			}
			delete(waitNext, k)
			if id, ok := e["bind_id"].(string); ok {
				if e["flow_out"] == true {
					flow(id).from = i
				}
				if e["flow_in"] == true {
					flow(id).to = i
				}
			}
		case "s":
			flow(e["cat"].(string) + fmt.Sprint(e["id"])).from = top
		case "f":
			id := e["cat"].(string) + fmt.Sprint(e["id"])
			if e["bp"] == "e" {
				flow(id).to = top
			} else {
				waitNext[k] = append(waitNext[k], id)
			}
		}
		stacks[k] = st
	}
	return flows
}

func argOf(e map[string]any, key string) string {
	args, _ := e["args"].(map[string]any)
	s, _ := args[key].(string)
	return s
}

// checkFlowBinding asserts that every flow, bound as Perfetto binds it,
// goes from a task's submission slice to that task's run slice, or from an
// object's "serve" slice to its "fetch" slice; it returns the number of
// task and transfer arrows.
func checkFlowBinding(t *testing.T, evs []map[string]any) (tasks, transfers int) {
	t.Helper()
	for id, f := range perfettoFlows(t, evs) {
		require.True(t, f.from >= 0 && f.to >= 0, "flow %s bound to no slice (from %d, to %d)", id, f.from, f.to)
		from, to := evs[f.from], evs[f.to]
		switch to["cat"] {
		case "task":
			tasks++
			assert.Equal(t, "submit", from["cat"], "flow %s starts at %v", id, from)
			assert.Equal(t, argOf(to, "task"), argOf(from, "task"), "flow %s: from %v to %v", id, from, to)
		case "transfer":
			transfers++
			assert.Equal(t, "serve "+argOf(to, "object"), from["name"], "flow %s: from %v to %v", id, from, to)
		default:
			t.Errorf("flow %s ends at %v", id, to)
		}
	}
	return tasks, transfers
}

// TestChromeFlowsBindToTheirSlices: each submit→run arrow binds, in
// Perfetto's importer, to the task's own submission and run slices, and
// each transfer arrow to its serve and fetch slices. The arrows' v1 ends
// ("ph":"f", "bp":"e") came before their slice in the file and at the
// instant the lane's previous task ended, so they bound to that task (or
// none); their starts, at an instant shared by many zero-length submit
// slices on one thread, bound to whichever was on top.
func TestChromeFlowsBindToTheirSlices(t *testing.T) {
	ms := time.Millisecond
	recs := []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "f"),
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 8, "g"), // same instant, same thread
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 9, "h"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 7, "local"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 8, "local"),
		rtRec(ms, transport.EvTaskRunning, 1, 0, 7, "f"),
		rtRec(3*ms, transport.EvTaskFinished, 1, 0, 7, "f"),
		rtRec(3*ms, transport.EvTaskRunning, 1, 0, 8, "g"), // on the lane 7 just left
		rtRec(4*ms, transport.EvTaskCancelled, 1, 0, 9, ""),
		rtRec(5*ms, transport.EvTaskFinished, 1, 0, 8, "g"),
		pullSend(5*ms, 1, 2),
		transferred(6*ms, 1, 2, 9),
		pullSend(6*ms, 1, 2), // a second fetch on the same lane, from where the first ended
		transferred(7*ms, 1, 2, 10),
	}
	evs := chromeOf(t, recs)
	tasks, transfers := checkFlowBinding(t, evs)
	assert.Equal(t, 2, tasks, "an arrow per task that ran")
	assert.Equal(t, 2, transfers)
}

// TestChromeQuickstartFlowsBind: the same over the quickstart run.
func TestChromeQuickstartFlowsBind(t *testing.T) {
	r, err := traces.NewReader(bytes.NewReader(quickstartTrace(t)))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	var f struct{ TraceEvents []map[string]any }
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	tasks, transfers := checkFlowBinding(t, f.TraceEvents)
	assert.Greater(t, tasks, 2000)
	assert.Positive(t, transfers)
}
