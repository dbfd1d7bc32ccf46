package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rate bounds: a random process's expected faults and its mean gap, an
// arrival's gap per driver, the drivers themselves, and a rate too large to
// hold (1e308/ns is +Inf per second, whose gaps are all 0).
func TestRateAndDriverBoundMessages(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"faults=[{random: {kind: pause, rate: 1e9/s}}]",
			"--set faults=[{random: {kind: pause, rate: 1e9/s}}]: faults.0.random.rate: at most 1e6 faults expected from a random process (rate*(until-from) = 1e+09/s*5s = 5e+09) (got \"1e9/s\")"},
		{"faults=[{random: {kind: pause, rate: 1000/s, from: 1s, until: 2s}}]", ""},
		{"faults=[{random: {kind: pause, rate: 1e6/s, from: 1s, until: 3s}}]", "(rate*(until-from) = 1e+06/s*2s = 2e+06)"},
		{"faults=[{random: {kind: crash, rate: 1e-300/s}}]", "faults.0.random.rate: a rate of at least 1e-09/s, one fault in ~32 years (the mean gap 1/rate must fit a duration) (got \"1e-300/s\")"},
		{"faults=[{random: {kind: crash, rate: 1e308/ns}}]", "faults.0.random.rate: a rate below 1e300/s (got \"1e308/ns\")"},
		{"workload.0.arrival={kind: rate, rate: 1e-12/s}", "workload.0.arrival.rate: a rate of at least 1e-09/s, one arrival in ~32 years"},
		{"workload.0.arrival={kind: poisson, rate: 2e-9/s}", ""},
		{"workload.0.drivers=4", ""},
		{"workload.0.drivers=1000000", ""},
		{"workload.0.drivers=1000001", "--set workload.0.drivers=1000001: workload.0.drivers: at most 1000000 drivers (got 1000001)"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		if tc.want == "" {
			assert.NoError(t, err, tc.set)
			continue
		}
		if assert.Error(t, err, tc.set) {
			assert.Contains(t, err.Error(), tc.want, tc.set)
		}
	}
	// The gap that must fit is each driver's: rate/drivers.
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"workload.0.arrival={kind: rate, rate: 2e-9/s}", "workload.0.drivers=4"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workload.0.arrival.rate: a rate of at least 4e-09/s, 1e-09/s for each of the 4 drivers")
}

// The work bound names the override a counted value came from, and only a
// counted one: an override of cancel_every (not in the formula) leaves the
// error at the file's params.
func TestWorkBoundOverrideOnlyIfCounted(t *testing.T) {
	src := edgeBase + "  - {name: b, generator: parallel, params: {tasks: 200000000}}\n"
	_, err := ParseWithOverrides("t.yaml", []byte(src), []string{"workload.1.params.cancel_every=3"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:8:44: workload.1.params: at most 1e8 tasks")
	// tree-reduce runs an instance per driver (parallel splits its tasks).
	tree := edgeBase + "  - {name: t, generator: tree-reduce, params: {leaves: 30, fanin: 4}}\n"
	_, err = ParseWithOverrides("t.yaml", []byte(tree), []string{"workload.1.params.leaves=50000000", "workload.1.params.fanin=4", "workload.1.drivers=3"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--set workload.1.params.leaves=50000000: workload.1.params.leaves: at most 1e8 tasks, calls and objects in all ((leaves*fanin/(fanin-1))*3 drivers = 200000000)")
}
