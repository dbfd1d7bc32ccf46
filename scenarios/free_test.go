package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFreeInScenarios: with free: true the drivers of parallel and
// map-reduce free what they are done with, the run reports the copies
// dropped before it ended (frees still in flight when the last driver
// returns are not counted), and the results stay correct; without it
// nothing is freed.
func TestFreeInScenarios(t *testing.T) {
	kept := runOK(t, "parallel.yaml", "workload.0.params.tasks=500")
	require.Zero(t, kept.ObjectCopiesFreed)
	freed := runOK(t, "parallel.yaml", "workload.0.params.tasks=500", "workload.0.params.free=true")
	require.Positive(t, freed.ObjectCopiesFreed)
	mr := runOK(t, "map-reduce.yaml", "workload.0.params.maps=8", "workload.0.params.reduces=4", "workload.0.params.free=true")
	require.Positive(t, mr.ObjectCopiesFreed)
}
