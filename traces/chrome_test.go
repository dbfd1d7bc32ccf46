package traces_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// quickstartTrace runs the quickstart scenario with a trace.
func quickstartTrace(t testing.TB) []byte {
	t.Helper()
	s, err := scenarios.Load("../scenarios/quickstart.yaml")
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	_, err = runner.Run(context.Background(), s, runner.Options{Trace: rec})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	return buf.Bytes()
}

type chromeFile struct {
	TraceEvents []struct {
		Name string          `json:"name"`
		Ph   string          `json:"ph"`
		Ts   *float64        `json:"ts"`
		Dur  *float64        `json:"dur"`
		Pid  *uint32         `json:"pid"`
		Tid  *uint32         `json:"tid"`
		ID   string          `json:"id"`
		S    string          `json:"s"`
		Bind string          `json:"bind_id"`
		Out  bool            `json:"flow_out"`
		In   bool            `json:"flow_in"`
		Args json.RawMessage `json:"args"`
	} `json:"traceEvents"`
	DisplayTimeUnit string `json:"displayTimeUnit"`
}

func TestChromeExportStructure(t *testing.T) {
	data := quickstartTrace(t)
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	require.True(t, json.Valid(out.Bytes()), "valid JSON")
	var f chromeFile
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	require.NotEmpty(t, f.TraceEvents)

	type span struct{ start, end float64 }
	threads := map[[2]uint32][]span{}
	flows := map[string][2]int{}
	phs := map[string]int{}
	procNames := map[uint32]bool{}
	counters := map[string]bool{}
	for i, e := range f.TraceEvents {
		require.NotEmpty(t, e.Ph, "event %d", i)
		require.NotNil(t, e.Pid, "event %d has a pid", i)
		require.NotNil(t, e.Tid, "event %d has a tid", i)
		require.NotNil(t, e.Ts, "event %d has a ts", i)
		require.GreaterOrEqual(t, *e.Ts, 0.0)
		phs[e.Ph]++
		switch e.Ph {
		case "X":
			require.NotNil(t, e.Dur, "complete event %d has a dur", i)
			require.GreaterOrEqual(t, *e.Dur, 0.0)
			k := [2]uint32{*e.Pid, *e.Tid}
			// Perfetto works in integer nanoseconds: so does the check.
			start := math.Round(*e.Ts * 1e3)
			threads[k] = append(threads[k], span{start, start + math.Round(*e.Dur*1e3)})
			if e.Bind != "" {
				fl := flows[e.Bind]
				if e.Out {
					fl[0]++
				}
				if e.In {
					fl[1]++
				}
				flows[e.Bind] = fl
			}
		case "s", "f":
			t.Fatalf("event %d: a v1 flow event (binds by timestamp)", i)
		case "M":
			if e.Name == "process_name" {
				procNames[*e.Pid] = true
			}
		case "C":
			counters[e.Name] = true
		case "i":
			assert.Contains(t, []string{"g", "p", "t"}, e.S)
		case "B", "E":
			t.Fatalf("event %d: unexpected begin/end event", i)
		}
	}
	assert.Positive(t, phs["X"])
	assert.NotEmpty(t, flows)
	assert.Positive(t, phs["i"], "fault markers")
	assert.True(t, counters["queue"])
	assert.True(t, counters["object store"])
	assert.GreaterOrEqual(t, len(procNames), 4)
	// Every flow has one start and one finish.
	for id, fl := range flows {
		assert.Equal(t, [2]int{1, 1}, fl, "flow %s", id)
	}
	// Slices on a thread nest properly: sorted by start (longest first on
	// ties), each slice lies inside or after the enclosing ones.
	for k, ss := range threads {
		require.Contains(t, procNames, k[0], "slice on an unnamed process")
		sort.Slice(ss, func(i, j int) bool {
			if ss[i].start != ss[j].start {
				return ss[i].start < ss[j].start
			}
			return ss[i].end > ss[j].end
		})
		var stack []span
		for _, s := range ss {
			for len(stack) > 0 && stack[len(stack)-1].end <= s.start {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				require.LessOrEqual(t, s.end, top.end, "thread %v: slice [%v,%v] overlaps [%v,%v]", k, s.start, s.end, top.start, top.end)
			}
			stack = append(stack, s)
		}
	}
}

