package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"raysim/runtime/transport"
	"raysim/traces"
)

// docCommands are the `raysim ARGS` command lines of an indented block of
// a doc, backslash continuations joined, from the first line containing
// from up to the first blank line after a command.
func docCommands(t *testing.T, doc, from string) [][]string {
	t.Helper()
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, from)
	if i < 0 {
		t.Fatalf("%s lacks %q", doc, from)
	}
	var cmds [][]string
	var cur string
	for _, l := range strings.Split(text[i:], "\n") {
		s := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(s, "raysim "):
			cur = s
		case cur != "" && s != "":
			cur += " " + s
		case cur == "" && len(cmds) > 0:
			return cmds
		}
		if cur != "" && !strings.HasSuffix(cur, "\\") {
			cmds = append(cmds, strings.Fields(strings.TrimPrefix(cur, "raysim ")))
			cur = ""
		} else {
			cur = strings.TrimSuffix(cur, "\\")
		}
	}
	return cmds
}

// The scenario reference's first examples pass as written (the second
// one asked the quickstart's four nodes for 100000 tasks within 5s).
func TestDocScenarioIntroExamplesPass(t *testing.T) {
	cmds := docCommands(t, "../../docs/scenarios.md", "Run it with")
	if len(cmds) < 2 {
		t.Fatalf("found %d commands: %q", len(cmds), cmds)
	}
	for _, c := range cmds {
		for i, a := range c {
			if strings.HasPrefix(a, "scenarios/") {
				c[i] = "../../" + a
			}
		}
		if code, out, errOut := call(t, append(c, "-q")...); code != exitOK {
			t.Errorf("raysim %s: exit %d\n%s%s", strings.Join(c, " "), code, out, errOut)
		}
	}
}

// A fault that did nothing is a warning of the result (--json's warnings),
// not only a line on standard error; and warnings name nodes by the
// scenario's names, not "node 3".
func TestRunWarningsInResult(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "../../scenarios/quickstart.yaml", "--set", "workload.0.params.tasks=200", "--json",
		"--set", "faults.2={at: 100ms, restart_node: worker-0}", "--set", "cluster.nodes.1.object_store=2KiB")
	if code == exitUsage {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var r struct{ Warnings []string }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	const noop = "restart_node at 100ms: node worker-0 is up; nothing to restart"
	if !strings.Contains(errOut, noop) {
		t.Errorf("stderr lacks %q: %s", noop, errOut)
	}
	var noopSeen, named bool
	for _, w := range r.Warnings {
		noopSeen = noopSeen || w == noop
		named = named || strings.Contains(w, ": worker-1: object store over capacity")
		if regexp.MustCompile(`: node \d+: `).MatchString(w) {
			t.Errorf("warning names a node by its number: %q", w)
		}
	}
	if !noopSeen || !named {
		t.Errorf("warnings lack the no-op fault (%v) or a node named worker-1 (%v): %q", noopSeen, named, r.Warnings)
	}
}

// Flags a run would ignore are refused (exit 2) with the reason: a live
// cluster's flags without --address, --tcp with it, --buggify and
// --wire-check with either.
func TestRunRefusesIgnoredFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--head-timeout", "3s"}, "--head-timeout only with --address"},
		{[]string{"--tls-ca", "ca.pem"}, "--tls-ca only with --address"},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert only with --address"},
		{[]string{"--tls-key", "k.pem"}, "--tls-key only with --address"},
		{[]string{"--token-file", "tok"}, "--token-file only with --address"},
		{[]string{"--tcp", "--address", "127.0.0.1:1"}, "--tcp and --address: give one"},
		// The simulator's own flags (they were ignored, and the run PASSed).
		{[]string{"--address", "127.0.0.1:1", "--buggify"}, "--buggify only in the simulator"},
		{[]string{"--address", "127.0.0.1:1", "--wire-check"}, "--wire-check only in the simulator"},
		{[]string{"--tcp", "--buggify"}, "it would be ignored with --tcp"},
		{[]string{"--tcp", "--wire-check"}, "--wire-check only in the simulator"},
	} {
		code, out, errOut := call(t, append([]string{"run", "testdata/tiny.yaml", "-q"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
		}
	}
}

// ^C during a run says the run was interrupted, not "context canceled".
func TestRunInterruptedSaysSo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	f := runFlags{progress: "off"}
	code := runFiles(ctx, &f, []string{"testdata/tiny.yaml"}, &out, &errOut)
	if code != exitFailed || !strings.Contains(errOut.String(), "interrupted (Ctrl-C)") || strings.Contains(errOut.String(), "context canceled") {
		t.Errorf("exit %d, want 1 and an interruption message\nstderr: %s", code, errOut.String())
	}
}

// With several files, --trace writes one file per run and says which.
func TestRunSeveralFilesNamesTheirTraces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "multi.trace")
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "testdata/tiny.yaml", "-q", "--trace", p)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for i := range 2 {
		want := filepath.Join(dir, fmt.Sprintf("multi-%d-tiny.trace", i))
		if _, err := os.Stat(want); err != nil {
			t.Errorf("%v", err)
		}
		if !strings.Contains(errOut, "wrote "+want) {
			t.Errorf("stderr does not name %s: %s", want, errOut)
		}
	}
}

