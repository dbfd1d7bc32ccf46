package workload_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// run runs a shipped scenario (with overrides) in the simulator, with the
// given tamper (nil: none).
func run(t *testing.T, file string, sets []string, tamper func(string, any) any) *runner.Result {
	t.Helper()
	s, err := scenarios.LoadWithOverrides("../"+file, sets)
	require.NoError(t, err)
	r, err := runner.Run(context.Background(), s, runner.Options{Tamper: tamper})
	require.NoError(t, err)
	return r
}

// only tampers with the values named what.
func only(what string, f func(any) any) func(string, any) any {
	return func(w string, v any) any {
		if w != what {
			return v
		}
		return f(v)
	}
}

func halve(v any) any {
	b := v.(ray.Blob)
	b.Bytes /= 2
	return b
}

// TestChecksCatchTampering: each workload's checks must see a runtime that
// returned wrong values — truncated objects (a Blob of the wrong size),
// wrong worker results, an actor whose state was lost or applied twice,
// permuted leaves — and must pass the same run untampered (retries, actor
// restarts and replay included).
func TestChecksCatchTampering(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		sets   []string
		tamper func(string, any) any
	}{
		{"parallel: truncated results", "parallel.yaml", []string{"workload.0.params.tasks=300"}, only("wl.task", halve)},
		{"chain: truncated links", "chain.yaml", []string{"workload.0.params.chains=4", "workload.0.params.length=5"}, only("wl.chain", halve)},
		{"map-reduce: truncated partitions", "map-reduce.yaml", []string{"workload.0.params.maps=8", "workload.0.params.reduces=4"}, only("wl.map", halve)},
		{"map-reduce: a map lost a partition", "map-reduce.yaml", []string{"workload.0.params.maps=8", "workload.0.params.reduces=4"},
			only("wl.map.parts", func(v any) any { p := v.([]ray.Ref[ray.Blob]); return p[:len(p)-1] })},
		{"map-reduce (returns): truncated partitions", "map-reduce.yaml", []string{"workload.0.params.maps=8", "workload.0.params.reduces=4", "workload.0.params.returns=true"}, only("wl.map", halve)},
		{"map-reduce (stream): truncated partitions", "map-reduce.yaml", []string{"workload.0.params.maps=8", "workload.0.params.reduces=4", "workload.0.params.stream=true"}, only("wl.map", halve)},
		{"parameter-server: truncated pulls", "parameter-server.yaml", []string{"workload.0.params.workers=4", "workload.0.params.iterations=5"}, only("wl.pull", halve)},
		{"parameter-server: wrong worker result", "parameter-server.yaml", []string{"workload.0.params.workers=4", "workload.0.params.iterations=5"},
			only("wl.psworker", func(v any) any { return v.(int64) - 1 })},
		{"rl: truncated rollouts", "rl.yaml", []string{"workload.0.params.actors=4", "workload.0.params.rounds=5"}, only("wl.rollout", halve)},
		{"rl: a rollout applied twice to the state", "rl.yaml", []string{"workload.0.params.actors=4", "workload.0.params.rounds=5"},
			only("actor.state", func(v any) any { return v.(uint64) + 1 })},
		{"rl: a restarted actor lost its checkpoint", "paper-fig11b-actors.yaml", []string{"workload.0.params.replay=true", "workload.0.params.checkpoint_every=4"},
			only("actor.restore", func(any) any { return uint64(0) })},
		{"tree-reduce: swapped leaves", "tree-reduce.yaml", []string{"workload.0.params.leaves=64"},
			only("wl.leaf", func(v any) any { return v.(int64) ^ 1 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.file, c.sets, nil)
			require.True(t, r.OK, "untampered: expectations %+v", r.Expectations)
			require.Zero(t, r.Incorrect, "untampered")
			r = run(t, c.file, c.sets, c.tamper)
			require.NotZero(t, r.Incorrect, "tampered values passed the checks (%d checked)", r.Checked)
			require.False(t, r.OK, "tampered values passed the expectations")
		})
	}
}

