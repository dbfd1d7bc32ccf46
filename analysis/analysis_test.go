package analysis_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

type run struct {
	res   *runner.Result
	trace []byte
	rep   *analysis.Report
}

// traced runs a shipped scenario (with overrides) into an in-memory trace
// and analyzes it.
func traced(t testing.TB, file string, sets ...string) *run {
	t.Helper()
	s, err := scenarios.LoadWithOverrides(filepath.Join("..", "scenarios", file), sets)
	require.NoError(t, err)
	return tracedScenario(t, s)
}

// tracedScenario runs s with a trace and analyzes the trace.
func tracedScenario(t testing.TB, s *scenarios.Scenario) *run {
	t.Helper()
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed, Transport: "sim"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	res, err := runner.Run(context.Background(), s, runner.Options{Trace: rec})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	rep.Name = s.Name
	return &run{res: res, trace: buf.Bytes(), rep: rep}
}

var (
	quickOnce, crashOnce sync.Once
	quick, crash         *run
)

func quickstart(t testing.TB) *run {
	quickOnce.Do(func() { quick = traced(t, "quickstart.yaml") })
	require.NotNil(t, quick)
	return quick
}

func crashRestart(t testing.TB) *run {
	crashOnce.Do(func() {
		crash = traced(t, "fault-crash-restart.yaml", "workload.0.params.tasks=1000", "workload.1.params.chains=8")
	})
	require.NotNil(t, crash)
	return crash
}

// recount sums what the analysis derives straight from the records.
func recount(t testing.TB, data []byte) (transferred int64, transfers uint64, kinds map[string]int) {
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	kinds = map[string]int{}
	for _, rec := range r.All() {
		kinds[rec.KindName()]++
		if rec.RuntimeKind() == transport.EvObjectTransferred {
			transferred += rec.Bytes
			transfers++
		}
	}
	require.NoError(t, r.Err())
	return
}

