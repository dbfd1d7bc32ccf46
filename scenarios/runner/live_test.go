package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/workload"
	"raysim/traces"
)

// liveCluster starts a live cluster in this process (a head and one node,
// 2 CPUs each, with the workload's functions) and returns its Remote.
func liveCluster(t *testing.T) Remote {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tok := []byte("live-trace-token")
	reg := ray.NewRegistry()
	workload.Register(reg)
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })
	reg = ray.NewRegistry()
	workload.Register(reg)
	n1, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "n1", Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { n1.Close() })
	return Remote{Address: head.Addr(), Token: tok, HeadTimeout: 30 * time.Second}
}

func parseLive(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse("live.yaml", []byte(yaml))
	require.NoError(t, err)
	return s
}

// traceTo returns a recorder writing a trace file in the test's directory,
// and a function that closes it and returns its records.
func traceTo(t *testing.T) (*traces.Recorder, func() []traces.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "live.trace")
	w, err := traces.Create(path, traces.Header{File: "live.yaml", Transport: "remote"}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	return rec, func() []traces.Record {
		require.NoError(t, rec.Close())
		rd, err := traces.Open(path)
		require.NoError(t, err)
		defer rd.Close()
		var out []traces.Record
		for rd.Next() {
			out = append(out, *rd.Record())
		}
		require.NoError(t, rd.Err())
		return out
	}
}

// taskTimes collects each task's first event of each kind.
func taskTimes(recs []traces.Record) map[transport.TaskID]map[transport.EventKind]time.Duration {
	out := map[transport.TaskID]map[transport.EventKind]time.Duration{}
	for _, r := range recs {
		if r.Source != traces.Runtime || r.Task == 0 {
			continue
		}
		k := transport.EventKind(r.Kind)
		m := out[r.Task]
		if m == nil {
			m = map[transport.EventKind]time.Duration{}
			out[r.Task] = m
		}
		if _, ok := m[k]; !ok {
			m[k] = r.At
		}
	}
	return out
}

const liveParallel = `
name: live
seed: 7
duration_limit: 60s
cluster:
  nodes: [{name: head, cpus: 2}, {name: n1, cpus: 2}]
workload:
  - {name: p, generator: parallel, params: {tasks: %d, duration: %s}, arrival: burst}
expect:
  all_complete: true
  results_correct: true
`

// TestLiveTraceInTimestampOrder: every process of a live cluster sends its
// events in batches every 20 ms, and the runner wrote each batch as it
// came: the recorder moved every record older than the last one written
// forward to it, so whole batches shared one timestamp (analyze read
// execution times of 0 and placements before submissions). Records now go
// in timestamp order with their own times: each task's run lasts at least
// its duration (a sleep: a lower bound, not a timing assertion), and its
// events come in lifecycle order. The result's JSON says that a live run
// has no virtual time and no reproducible digest.
func TestLiveTraceInTimestampOrder(t *testing.T) {
	rm := liveCluster(t)
	const dur = 5 * time.Millisecond
	s := parseLive(t, fmt.Sprintf(liveParallel, 40, "5ms"))
	rec, read := traceTo(t)
	r, err := RunRemote(context.Background(), s, Options{Trace: rec}, rm)
	require.NoError(t, err)
	require.True(t, r.OK, "%+v %v", r.Expectations, r.Warnings)
	recs := read()

	sim, err := Run(context.Background(), parseLive(t, fmt.Sprintf(liveParallel, 40, "5ms")), Options{})
	require.NoError(t, err)
	assert.Equal(t, sim.TasksSubmitted, r.TasksSubmitted, "submitted: as in the simulator")
	assert.Equal(t, r.TasksSubmitted, r.TasksCompleted, "every task completed")

	ran := 0
	for id, ev := range taskTimes(recs) {
		sub, okS := ev[transport.EvTaskSubmitted]
		run, okR := ev[transport.EvTaskRunning]
		fin, okF := ev[transport.EvTaskFinished]
		if !okS || !okR || !okF {
			continue
		}
		ran++
		assert.LessOrEqual(t, sub, run, "task %v: submitted after it ran", id)
		if pl, ok := ev[transport.EvTaskPlaced]; ok {
			assert.LessOrEqual(t, sub, pl, "task %v: placed before it was submitted", id)
			assert.LessOrEqual(t, pl, run, "task %v: ran before it was placed", id)
		}
		assert.GreaterOrEqual(t, fin-run, dur, "task %v: ran %v, less than its %v sleep (timestamps collapsed)", id, fin-run, dur)
	}
	assert.GreaterOrEqual(t, ran, 40, "tasks with a run in the trace")

	assert.Equal(t, "wall", r.Clock)
	assert.Zero(t, r.VirtualSeconds, "no virtual time on a live cluster")
	assert.Zero(t, r.Speed)
	assert.Positive(t, r.WallSeconds)
	assert.False(t, r.DigestReproducible)
}

// TestLiveRunsCountOnlyTheirOwn: every process streams all its events to
// every trace subscriber, so two runs at once on one cluster each counted
// (and traced) both jobs' tasks. A run now keeps the events of its own
// job: tasks descending from its drivers' root tasks.
func TestLiveRunsCountOnlyTheirOwn(t *testing.T) {
	rm := liveCluster(t)
	yaml := fmt.Sprintf(liveParallel, 60, "10ms")
	sim, err := Run(context.Background(), parseLive(t, yaml), Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	res := make([]*Result, 2)
	errs := make([]error, 2)
	recs := make([][]traces.Record, 2)
	reads := make([]func() []traces.Record, 2)
	recorders := make([]*traces.Recorder, 2)
	for i := range 2 {
		recorders[i], reads[i] = traceTo(t)
	}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = RunRemote(context.Background(), parseLive(t, yaml), Options{Trace: recorders[i]}, rm)
		}()
	}
	wg.Wait()
	for i := range 2 {
		require.NoError(t, errs[i])
		recs[i] = reads[i]()
		r := res[i]
		assert.True(t, r.OK, "run %d: %+v", i, r.Expectations)
		assert.Equal(t, sim.TasksSubmitted, r.TasksSubmitted, "run %d: submitted, as in the simulator", i)
		assert.Equal(t, sim.TasksCompleted, r.TasksCompleted, "run %d: completed", i)
		n := uint64(0)
		for _, rc := range recs[i] {
			if rc.Source == traces.Runtime && transport.EventKind(rc.Kind) == transport.EvTaskSubmitted && rc.Detail != scenarios.RereadTaskName {
				n++
			}
		}
		assert.Equal(t, r.TasksSubmitted, n, "run %d: its trace's submissions are its own", i)
	}
	// No task in both traces.
	mine := taskTimes(recs[0])
	for id := range taskTimes(recs[1]) {
		_, both := mine[id]
		assert.False(t, both, "task %v in both runs' traces", id)
	}
}
