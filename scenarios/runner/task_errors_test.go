package runner

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/node"
	"raysim/scenarios"
	"raysim/traces"
)

// taskErrorsRun runs a parallel and a nested workload under a task_errors
// fault on the workers from 50ms to 250ms, with the entries' max_retries
// and retry_exceptions as given.
func taskErrorsRun(t *testing.T, retries int, retry bool) *Result {
	t.Helper()
	s, err := scenarios.Parse("task-errors.yaml", []byte(`
name: task-errors
seed: 3
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 400, duration: 2ms}
    arrival: {kind: rate, rate: 1000/s}
  - generator: nested
    params: {roots: 4, depth: 2, fanout: 3, duration: 5ms}
    start: 60ms
faults:
  - {at: 50ms, task_errors: {rate: 40%, nodes: [worker]}, for: 200ms}
expect:
  all_complete: true
  results_correct: true
`))
	require.NoError(t, err)
	for i := range s.Workload {
		s.Workload[i].MaxRetries, s.Workload[i].RetryExceptions = retries, retry
	}
	r, err := Run(context.Background(), s, Options{})
	require.NoError(t, err)
	return r
}

// TestTaskErrorsRetried: injected application errors on the workers, from
// 50ms for 200ms: with retry_exceptions and retries without bound every
// task recovers (the runs it took are task.retried events) and every value
// is right; without it the runs that drew an error fail with the injected
// error, the rest are right; the same seed gives the same run.
func TestTaskErrorsRetried(t *testing.T) {
	r := taskErrorsRun(t, -1, true)
	assert.True(t, r.OK, "%+v", r.Expectations)
	assert.Zero(t, r.TasksFailed)
	assert.Greater(t, r.TasksRetried, uint64(5), "about 40% of the runs on the workers in the window fail")
	assert.Equal(t, 1, r.FaultsInjected)
	again := taskErrorsRun(t, -1, true)
	assert.Equal(t, r.Digest, again.Digest)

	r = taskErrorsRun(t, 3, false)
	assert.False(t, r.OK)
	assert.Greater(t, r.TasksFailed, uint64(5))
	assert.Zero(t, r.TasksRetried)
	assert.Zero(t, r.Incorrect, "a failed task is an error, never a wrong value")
	for _, w := range r.Workloads {
		for _, e := range w.KindErrs {
			assert.Contains(t, e, node.InjectedTaskError)
		}
	}
}

// TestTaskErrorsOnTCP: on a loopback TCP cluster, whose fault schedule
// otherwise goes unapplied, task_errors faults apply on the wall clock:
// every run failing from the start, a task fails with the injected error
// (retry_exceptions spends its retries on them); the other faults are
// still reported as not applied.
func TestTaskErrorsOnTCP(t *testing.T) {
	s, err := scenarios.Parse("task-errors-tcp.yaml", []byte(`
name: task-errors-tcp
duration_limit: 30s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 20, duration: 1ms}
    max_retries: 2
    retry_exceptions: true
faults:
  - {at: 0s, task_errors: {rate: 100%}}
  - {at: 10s, kill_node: worker}
`))
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Transport: "tcp"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	r, err := RunTCP(context.Background(), s, Options{Trace: rec})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	tr, err := traces.NewReader(&buf)
	require.NoError(t, err)
	var notes []string
	for tr.Next() {
		if rec := tr.Record(); rec.Source == traces.Net && netsim.EventKind(rec.Kind) == netsim.EvCustom {
			notes = append(notes, rec.Detail)
		}
	}
	require.NoError(t, tr.Err())
	assert.Equal(t, []string{scenarios.TaskErrorsStarted + "rate 100% on every node"}, notes, "the fault's start in the trace")
	assert.Equal(t, uint64(20), r.TasksFailed)
	assert.Equal(t, uint64(40), r.TasksRetried, "2 retries each")
	require.Len(t, r.Workloads, 1)
	assert.Contains(t, r.Workloads[0].KindErrs[0], node.InjectedTaskError)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "1 faults not applied")
	// The one applied counts as injected (it was reported as 0); the kill
	// at 10s, never applied on TCP, does not.
	assert.Equal(t, 1, r.FaultsInjected, "faults_injected")
}
