package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// call runs raysim with args and returns the exit code, stdout and stderr.
func call(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := dispatch(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunPasses(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "testdata/tiny.yaml")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"scenario  tiny", "tasks ", "latency ", "expect", "ok   all_complete",
		"ok   results_correct", "faults    1 injected", "digest: ", "PASS tiny seed=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr not empty when it is not a terminal: %q", errOut)
	}
}

func TestRunQuickstartShort(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "../../scenarios/quickstart.yaml", "--set", "workload.0.params.tasks=200", "-q")
	if code != exitOK || !strings.HasPrefix(out, "PASS quickstart seed=42 digest=") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func TestRunFailedExpectationExits1(t *testing.T) {
	t.Parallel()
	code, out, _ := call(t, "run", "testdata/impossible.yaml")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "FAIL latency.max") || !strings.Contains(out, "FAIL impossible seed=3") {
		t.Errorf("summary does not show the failed expectation:\n%s", out)
	}
	// One failing file among passing ones still fails the command.
	if code, _, _ := call(t, "run", "testdata/tiny.yaml", "testdata/impossible.yaml", "-q"); code != exitFailed {
		t.Errorf("two files, one failing: exit %d, want 1", code)
	}
}

func TestRunBadScenarioExits2(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "testdata/bad.yaml")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	if out != "" {
		t.Errorf("stdout not empty: %q", out)
	}
	// Every error, each as file:line:col: field: message.
	for _, re := range []string{
		`testdata/bad.yaml:4:\d+: cluster\.nodes\.0\.colour: unknown key`,
		`testdata/bad.yaml:7:\d+: workload\.0\.params\.tasks: an integer >= 0 \(got -5\)`,
	} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("stderr lacks %s:\n%s", re, errOut)
		}
	}
	if code, _, errOut := call(t, "run", "testdata/missing.yaml"); code != exitUsage || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := call(t, "run", "testdata/tiny.yaml", "--set", "cluster.nodes.0.cpus=-1"); code != exitUsage ||
		!strings.Contains(errOut, "cluster.nodes.0.cpus") {
		t.Errorf("bad --set: exit %d, stderr %q", code, errOut)
	}
}

func TestRunBadFlagsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"run"},
		{"run", "testdata/tiny.yaml", "--no-such-flag"},
		{"run", "testdata/tiny.yaml", "--seed", "seven"},
		{"run", "testdata/tiny.yaml", "--seed", ""},
		{"run", "testdata/tiny.yaml", "--set", "seed="},
		{"validate", "testdata/tiny.yaml", "--set", "workload.0.params.tasks="},
		{"sweep", "testdata/tiny.yaml", "--seeds", "1", "--set", "workload.0.params.tasks="},
		{"check", "testdata/tiny.yaml", "--seed", ""},
		{"run", "testdata/tiny.yaml", "--set"},
		{"frobnicate"},
		{"help", "frobnicate"},
		{"--help", "frobnicate"},
		{"help", "run", "sweep"},
		{},
	} {
		if code, _, errOut := call(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d (want 2), stderr %q", args, code, errOut)
		}
	}
}

func TestRunJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--json", "--seed", "5")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	// The fields issue 4 lists.
	for _, k := range []string{"scenario", "seed", "transport", "tasks_submitted", "tasks_completed", "tasks_failed",
		"tasks_retried", "objects_lost", "objects_reconstructed", "faults_injected", "virtual_seconds", "wall_seconds",
		"events", "events_per_second", "throughput", "latency_ms", "expectations", "ok", "digest"} {
		if _, ok := got[k]; !ok {
			t.Errorf("--json lacks %q", k)
		}
	}
	lat, _ := got["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q: %v", k, got["latency_ms"])
		}
	}
	exps, _ := got["expectations"].([]any)
	if len(exps) != 3 {
		t.Fatalf("expectations: %v", got["expectations"])
	}
	for _, e := range exps {
		m, _ := e.(map[string]any)
		for _, k := range []string{"name", "ok", "detail"} {
			if _, ok := m[k]; !ok {
				t.Errorf("expectation %v lacks %q", e, k)
			}
		}
	}
	if got["scenario"] != "tiny" || got["seed"] != 5.0 || got["transport"] != "sim" || got["ok"] != true {
		t.Errorf("scenario/seed/transport/ok = %v/%v/%v/%v", got["scenario"], got["seed"], got["transport"], got["ok"])
	}
	if d, _ := got["digest"].(string); len(d) < 16 {
		t.Errorf("digest %q", got["digest"])
	}
	// The same seed gives the same digest; another seed another one.
	_, again, _ := call(t, "run", "testdata/tiny.yaml", "--json", "--seed", "5")
	var g2 map[string]any
	json.Unmarshal([]byte(again), &g2)
	if g2["digest"] != got["digest"] {
		t.Errorf("seed 5 twice: digests %v, %v", got["digest"], g2["digest"])
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "validate", "testdata/tiny.yaml", "testdata/impossible.yaml")
	if code != exitOK || !strings.Contains(out, "testdata/tiny.yaml: ok (tiny: 3 nodes, 2 workload entries, 1 fault)") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, _, errOut = call(t, "validate", "testdata/tiny.yaml", "testdata/bad.yaml")
	if code != exitUsage || !regexp.MustCompile(`testdata/bad.yaml:4:\d+: `).MatchString(errOut) {
		t.Errorf("bad file: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := call(t, "validate"); code != exitUsage {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := call(t, "--help")
	if code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	if code, _, errOut := call(t, "help", "run"); code != exitOK || !strings.Contains(errOut, "Usage: raysim run") {
		t.Errorf("help run: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := call(t, "help", "frobnicate"); !strings.Contains(errOut, `raysim help: unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: exit %d\n%s", code, errOut)
	}
	for _, c := range []string{"run", "validate", "sweep"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("--help does not list %q:\n%s", c, out)
		}
		code, _, errOut := call(t, c, "-h")
		if code != exitOK || !strings.Contains(errOut, "Usage: raysim "+c) {
			t.Errorf("%s -h: exit %d\n%s", c, code, errOut)
		}
	}
}

// TestRunUnfinishedFails: drivers still running at the duration limit fail
// the run (exit 1) even with no expectations, and the summary, the JSON and
// a sweep say which drivers.
func TestRunUnfinishedFails(t *testing.T) {
	t.Parallel()
	cut := []string{"testdata/tiny.yaml", "--set", "duration_limit=5ms", "--set", "expect={}"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"summary", append([]string{"run"}, cut...), exitFailed, []string{
			"unfinished 2 of 2 drivers still running at the duration limit 5ms: tasks driver 0 on head, rl driver 0 on head\n",
			"FAIL tiny seed=3"}},
		{"json", append([]string{"run", "--json"}, cut...), exitFailed, []string{
			`"unfinished":"2 of 2 drivers still running at the duration limit 5ms: `, `"drivers_unfinished":[0]`, `"ok":false`}},
		{"quiet", append([]string{"run", "-q"}, cut...), exitFailed, []string{"FAIL tiny seed=3"}},
		{"sweep", append([]string{"sweep", "--seeds", "1-2"}, cut...), exitFailed, []string{
			"seed 1: unfinished: 2 of 2 drivers still running at the duration limit 5ms", "0 passed, 2 failed"}},
		{"finished", []string{"run", "testdata/tiny.yaml", "--set", "expect={}"}, exitOK, []string{"PASS tiny"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := call(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if tc.code == exitOK && strings.Contains(out, "unfinished") {
				t.Errorf("a finished run mentions unfinished drivers:\n%s", out)
			}
		})
	}
}

