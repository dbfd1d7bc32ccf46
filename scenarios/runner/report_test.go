package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

// runSmall runs a small scenario (head and two workers, 200 short tasks)
// with the given extra YAML and overrides.
func runSmall(t *testing.T, extra string, o Options, sets ...string) *Result {
	t.Helper()
	s, err := scenarios.ParseWithOverrides("small.yaml", []byte(`
name: small
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 200, duration: 1ms}
`+extra), sets)
	require.NoError(t, err)
	r, err := Run(context.Background(), s, o)
	require.NoError(t, err)
	return r
}

// TestLateFaultsWarned: faults the file wrote for after the workload's
// end were silently not injected, and the run passed "under faults" that
// never happened (QA).
func TestLateFaultsWarned(t *testing.T) {
	r := runSmall(t, `faults:
  - {at: 1ms, kill_node: worker-0}
  - {at: 3s, restart_node: worker-0}
  - {at: 4s, partition: [[head], [worker-1]]}
`, Options{})
	assert.Equal(t, 1, r.FaultsInjected)
	var late []string
	for _, w := range r.Warnings {
		if strings.Contains(w, "not injected") {
			late = append(late, w)
		}
	}
	require.Len(t, late, 1, "%q", r.Warnings)
	assert.Contains(t, late[0], "restart_node worker-0 at 3s, partition [head][worker-1] at 4s: not injected: the run ended at")
	// --json's faults list says the same, fault by fault.
	require.Len(t, r.Faults, 3)
	assert.Equal(t, FaultOutcome{Kind: "kill_node", Target: "worker-0", At: 0.001, Injected: true}, r.Faults[0])
	assert.Equal(t, FaultOutcome{Kind: "restart_node", Target: "worker-0", At: 3, Note: "not reached: the run ended first", Entry: 1, Schedule: 1}, r.Faults[1])
	assert.Equal(t, "[head][worker-1]", r.Faults[2].Target)
}

// TestFaultEntryIsFilePosition: --json's faults[].entry is the fault's
// index in the file (faults.N, as loader errors and --set number it), not
// its index after the loader's sort by time (QA32 #4: a file listing a
// later fault first gave each the other's entry), for written faults,
// those not reached, and a random process's draws.
func TestFaultEntryIsFilePosition(t *testing.T) {
	r := runSmall(t, `faults:
  - {at: 4s, partition: [[head], [worker-1]]}
  - {at: 30ms, restart_node: worker-0}
  - {at: 1ms, kill_node: worker-0}
  - random: {kind: crash, rate: 50/s, from: 0s, until: 40ms, nodes: [worker-1]}
`, Options{})
	type got struct {
		Kind   string
		Random bool
		Entry  int
	}
	var gots []got
	for _, f := range r.Faults {
		gots = append(gots, got{f.Kind, f.Random, f.Entry})
	}
	want := map[got]bool{{"kill_node", false, 2}: true, {"restart_node", false, 1}: true, {"partition", false, 0}: true}
	for _, g := range gots {
		if g.Random {
			assert.Equal(t, 3, g.Entry, "a random process's draw: %+v", g)
			continue
		}
		assert.True(t, want[g], "fault %+v: its entry is not its position in the file (%v)", g, gots)
		delete(want, g)
	}
	assert.Empty(t, want, "written faults missing from %v", gots)
	assert.Contains(t, gots, got{"kill_node", true, 3}, "no random draw in %v", gots)
}

// TestRepeatedWarningsFolded: the first 20 runtime warnings were listed and
// the rest dropped without a word, so one node's repeated warning hid every
// other kind after it (QA). A repeat now counts on its first line, and what
// is not listed is counted.
func TestRepeatedWarningsFolded(t *testing.T) {
	var m metrics
	for i := range 30 {
		m.runtimeWarning(time.Duration(i)*time.Millisecond, "a-0: object store over capacity")
	}
	m.runtimeWarning(40*time.Millisecond, "a-1: fenced")
	for i := range 25 {
		m.runtimeWarning(50*time.Millisecond, "b: distinct "+strings.Repeat("x", i))
	}
	m.infeasible = 7
	w := m.resultWarnings()
	require.Len(t, w, maxRuntimeWarnings+2)
	assert.Equal(t, "at 0s: a-0: object store over capacity (and 29 more times, the last at 29ms)", w[0])
	assert.Equal(t, "at 40ms: a-1: fenced", w[1])
	assert.Equal(t, "7 more runtime warnings, of other kinds or nodes, not listed (every one is in a --trace: raysim trace stats counts them)", w[maxRuntimeWarnings])
	assert.Equal(t, "2 more tasks infeasible when submitted, not listed", w[maxRuntimeWarnings+1])
}

// TestLatencyBoundNeedsTasks: a latency bound held over no task at all
// ("ok latency.p99 0.000ms" with 0 of 7 tasks done), and over the few that
// ended of a run cut short without saying so (QA).
func TestLatencyBoundNeedsTasks(t *testing.T) {
	r := runSmall(t, "expect: {latency: {p99: 1s}}\n", Options{},
		"workload.0.params.duration=10s", "duration_limit=100ms")
	require.Len(t, r.Expectations, 1)
	assert.False(t, r.Expectations[0].OK)
	assert.Contains(t, r.Expectations[0].Detail, "no task ended")

	r = runSmall(t, "expect: {latency: {max: 10s}}\n", Options{},
		"workload.0.params.duration=10ms", "cluster.nodes.1.count=0", "duration_limit=200ms")
	require.Len(t, r.Expectations, 1)
	assert.Contains(t, r.Expectations[0].Detail, "over the ")
	assert.Contains(t, r.Expectations[0].Detail, "never did")
}