func TestJSONLAndStats(t *testing.T) {
	data := quickstartTrace(t)
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	var out bytes.Buffer
	n, err := traces.WriteJSONL(&out, r)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	assert.Equal(t, int(n), len(lines))
	var first map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &first))
	assert.Contains(t, first, "kind")
	assert.Contains(t, first, "t_ns")

	r, err = traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	st, err := traces.ComputeStats(r)
	require.NoError(t, err)
	assert.Equal(t, n, st.Records)
	var sum uint64
	for _, c := range st.ByKind {
		sum += c
	}
	assert.Equal(t, st.Records, sum)
	assert.Positive(t, st.ByKind["task.finished"])
	assert.Positive(t, st.ByKind["net.send"])
	assert.False(t, st.Truncated)

	// A truncated trace's statistics say so (QA: its prefix digest read
	// as the run's, and the JSON had no field for it).
	r, err = traces.NewReader(bytes.NewReader(data[:len(data)/2]))
	require.NoError(t, err)
	st, err = traces.ComputeStats(r)
	require.Error(t, err)
	assert.True(t, st.Truncated)
	var text bytes.Buffer
	st.Print(&text)
	assert.Contains(t, text.String(), "prefix digest (the trace is truncated")
}

// chromeOf writes recs to a trace and exports it as Chrome trace events.
func chromeOf(t *testing.T, recs []traces.Record) []map[string]any {
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
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	var f struct{ TraceEvents []map[string]any }
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	return f.TraceEvents
}

// fetchSlices returns the receiving side's transfer slices as [ts, dur]
// in microseconds.
func fetchSlices(evs []map[string]any) [][2]float64 {
	var out [][2]float64
	for _, e := range evs {
		if e["ph"] == "X" && e["cat"] == "transfer" && strings.HasPrefix(fmt.Sprint(e["name"]), "fetch ") {
			out = append(out, [2]float64{e["ts"].(float64), e["dur"].(float64)})
		}
	}
	return out
}

func pullSend(at time.Duration, from, to transport.NodeID) traces.Record {
	return traces.Record{At: at, Source: traces.Net, Kind: uint8(netsim.EvSend), Node: from, Peer: to, Msg: transport.KindPullRequest, Bytes: 40}
}

func transferred(at time.Duration, node, from transport.NodeID, obj uint64) traces.Record {
	return traces.Record{At: at, Source: traces.Runtime, Kind: uint8(transport.EvObjectTransferred), Node: node, Peer: from,
		Object: transport.ObjectID{Task: transport.TaskID(obj)}, Bytes: 1024}
}

// A pull never answered (its source paused, its chunks lost: nothing in the
// trace says so) must not shift later transfers' starts: a fetch slice
// starts at the latest unanswered pull of its node pair.
func TestChromeTransferStartsAtLatestPull(t *testing.T) {
	slices := fetchSlices(chromeOf(t, []traces.Record{
		pullSend(time.Millisecond, 1, 2), // never answered
		pullSend(100*time.Millisecond, 1, 2),
		transferred(101*time.Millisecond, 1, 2, 9),
	}))
	require.Len(t, slices, 1)
	assert.InDelta(t, 100000.0, slices[0][0], 1, "start")
	assert.InDelta(t, 1000.0, slices[0][1], 1, "duration")
}

// Pulls the trace shows lost (a drop at the send, a crash of either end)
// are not matched to later transfers.
func TestChromeTransferSkipsLostPulls(t *testing.T) {
	slices := fetchSlices(chromeOf(t, []traces.Record{
		pullSend(time.Millisecond, 1, 3),
		{At: 2 * time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 3},
		pullSend(40*time.Millisecond, 1, 2),
		pullSend(50*time.Millisecond, 1, 2),
		{At: 50 * time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvDrop), Node: 1, Peer: 2, Msg: transport.KindPullRequest, Bytes: 40, Detail: netsim.DropLoss},
		transferred(60*time.Millisecond, 1, 2, 9),
		{At: 70 * time.Millisecond, Source: traces.Net, Kind: uint8(netsim.EvRestart), Node: 3},
		pullSend(80*time.Millisecond, 1, 3),
		transferred(90*time.Millisecond, 1, 3, 10),
	}))
	require.Len(t, slices, 2)
	assert.InDelta(t, 40000.0, slices[0][0], 1, "the pull lost at its send is skipped")
	assert.InDelta(t, 80000.0, slices[1][0], 1, "the pull lost with the crash is skipped")
}

func rtRec(at time.Duration, k transport.EventKind, node, peer transport.NodeID, task transport.TaskID, detail string) traces.Record {
	return traces.Record{At: at, Source: traces.Runtime, Kind: uint8(k), Node: node, Peer: peer, Task: task, Detail: detail}
}

// lastQueue is the last value of each node's queue counter.
func lastQueue(evs []map[string]any) map[float64]float64 {
	last := map[float64]float64{}
	for _, e := range evs {
		if e["ph"] == "C" && e["name"] == "queue" {
			last[e["pid"].(float64)] = e["args"].(map[string]any)["tasks"].(float64)
		}
	}
	return last
}