// TestDefaultDemandInfeasible: the default {CPU: 1} demand is checked like
// a written one, by validate and run alike (exit 2, file:line:col: field).
func TestDefaultDemandInfeasible(t *testing.T) {
	t.Parallel()
	want := "testdata/bad-nocpu.yaml:7:5: workload.0.resources: a demand that at least one node can meet (got CPU: 1, the default when resources is not given; no node has that much)\n"
	for _, args := range [][]string{
		{"validate", "testdata/bad-nocpu.yaml"},
		{"run", "testdata/bad-nocpu.yaml"},
	} {
		code, out, errOut := call(t, args...)
		if code != exitUsage || out != "" || errOut != want {
			t.Errorf("%q: exit %d (want 2)\nstdout: %q\nstderr: %q\nwant:   %q", args, code, out, errOut, want)
		}
	}
	// A node with a CPU makes it feasible.
	if code, _, errOut := call(t, "validate", "testdata/bad-nocpu.yaml", "--set", "cluster.nodes.0.cpus=1"); code != exitOK {
		t.Errorf("cpus=1: exit %d: %s", code, errOut)
	}
}

// TestSetEmptyValueNamesOverride: an empty --set value for a scalar is an
// error that names the override (a script's --set seed=$SEED with SEED
// unset), and so is one a --set override causes elsewhere.
func TestSetEmptyValueNamesOverride(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set, want string
	}{
		{"seed=", "--set seed=: seed: a value after '=' (got nothing; the file has 3 there); "},
		{"workload.0.params.tasks=", "--set workload.0.params.tasks=: workload.0.params.tasks: a value after '=' (got nothing; the file has 40 there); "},
		{"workload=", "--set workload=: workload: at least one workload entry (got an empty list)\n"},
	} {
		code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--set", tc.set)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("--set %s: exit %d (want 2)\nstdout: %q\nstderr: %q\nwant prefix: %q", tc.set, code, out, errOut, tc.want)
		}
	}
	// Clearing a mapping still works: no expectations, the run passes.
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--set", "expect=", "-q"); code != exitOK || !strings.HasPrefix(out, "PASS tiny") {
		t.Errorf("--set expect=: exit %d\n%s%s", code, out, errOut)
	}
}

// TestNoFollowOnErrors: a broken node count is reported once, without the
// errors it causes (no nodes at all, faults naming the group's nodes).
func TestNoFollowOnErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"cluster.nodes.1.count=-1"}, "--set cluster.nodes.1.count=-1: cluster.nodes.1.count: an integer >= 0 (got -1)\n"},
		{[]string{"cluster.nodes.0.count=0", "cluster.nodes.1.count=x"}, "--set cluster.nodes.1.count=x: cluster.nodes.1.count: an integer >= 0 (got \"x\")\n"},
		{[]string{"cluster="}, "--set cluster=: cluster.nodes: a list of node groups (got nothing)\n"},
	} {
		args := []string{"validate", "../../scenarios/quickstart.yaml"}
		for _, s := range tc.sets {
			args = append(args, "--set", s)
		}
		if code, _, errOut := call(t, args...); code != exitUsage || errOut != tc.want {
			t.Errorf("%q: exit %d\ngot:  %q\nwant: %q", tc.sets, code, errOut, tc.want)
		}
	}
}

