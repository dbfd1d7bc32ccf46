package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTrace records testdata/tiny.yaml's run into a trace in dir.
func tinyTrace(t *testing.T, dir string) string {
	t.Helper()
	tr := filepath.Join(dir, "tiny.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", tr, "-q"); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	return tr
}

// TestReviewTraceExportBadOTLPProtocol: a bad --otlp-protocol was noticed
// only once the trace was open and the export under way (exit 1, an error
// of the export), and not at all with a format other than otlp (exit 0).
// It is a bad flag: exit 2, naming it, before anything is read or written.
func TestReviewTraceExportBadOTLPProtocol(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := tinyTrace(t, dir)
	out := filepath.Join(dir, "out.json")
	for _, args := range [][]string{
		{tr, "--format", "otlp", "--otlp-protocol", "bogus"},
		{tr, "--format", "otel-stdout", "--otlp-protocol", "HTTP", "-o", out},
		{tr, "--format", "chrome", "--otlp-protocol", "grcp", "-o", out},
		{filepath.Join(dir, "missing.trace"), "--format", "otlp", "--otlp-protocol", "bogus"},
	} {
		code, stdout, errOut := call(t, append([]string{"trace", "export"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "--otlp-protocol") || stdout != "" {
			t.Errorf("trace export %s: exit %d, want %d and a message naming --otlp-protocol\nstdout: %.200s\nstderr: %s",
				strings.Join(args, " "), code, exitUsage, stdout, errOut)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("trace export %s: wrote %s (%v)", strings.Join(args, " "), out, err)
			os.Remove(out)
		}
	}
}

// TestReviewBenchFilterMatchesNothing: a --filter that matches no
// benchmark of the chosen kind ran nothing and exited 0, printing an empty
// table as if it had measured something. It is a bad command line: exit 2,
// saying so, before anything runs. --gcs-flush, which has no benchmarks to
// filter, refuses --filter rather than ignoring it.
func TestReviewBenchFilterMatchesNothing(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--filter", "^no_such_benchmark$"},
		{"--filter", "^no_such_benchmark$", "--json"},
		{"--scale", "--filter", "^no_such_benchmark$"},
		{"--es", "--filter", "^no_such_benchmark$"},
		{"--gcs-flush", "10", "--filter", "gcs"},
	} {
		code, out, errOut := call(t, append([]string{"bench"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "--filter") || out != "" {
			t.Errorf("bench %s: exit %d, want %d and a message naming --filter\nstdout: %.300s\nstderr: %.300s",
				strings.Join(args, " "), code, exitUsage, out, errOut)
		}
	}
}
