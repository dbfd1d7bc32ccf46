package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"raysim/traces"
)

// cancelOnProgress is a run's stderr that cancels the run's context at
// the first progress line, as ^C would: by then the run has recorded events.
type cancelOnProgress struct {
	bytes.Buffer
	cancel func()
}

func (w *cancelOnProgress) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("\r")) && !bytes.HasPrefix(p, []byte("\r\033[K")) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestInterruptedRunTraceNotSealed guards the end block's meaning
// (docs/traces.md: "A file without its end block is reported as truncated
// (the run was interrupted)"): a `raysim run --trace` interrupted (^C, here
// its context cancelled) must leave its records so far without the end
// block, so the trace reads as truncated — not sealed, which replay would
// report as a divergence and trace stats as an intact trace — and write no
// --chrome export.
func TestInterruptedRunTraceNotSealed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, chrome := filepath.Join(dir, "int.trace"), filepath.Join(dir, "int.json")
	var f runFlags
	files, err := parseInterspersed(newRunFlags("run", io.Discard, &f), []string{"../../scenarios/quickstart.yaml",
		"--set", "workload.0.params.tasks=400000", "--set", "duration_limit=100s",
		"--trace", path, "--chrome", chrome, "-q", "--progress", "on"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOnProgress{cancel: cancel}
	var stdout bytes.Buffer
	start := time.Now()
	if code := runFiles(ctx, &f, files, &stdout, stderr); code != exitFailed {
		t.Fatalf("interrupted run: exit %d, want 1\n%s\n%s", code, &stdout, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the run took %v to stop after its context was cancelled", d)
	}
	if !strings.Contains(stderr.String(), "without its end block") || !strings.Contains(stderr.String(), "no --chrome export") {
		t.Errorf("stderr does not say the trace is left unsealed and not exported:\n%s", stderr)
	}
	if _, err := os.Stat(chrome); err == nil {
		t.Errorf("interrupted run wrote the --chrome export %s", chrome)
	}
	r, err := traces.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	n := 0
	for r.Next() {
		n++
	}
	if !errors.Is(r.Err(), traces.ErrTruncated) {
		t.Errorf("trace of an interrupted run reads as intact (%d records, err %v); want ErrTruncated", n, r.Err())
	}
	if n == 0 {
		t.Errorf("trace of an interrupted run holds no records; want those recorded before the interruption")
	}
}

// TestFailedExpectationTraceSealed guards the other side: a run whose
// expectations fail finished (exit 1), and its trace is complete.
func TestFailedExpectationTraceSealed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fail.trace")
	code, out, errOut := call(t, "run", "testdata/impossible.yaml", "--trace", path, "-q")
	if code != exitFailed || !strings.HasPrefix(out, "FAIL impossible") {
		t.Fatalf("exit %d, want 1 and FAIL\n%s\n%s", code, out, errOut)
	}
	r, err := traces.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	for r.Next() {
	}
	if err := r.Err(); err != nil {
		t.Errorf("trace of a run whose expectations failed: %v; want a complete trace", err)
	}
}

// TestExportLeavesNoPartialOutput guards `raysim trace export BAD -o OUT`:
// it exits 2 and leaves no OUT (it once left a well-formed-looking, closed
// Chrome JSON of the records before the damage, which a script checking
// only for the file takes for a whole export).
func TestExportLeavesNoPartialOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", good, "-q"); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.trace")
	if err := os.WriteFile(cut, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"chrome", "jsonl"} {
		out := filepath.Join(dir, "out."+format)
		code, _, _ := call(t, "trace", "export", cut, "--format", format, "-o", out)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2", format, code)
		}
		if st, err := os.Stat(out); err == nil {
			t.Errorf("%s: export of a truncated trace failed (exit %d) but left %s (%d bytes)", format, code, out, st.Size())
		}
	}
}