func checkConsistent(t *testing.T, x *run) {
	rep, res := x.rep, x.res
	// Task counts are the runner's.
	assert.Equal(t, res.TasksSubmitted, rep.Tasks.Submitted, "submitted")
	assert.Equal(t, res.TasksCompleted, rep.Tasks.Completed, "completed")
	assert.Equal(t, res.TasksFailed, rep.Tasks.Failed, "failed")
	assert.Equal(t, res.TasksRetried, rep.Tasks.Retried, "retried")
	assert.Equal(t, res.TasksCancelled, rep.Tasks.Cancelled, "cancelled")
	assert.Equal(t, res.ObjectsLost, rep.Tasks.ObjectsLost)
	assert.Equal(t, res.ObjectsReconstructed, rep.Tasks.ObjectsReconstructed)
	assert.Equal(t, res.MethodsReplayed, rep.Tasks.MethodsReplayed, "methods replayed")
	assert.Equal(t, res.ObjectsSpilled, rep.Tasks.ObjectsSpilled, "spilled")
	assert.Equal(t, res.ObjectsRestored, rep.Tasks.ObjectsRestored, "restored")
	assert.Equal(t, res.BytesSpilled, rep.Tasks.BytesSpilled, "bytes spilled")
	assert.Equal(t, res.BytesRestored, rep.Tasks.BytesRestored, "bytes restored")
	var spilled, restored uint64
	var written, read int64
	for _, n := range rep.Nodes {
		spilled, restored = spilled+n.ObjectsSpilled, restored+n.ObjectsRestored
		written, read = written+n.BytesSpilled, read+n.BytesRestored
	}
	assert.Equal(t, rep.Tasks.ObjectsSpilled, spilled, "nodes' spills add up")
	assert.Equal(t, rep.Tasks.ObjectsRestored, restored, "nodes' restores add up")
	assert.Equal(t, rep.Tasks.BytesSpilled, written)
	assert.Equal(t, rep.Tasks.BytesRestored, read)
	assert.Equal(t, res.FaultsInjected, len(rep.Faults), "one fault row per injected fault")
	assert.InDelta(t, res.VirtualSeconds, rep.End.Seconds(), 0.01)

	// The latency distribution is the runner's, percentile for percentile.
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	tot := rep.Latency.Phase.Total
	assert.InDelta(t, res.LatencyMs.P50, ms(tot.P50), 1e-6)
	assert.InDelta(t, res.LatencyMs.P90, ms(tot.P90), 1e-6)
	assert.InDelta(t, res.LatencyMs.P99, ms(tot.P99), 1e-6)
	assert.InDelta(t, res.LatencyMs.Max, ms(tot.Max), 1e-6)

	// Every task's split adds up to its total; no phase is negative.
	require.NotEmpty(t, rep.Latency.Split)
	withExec := 0
	for _, p := range rep.Latency.Split {
		require.Equal(t, p.Total, p.Queue+p.Fetch+p.Exec, "task %v split", p.Task)
		require.GreaterOrEqual(t, p.Queue, time.Duration(0), "task %v", p.Task)
		require.GreaterOrEqual(t, p.Fetch, time.Duration(0), "task %v", p.Task)
		require.GreaterOrEqual(t, p.Exec, time.Duration(0), "task %v", p.Task)
		require.LessOrEqual(t, p.Sched, p.Queue, "scheduling is part of queueing, task %v", p.Task)
		if p.Exec > 0 {
			withExec++
		}
	}
	assert.Greater(t, withExec, len(rep.Latency.Split)*9/10, "most tasks have an execution phase")

	// Throughput bins hold every completion.
	var sum float64
	for i, v := range rep.Throughput.Values {
		sum += v * rep.Throughput.Width(i).Seconds()
	}
	assert.InDelta(t, float64(rep.Tasks.Completed), sum, 1e-6*float64(rep.Tasks.Completed))

	// Transfer volume is the sum of object.transferred events, and the
	// per-node, per-link and per-bin views add up to it.
	bytesT, countT, kinds := recount(t, x.trace)
	assert.Equal(t, bytesT, rep.Transfers.Bytes)
	assert.Equal(t, countT, rep.Transfers.Count)
	var in, out, links, over int64
	for _, n := range rep.Nodes {
		in += n.BytesIn
		out += n.BytesOut
	}
	for _, l := range rep.Transfers.Links {
		links += l.Bytes
	}
	for _, v := range rep.Transfers.Over.Values {
		over += int64(v)
	}
	assert.Equal(t, bytesT, in)
	assert.Equal(t, bytesT, out)
	assert.Equal(t, bytesT, links)
	assert.Equal(t, bytesT, over)

	// Placements: every submitted task placed once first.
	pl := rep.Placement
	assert.Equal(t, uint64(kinds["task.submitted"]), pl.Local+pl.Spilled+pl.Actor+pl.Other)
	var executed uint64
	for _, n := range rep.Nodes {
		executed += n.Executed
		assert.GreaterOrEqual(t, n.Utilization, 0.0)
		assert.LessOrEqual(t, n.Utilization, 1.5, "node %s", n.Name)
	}
	assert.Equal(t, uint64(kinds["task.finished"]), executed)
	assert.LessOrEqual(t, rep.Transfers.Fetched+rep.Transfers.WaitedLocal, uint64(kinds["task.args_ready"]))

	// Arguments, exact from task.arg: each is settled one way, and an
	// attempt counted as fetching had an argument brought by a transfer.
	tr := rep.Transfers
	assert.False(t, tr.Approximate, "the runtime records task.arg")
	assert.Equal(t, uint64(kinds["task.arg"]), tr.Args)
	assert.Equal(t, tr.Args, tr.ArgsLocal+tr.ArgsFetched+tr.ArgsProducedHere+tr.ArgsPending)
	assert.LessOrEqual(t, tr.Fetched, tr.ArgsFetched)
	assert.Equal(t, tr.Fetched == 0, tr.ArgsFetched == 0)

	// The critical path's segments add up to its span.
	cp := rep.CriticalPath
	require.NotEmpty(t, cp.Tasks)
	assert.Equal(t, cp.Span, cp.Queue+cp.Fetch+cp.Exec)
	assert.LessOrEqual(t, cp.Span, cp.EndToEnd)
	assert.GreaterOrEqual(t, cp.Depth, len(cp.Tasks))
}

