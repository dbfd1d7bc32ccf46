package main

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"raysim/traces"
)

// docs/traces.md: "A file without its end block is reported as truncated
// (the run was interrupted)". A `raysim run --trace` interrupted with ^C
// must therefore leave a trace that reads as truncated, not one sealed
// with an end block (which replay then reports as a divergence, exit 1,
// and trace stats as an intact trace, exit 0).
func TestReview4InterruptedRunTraceNotSealed(t *testing.T) {
	// Absorb SIGINT for the test binary (cmdRun's NotifyContext also gets it).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)

	path := filepath.Join(t.TempDir(), "int.trace")
	done := make(chan int, 1)
	go func() {
		code, _, _ := call(t, "run", "../../scenarios/quickstart.yaml",
			"--set", "workload.0.params.tasks=400000", "--set", "duration_limit=100s",
			"--trace", path, "-q", "--progress", "off")
		done <- code
	}()
	time.Sleep(1500 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code == exitOK {
			t.Fatalf("interrupted run exited 0")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop after SIGINT")
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
}

// `raysim trace export BAD -o OUT` exits 2 but leaves OUT behind, holding
// a well-formed-looking (closed) Chrome JSON of the records before the
// damage: a script that checks only for the file, or a later step that
// opens it, takes a partial export for a whole one.
func TestReview4ExportLeavesNoPartialOutput(t *testing.T) {
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

// `raysim trace export T -o T` truncates the trace before reading it
// (exportFile creates the output first): the user's trace is destroyed and
// the command reports the (now empty) input as a bad trace.
func TestReview4ExportOntoInputKeepsTrace(t *testing.T) {
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
}