// TestExportOntoInputKeepsTrace guards `raysim trace export T -o T`: it is
// refused (exit 2) and the trace is kept (it once truncated the trace
// before reading it).
func TestExportOntoInputKeepsTrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := filepath.Join(dir, "run.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", tr, "-q"); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	before, _ := os.Stat(tr)
	code, _, errOut := call(t, "trace", "export", tr, "--format", "jsonl", "-o", tr)
	after, _ := os.Stat(tr)
	if r, err := traces.Open(tr); err != nil {
		t.Errorf("export -o onto its input (exit %d, %q) destroyed the trace (%d -> %d bytes): %v",
			code, errOut, before.Size(), after.Size(), err)
	} else {
		r.Close()
	}
	if code != exitUsage || !strings.Contains(errOut, "the output file is the trace being exported") {
		t.Errorf("export -o onto its input: exit %d, stderr %q; want 2 and the reason", code, errOut)
	}
}

// TestRunOutputOntoScenarioRefused guards `raysim run S --trace S` (and
// --chrome S): it overwrote the scenario file with the trace and exited 0.
// Both are refused before the run (exit 2) and the scenario is kept; so
// are --trace and --chrome naming one file, and an output whose directory
// does not exist (found before the run, not after it).
func TestRunOutputOntoScenarioRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(s, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trace", s}, "is the scenario file"},
		{[]string{"--chrome", filepath.Join(dir, ".", "s.yaml")}, "is the scenario file"},
		{[]string{"--trace", filepath.Join(dir, "x"), "--chrome", filepath.Join(dir, "x")}, "--trace and --chrome are one file"},
		{[]string{"--chrome", filepath.Join(dir, "no", "such", "dir.json")}, "cannot create"},
		{[]string{"--chrome", dir}, "is a directory"},
		{[]string{"--trace", dir}, "is a directory"},
	} {
		code, _, errOut := call(t, append([]string{"run", s, "-q"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("run %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if got, _ := os.ReadFile(s); string(got) != string(src) {
			t.Fatalf("run %v changed the scenario file", tc.args)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refused runs left files behind: %v", entries)
	}
}

// TestAnalyzeJSON: `raysim analyze --json` prints the report as one JSON
// object (the fields docs/analysis.md names), whose counts are the run's;
// with two traces, both and the metrics side by side.
func TestAnalyzeJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := filepath.Join(dir, "run.trace")
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", tr, "--json")
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	var res struct {
		TasksSubmitted uint64 `json:"tasks_submitted"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.TasksSubmitted == 0 {
		t.Fatalf("run --json: %v: %s", err, out)
	}
	code, out, errOut = call(t, "analyze", tr, "--json")
	var rep struct {
		Tasks   struct{ Submitted uint64 }
		Nodes   []struct{ Name string }
		Latency struct{ Split []any }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("analyze --json: exit %d, stdout not one JSON object: %s%s", code, out, errOut)
	}
	if rep.Tasks.Submitted != res.TasksSubmitted || len(rep.Nodes) == 0 || rep.Latency.Split != nil {
		t.Errorf("analyze --json: %d submitted (the run: %d), %d nodes, split %v", rep.Tasks.Submitted, res.TasksSubmitted, len(rep.Nodes), rep.Latency.Split != nil)
	}
	code, out, errOut = call(t, "analyze", tr, tr, "--json")
	var cmp struct {
		A, B    *struct{ Digest string }
		Metrics []struct{ Name string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &cmp) != nil || cmp.A == nil || cmp.B == nil || cmp.A.Digest != cmp.B.Digest || len(cmp.Metrics) == 0 {
		t.Errorf("analyze A A --json: exit %d: %s%s", code, out, errOut)
	}
}

// TestRunLoadsEveryFileFirst (QA): with several files, an override bad
// for a later file was found only when its turn came, after the earlier
// runs; it is found before any run, naming the file.
func TestRunLoadsEveryFileFirst(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "../../scenarios/chain.yaml", "--set", "workload.0.params.tasks=10", "-q")
	if code != exitUsage || strings.Contains(out, "PASS") || !strings.Contains(errOut, "chain.yaml: --set workload.0.params.tasks=10") {
		t.Errorf("exit %d, stdout %q, stderr %q: want 2 before any run, naming chain.yaml", code, out, errOut)
	}
}
