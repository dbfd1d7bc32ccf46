package main

import (
	"bytes"
	"strings"
	"testing"

	"raysim/scenarios/runner"
)

// TestLiveDigestSaysItIdentifiesNothing: a live run's summary printed its
// digest as a simulated run's, though it changes on every run; the text
// now says so beside it (--json: digest_reproducible false).
func TestLiveDigestSaysItIdentifiesNothing(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, &runner.Result{Scenario: "q", Transport: "remote", Clock: "wall", Digest: "abc", OK: true})
	if !strings.Contains(out.String(), "digest: abc (remote: wall-clock times, differs on every run, identifies nothing)\n") {
		t.Errorf("live summary:\n%s", out.String())
	}
	out.Reset()
	printSummary(&out, &runner.Result{Scenario: "q", Transport: "sim", Clock: "virtual", Digest: "abc", DigestReproducible: true, OK: true})
	if !strings.Contains(out.String(), "\ndigest: abc\n") {
		t.Errorf("sim summary:\n%s", out.String())
	}
}