func TestQuickstartConsistent(t *testing.T) {
	x := quickstart(t)
	checkConsistent(t, x)
	// worker-1 crashes at 300ms and restarts at 600ms.
	f := x.rep.Faults
	require.Len(t, f, 2)
	assert.Equal(t, "crash", f[0].Kind)
	assert.Equal(t, 300*time.Millisecond, f[0].At)
	assert.Equal(t, "worker-1", x.rep.NodeName(f[0].Node))
	assert.Positive(t, f[0].Detected, "the crash is detected (node.dead)")
	assert.Equal(t, f[0].Detected-f[0].At, f[0].DetectAfter)
	assert.Equal(t, "restart", f[1].Kind)
	assert.Positive(t, x.rep.Placement.Spilled)
}

func TestCrashRestartConsistent(t *testing.T) {
	x := crashRestart(t)
	checkConsistent(t, x)
	// Chains of dependent tasks give dependency edges and a deep path.
	cp := x.rep.CriticalPath
	assert.Positive(t, cp.Edges)
	assert.Greater(t, cp.Depth, 5, "chains of 50 dependent tasks")
	assert.Greater(t, len(cp.Tasks), 1)
	for _, p := range cp.Tasks[1:] {
		assert.Equal(t, "chain", p.Func, "the critical path runs along a chain")
	}
	assert.Positive(t, x.rep.Transfers.Bytes)
}

// TestSpillingConsistent: a run whose stores spill reports its spills
// and restores as the runner counts them, per node too, in the text, the
// HTML report and a comparison.
func TestSpillingConsistent(t *testing.T) {
	x := traced(t, "object-spilling.yaml")
	checkConsistent(t, x)
	c := x.rep.Tasks
	require.Positive(t, c.ObjectsSpilled, "the scenario spills")
	require.Positive(t, c.ObjectsRestored, "and restores")
	var text bytes.Buffer
	require.NoError(t, analysis.WriteText(&text, x.rep))
	assert.Contains(t, text.String(), fmt.Sprintf("objects spilled %d (", c.ObjectsSpilled))
	assert.Contains(t, text.String(), "-- object spilling")
	path, err := analysis.WriteReport(t.TempDir(), x.rep)
	require.NoError(t, err)
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(html), fmt.Sprintf("%d spilled (", c.ObjectsSpilled))
	q := quickstart(t)
	var names []string
	for _, m := range analysis.Compare(q.rep, x.rep) {
		if m.Section == "spilling" {
			names = append(names, m.Name)
		}
	}
	assert.Equal(t, []string{"objects spilled", "bytes written", "objects restored"}, names)
	for _, m := range analysis.Compare(q.rep, q.rep) {
		assert.NotEqual(t, "spilling", m.Section, "no spilling rows for runs that did not spill")
	}
}

// TestRetriedInPlaceConsistent: tasks whose code fails and runs again
// in place (retry_exceptions) have a task.running per run; the analysis
// agrees with the runner, and each such task's execution is its last run
// (the failed runs count in its queue phase).
func TestRetriedInPlaceConsistent(t *testing.T) {
	x := traced(t, "fault-task-errors.yaml", "workload.0.params.tasks=1000", "workload.1.params.roots=4")
	checkConsistent(t, x)
	require.Positive(t, x.rep.Tasks.Retried)
}

// TestReplayedMethodsCounted: the analysis counts the methods restarted
// actors replayed, as the runner's actor_methods_replayed, and the text
// report prints them beside the actors restarted (QA30 finding 9).
func TestReplayedMethodsCounted(t *testing.T) {
	x := traced(t, "quickstart.yaml", "workload.0.params.tasks=500", "workload.1.params.replay=true")
	checkConsistent(t, x)
	require.Positive(t, x.rep.Tasks.MethodsReplayed)
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, x.rep))
	assert.Contains(t, out.String(), fmt.Sprintf(", methods replayed %d;", x.rep.Tasks.MethodsReplayed))
}

