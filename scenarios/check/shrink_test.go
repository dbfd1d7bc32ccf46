package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// noKills is a made-up invariant: no node is ever killed.
var noKills = Invariant{Name: "no-kills", Check: func(r *Run) error {
	for _, f := range r.Scenario.Faults {
		if f.Kind == scenarios.KillNode {
			return errors.New("a node was killed")
		}
	}
	return nil
}}

// A made-up invariant ("no node is ever killed") fails on any schedule
// with a kill; shrinking must leave just one kill and its restart, and the
// written file must replay to the same digest.
func TestShrinkAndReplay(t *testing.T) {
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
	if !f.Minimal {
		t.Error("shrunk to its end, the failure is not marked minimal")
	}
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
	if !strings.Contains(string(data), "# digest of the failing run: "+f.Result.Digest) {
		t.Errorf("%s does not record the failing run's digest", files[0])
	}
}

// Guards a search whose failure cannot be written (QA: `raysim check -o`
// naming a file): Search returned the write's error without the failure
// it had just found and shrunk, so the find was lost. Right: the failure
// comes back with the error, its scenario in hand and File empty.
func TestUnwrittenFailureIsReturned(t *testing.T) {
	always := Invariant{Name: "always", Check: func(*Run) error { return errors.New("made up") }}
	base, err := scenarios.LoadWithOverrides("../quickstart.yaml", []string{"workload.0.params.tasks=20"})
	if err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	g := Gen{Base: base, FaultKinds: []string{scenarios.Heal}, MaxFaults: 1, Dir: notDir, Name: "lost"}
	found, err := Search(context.Background(), SearchConfig{Gen: g, Runs: 1, Seed: 1, ShrinkBudget: -1, Invariants: []Invariant{always}})
	if err == nil {
		t.Fatal("writing into a file succeeded")
	}
	if len(found) != 1 || found[0].Scenario == nil || found[0].File != "" {
		t.Fatalf("found %+v with the write's error %v: want the failure, unwritten", found, err)
	}
}

// TestShrinkDropsAHealThatEndsNothing (QA): with an open-ended partition
// in the schedule, the shrinker kept every heal, one at 0s before the
// partition too, which ends nothing. A heal is kept only when an
// open-ended partition or degradation starts no later than it.
func TestShrinkDropsAHealThatEndsNothing(t *testing.T) {
	s, err := scenarios.Parse("h.yaml", []byte(`
name: h
cluster:
  nodes: [{name: a, cpus: 1}, {name: b, cpus: 1}, {name: c, cpus: 1}]
workload:
  - {generator: parallel, params: {tasks: 4}}
faults:
  - {at: 0s, heal: true}
  - {at: 100ms, partition: [[a, b], [c]]}
  - {at: 400ms, heal: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	early, late := false, false
	for _, c := range candidates(s) {
		if len(c.Faults) == 2 && c.Faults[0].Kind == scenarios.Partition && c.Faults[1].Kind == scenarios.Heal {
			early = true // the 0s heal removed, the partition and its heal kept
		}
		if len(c.Faults) == 2 && c.Faults[0].Kind == scenarios.Heal && c.Faults[1].Kind == scenarios.Partition {
			late = true
		}
	}
	if !early {
		t.Error("no candidate drops the heal at 0s")
	}
	if late {
		t.Error("a candidate drops the heal that ends the partition")
	}
}

// TestShrinkKeepsAHealThatCutsATimedPartitionShort (review): a heal during
// a timed partition ends it early (the runner heals every partition and
// degradation, for: or not); removing an unrelated fault dropped it.
func TestShrinkKeepsAHealThatCutsATimedPartitionShort(t *testing.T) {
	fs := []scenarios.Fault{
		{At: 500 * time.Millisecond, Kind: scenarios.KillNode, Node: "worker-1"},
		{At: 1 * time.Second, Kind: scenarios.Partition, Groups: [][]string{{"head"}, {"worker-0"}}, For: 10 * time.Second},
		{At: 2 * time.Second, Kind: scenarios.Heal},
	}
	out := removeFault(fs, 0)
	for _, f := range out {
		if f.Kind == scenarios.Heal {
			return
		}
	}
	t.Fatalf("removing the kill also dropped the heal that cuts the 10s partition short at 2s: %+v", out)
}

// TestShrinkBudgetSpentIsNotMinimal (review): a shrink its budget stopped
// was called minimal.
func TestShrinkBudgetSpentIsNotMinimal(t *testing.T) {
	base, err := scenarios.Load("../quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := Gen{Base: base, FaultKinds: []string{scenarios.KillNode, scenarios.PauseNode, scenarios.Partition}, MaxFaults: 5, Dir: t.TempDir(), Name: "cut"}
	found, err := Search(context.Background(), SearchConfig{Gen: g, Runs: 50, Seed: 1, ShrinkBudget: 1, Invariants: []Invariant{noKills}})
	if err != nil || len(found) != 1 {
		t.Fatalf("found %d, %v", len(found), err)
	}
	if found[0].Minimal {
		t.Error("a shrink stopped after one run is marked minimal")
	}
}