// TestParameterServerDurationPerIteration: a distribution of the workers'
// compute step is drawn for every iteration (workers get, compute
// duration, push), not once per worker for all of its iterations: 200
// steps of U(0, 2s) take about 200s, not 200 times one draw.
func TestParameterServerDurationPerIteration(t *testing.T) {
	r := run(t, "parameter-server.yaml", []string{"workload.0.params.servers=1", "workload.0.params.workers=1",
		"workload.0.params.iterations=200", "workload.0.params.shard_size=1KiB", "duration_limit=1000s", "expect=",
		"workload.0.params.duration={dist: uniform, min: 0ms, max: 2s}"}, nil)
	require.Zero(t, r.Incorrect)
	require.InDelta(t, 200, r.VirtualSeconds, 50, "200 iterations of U(0, 2s)")
}

// TestMapReduceReturnsRebuiltAfterCrash: a shuffle whose maps return their
// partitions (returns: true, Ray's num_returns), or stream them (stream:
// true, Ray's streaming generators), survives a node's crash —
// the lost partitions are rebuilt by re-running their maps — where the
// same shuffle over Put partitions fails the reduces that needed one (a
// Put has no lineage).
func TestMapReduceReturnsRebuiltAfterCrash(t *testing.T) {
	sets := []string{"workload.0.params.maps=32", "workload.0.params.reduces=8", "faults=" +
		`[{at: 200ms, kill_node: node-2}, {at: 400ms, restart_node: node-2}]`, "expect.no_lost_objects=false"}
	put := run(t, "map-reduce.yaml", sets, nil)
	require.False(t, put.OK, "Put partitions lost with their node fail their reduces")
	require.Positive(t, put.ObjectsLost)
	for _, how := range []string{"returns", "stream"} {
		ret := run(t, "map-reduce.yaml", append(sets, "workload.0.params."+how+"=true"), nil)
		require.True(t, ret.OK, "%s: rebuilt from lineage: %+v", how, ret.Expectations)
		require.Positive(t, ret.ObjectsReconstructed, how)
		require.Zero(t, ret.Incorrect, how)
	}
}

// actorCallsScenario: actor-calls on four nodes, the fault schedule
// killing the sequencer's worker (a restart, the calls in flight
// retried), then the node of one of its callers while the actor lives
// (the caller is retried and its calls come again to the same instance,
// which must not run them twice: with bench/mutants.txt's
// actor-duplicate planted, this run fails), then the sequencer's node.
const actorCallsScenario = `
name: actor-calls-check
seed: 7
duration_limit: 20s
cluster:
  nodes:
    - {name: head, cpus: 1}
    - {name: w, count: 3, cpus: 2}
  network: {latency: 500us}
workload:
  - name: ac
    generator: actor-calls
    params: {actors: 1, callers: 2, calls: 40, duration: 0s}
    arrival: {kind: rate, rate: 500/s}
    max_retries: 3
faults:
  - {at: 10ms, kill_actor: sequencer}
  - {at: 30ms, kill_node: w-2}
  - {at: 60ms, restart_node: w-2}
  - {at: 100ms, kill_node: w-0}
  - {at: 120ms, restart_node: w-0}
expect: {results_correct: true, all_complete: true}
`

// TestActorCallsChecks: actor-calls' verdicts pass a run through actor
// kills, a caller's retry and the actor's node's death, and a sequencer
// that reports a call out of order or run twice fails it.
func TestActorCallsChecks(t *testing.T) {
	s, err := scenarios.Parse("actor-calls-check.yaml", []byte(actorCallsScenario))
	require.NoError(t, err)
	r, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	require.True(t, r.OK, "untampered: %+v", r.Expectations)
	require.Zero(t, r.Incorrect)
	require.Equal(t, 40+2+1, r.Checked, "the driver's calls' verdicts, each caller's, the audit")
	require.Positive(t, r.TasksRetried, "the faults met calls")
	r, err = runner.Run(context.Background(), s, runner.Options{Tamper: only("actor.order", func(any) any { return "out of order" })})
	require.NoError(t, err)
	require.NotZero(t, r.Incorrect, "a violation passed the checks")
	require.False(t, r.OK)
}
