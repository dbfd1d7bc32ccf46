// Tests of Search when it is interrupted.

package check

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"raysim/scenarios"
)

// Guards that a violation Search has found survives an interrupt during
// its shrinking (Ctrl-C in `raysim check`, whose shrink can take 200
// runs). Shrink returns the failure it has so far with ctx.Err(), but
// Search then returns `found, err` without writing or returning it
// (shrink.go, Search: `if err != nil { return found, err }` after Shrink),
// so the only failure of a long search is thrown away and the command
// prints no FAIL and no file. Right: the failure (shrunk as far as it got)
// is written to Gen.Dir and returned with the error.
func TestSearchKeepsFailureInterruptedWhileShrinking(t *testing.T) {
	base, err := scenarios.Parse("base.yaml", []byte(`
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
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := Gen{Base: base, FaultKinds: []string{scenarios.KillNode}, MaxFaults: 3, Dir: t.TempDir(), Name: "cut"}
	found, err := Search(ctx, SearchConfig{Gen: g, Runs: 30, Seed: 1, Invariants: []Invariant{noKills},
		Progress: func(p SearchProgress) {
			if p.Shrinking {
				cancel() // the user's Ctrl-C while a failure is being shrunk
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("setup: want the search cut short while shrinking, got err %v, %d failures", err, len(found))
	}
	files, _ := filepath.Glob(filepath.Join(g.Dir, "cut-*.yaml"))
	if len(found) != 1 || len(files) != 1 {
		t.Errorf("interrupted while shrinking a violation: Search returned %d failures and wrote %v; want the failure returned and written", len(found), files)
	}
}
