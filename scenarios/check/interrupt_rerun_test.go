// Tests of an interrupt (Ctrl-C) that lands during the deterministic
// invariant's second run.

package check

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"raysim/runtime/ray"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

const interruptBase = `
name: base
seed: 1
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - name: p
    generator: parallel
    params: {tasks: 10, duration: 1ms}
`

// Guards that an interrupt during the deterministic invariant's second run
// is an interrupt, not a violation. Deterministic reruns the scenario with
// the search's context; cut short, the rerun fails with context.Canceled,
// which Deterministic returned as "second run: context canceled" and
// Execute as a Failure. Search then wrote it to Gen.Dir as a failing
// scenario ("invariant deterministic violated") whose replay passes, and
// `raysim check` printed FAIL with that file: Ctrl-C at the wrong moment
// made up a determinism bug. (Shrink likewise kept a candidate on such a
// made-up failure.) Right: Execute returns the context's error, and
// nothing is written.
func TestSearchInterruptedDuringRerunIsNoViolation(t *testing.T) {
	base, err := scenarios.Parse("base.yaml", []byte(interruptBase))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The user's Ctrl-C, between the first run and the determinism rerun.
	ctrlC := Invariant{Name: "ctrl-c", Check: func(*Run) error { cancel(); return nil }}
	g := Gen{Base: base, FaultKinds: []string{scenarios.Heal}, MaxFaults: 1, Dir: t.TempDir(), Name: "cut"}
	found, err := Search(ctx, SearchConfig{Gen: g, Runs: 1, Seed: 1, Invariants: []Invariant{ctrlC, Deterministic}})
	files, _ := filepath.Glob(filepath.Join(g.Dir, "*.yaml"))
	for _, f := range found {
		t.Errorf("interrupted during the rerun, Search reported a violation: %v", f)
	}
	if len(files) > 0 {
		t.Errorf("interrupted during the rerun, Search wrote %v", files)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// Guards the same for RunExpect (`raysim run` and `raysim sweep` with
// expect.invariants: [deterministic]): interrupted after the first run, the
// rerun's context.Canceled became a failed "invariant deterministic"
// expectation, so a sweep stopped with Ctrl-C counted the seed as failed
// and printed a replay command for a failure that does not reproduce.
// Right: RunExpect returns the context's error (the sweep then leaves the
// seed out as not run).
func TestRunExpectInterruptedDuringRerunIsNoFailure(t *testing.T) {
	s, err := scenarios.ParseWithOverrides("base.yaml", []byte(interruptBase), []string{"expect.invariants=[deterministic]"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := true
	res, err := RunExpect(ctx, s, runner.Options{Inspect: func(*ray.Sim) {
		if first { // the first run has ended; Ctrl-C now
			first = false
			cancel()
		}
	}})
	if err == nil {
		for _, x := range res.Expectations {
			if !x.OK {
				t.Errorf("interrupted before the rerun, RunExpect reported a failed expectation %s: %s", x.Name, x.Detail)
			}
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
