package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A random fault process is expanded eagerly into timed faults
// (runner/faults.go expandRandom), so its event count rate*(until-from) must
// be bounded like a workload's work: `rate: 1e9/s` over the default 1h is
// 3.6e12 faults, and the process dies of exhausted memory instead of an
// error. A rate so low that its mean gap overflows time.Duration
// (`1e-300/s`) makes every gap negative, t never reaches until, and the same
// loop allocates forever. Both must be load errors at faults.N.random.rate
// (the loader already refuses a rate of 0).
func TestRandomFaultRateBounded(t *testing.T) {
	for _, set := range []string{
		"faults=[{random: {kind: pause, rate: 1e9/s}}]",
		"faults=[{random: {kind: crash, rate: 1e-300/s}}]",
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{set})
		if assert.Error(t, err, "%s: accepted; a run of it exhausts memory", set) {
			assert.Contains(t, err.Error(), "faults.0.random.rate", set)
		}
	}
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"faults=[{random: {kind: pause, rate: 100/s}}]"})
	assert.NoError(t, err)
}

// The "at most 1e8 tasks, calls and objects" bound multiplies the per-driver
// work by the drivers, so a zero-work entry (`tasks: 0`, also `chains: 0`,
// `roots: 0`) takes any number of drivers: `drivers: 100000000` loads, and
// the run creates 1e8 drivers and dies of exhausted memory (measured: OOM at
// 4GB after 40s). The number of drivers must be bounded by itself
// (decode_workload.go, the drivers key).
func TestDriversBoundedWithZeroWork(t *testing.T) {
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{
		"workload.0.params.tasks=0", "workload.0.drivers=100000000",
	})
	require.Error(t, err, "1e8 drivers accepted; the run exhausts memory")
	assert.Contains(t, err.Error(), "workload.0.drivers")
}

// docs/scenarios.md: "Errors from overrides name the override instead of a
// line". The work bound is reported at the params mapping of the file even
// when an override made the count too large: `--set
// workload.0.params.tasks=1e11` prints "t.yaml:7:...: workload.0.params: at
// most 1e8 ..." and points the user at a line whose value is fine.
func TestWorkBoundErrorNamesOverride(t *testing.T) {
	for _, set := range [][]string{
		{"workload.0.params.tasks=100000000000"},
		// map-reduce runs an instance per driver: the drivers count.
		{"workload.0.drivers=3000"},
	} {
		src := edgeBase
		if set[0] == "workload.0.drivers=3000" {
			src = strings.Replace(edgeBase, "generator: parallel, params: {tasks: 10, duration: 1ms}", "generator: map-reduce, params: {maps: 100, reduces: 1000}", 1)
		}
		_, err := ParseWithOverrides("t.yaml", []byte(src), set)
		require.Error(t, err, set)
		t.Log(err)
		assert.Contains(t, err.Error(), "at most 1e8 tasks", set)
		assert.Contains(t, err.Error(), "--set "+set[0], "the error should name the override, got: %s", err)
	}
}
