package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

// TestBenchRefusesBadCounts: bench's counts and durations are refused
// (exit 2), not replaced by defaults (--repeat 0 ran 3 and printed a
// command saying so) or run into NaN results and a JSON report of nothing
// (--scale-tasks 0), or a panic (--scale-tasks -150).
func TestBenchRefusesBadCounts(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--filter", "^single_client_get_calls_Plasma_Store$", "--repeat", "0"},
		{"--filter", "^single_client_get_calls_Plasma_Store$", "--repeat", "-1"},
		{"--filter", "^single_client_get_calls_Plasma_Store$", "--duration", "-1s"},
		{"--scale", "--scale-tasks", "0", "--sweep", "", "--pending", "0"},
		{"--scale", "--scale-tasks", "-150", "--sweep", "", "--pending", "0"},
		{"--scale", "--sweep-tasks-per-node", "0", "--pending", "0"},
		{"--scale", "--repeat", "0", "--sweep", "", "--pending", "0"},
		{"--scale", "--pending", "-1"},
		{"--gcs-flush", "-1"},
		{"--es", "--es-go-step", "-1us"},
	} {
		code, out, errOut := call(t, append([]string{"bench"}, args...)...)
		assert.Equal(t, exitUsage, code, "raysim bench %s: stdout %q stderr %q", strings.Join(args, " "), out, errOut)
		assert.Contains(t, errOut, "want", strings.Join(args, " "))
	}
}

// TestBenchCommandKeepsDuration: the printed reproduce command of a
// microbenchmark run with --duration names it (it reran at 500ms).
func TestBenchCommandKeepsDuration(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "bench", "--filter", "^single_client_get_calls_Plasma_Store$", "--repeat", "1", "--duration", "20ms", "--json")
	require.Equal(t, exitOK, code, errOut)
	var rep benchReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Micro, 1)
	assert.Equal(t, "raysim bench --filter '^single_client_get_calls_Plasma_Store$' --repeat 1 --duration 20ms", rep.Micro[0].Command)
}

// TestProfileFileReadAsScenariosDo: calibrate --profile reads a costs file
// exactly as a scenario naming it does (scenarios.LoadCosts): it had a
// parser of its own that skipped garbage, took negative durations, let a
// later profile line wipe earlier keys and read an empty file as zero
// where scenarios read the default.
func TestProfileFileReadAsScenariosDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		bad        bool
	}{
		{"base then key", "profile: zero\ndispatch: 7us\n", false},
		{"key then base", "dispatch: 7us\nprofile: default\n", false},
		{"empty", "", false},
		{"garbage", "hello world\n", true},
		{"negative", "dispatch: -5us\n", true},
		{"unknown op", "dispach: 5us\n", true},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "p.yaml")
		require.NoError(t, os.WriteFile(file, []byte(tc.body), 0o644))
		got, err := readProfile(file)
		sc := filepath.Join(dir, "s.yaml")
		require.NoError(t, os.WriteFile(sc, []byte("cluster:\n  nodes: [{name: n, cpus: 1}]\n  costs: {profile: p.yaml}\n"+
			"workload:\n  - {generator: parallel, params: {tasks: 1, duration: 0s}}\n"), 0o644))
		s, serr := scenarios.Load(sc)
		if tc.bad {
			assert.Error(t, err, tc.name)
			assert.Error(t, serr, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.NoError(t, serr, tc.name)
		want, err := s.Cluster.Costs.Resolve()
		require.NoError(t, err, tc.name)
		assert.Equal(t, want, got, tc.name)
	}
}

// TestCalibrateRefusesBadFlags: calibrate's flags are checked before the
// ~15 s of measuring (a negative --latency failed only after it, exit 1).
func TestCalibrateRefusesBadFlags(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(prof, []byte("profile: default\n"), 0o644))
	for _, args := range [][]string{
		{"--repeat", "0"},
		{"--duration", "0s"},
		{"--latency", "-5us"},
		{"--profile", prof, "-o", filepath.Join(t.TempDir(), "out.yaml")},
	} {
		var out, errOut bytes.Buffer
		code := cmdCalibrate(args, &out, &errOut)
		assert.Equal(t, exitUsage, code, "raysim calibrate %s: %s", strings.Join(args, " "), errOut.String())
	}
}