func TestTextAndCompare(t *testing.T) {
	a, b := quickstart(t), crashRestart(t)
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, a.rep))
	for _, want := range []string{"-- throughput", "-- task latency", "-- nodes", "-- placement", "-- object transfers", "-- faults", "-- critical path", "worker-1"} {
		assert.Contains(t, out.String(), want)
	}
	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, a.rep, b.rep))
	assert.Contains(t, out.String(), "<<", "different runs differ somewhere")
	assert.Contains(t, out.String(), "cannot tell a difference from seed noise", "one seed a side is an anecdote (qa29 #16)")
	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, a.rep, a.rep))
	assert.Contains(t, out.String(), "identical digests")
	assert.NotContains(t, out.String(), "seed noise", "the same run has no noise to warn of")
	assert.NotContains(t, out.String(), "<< better")
	for _, m := range analysis.Compare(a.rep, a.rep) {
		assert.False(t, m.Significant(), m.Name)
	}
}

func TestWriteReport(t *testing.T) {
	a, b := quickstart(t), crashRestart(t)
	dir := t.TempDir()
	path, err := analysis.WriteReport(dir, a.rep)
	require.NoError(t, err)
	checkReportFiles(t, dir, path, []string{"throughput", "latency-cdf", "utilization", "transfers"})
	cdir := filepath.Join(dir, "cmp")
	cpath, err := analysis.WriteReport(cdir, a.rep, b.rep)
	require.NoError(t, err)
	checkReportFiles(t, cdir, cpath, []string{"compare-throughput", "compare-latency-cdf", "a-throughput", "b-utilization"})
	html, err := os.ReadFile(cpath)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), `class="worse"`), "a highlighted row")
}

func checkReportFiles(t *testing.T, dir, path string, figs []string) {
	t.Helper()
	for _, f := range figs {
		svg, err := os.ReadFile(filepath.Join(dir, f+".svg"))
		require.NoError(t, err)
		assert.Contains(t, string(svg[:min(len(svg), 200)]), "<svg", f)
		png, err := os.ReadFile(filepath.Join(dir, f+".png"))
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), f)
	}
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(html)
	// (assert.Contains would print the whole page on failure.)
	assert.True(t, strings.Contains(s, `id="raysim-report"`), "marker element")
	assert.Equal(t, len(figs) > 0, strings.Contains(s, `src="data:image/svg`), "plots inlined as SVG data URIs")
	assert.True(t, strings.Contains(s, `href="data:image/png;base64,`), "PNG data URIs")
	// Self-contained: nothing is loaded from anywhere else.
	for _, bad := range []string{`src="http`, `href="http`, `src="/`, `<link`, `@import`, `url(`} {
		assert.False(t, strings.Contains(s, bad), "the page refers to %s", bad)
	}
	_, err = os.Stat(filepath.Join(dir, "summary.txt"))
	require.NoError(t, err)
	assert.False(t, strings.Contains(s, "<no value>"), "template fields all resolved")
}

// A crashed GCS replica is named after its shard and its place in the
// chain, as the Chrome export names it, not after its ID's offset from the
// first shard ("gcs-4096").
func TestGCSReplicaName(t *testing.T) {
	x := traced(t, "gcs-failover.yaml", "workload.0.params.tasks=1000")
	var names []string
	for _, f := range x.rep.Faults {
		if f.Node > 1<<20 {
			names = append(names, x.rep.NodeName(f.Node))
		}
	}
	assert.Contains(t, names, "gcs-0 replica 1")
}

