package check

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestInvariantNamesMatch: expect.invariants takes the names of
// scenarios.InvariantNames, and RunExpect finds them among the default
// invariants: the two lists must stay alike.
func TestInvariantNamesMatch(t *testing.T) {
	var names []string
	for _, inv := range DefaultInvariants() {
		names = append(names, inv.Name)
	}
	require.Equal(t, scenarios.InvariantNames, names)
}

// unfinishable: the only node with resource x is killed for good, so the
// driver waits for good on tasks no node can run: liveness is violated,
// allowed-errors holds (no driver saw an error).
const unfinishable = `
name: live
seed: 1
duration_limit: 2s
cluster:
  nodes:
    - {name: head, cpus: 1}
    - {name: w, cpus: 1, resources: {x: 1}}
workload:
  - name: p
    generator: parallel
    params: {tasks: 20, duration: 10ms}
    resources: {x: 1}
faults:
  - {at: 50ms, kill_node: w}
`

// TestFailureFileReplaysItsViolation: a fault-search failure file was
// written with only results_correct expected, so `raysim run` on it (the
// replay command it prints) passed for any other invariant, e.g. an
// allowed-errors or liveness violation: the replay did not show the
// failure. The file now names its invariant (expect.invariants) and
// RunExpect, which `raysim run` and `raysim sweep` use, checks it.
func TestFailureFileReplaysItsViolation(t *testing.T) {
	s, err := scenarios.Parse("live.yaml", []byte(unfinishable))
	require.NoError(t, err)
	_, f, err := Execute(context.Background(), s, Liveness)
	require.NoError(t, err)
	require.NotNil(t, f, "liveness holds")
	path, err := Write(t.TempDir(), "live-failure", f)
	require.NoError(t, err)
	back, err := scenarios.Load(path)
	require.NoError(t, err)
	require.Equal(t, []string{"liveness"}, back.Expect.Invariants)

	res, err := RunExpect(context.Background(), back, runner.Options{})
	require.NoError(t, err)
	require.False(t, res.OK, "the replay of a liveness failure passes")
	i := slices.IndexFunc(res.Expectations, func(x runner.Expectation) bool { return x.Name == "invariant liveness" })
	require.GreaterOrEqual(t, i, 0, "no liveness expectation in %+v", res.Expectations)
	require.False(t, res.Expectations[i].OK)

	// An invariant that holds is reported as holding.
	back.Expect.Invariants = []string{"allowed-errors"}
	back.DurationLimit = s.DurationLimit
	res, err = RunExpect(context.Background(), back, runner.Options{})
	require.NoError(t, err)
	i = slices.IndexFunc(res.Expectations, func(x runner.Expectation) bool { return x.Name == "invariant allowed-errors" })
	require.GreaterOrEqual(t, i, 0)
	require.True(t, res.Expectations[i].OK, res.Expectations[i].Detail)
}
