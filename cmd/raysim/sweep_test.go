package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"raysim/scenarios/runner"
)

func TestSweepAllPass(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "sweep", "testdata/tiny.yaml", "--seeds", "1-8", "-j", "4")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"seeds     8 run of 8, 8 passed, 0 failed", "PASS tiny 8/8 seeds passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("no progress bar when stderr is not a terminal; got %q", errOut)
	}
}

func TestSweepFailuresReplay(t *testing.T) {
	t.Parallel()
	code, out, _ := call(t, "sweep", "testdata/impossible.yaml", "--seeds", "3,9-10", "--set", "workload.0.params.tasks=5")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, seed := range []string{"3", "9", "10"} {
		want := "raysim run testdata/impossible.yaml --seed " + seed + " --set workload.0.params.tasks=5\n"
		if !strings.Contains(out, want) {
			t.Errorf("no replay command %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "0 passed, 3 failed") || !strings.Contains(out, "latency.max") {
		t.Errorf("summary:\n%s", out)
	}
	// The replay command reproduces the failure.
	if code, _, _ := call(t, "run", "testdata/impossible.yaml", "--seed", "9", "--set", "workload.0.params.tasks=5", "-q"); code != exitFailed {
		t.Errorf("replay: exit %d, want 1", code)
	}
}

func TestSweepJSONDeterministic(t *testing.T) {
	t.Parallel()
	run := func(j string) map[int64]string {
		code, out, errOut := call(t, "sweep", "testdata/impossible.yaml", "--seeds", "1-6", "-j", j, "--json")
		if code != exitFailed {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		var rep sweepReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Seeds != 6 || rep.Run != 6 || rep.Failed != 6 || rep.OK || len(rep.Failures) != 6 {
			t.Fatalf("report: %+v", rep)
		}
		d := map[int64]string{}
		for _, f := range rep.Failures {
			d[f.Seed] = f.Digest
			if f.Replay == "" || len(f.Failed) == 0 {
				t.Errorf("failure without replay or expectation: %+v", f)
			}
		}
		return d
	}
	// One goroutine or many: every seed's run is the same.
	if a, b := run("1"), run("6"); !reflect.DeepEqual(a, b) {
		t.Errorf("digests differ between -j 1 and -j 6:\n%v\n%v", a, b)
	}
}

func TestSweepBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sweep", "testdata/tiny.yaml"},                   // no --seeds
		{"sweep", "--seeds", "1-3"},                       // no file
		{"sweep", "testdata/tiny.yaml", "--seeds", "x"},   // bad range
		{"sweep", "testdata/tiny.yaml", "--seeds", "9-1"}, // backwards
		{"sweep", "testdata/tiny.yaml", "--seeds", "1-3", "-j", "0"},
		{"sweep", "testdata/tiny.yaml", "testdata/tiny.yaml", "--seeds", "1"},
		{"sweep", "testdata/tiny.yaml", "--seeds", "1", "--set", "seed=4"},
		{"sweep", "testdata/tiny.yaml", "--seeds", "1", "--bogus"},
		{"sweep", "testdata/bad.yaml", "--seeds", "1-3"},
	} {
		if code, _, errOut := call(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d (want 2), stderr %q", args, code, errOut)
		}
	}
}

func TestParseSeeds(t *testing.T) {
	got, err := parseSeeds("5, 1-3,2,-1")
	if err != nil || !reflect.DeepEqual(got, []int64{-1, 1, 2, 3, 5}) {
		t.Errorf("parseSeeds = %v, %v", got, err)
	}
	if _, err := parseSeeds("1-100000000"); err == nil {
		t.Error("a hundred million seeds accepted")
	}
	if q := replayCommand("my dir/x.yaml", 3, []string{"workload.0.params.duration={dist: uniform, min: 1ms, max: 2ms}"}); q !=
		`raysim run 'my dir/x.yaml' --seed 3 --set 'workload.0.params.duration={dist: uniform, min: 1ms, max: 2ms}'` {
		t.Errorf("replayCommand = %s", q)
	}
}

// TestSweepAllAndSpread: --json reported nothing of the passing seeds, so
// comparing a setting's tail latency over many seeds needed a shell loop
// of raysim run (QA). --all lists every seed's outcome, and the summary
// gives the spread of virtual time, throughput and p99 latency.
func TestSweepAllAndSpread(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "sweep", "testdata/tiny.yaml", "--seeds", "1-4", "--json", "--all")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep sweepReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 4 {
		t.Fatalf("results: %d, want every seed's", len(rep.Results))
	}
	for i, r := range rep.Results {
		if r.Seed != int64(i+1) || r.Digest == "" || r.Virtual <= 0 || r.Throughput <= 0 || r.LatencyMs.Max <= 0 {
			t.Errorf("seed %d: %+v", i+1, r)
		}
	}
	_, out, _ = call(t, "sweep", "testdata/tiny.yaml", "--seeds", "1-4")
	if !strings.Contains(out, "spread    over 4 seeds, median (min-max): virtual time ") {
		t.Errorf("no spread line:\n%s", out)
	}
	if _, out, _ = call(t, "sweep", "testdata/tiny.yaml", "--seeds", "1-4", "--all"); !strings.Contains(out, "  seed 3: PASS digest ") {
		t.Errorf("--all without --json lists no seed:\n%s", out)
	}
	if _, out, _ = call(t, "sweep", "testdata/tiny.yaml", "--seeds", "1-4", "--json"); strings.Contains(out, `"results"`) {
		t.Errorf("results without --all:\n%s", out)
	}
}

// TestSpreadLeavesOutUnfinished: a seed whose drivers did not finish (cut
// off at duration_limit, or a driver lost with its node) has a virtual
// time that is no makespan; sweep's spread line mixed such seeds into its
// medians (QA32 #22). They are left out, and the line says how many.
func TestSpreadLeavesOutUnfinished(t *testing.T) {
	done := func(v float64) seedOutcome {
		return seedOutcome{Virtual: v, Throughput: 100 / v, LatencyMs: runner.Latency{P99: v}}
	}
	cut := done(30)
	cut.Unfinished = "1 of 4 drivers still waiting when the run ended"
	got := spread([]seedOutcome{done(1), cut, done(2), done(3), cut})
	want := "spread    over 3 seeds (2 left out: seeds' drivers did not finish), median (min-max): virtual time 2s (1-3), "
	if !strings.HasPrefix(got, want) {
		t.Errorf("spread = %q\nwant it to begin %q", got, want)
	}
	if got := spread([]seedOutcome{done(1), done(3)}); !strings.HasPrefix(got, "spread    over 2 seeds, median (min-max): virtual time 2s (1-3)") {
		t.Errorf("spread of finished seeds = %q", got)
	}
	if got := spread([]seedOutcome{done(1), cut}); got != "spread    none: 1 of 2 seeds left out (their drivers did not finish), too few left" {
		t.Errorf("spread of one finished seed = %q", got)
	}
}
