package scenarios_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestFreeInScenarios: with free: true the drivers of parallel and
// map-reduce free what they are done with, the run reports the copies
// dropped before it ended (frees still in flight when the last driver
// returns are not counted), and the results stay correct; without it
// nothing is freed.
func TestFreeInScenarios(t *testing.T) {
	run := func(file string, sets ...string) *runner.Result {
		s, err := scenarios.LoadWithOverrides(file, sets)
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "expectations: %+v", r.Expectations)
		require.Zero(t, r.Incorrect)
		return r
	}
	kept := run("parallel.yaml", "workload.0.params.tasks=500")
	require.Zero(t, kept.ObjectCopiesFreed)
	freed := run("parallel.yaml", "workload.0.params.tasks=500", "workload.0.params.free=true")
	require.Positive(t, freed.ObjectCopiesFreed)
	mr := run("map-reduce.yaml", "workload.0.params.maps=8", "workload.0.params.reduces=4", "workload.0.params.free=true")
	require.Positive(t, mr.ObjectCopiesFreed)
}
