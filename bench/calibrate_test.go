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

// TestGCSReadCostReadsWrittenTasks guards gcs_read, documented as
// GcsGetTask "on a populated shard". perOp calls its body with indices
// 0..n/10-1 (warm-up) then n(r+1)+i for rounds r = 0..2, so the write pass
// adds tasks 1..n/10 and n+1..4n. The read pass asked for task i%n+1, that
// is 1..n: all but the warm-up's tenth are absent, and a miss returns
// before the spec copy, failure and object lookups of a hit. gcs_read was
// 90% the cost of a miss.
func TestGCSReadCostReadsWrittenTasks(t *testing.T) {
	_, _, env := gcsCostsN(1000)
	if env.found+env.missed == 0 {
		t.Fatal("setup: no task-table reads seen")
	}
	if env.missed > 0 {
		t.Errorf("gcs_read: %d of %d GcsGetTask reads asked for a task never written", env.missed, env.found+env.missed)
	}
}
