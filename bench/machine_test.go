package bench

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

// TestThisMachineStamps: a report says which raysim ran, when, with what
// GC setting and under what load (qa29 #5), and its text line says the
// GOMAXPROCS the runs really used when --one-core changed it (#6).
func TestThisMachineStamps(t *testing.T) {
	m := ThisMachine()
	assert.NotEmpty(t, m.Raysim)
	_, err := time.Parse(time.RFC3339, m.Started)
	require.NoError(t, err)
	assert.NotZero(t, m.GOGC)
	assert.Equal(t, -1.0, m.LoadAvgEnd, "not finished yet")
	m.Finish()
	_, err = time.Parse(time.RFC3339, m.Finished)
	require.NoError(t, err)
	line := m.Line(0)
	for _, want := range []string{"raysim " + m.Raysim, "started " + m.Started, "GOGC=", "load average"} {
		assert.Contains(t, line, want)
	}
	m.GOMAXPROCS = 2
	assert.Contains(t, m.Line(1), "GOMAXPROCS=1 for the runs (the process's: 2)")
	assert.Contains(t, m.Line(2), "GOMAXPROCS=2,")
}

// TestRayNames: every benchmark says whether Ray's microbenchmark has it
// and under what name; the table marks raysim's own ones and says its
// spread is within one invocation (qa29 #18, #21).
func TestRayNames(t *testing.T) {
	own := map[string]bool{}
	for _, m := range Micros() {
		if m.RayName == "" {
			own[m.Name] = true
		}
	}
	assert.Equal(t, map[string]bool{"single_client_get_gigabytes": true, "placement_tasks_with_resources": true}, own)
	out := Format([]Result{{Name: "placement_tasks_with_resources", Unit: "ops/s", Median: 1}, {Name: "single_client_tasks_sync", RayName: "single_client_tasks_sync", Unit: "ops/s", Median: 1}})
	assert.Contains(t, out, "placement_tasks_with_resources *")
	assert.NotContains(t, out, "single_client_tasks_sync *")
	assert.Contains(t, out, "raysim's own benchmark")
	assert.True(t, strings.Contains(out, "this one invocation"))
}

// TestProfileYAMLRanges: a calibrated profile names the run (raysim,
// date, load) in its header and each measured cost's range over the
// calibration's repeats in its comment, and still loads as a costs file.
func TestProfileYAMLRanges(t *testing.T) {
	cal := Calibration{Machine: ThisMachine(), Sources: map[string]string{"dispatch": "how"},
		RangeUs: map[string][2]float64{"dispatch": {3.5, 12.75}}}
	cal.Machine.Finish()
	cal.Profile.Dispatch = 4 * time.Microsecond
	y := cal.ProfileYAML()
	assert.Contains(t, y, "raysim "+cal.Machine.Raysim)
	assert.Contains(t, y, "started "+cal.Machine.Started)
	assert.Contains(t, y, "dispatch: 4000ns   # how [range 3500..12750ns]")
	path := t.TempDir() + "/p.yaml"
	require.NoError(t, os.WriteFile(path, []byte(y), 0o644))
	c, err := scenarios.LoadCosts(path)
	require.NoError(t, err)
	p, err := c.Resolve()
	require.NoError(t, err)
	assert.Equal(t, 4*time.Microsecond, p.Dispatch)
}
