package bench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestCalibrationScenarioRuns: the run that calibrates dispatch parses and
// completes on a loopback TCP cluster (smaller here; calibrate runs 20,000
// tasks).
func TestCalibrationScenarioRuns(t *testing.T) {
	s, err := scenarios.ParseWithOverrides("calibrate-dispatch", []byte(CalibrationScenario), []string{"workload.0.params.tasks=500"})
	require.NoError(t, err)
	r, err := runner.RunTCP(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	require.True(t, r.OK)
	require.EqualValues(t, 500, r.TasksCompleted)
	require.Positive(t, r.Throughput)
}
