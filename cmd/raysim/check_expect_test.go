package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"raysim/scenarios"
)

// QA qa28 item 3: check ignored the scenario's expect section without a
// word (an impossible latency bound passed), yet the failure files it
// wrote kept those expectations, so a replay could fail on bounds the
// search never evaluated. Right: -h and a note say expect is not checked;
// a failure file expects only the invariant violated, the scenario's own
// expectations left out as header comments.
func TestCheckSaysExpectIsNotCheckedAndLeavesItOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off", "-o", dir,
		"--max-faults", "0", "--shrink-budget", "0", "--settle", "1ns", "--horizon", "1ms", "--set", "seed=7",
		"--set", "duration_limit=1h", "--set", "expect.finish_by=null", "--set", "expect.latency.p50=1us",
		"--set", "workload.0.params.tasks=1", "--set", "workload.0.params.duration={dist: uniform, min: 1ms, max: 1s}")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (a liveness failure)\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "testdata/tiny.yaml's expect section is not checked") {
		t.Errorf("no note that expect is not checked:\n%s", errOut)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	s, err := scenarios.Load(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := (scenarios.Expect{Invariants: []string{"liveness"}}); s.Expect.AllComplete || s.Expect.ResultsCorrect ||
		s.Expect.Latency != want.Latency || len(s.Expect.Invariants) != 1 || s.Expect.Invariants[0] != "liveness" {
		t.Errorf("the failure file expects %+v, want only invariants [liveness]", s.Expect)
	}
	data, _ := os.ReadFile(files[0])
	for _, want := range []string{"# The scenario searched expected more, left out here", "#     all_complete: true", "#     latency: {p50: 1us}"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q:\n%s", files[0], want, data)
		}
	}
	code, rout, rerr := call(t, "run", files[0])
	if code != exitFailed || !strings.Contains(rout, "FAIL invariant liveness") || strings.Contains(rout, "FAIL latency") || strings.Contains(rout, "FAIL all_complete") {
		t.Errorf("replay: exit %d\n%s\n%s", code, rout, rerr)
	}
	_, _, help := call(t, "check", "-h")
	if !strings.Contains(help, "expect section is not\nchecked") {
		t.Errorf("check -h does not say expect is not checked:\n%s", help)
	}
}