// A parent re-executed after a crash re-submits its children (same IDs):
// analyze counts and times each submission as the runner does, so its
// completed count and latency percentiles still agree (docs/analysis.md).
func TestResubmittedChildrenMatchRunner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nestcrash.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`name: nestcrash
seed: 1
duration_limit: 20s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 3, cpus: 2}
workload:
  - generator: nested
    params: {roots: 8, depth: 3, fanout: 3, duration: 20ms}
faults:
  - {at: 60ms, kill_node: worker-1}
  - {at: 300ms, restart_node: worker-1}
`), 0o644))
	s, err := scenarios.Load(path)
	require.NoError(t, err)
	x := tracedScenario(t, s)
	res, rep := x.res, x.rep
	assert.Equal(t, res.TasksCompleted, rep.Tasks.Completed, "completed")
	assert.Equal(t, res.TasksFailed, rep.Tasks.Failed, "failed")
	assert.Equal(t, res.TasksReexecuted, rep.Tasks.Reexecuted, "re-executed")
	assert.InDelta(t, res.LatencyMs.P50, float64(rep.Latency.Phase.Total.P50)/1e6, 1e-6, "latency p50")
	assert.InDelta(t, res.LatencyMs.P99, float64(rep.Latency.Phase.Total.P99)/1e6, 1e-6, "latency p99")
}

// Reduces take partitions that each map ray.Puts: an object's ID names the
// task that made it, Put or return, so each reduce depends on a map and the
// critical path runs map -> reduce.
func TestMapReducePutEdges(t *testing.T) {
	x := traced(t, "map-reduce.yaml", "workload.0.params.maps=16", "workload.0.params.reduces=4")
	assert.Positive(t, x.rep.CriticalPath.Edges, "reduce -> map edges")
	require.GreaterOrEqual(t, len(x.rep.CriticalPath.Tasks), 2, "critical path map -> reduce")
	cp := x.rep.CriticalPath.Tasks
	assert.NotEqual(t, cp[len(cp)-2].Func, cp[len(cp)-1].Func, "the last two steps are a map and a reduce")
}

// A run whose crash no node death followed shows "not detected" beside the
// other's detection delay, not a mean of 0ms (which would read as an
// instant detection, and "better").
func TestCompareUndetectedFault(t *testing.T) {
	a := &analysis.Report{Name: "a", End: time.Second, Faults: []analysis.Fault{{Kind: "crash", At: 300 * time.Millisecond, Node: 2}}}
	b := &analysis.Report{Name: "b", End: time.Second, Faults: []analysis.Fault{{Kind: "crash", At: 300 * time.Millisecond, Node: 2,
		Detected: 500 * time.Millisecond, DetectAfter: 200 * time.Millisecond}}}
	none := &analysis.Report{Name: "none", End: time.Second}
	find := func(ms []analysis.Metric) analysis.Metric {
		for _, m := range ms {
			if m.Name == "mean detection" {
				return m
			}
		}
		t.Fatal("no mean detection metric")
		return analysis.Metric{}
	}
	m := find(analysis.Compare(a, b))
	assert.Equal(t, "not detected", m.TextA())
	assert.Equal(t, "200.000 ms", m.TextB())
	assert.True(t, m.Significant())
	assert.Empty(t, m.Verdict())
	m = find(analysis.Compare(none, none))
	assert.Equal(t, "no fault to detect", m.TextA())
	assert.False(t, m.Significant())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteCompare(&out, a, b))
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "mean detection") {
			assert.Contains(t, line, "not detected")
			assert.NotContains(t, line, " 0.000 ms")
		}
	}
}

// Quickstart's crash of worker-1 cuts throughput once it is detected
// (300ms later): judged on the fault analysis's bins it dips; on the finer
// throughput bins it would read "no dip" after three of them.
func TestQuickstartCrashDips(t *testing.T) {
	x := quickstart(t)
	for _, f := range x.rep.Faults {
		if f.Kind == "crash" {
			assert.False(t, f.NoDip, "crash at %v: baseline %.0f, dip %.0f", f.At, f.Baseline, f.Dip)
			assert.Less(t, f.Dip, 0.9*f.Baseline)
			// The three nodes left carry the backlog below the baseline
			// until worker-1 is back (600ms) and takes its share again;
			// the run's tail after the backlog drains (the rl loop's last
			// rollouts) is offered load, not the crash's dip. Judged to the
			// end, the dip read 217/s of 3350. (Before the scheduler's view
			// counted its placements in flight, the rate stayed low until
			// the backlog drained, at 720ms.) Since default actors need
			// a CPU to be placed (the rl loop's spread over three nodes),
			// the first three bins after the restart average 3233/s
			// against 90% of 3600, 3240: the rate is back near its level
			// only as the backlog drains (720ms), and the analysis says
			// so rather than give a recovery time; either way not before
			// the restart.
			if f.NotRecovered {
				assert.GreaterOrEqual(t, f.Drained, 600*time.Millisecond, "the backlog drained after worker-1's restart")
			} else {
				assert.Greater(t, f.RecoverAfter, 300*time.Millisecond, "not before worker-1's restart")
				assert.Equal(t, f.RecoverAfter.Round(time.Millisecond).String(), f.RecoverText())
			}
			assert.Greater(t, f.Dip, 0.3*f.Baseline, "the dip is the crash's, not the final drain's")
			return
		}
	}
	t.Fatal("no crash in quickstart")
}