// TestCalibrateChecksFidelityScenariosFirst: a --fidelity scenario that
// does not load (a missing file, a bad --set) is a usage error, exit 2 as
// for `raysim run` ("a contract for scripts"), found before the ~15 s of
// measuring. It was loaded only after the measurement and failed with exit
// 1. A scenario with faults (tiny.yaml pauses a node) is refused too: TCP
// does not apply faults, so the two sides would not run the same thing.
func TestCalibrateChecksFidelityScenariosFirst(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(prof, []byte("profile: default\n"), 0o644))
	for _, args := range [][]string{
		{"--fidelity", filepath.Join(t.TempDir(), "missing.yaml")},
		{"--fidelity", "testdata/bad.yaml"},
		{"--fidelity", "testdata/tiny.yaml", "--set", "workload.0.params.taskz=1"},
		{"--fidelity", "testdata/tiny.yaml"},
	} {
		var out, errOut bytes.Buffer
		code := cmdCalibrate(append([]string{"--profile", prof}, args...), &out, &errOut)
		assert.Equal(t, exitUsage, code, "raysim calibrate %s: %s", strings.Join(args, " "), errOut.String())
	}
}

// TestCalibrateFidelityFlagsNeedFidelity: --profile (which measures
// nothing), --set, --repeat and --latency only shape --fidelity checks.
// Without --fidelity, `raysim calibrate --profile p.yaml` did nothing,
// printed nothing (or "{}" with --json) and exited 0, as if a check had
// passed.
func TestCalibrateFidelityFlagsNeedFidelity(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(prof, []byte("profile: default\n"), 0o644))
	for _, args := range [][]string{
		{"--profile", prof},
		{"--profile", prof, "--json"},
		{"--profile", prof, "--set", "workload.0.params.tasks=10", "--repeat", "5", "--latency", "3us"},
	} {
		var out, errOut bytes.Buffer
		code := cmdCalibrate(args, &out, &errOut)
		assert.Equal(t, exitUsage, code, "raysim calibrate %s: stdout %q stderr %q", strings.Join(args, " "), out.String(), errOut.String())
	}
}

// TestBenchRefusesIgnoredFlags: bench runs one kind of benchmark. --es
// took --repeat and ran once (its report has no repeats, its command no
// --repeat); --scale with --es ran the scale runs only, and --gcs-flush
// with --scale or --es the flush only, each exiting 0 as if all had run.
func TestBenchRefusesIgnoredFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--es", "--repeat", "2", "--filter", "^none$"},
		{"--scale", "--es", "--filter", "^none$", "--pending", "0"},
		{"--gcs-flush", "10", "--scale", "--filter", "^none$", "--pending", "0"},
		{"--gcs-flush", "10", "--es", "--filter", "^none$"},
		{"--scale", "--es-go-step", "1us", "--filter", "^none$", "--pending", "0"},
	} {
		code, out, errOut := call(t, append([]string{"bench", "--json"}, args...)...)
		assert.Equal(t, exitUsage, code, "raysim bench %s: stdout %q stderr %q", strings.Join(args, " "), out, errOut)
	}
}

// TestBenchESGoCostRowsShareOneStepCost: the gocost rows of one `bench
// --es` use one Go step cost measured once (each measured its own in wall
// time, so rows of one invocation did not compare: qa29 #11), carry no
// paper rate (theirs is another step cost), and their commands fix the
// cost; --es-go-step sets it.
func TestBenchESGoCostRowsShareOneStepCost(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "bench", "--es", "--filter", "^es_sim_(1|16)cpu_gocost$", "--json")
	require.Equal(t, exitOK, code, errOut)
	var rep benchReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.ES, 2)
	assert.Positive(t, rep.ES[0].StepCostUs)
	assert.Equal(t, rep.ES[0].StepCostUs, rep.ES[1].StepCostUs)
	for _, r := range rep.ES {
		assert.Zero(t, r.PaperRay, r.Name)
		assert.Contains(t, r.Command, "--es-go-step ", r.Name)
	}
	code, out, errOut = call(t, "bench", "--es", "--filter", "^es_sim_1cpu_gocost$", "--es-go-step", "1.5us", "--json")
	require.Equal(t, exitOK, code, errOut)
	rep = benchReport{}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.ES, 1)
	assert.Equal(t, 1.5, rep.ES[0].StepCostUs)
	assert.Contains(t, rep.ES[0].Command, "--es-go-step 1.5µs")
}
