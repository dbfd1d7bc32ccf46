package analysis_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// twoNodes is a scenario header for synthetic traces: raylets 1 and 2.
const twoNodes = `name: synth
seed: 1
cluster:
  nodes:
    - {name: a, cpus: 2}
    - {name: b, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 1, duration: 1ms}
`

// synth writes recs (in time order) to a complete trace and analyzes it.
func synth(t *testing.T, scenario string, recs []traces.Record) *analysis.Report {
	t.Helper()
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "synth.yaml", Scenario: []byte(scenario), Seed: 1, Transport: "sim"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for i := range recs {
		rec.Write(&recs[i])
	}
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	return rep
}

func rt(at time.Duration, kind transport.EventKind, node, peer transport.NodeID, task transport.TaskID, detail string) traces.Record {
	return traces.Record{At: at, Source: traces.Runtime, Kind: uint8(kind), Node: node, Peer: peer, Task: task, Detail: detail}
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// chainTrace: producer A (node a, 0-10ms) and consumer B, spilled at once
// but accepted on node b only at 50ms (40ms after A finished), which then
// fetches A's result in 2ms (50-52ms) and runs 10ms (52-62ms).
func chainTrace() []traces.Record {
	const A, B = transport.TaskID(0x100), transport.TaskID(0x200)
	objA := transport.ObjectID{Task: A}
	sched := transport.NodeID(1 << 20)
	arg := rt(ms(50), transport.EvTaskArg, 2, 0, B, "fetch")
	arg.Object = objA
	created := rt(ms(10), transport.EvObjectCreated, 1, 0, 0, "")
	created.Object, created.Bytes = objA, 1024
	moved := rt(ms(52), transport.EvObjectTransferred, 2, 1, 0, "")
	moved.Object, moved.Bytes = objA, 1024
	return []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, A, "producer"),
		rt(0, transport.EvTaskSubmitted, 1, 0, B, "consumer"),
		rt(0, transport.EvTaskPlaced, 1, 1, A, "local"),
		rt(0, transport.EvTaskPlaced, 1, sched, B, "spilled"),
		rt(0, transport.EvTaskRunning, 1, 0, A, "producer"),
		rt(ms(10), transport.EvTaskFinished, 1, 0, A, "producer"),
		created,
		rt(ms(50), transport.EvTaskPlaced, 2, 2, B, "bottom-up"),
		arg,
		moved,
		rt(ms(52), transport.EvTaskArgsReady, 2, 0, B, ""),
		rt(ms(52), transport.EvTaskRunning, 2, 0, B, "consumer"),
		rt(ms(62), transport.EvTaskFinished, 2, 0, B, "consumer"),
	}
}

// TestCriticalPathFetchExcludesScheduling: a critical-path segment's
// "arg fetch" must be argument fetch (docs/analysis.md: the chain "with
// the most execution and argument-fetch time"), not the time the task
// waited to be accepted after its predecessor finished. B waits 40ms for a
// node (scheduling: queue) and then fetches for 2ms; segment() takes
// everything from A's finish to B's args_ready as fetch (42ms, queue 0).
func TestCriticalPathFetchExcludesScheduling(t *testing.T) {
	rep := synth(t, twoNodes, chainTrace())
	// The task's own split is right: fetch 2ms, scheduling 50ms.
	var b analysis.TaskPhases
	for _, p := range rep.Latency.Split {
		if p.Func == "consumer" {
			b = p
		}
	}
	require.Equal(t, ms(2), b.Fetch, "B's own split")
	cp := rep.CriticalPath
	require.Len(t, cp.Tasks, 2, "A -> B")
	assert.Equal(t, ms(62), cp.Span)
	assert.Equal(t, ms(20), cp.Exec)
	assert.Equal(t, ms(2), cp.Fetch, "the path's fetch is B's 2ms fetch")
	assert.Equal(t, ms(40), cp.Queue, "B's 40ms wait for a node after A finished is queueing")
	assert.Equal(t, ms(2), cp.Tasks[1].Fetch, "B's segment: fetch")
	assert.Equal(t, ms(40), cp.Tasks[1].Queue, "B's segment: queue (waiting to be accepted)")
}

// TestPlacementExcludesRereads: a driver's verification rereads
// (scenarios.RereadTaskName) are not workload tasks — the analysis does not
// count them as submitted nor in a node's Owned — but placed() counts their
// first placement in Placement and in the owner's Local/Spilled, so a node
// shows more tasks spilled than it owns ("Owned, local and spilled are
// about the tasks submitted on that node", docs/analysis.md) and the
// local/spilled shares are diluted by tasks that are not the workload's
// (scenarios/cancel.yaml: 4122 first placements for 3103 submissions).
func TestPlacementExcludesRereads(t *testing.T) {
	x := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 1}, {name: w, cpus: 4}]",
		"workload=[{generator: parallel, params: {tasks: 10, duration: 100ms}, max_retries: 0}]",
		"faults=[{at: 50ms, kill_node: w}]", "expect=")
	rep := x.rep
	require.Equal(t, uint64(10), rep.Tasks.Submitted)
	pl := rep.Placement
	assert.Equal(t, rep.Tasks.Submitted, pl.Local+pl.Spilled+pl.Actor+pl.Other, "one first placement per workload task")
	for _, n := range rep.Nodes {
		assert.LessOrEqual(t, n.Local+n.Spilled, n.Owned, "node %s: local+spilled are of the tasks it owns", n.Name)
	}
}