// trace stats says a --tcp trace's time is wall-clock time, and names the
// file it could not read to the end.
func TestTraceStatsClockAndFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "tcp.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--tcp", "-q", "--trace", p); code == exitUsage {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := call(t, "trace", "stats", p)
	if code != exitOK || !regexp.MustCompile(`(?m)^records\s+\d+ over \S+ wall clock,`).MatchString(out) || !strings.Contains(out, "per wall clock second") {
		t.Errorf("exit %d, want a wall-clock axis:\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.trace")
	if err := os.WriteFile(cut, data[:len(data)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = call(t, "trace", "stats", cut)
	if code != exitUsage || !strings.Contains(errOut, "raysim trace stats: "+cut+": ") {
		t.Errorf("exit %d, want 2 and an error naming %s: %s", code, cut, errOut)
	}
}

// Every command's help states its exit status, as `raysim help` says; the
// OTLP flag whose default is on shows how to turn it off.
func TestHelpStatesExitStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"validate", "bench", "calibrate"} {
		if _, _, errOut := call(t, c, "-h"); !strings.Contains(errOut, "Exit status:") {
			t.Errorf("raysim %s -h has no Exit status:\n%s", c, errOut)
		}
	}
	if _, _, errOut := call(t, "trace", "-h"); !strings.Contains(errOut, "--otlp-insecure=false") {
		t.Errorf("raysim trace -h shows --otlp-insecure, which is on by default, as the way to set it:\n%s", errOut)
	}
}

// On --address a scenario is checked against the live cluster's nodes:
// refused, it says so and lists them.
func TestRunAddressNamesLiveNodes(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	c.node("n1")
	c.waitStatus("two live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 2 })
	_, errOut, code := c.raysim(nil, "run", "--address", c.addr, filepath.Join("..", "..", "scenarios", "quickstart.yaml"))
	if code != exitUsage {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	for _, want := range []string{`faults.0.kill_node: a node name of the cluster (got "worker-1")`, "checked against the live cluster at " + c.addr, "n1", "--set faults="} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// An error that has nothing to do with the live nodes gets no such
	// note (QA: it was appended to every load error).
	_, errOut, code = c.raysim(nil, "run", "--address", c.addr, "--set", "faults=", "--set", "expect.finish_by=60s",
		filepath.Join("..", "..", "scenarios", "quickstart.yaml"))
	if code != exitUsage || !strings.Contains(errOut, "expect.finish_by: a time within duration_limit") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "checked against the live cluster") {
		t.Errorf("a duration error got the live-cluster note:\n%s", errOut)
	}
}

// TestTraceStatsJSONHeader: `trace stats --json` had no header fields (the
// text form's scenario, seed, transport, version, overrides lines), so a
// script could not learn which run a trace is of. It now has them, beside
// the keys it had.
func TestTraceStatsJSONHeader(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "tiny.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "-q", "--seed", "7", "--set", "duration_limit=5s", "--trace", p); code == exitUsage {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := call(t, "trace", "stats", p, "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"records", "end_ns", "digest", "by_kind", "by_node", "per_second", "by_message", "bytes_sent", "clock",
		"scenario", "file", "seed", "overrides", "transport", "version", "buggify"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	if m["file"] != "testdata/tiny.yaml" || m["seed"] != float64(7) || m["transport"] != "sim" || m["buggify"] != false || m["scenario"] == "" {
		t.Errorf("header fields: %v", m)
	}
	if ov, _ := m["overrides"].([]any); len(ov) != 2 || ov[0] != "duration_limit=5s" || ov[1] != "seed=7" {
		t.Errorf("overrides: %v", m["overrides"])
	}
}

// TestAnalyzeWarnsOfOtherJobs: a live trace whose cluster ran other jobs'
// tasks (their events counted in its end block) is analyzed with a
// warning: its utilization and latencies include contention it cannot
// show. analyze said nothing of it.
func TestAnalyzeWarnsOfOtherJobs(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "shared.trace")
	w, err := traces.Create(p, traces.Header{File: "x.yaml", Transport: "remote"}, traces.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := traces.NewRecorder(w)
	rec.Runtime(time.Millisecond, &transport.Event{Kind: transport.EvTaskSubmitted, Node: 1, Task: 7, Detail: "f"})
	rec.Runtime(2*time.Millisecond, &transport.Event{Kind: transport.EvTaskRunning, Node: 1, Task: 7, Detail: "f"})
	rec.Runtime(3*time.Millisecond, &transport.Event{Kind: transport.EvTaskFinished, Node: 1, Task: 7, Detail: "f"})
	rec.SetOtherJobsEvents(13010)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := call(t, "analyze", p)
	if code != exitOK || !strings.Contains(out, "warning    the cluster ran other jobs' tasks during the run: their 13010 events") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = call(t, "analyze", p, "--json")
	if code != exitOK || !json.Valid([]byte(out)) || !strings.Contains(errOut, "13010 events") || !strings.Contains(out, `"OtherJobsEvents": 13010`) {
		t.Errorf("--json: exit %d\n%s%s", code, out, errOut)
	}
}

// TestPartialTrace: an interrupted run's trace (no end block) was refused
// by analyze and trace export alike ("truncated trace ... the run was
// interrupted?", exit 2). With --partial they read its records, with a
// warning; without it the refusal says --partial would.
func TestPartialTrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "tiny.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "-q", "--trace", p); code == exitUsage {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.trace")
	if err := os.WriteFile(cut, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"analyze", cut}, {"trace", "export", cut, "-o", filepath.Join(dir, "cut.json")}} {
		code, _, errOut := call(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "--partial") {
			t.Errorf("%v: exit %d, want 2 and a pointer to --partial: %s", args, code, errOut)
		}
		code, out, errOut := call(t, append(args, "--partial")...)
		if code != exitOK || !strings.Contains(out+errOut, "warning: "+cut+": traces: truncated trace") {
			t.Errorf("%v --partial: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cut.json")); err != nil {
		t.Errorf("no partial export: %v", err)
	}
	for _, format := range []string{"jsonl", "otel-stdout"} {
		if code, _, errOut := call(t, "trace", "export", cut, "--partial", "--format", format); code != exitOK {
			t.Errorf("%s: exit %d: %s", format, code, errOut)
		}
	}
}
