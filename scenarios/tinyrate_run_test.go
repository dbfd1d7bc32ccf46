package scenarios_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

const tinyRun = `
seed: 1
duration_limit: 2s
cluster:
  nodes:
    - {name: node, count: 2, cpus: 2}
workload:
  - {generator: parallel, params: {tasks: 200, duration: 1ms}, arrival: {kind: rate, rate: 400/s}}
`

// The runner's own defences, for a scenario built past the loader: an
// arrival rate whose gap is past time.Duration's range waits (saturated)
// instead of wrapping to a negative gap and bursting, and a random fault
// process with such a rate ends instead of looping for ever.
func TestRunnerSaturatesTinyRates(t *testing.T) {
	s, err := scenarios.ParseWithOverrides("t.yaml", []byte(tinyRun), []string{"faults=[{random: {kind: pause, rate: 1/s}}]"})
	require.NoError(t, err)
	s.Workload[0].Arrival.Rate = 1e-12
	s.Faults[0].Random.Rate = 1e-300
	r, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	assert.False(t, r.OK, "200 tasks at 1e-12/s finished at %.3fs: a burst", r.VirtualSeconds)
	assert.Zero(t, r.FaultsInjected)
	assert.EqualValues(t, 1, r.TasksCompleted, "the first arrival only")
}