// TestTCPTrace: run --tcp --trace records the run's runtime events with
// transport tcp (a digest, an event count), and replay refuses such a
// trace with a clear error instead of reporting a divergence.
func TestTCPTrace(t *testing.T) {
	t.Parallel()
	tr := t.TempDir() + "/tcp.trace"
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--tcp", "--trace", tr, "--set", "faults=")
	if code != exitOK {
		t.Fatalf("run --tcp: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, re := range []string{`transport tcp\n`, `\nspeed     [1-9]\d* events`, `\ndigest: [0-9a-f]{32} \(tcp: wall-clock times, differs on every run, identifies nothing\)\n`, `PASS tiny seed=3 digest=[0-9a-f]{32}\n`, `\ntime      [0-9.]+s wall \(no virtual time on tcp\)\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary lacks %s:\n%s", re, out)
		}
	}
	code, stats, errOut := call(t, "trace", "stats", tr)
	if code != exitOK || !strings.Contains(stats, ", transport tcp, ") || regexp.MustCompile(`records\s+0 `).MatchString(stats) {
		t.Errorf("trace stats: exit %d\n%s\n%s", code, stats, errOut)
	}
	code, out, errOut = call(t, "replay", tr)
	if code != exitUsage || strings.Contains(out, "DIVERGED") || !strings.Contains(errOut, "a tcp trace cannot be replayed") {
		t.Errorf("replay of a tcp trace: exit %d (want 2)\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// A simulator trace says transport sim and replays.
	sim := t.TempDir() + "/sim.trace"
	if code, _, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", sim, "-q"); code != exitOK {
		t.Fatalf("run --trace: exit %d: %s", code, errOut)
	}
	if _, stats, _ := call(t, "trace", "stats", sim); !strings.Contains(stats, ", transport sim, ") {
		t.Errorf("sim trace stats:\n%s", stats)
	}
	if code, out, errOut := call(t, "replay", sim); code != exitOK || !strings.HasPrefix(out, "OK ") {
		t.Errorf("replay of a sim trace: exit %d\n%s%s", code, out, errOut)
	}
}

// TestProgressFlag: run, sweep and check take the same --progress values
// and reject any other as a bad flag (exit 2).
func TestProgressFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"run", "testdata/tiny.yaml", "-q", "--progress", "maybe"}, exitUsage},
		{[]string{"sweep", "testdata/tiny.yaml", "--seeds", "1", "--progress", "maybe"}, exitUsage},
		{[]string{"check", "testdata/tiny.yaml", "--runs", "1", "--progress", "maybe"}, exitUsage},
		{[]string{"run", "testdata/tiny.yaml", "-q", "--progress", "off"}, exitOK},
		{[]string{"sweep", "testdata/tiny.yaml", "--seeds", "1", "--progress", "off"}, exitOK},
	} {
		code, _, errOut := call(t, tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
		}
		if tc.code == exitUsage && !strings.Contains(errOut, `invalid value "maybe" for flag -progress: want auto, on or off`) {
			t.Errorf("%q: stderr %q", tc.args, errOut)
		}
	}
}

// TestReplayLimit: --limit bounds the rows of each table of the state dump;
// 0 shows them all; a negative limit is a bad flag.
func TestReplayLimit(t *testing.T) {
	t.Parallel()
	tr := t.TempDir() + "/run.trace"
	if code, _, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", tr, "-q", "--set", "workload.0.params.tasks=400"); code != exitOK {
		t.Fatalf("run --trace: exit %d: %s", code, errOut)
	}
	more := regexp.MustCompile(`\.\.\. \d+ more`)
	rows := func(limit string) (int, string) {
		code, out, errOut := call(t, "replay", tr, "--until", "5ms", "--limit", limit)
		if code != exitOK {
			t.Fatalf("--limit %s: exit %d: %s", limit, code, errOut)
		}
		return len(strings.Split(out, "\n")), out
	}
	n2, out2 := rows("2")
	n20, _ := rows("20")
	nAll, outAll := rows("0")
	if !more.MatchString(out2) || more.MatchString(outAll) {
		t.Errorf("--limit 2 should cut tables and --limit 0 none:\n--limit 2:\n%s\n--limit 0:\n%s", out2, outAll)
	}
	if !(n2 < n20 && n20 < nAll) {
		t.Errorf("lines: --limit 2: %d, 20: %d, 0: %d; want increasing", n2, n20, nAll)
	}
	if code, _, errOut := call(t, "replay", tr, "--limit", "-1"); code != exitUsage || !strings.Contains(errOut, "--limit -1") {
		t.Errorf("--limit -1: exit %d: %s", code, errOut)
	}
}

