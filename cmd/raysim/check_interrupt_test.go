package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cancelOn is a writer that cancels a context once what was written to it
// contains a string: the user's Ctrl-C at a known point of the search.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.when) {
		c.cancel()
	}
	return len(p), nil
}

// QA qa28 item 18: Ctrl-C during a search that had found nothing printed
// only "context canceled". Right: as raysim sweep, the summary says how
// many schedules ran, which seeds, that no invariant was violated so far,
// and the exit status is sweep's (1); --json says interrupted.
func TestCheckInterruptedSaysHowFarItGot(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		errOut := &cancelOn{when: "run 1/", cancel: cancel}
		var out bytes.Buffer
		args := []string{"testdata/tiny.yaml", "--runs", "200", "--seed", "10", "--progress", "on", "-o", t.TempDir()}
		if asJSON {
			args = append(args, "--json")
		}
		code := runCheck(ctx, args, &out, errOut)
		cancel()
		if code != exitFailed {
			t.Errorf("json %v: exit %d, want 1 (as sweep)\n%s\n%s", asJSON, code, out.String(), errOut.buf.String())
		}
		if strings.Contains(errOut.buf.String(), "context canceled") {
			t.Errorf("stderr says only %q", errOut.buf.String())
		}
		if !asJSON {
			if want := "INTERRUPTED tiny: after 1 of 200 random fault schedules (seeds 10..10), no invariant violated so far"; !strings.Contains(out.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, out.String())
			}
			continue
		}
		var rep checkReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("JSON: %v\n%s", err, out.String())
		}
		if !rep.Interrupted || rep.OK || rep.Run != 1 || rep.Runs != 200 || len(rep.Failures) != 0 {
			t.Errorf("--json: %+v", rep)
		}
	}
}

// QA qa28 item 17: the replay command printed was `go run ./cmd/raysim run
// FILE`, which works only from raysim's module root. Right: `raysim run
// /ABS/FILE`, as raysim sweep prints it, from wherever check was run.
func TestCheckPrintsAReplayThatWorksAnywhere(t *testing.T) {
	file, err := filepath.Abs("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errOut := call(t, "check", file, "--runs", "1", "--max-faults", "0", "--shrink-budget", "0", "--progress", "off",
		"--settle", "1ns", "--horizon", "1ms", "--set", "seed=7", "--set", "duration_limit=1h", "-o", "found",
		"--set", "workload.0.params.tasks=1", "--set", "workload.0.params.duration={dist: uniform, min: 1ms, max: 1s}", "--set", "expect={}")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	want := "  replay: raysim run " + filepath.Join(dir, "found", "tiny-7.yaml") + "\n"
	if !strings.Contains(out, want) || strings.Contains(out, "go run") {
		t.Errorf("summary lacks %q (or names go run):\n%s", want, out)
	}
}