// TestResultSaysBuggifyAndOverrides: a buggified run's result (and so its
// summary and JSON) did not say so, nor which --set overrides it ran with,
// though both change its digest (QA).
func TestResultSaysBuggifyAndOverrides(t *testing.T) {
	r := runSmall(t, "", Options{Buggify: true}, "workload.0.params.tasks=20")
	assert.True(t, r.Buggify)
	assert.Equal(t, []string{"workload.0.params.tasks=20"}, r.Overrides)
	r = runSmall(t, "", Options{})
	assert.False(t, r.Buggify)
	assert.Empty(t, r.Overrides)
}

// TestTCPRefusesLateNodes: --tcp refused a group that joins later (start,
// autoscale) with the runtime's internal error (Standby, exit 1) rather
// than as a bad scenario naming the key (QA).
func TestTCPRefusesLateNodes(t *testing.T) {
	for _, key := range []string{"start: 1s", "autoscale: {min: 0}"} {
		s, err := scenarios.Parse("late.yaml", []byte(`
name: late
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: extra, cpus: 2, `+key+`}
workload:
  - generator: parallel
    params: {tasks: 2, duration: 1ms}
`))
		require.NoError(t, err)
		_, err = RunTCP(context.Background(), s, Options{})
		require.ErrorIs(t, err, ErrBadScenario, key)
		assert.ErrorContains(t, err, "cluster.nodes extra: "+strings.Fields(key)[0][:len(strings.Fields(key)[0])-1]+" is simulator only")
	}
}

// TestRestartGCSReplica: a scenario could kill GCS replicas but not bring
// one back, so killing every replica of a shard hung the run with no word
// why (QA). restart_gcs_replica rejoins a replica at its chain's tail; a
// kill that leaves a shard no replica is warned of.
func TestRestartGCSReplica(t *testing.T) {
	faults := `
  - {at: 100ms, kill_gcs_replica: 0}
  - {at: 150ms, restart_gcs_replica: 0}
  - {at: 300ms, kill_gcs_replica: 1}
  - {at: 400ms, restart_gcs_replica: 1}
`
	extra := "expect: {all_complete: true, results_correct: true}\nfaults:" + faults
	r := runSmall(t, extra, Options{}, "cluster.gcs={shards: 1, replicas: 2}", "workload.0.params.tasks=600",
		"workload.0.arrival={kind: rate, rate: 1000/s}")
	assert.Equal(t, 4, r.FaultsInjected)
	assert.True(t, r.OK, "%+v", r.Expectations)

	// Killing both: the shard has no replica left, said in a warning.
	r = runSmall(t, "faults:\n  - {at: 100ms, kill_gcs_replica: 0}\n  - {at: 120ms, kill_gcs_replica: 1}\n  - {at: 400ms, restart_gcs_replica: 1}\n",
		Options{}, "cluster.gcs={shards: 1, replicas: 2}", "workload.0.params.tasks=600", "workload.0.arrival={kind: rate, rate: 1000/s}")
	assert.Equal(t, 3, r.FaultsInjected)
	var warned bool
	for _, w := range r.Warnings {
		warned = warned || strings.Contains(w, "GCS shard 0 has no live replica left")
	}
	assert.True(t, warned, "%q", r.Warnings)
	assert.Empty(t, r.Unfinished, "the restart brings the shard back")
}

// TestRandomFaultOutcomes: a random loss process's faults showed their
// target as "->" (its link names resolved nodes, not the written ends),
// and a random fault that did nothing pointed at warnings it never gives
// (review).
func TestRandomFaultOutcomes(t *testing.T) {
	r := runSmall(t, "faults:\n  - {random: {kind: loss, rate: 50/s, from: 1ms, until: 50ms, for: 5ms, loss: 0.1}}\n  - {random: {kind: crash, rate: 200/s, from: 1ms, until: 30ms}}\n", Options{},
		"workload.0.params.duration=20ms")
	var loss, noop int
	for _, f := range r.Faults {
		require.True(t, f.Random, "%+v", f)
		if f.Kind == "degrade_link" {
			loss++
			assert.Regexp(t, `^\S+ ?.*<->.+$`, f.Target)
			assert.NotEqual(t, "->", f.Target)
		}
		if !f.Injected {
			noop++
			assert.NotContains(t, f.Note, "warning")
		}
	}
	assert.Positive(t, loss)
	assert.Positive(t, noop, "some random kill found its node down already: %+v", r.Faults)
}

// TestFailedThenFinishedCounted: "failed" counts tasks by their first end,
// the drivers' errors their reads; a failed task whose error result was
// lost and rebuilt into a value once the task_errors window was over is
// failed but read as a value, and nothing said why the two counts differed
// (QA32 #11: 372 failed, 308 errors). fault-task-errors without retries
// has 64 such tasks: they are counted apart, and account for the
// difference, and the summary's expectation line says so.
func TestFailedThenFinishedCounted(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("../fault-task-errors.yaml", []string{"workload.0.retry_exceptions=false", "expect.max_failed_tasks=0"})
	require.NoError(t, err)
	r, err := Run(context.Background(), s, Options{})
	require.NoError(t, err)
	errs := 0
	for _, w := range r.Workloads {
		errs += w.Errors
	}
	require.Positive(t, r.TasksFailed)
	assert.Positive(t, r.TasksFailedThenFinished, "no failed task counted as later finished")
	assert.Equal(t, uint64(errs), r.TasksFailed-r.TasksFailedThenFinished,
		"%d failed, %d of them later finished, %d driver errors", r.TasksFailed, r.TasksFailedThenFinished, errs)
	found := false
	for _, e := range r.Expectations {
		if e.Name == "max_failed_tasks" {
			found = true
			assert.Contains(t, e.Detail, "of them later finished with a value")
		}
	}
	assert.True(t, found, "no max_failed_tasks expectation")
}
