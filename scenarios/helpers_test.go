package scenarios_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// runOK runs a shipped scenario with overrides in the simulator and
// requires its expectations to hold and every result to be right.
func runOK(t *testing.T, file string, sets ...string) *runner.Result {
	t.Helper()
	s, err := scenarios.LoadWithOverrides(file, sets)
	require.NoError(t, err)
	r, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	require.True(t, r.OK, "expectations: %+v", r.Expectations)
	require.Zero(t, r.Incorrect)
	return r
}