// A task leaves its node's queue counter however it leaves the queue:
// running, cancelled or failed before running, spilled on, or a crash.
func TestChromeQueueCounterTakesBackUnrunTasks(t *testing.T) {
	ms := time.Millisecond
	evs := chromeOf(t, []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "f"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 7, "local"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 7, "local"), // a duplicate acceptance
		rtRec(2*ms, transport.EvTaskCancelled, 1, 0, 7, ""),
		rtRec(3*ms, transport.EvTaskPlaced, 1, 1, 8, "local"),
		rtRec(4*ms, transport.EvTaskFailed, 1, 0, 8, "worker died"),
		rtRec(5*ms, transport.EvTaskPlaced, 2, 2, 9, "local"),
		rtRec(6*ms, transport.EvTaskPlaced, 2, 1<<20, 9, "spilled"),
		rtRec(7*ms, transport.EvTaskPlaced, 3, 3, 9, "bottom-up"),
		rtRec(8*ms, transport.EvTaskRunning, 3, 0, 9, "f"),
		rtRec(9*ms, transport.EvTaskFinished, 3, 0, 9, "f"),
		rtRec(10*ms, transport.EvTaskPlaced, 4, 4, 10, "local"),
		{At: 11 * ms, Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 4},
		{At: 12 * ms, Source: traces.Net, Kind: uint8(netsim.EvRestart), Node: 4},
		rtRec(13*ms, transport.EvTaskRunning, 4, 0, 10, "f"), // not counted again: the crash emptied the queue
	})
	assert.Equal(t, map[float64]float64{1: 0, 2: 0, 3: 0, 4: 0}, lastQueue(evs))
}

// A task re-submitted with the same ID before it ran (a parent re-run after
// a crash re-submits its children) keeps one flow: every start is finished.
func TestChromeResubmittedTaskOneFlow(t *testing.T) {
	ms := time.Millisecond
	evs := chromeOf(t, []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "f"),
		rtRec(ms, transport.EvTaskSubmitted, 2, 0, 7, "f"),
		rtRec(2*ms, transport.EvTaskPlaced, 2, 2, 7, "local"),
		rtRec(3*ms, transport.EvTaskRunning, 2, 0, 7, "f"),
		rtRec(4*ms, transport.EvTaskFinished, 2, 0, 7, "f"),
	})
	starts, finishes := map[any]bool{}, map[any]bool{}
	for _, e := range evs {
		if e["flow_out"] == true {
			starts[e["bind_id"]] = true
		}
		if e["flow_in"] == true {
			finishes[e["bind_id"]] = true
		}
	}
	assert.Equal(t, starts, finishes)
	assert.Len(t, starts, 1)
}

// TestChromeSpillCounters: a run that spills shows each node's spilled
// bytes as a counter beside its object store's, which counts the bytes in
// memory only: it never goes negative, nor does the spilled counter.
func TestChromeSpillCounters(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("../scenarios/object-spilling.yaml", []string{"workload.0.params.length=8", "workload.1.params.maps=16"})
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
	require.Positive(t, res.ObjectsSpilled)
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	var f chromeFile
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	seen := map[string]int{}
	for _, e := range f.TraceEvents {
		if e.Ph != "C" || (e.Name != "spilled" && e.Name != "object store") {
			continue
		}
		var args struct{ Bytes int64 }
		require.NoError(t, json.Unmarshal(e.Args, &args))
		require.GreaterOrEqual(t, args.Bytes, int64(0), "%s counter", e.Name)
		seen[e.Name]++
	}
	assert.Positive(t, seen["spilled"], "spilled counters")
	assert.Positive(t, seen["object store"], "object store counters")
}

// TestChromeRetriedRunsAreSlices: a task whose code failed and runs again
// on its node (retry_exceptions) shows each run as a slice, the failed
// ones ending "failed, retried" at their task.retried.
func TestChromeRetriedRunsAreSlices(t *testing.T) {
	ms := time.Millisecond
	evs := chromeOf(t, []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "f"),
		rtRec(ms, transport.EvTaskPlaced, 1, 1, 7, "local"),
		rtRec(2*ms, transport.EvTaskRunning, 1, 0, 7, "f"),
		rtRec(3*ms, transport.EvTaskRetried, 1, 0, 7, "its code failed: boom (retry 1)"),
		rtRec(3*ms, transport.EvTaskRunning, 1, 0, 7, "f"),
		rtRec(5*ms, transport.EvTaskFinished, 1, 0, 7, "f"),
	})
	var statuses []any
	for _, e := range evs {
		if e["ph"] == "X" && e["cat"] == "task" {
			statuses = append(statuses, e["args"].(map[string]any)["status"])
		}
	}
	assert.Equal(t, []any{"failed, retried", "finished"}, statuses)
}

// TestRecordNamesMessageKinds: a record's text (replay's divergence lines)
// names a message by its type, not its wire number (it said msg=23).
func TestRecordNamesMessageKinds(t *testing.T) {
	r := traces.Record{Source: traces.Net, Node: 1, Peer: 2, Msg: transport.KindPlaceTask}
	assert.Contains(t, r.String(), "msg=PlaceTask")
	assert.Equal(t, "kind60000", traces.MsgName(60000))
}
