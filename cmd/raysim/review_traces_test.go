package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayBuggifiedTrace: `raysim run --buggify --trace T` records a run
// whose runtime fault points (late replies, spurious retries, short
// timeouts, chosen by the seed) were on, but the trace header did not say
// so, and `raysim replay T` re-ran the scenario without them: a buggified
// trace was reported as DIVERGED (exit 1) although nothing had changed.
// The header must carry the run options that change its events, and
// replay must re-run with them.
func TestReplayBuggifiedTrace(t *testing.T) {
	t.Parallel()
	tr := filepath.Join(t.TempDir(), "bug.trace")
	if code, out, errOut := call(t, "run", "../../scenarios/quickstart.yaml", "--buggify", "--trace", tr, "-q"); code != exitOK && code != exitFailed {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := call(t, "replay", tr)
	if code != exitOK || strings.Contains(out, "DIVERGED") {
		t.Fatalf("replay of an unchanged buggified run: exit %d, want 0\nstdout: %.600s\nstderr: %.300s", code, out, errOut)
	}
}

// TestOTLPExportRefusesOutputFile: `trace export --format otlp -o OUT`
// sent the spans to the collector and left an empty OUT behind, as if the
// export had written nothing; -o means nothing for otlp, and says so.
func TestOTLPExportRefusesOutputFile(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "spans.json")
	code, _, errOut := call(t, "trace", "export", "--format", "otlp", "-o", out, "whatever.trace")
	if code != exitUsage || !strings.Contains(errOut, "otlp-endpoint") {
		t.Fatalf("exit %d, want %d\n%s", code, exitUsage, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s was left (%v)", out, err)
	}
}