// TestRereadsConsistent: a driver's verification rereads of refs that
// failed for good (tasks named scenarios.RereadTaskName, which fail too)
// are neither the runner's tasks nor the analysis's: the two agree, and
// both count the workload's 10 tasks (before, 14 submitted, 8 failed).
func TestRereadsConsistent(t *testing.T) {
	x := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 1}, {name: w, cpus: 4}]",
		"workload=[{generator: parallel, params: {tasks: 10, duration: 100ms}, max_retries: 0}]",
		"faults=[{at: 50ms, kill_node: w}]", "expect=")
	rep, res := x.rep, x.res
	assert.Equal(t, uint64(10), res.TasksSubmitted)
	assert.Positive(t, res.TasksFailed)
	assert.Equal(t, res.TasksSubmitted, rep.Tasks.Submitted, "submitted")
	assert.Equal(t, res.TasksCompleted, rep.Tasks.Completed, "completed")
	assert.Equal(t, res.TasksFailed, rep.Tasks.Failed, "failed")
	assert.Equal(t, res.TasksReexecuted, rep.Tasks.Reexecuted, "re-executed")
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	assert.InDelta(t, res.LatencyMs.P90, ms(rep.Latency.Phase.Total.P90), 1e-6)
	assert.InDelta(t, res.LatencyMs.Max, ms(rep.Latency.Phase.Total.Max), 1e-6)
}

// TestZeroCPUNodeHasNoUtilization: a node without CPUs that runs 0-CPU
// actors has no utilization to report (it was divided by one CPU: a
// percentage of nothing, 300% with three actors busy), and the mean over
// nodes leaves it out.
func TestZeroCPUNodeHasNoUtilization(t *testing.T) {
	// Tasks of no CPU run on it (its custom resource draws them there).
	// Default actors did, before they needed a CPU to be placed, as
	// Ray's do.
	r := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 2}, {name: zero, cpus: 0, resources: {z: 4}}]",
		"workload=[{generator: parallel, params: {tasks: 20, duration: 10ms}, resources: {CPU: 0, z: 1}}]", "expect=")
	var zero *analysis.NodeStats
	for i := range r.rep.Nodes {
		if r.rep.Nodes[i].Name == "zero" {
			zero = &r.rep.Nodes[i]
		}
	}
	require.NotNil(t, zero, "the node without CPUs: %+v", r.rep.Nodes)
	require.Positive(t, zero.BusyTime, "tasks ran on the node without CPUs")
	require.True(t, zero.NoCPUs)
	require.Zero(t, zero.Utilization)
}

// TestRespillsCounted: the queued tasks raylets hand back to the global
// scheduler (task.placed "respilled: ...") are counted apart from first
// placements, with those placed back on their node, and printed.
func TestRespillsCounted(t *testing.T) {
	x := traced(t, "autoscale-backlog.yaml")
	p := x.rep.Placement
	assert.Positive(t, p.Respilled)
	assert.Less(t, p.RespilledBack, p.Respilled)
	assert.Equal(t, uint64(200), p.Local+p.Spilled+p.Actor+p.Other, "first placements only")
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, x.rep))
	assert.Contains(t, out.String(), fmt.Sprintf("re-spilled from queues %d (%d placed back on their node)", p.Respilled, p.RespilledBack))
}