// TestCheckWritesWhereItSays: check writes a failing scenario to
// ./raysim-failures by default (not ./testdata/failures) and prints the
// directory. Not parallel: it changes the working directory.
func TestCheckWritesWhereItSays(t *testing.T) {
	file, err := filepath.Abs("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	// Work that overruns a 1ns liveness bound at another seed than the
	// base's own (one task of 1ms..1s: at seed 7 it takes 12ms, the
	// fault-free run before the search; at others longer than twice
	// that): liveness fails at once.
	code, out, errOut := call(t, "check", file, "--runs", "1", "--max-faults", "0", "--shrink-budget", "0",
		"--settle", "1ns", "--horizon", "1ms", "--set", "seed=7", "--set", "duration_limit=1h",
		"--set", "workload.0.params.tasks=1", "--set", "workload.0.params.duration={dist: uniform, min: 1ms, max: 1s}", "--set", "expect.finish_by=null")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	want := filepath.Join(dir, "raysim-failures")
	if !strings.Contains(out, "wrote 1 failing scenario to "+want+"\n") {
		t.Errorf("summary does not say where it wrote (%s):\n%s", want, out)
	}
	if m, _ := filepath.Glob(filepath.Join(want, "*.yaml")); len(m) != 1 {
		t.Errorf("files in %s: %v", want, m)
	}
	if _, err := os.Stat(filepath.Join(dir, "testdata")); !os.IsNotExist(err) {
		t.Errorf("check created ./testdata: %v", err)
	}
}

// TestRunWarnsOfUnmatchedFault: a kill_actor that names no live actor is
// said on stderr, not silently injected as nothing.
func TestRunWarnsOfUnmatchedFault(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "../../scenarios/quickstart.yaml", "--set", "workload.0.params.tasks=200", "-q",
		"--set", "faults.2={at: 400ms, kill_actor: nobody}")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, `warning: kill_actor at 400ms: no live actor named "nobody"`) {
		t.Errorf("no warning on stderr: %q", errOut)
	}
}

// TestBenchScaleRepeat: --repeat with --scale makes each scale run that many
// times and reports the median, in the table and in the JSON.
func TestBenchScaleRepeat(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "bench", "--scale", "--sweep", "3", "--sweep-tasks-per-node", "100", "--filter", "^sim_3nodes", "--pending", "0", "--repeat", "2", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rep.Scale) != 1 {
		t.Fatalf("%d scale results, want 1:\n%s", len(rep.Scale), out)
	}
	r := rep.Scale[0]
	if r.Repeats != 2 || r.TasksPerWallSecGCSMin > r.TasksPerWallSecGCS || r.TasksPerWallSecGCS > r.TasksPerWallSecGCSMax || !strings.HasSuffix(r.Command, "--repeat 2") {
		t.Errorf("repeats %d, tasks/wall-s %v in [%v, %v], command %q", r.Repeats, r.TasksPerWallSecGCS, r.TasksPerWallSecGCSMin, r.TasksPerWallSecGCSMax, r.Command)
	}
	if code, _, errOut := call(t, "bench", "--scale", "--repeat", "0"); code != exitUsage || !strings.Contains(errOut, "--repeat") {
		t.Errorf("--repeat 0: exit %d, stderr %q", code, errOut)
	}
}

// TestCheckRefusesBadCounts: check's counts and fault list are refused when
// they make no sense (exit 2), not replaced by defaults: --max-failures 0
// ran as 1, --shrink-budget -5 as 200, --faults "," as the default kinds.
// --shrink-budget 0 means no shrinking.
func TestCheckRefusesBadCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-failures", "0"}, "--max-failures"},
		{[]string{"--max-failures", "-1"}, "--max-failures"},
		{[]string{"--shrink-budget", "-5"}, "--shrink-budget -5: want a number of runs >= 0"},
		{[]string{"--faults", ","}, "--faults: no fault kind given"},
		{[]string{"--faults", ""}, "--faults: no fault kind given"},
	} {
		args := append([]string{"check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off"}, tc.args...)
		code, _, errOut := call(t, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off", "--shrink-budget", "0"); code != exitOK {
		t.Errorf("--shrink-budget 0: exit %d\n%s", code, errOut)
	}
}
