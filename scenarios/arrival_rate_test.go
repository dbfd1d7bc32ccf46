package scenarios_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// An arrival rate below ~1.1e-9/s has a gap (1/rate seconds) past
// time.Duration's range; workload.go gap() converts it with
// time.Duration(float64), which overflows to a negative gap, and the driver
// submits everything at once: `arrival: {kind: rate, rate: 1e-12/s}` for 10
// tasks under a 10s limit PASSes in 80ms, a burst, when its second task is
// due after 31,000 years. Right: the loader refuses such a rate at
// workload.0.arrival.rate (as it refuses 0), or the run honours it and ends
// unfinished at the duration limit; never a silent burst.
func TestTinyArrivalRateNotABurst(t *testing.T) {
	const src = `
duration_limit: 10s
cluster:
  nodes:
    - {name: node, count: 2}
workload:
  - generator: parallel
    params: {tasks: 10}
`
	for _, kind := range []string{"rate", "poisson"} {
		s, err := scenarios.ParseWithOverrides("t.yaml", []byte(src), []string{
			"workload.0.arrival={kind: " + kind + ", rate: 1e-12/s}",
		})
		if err != nil {
			require.Contains(t, err.Error(), "workload.0.arrival.rate", kind)
			continue
		}
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err, kind)
		require.False(t, r.OK, "%s arrival at 1e-12/s: 10 tasks finished at %.3fs virtual; the second is due after 1e12s", kind, r.VirtualSeconds)
	}
}