// TestCompareNoLatencyIsNotBetter: a run in which no task ended has no
// latency distribution (Percentiles.N == 0), but Compare reads its zero
// percentiles as measurements: "0.000 ms", -100% and "<< better" against
// a run whose tasks took 10ms. docs/analysis.md: "A run with no value for
// a metric says why instead of showing 0" — the latency rows of such a run
// should carry a NoB reason and no verdict.
func TestCompareNoLatencyIsNotBetter(t *testing.T) {
	p := analysis.Percentiles{N: 1, Mean: ms(10), P50: ms(10), P90: ms(10), P99: ms(10), Max: ms(10)}
	a := &analysis.Report{Name: "a", End: time.Second}
	a.Latency.Total = p
	a.Latency.Phase.Total, a.Latency.Phase.Queue, a.Latency.Phase.Exec = p, p, p
	a.Latency.Phase.Fetch = analysis.Percentiles{N: 1}
	b := &analysis.Report{Name: "b", End: time.Second} // tasks submitted, none ended
	for _, m := range analysis.Compare(a, b) {
		if m.Section != "latency" || m.Name != "total p50" {
			continue
		}
		assert.NotEqual(t, "0.000 ms", m.TextB(), "B has no latency to show")
		assert.NotEqual(t, "better", m.Verdict(), "no latency is not a lower latency")
		return
	}
	t.Fatal("no latency total p50 metric")
}

// TestDetectionNotStolenFromLaterFault: a 10ms pause of node b no failure
// detector notices, then a crash of b at 500ms detected at 800ms. faults()
// gives each fault the first node.dead of its node at or after it, however
// many faults of that node come between, so the pause reads "detected after
// 700ms" (the crash's detection) and the compare table's mean detection
// averages it in. A node.dead that follows a later fault of the same node
// detects that fault, not the earlier one: the pause is "not detected".
func TestDetectionNotStolenFromLaterFault(t *testing.T) {
	rep := synth(t, twoNodes, []traces.Record{
		{At: ms(100), Source: traces.Net, Kind: uint8(netsim.EvPause), Node: 2, Peer: 2, Bytes: int64(ms(10))},
		{At: ms(500), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2},
		rt(ms(800), transport.EvNodeDead, 2, 0, 0, ""),
	})
	require.Len(t, rep.Faults, 2)
	pause, crash := rep.Faults[0], rep.Faults[1]
	require.Equal(t, "pause", pause.Kind)
	assert.Equal(t, ms(300), crash.DetectAfter, "the crash's detection")
	assert.Equal(t, "not detected", pause.DetectText(), "the pause's: none (the node.dead is the crash's)")
}

// TestApproximateOnlyForOldTraces (QA): a current trace of a workload
// with no by-reference arguments has no task.arg events, and was labelled
// "approximate: the trace has no task.arg events" with "0 edges
// inferred", which reads as a trace from an old version. Only a trace
// whose tasks became ready after a fetch (task.args_ready) with no
// task.arg at all is one from before task.arg.
func TestApproximateOnlyForOldTraces(t *testing.T) {
	var noArgs, old []traces.Record
	for _, r := range chainTrace() {
		switch transport.EventKind(r.Kind) {
		case transport.EvTaskArg: // in neither
		case transport.EvTaskArgsReady:
			old = append(old, r)
		default:
			noArgs, old = append(noArgs, r), append(old, r)
		}
	}
	assert.False(t, synth(t, twoNodes, noArgs).Transfers.Approximate, "no argument fetched: nothing inferred")
	assert.True(t, synth(t, twoNodes, old).Transfers.Approximate, "args_ready without task.arg: an old trace")
	assert.False(t, synth(t, twoNodes, chainTrace()).Transfers.Approximate)
}

// TestFaultRowsNameNodes (QA): a partition's groups and a degraded link
// were listed by endpoint ID ([1 2 3][4 5], 3->4) beside a node column
// that names nodes (worker-1); one node read as three names.
func TestFaultRowsNameNodes(t *testing.T) {
	rep := synth(t, twoNodes, append(chainTrace(),
		traces.Record{At: ms(1), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1][2]"},
		traces.Record{At: ms(2), Source: traces.Net, Kind: uint8(netsim.EvDegrade), Node: 1, Peer: 2, Bytes: int64(ms(5)), Detail: "loss 10%"}))
	var got []string
	for _, f := range rep.Faults {
		got = append(got, rep.FaultDetail(f))
	}
	a, b := rep.NodeName(1), rep.NodeName(2)
	require.NotEqual(t, "node-1", a, "the scenario names its nodes")
	assert.Contains(t, got, "["+a+"]["+b+"]")
	assert.Contains(t, got, a+"->"+b+" +5ms loss 10%")
}
