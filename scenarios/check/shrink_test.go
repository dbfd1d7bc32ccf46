package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// A made-up invariant ("no node is ever killed") fails on any schedule
// with a kill; shrinking must leave just one kill and its restart, and the
// written file must replay to the same digest.
func TestShrinkAndReplay(t *testing.T) {
	noKills := Invariant{Name: "no-kills", Check: func(r *Run) error {
		for _, f := range r.Scenario.Faults {
			if f.Kind == scenarios.KillNode {
				return errors.New("a node was killed")
			}
		}
		return nil
	}}
	base, err := scenarios.Load("../quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := Gen{Base: base, FaultKinds: []string{scenarios.KillNode, scenarios.PauseNode, scenarios.Partition}, MaxFaults: 5, Dir: t.TempDir(), Name: "shrunk"}
	found, err := Search(context.Background(), SearchConfig{Gen: g, Runs: 50, Seed: 1, Invariants: []Invariant{noKills}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("found %d failures, want 1", len(found))
	}
	f := found[0]
	if n := len(f.Scenario.Faults); n != 2 || f.Scenario.Faults[0].Kind != scenarios.KillNode || f.Scenario.Faults[1].Kind != scenarios.RestartNode {
		t.Errorf("shrunk to %d faults, want a kill and its restart: %+v", n, f.Scenario.Faults)
	}
	files, _ := filepath.Glob(filepath.Join(g.Dir, "shrunk-*.yaml"))
	if len(files) != 1 {
		t.Fatalf("wrote %v", files)
	}
	data, _ := os.ReadFile(files[0])
	s, err := scenarios.Parse(files[0], data)
	if err != nil {
		t.Fatalf("the written scenario does not load: %v", err)
	}
	a, err := runner.Run(context.Background(), s, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != f.Result.Digest {
		t.Errorf("replaying %s gives digest %s, the failing run had %s", files[0], a.Digest, f.Result.Digest)
	}
}
