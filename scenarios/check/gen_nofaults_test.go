package check_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"raysim/scenarios"
	"raysim/scenarios/check"
)

// TestFaultsWithNothingToDrawIsNoSchedule: when no kind of Gen.FaultKinds
// applies to the cluster (here kill_node, and the only node hosts the
// driver, which the generator never kills; kill_gcs_replica on an
// unreplicated GCS is the same), Gen.Faults must yield an empty schedule.
// It returned nil from its rapid.Custom without drawing anything
// (gen.go: `if len(kinds) == 0 { return nil }`), and rapid panics on such a
// generator ("group did not use any data from bitstream"): Property,
// Scenario() and Search fail with a rapid panic instead of running the
// fault-free case. g := check.Gen{MaxNodes: 2, FaultKinds: {kill_node}}
// hits it on its first draw whenever the cluster's nodes all host drivers,
// and `raysim check FILE` (Search, through rapid's Example) panics the same
// way on a one-node scenario with --fault-kinds kill_node.
func TestFaultsWithNothingToDrawIsNoSchedule(t *testing.T) {
	s, err := scenarios.Parse("one.yaml", []byte(`
name: one
seed: 1
cluster:
  nodes:
    - {name: head, cpus: 2}
workload:
  - name: w
    generator: tree-reduce
    params: {leaves: 4, fanin: 2, duration: 1ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{scenarios.KillNode, scenarios.KillGCSReplica} {
		t.Run(kind, func(t *testing.T) {
			g := check.Gen{Base: s, FaultKinds: []string{kind}, Dir: t.TempDir()}
			rapid.Check(t, func(rt *rapid.T) {
				if fs := g.Faults(s).Draw(rt, "faults"); len(fs) != 0 {
					rt.Fatalf("faults %v on a cluster with nothing to kill", fs)
				}
				_ = g.Scenario().Draw(rt, "scenario")
			})
		})
	}
	t.Run("search", func(t *testing.T) {
		g := check.Gen{Base: s, FaultKinds: []string{scenarios.KillNode}, Dir: t.TempDir()}
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("Search panicked: %v", p)
			}
		}()
		found, err := check.Search(context.Background(), check.SearchConfig{Gen: g, Runs: 1, Seed: 1})
		if err != nil || len(found) != 0 {
			t.Errorf("Search: %d failures, %v", len(found), err)
		}
	})
}

// TestGenValidateNamesUnknownPolicy: a Gen naming a policy the scheduler
// does not have made every drawn scenario invalid, reported as "a
// generator bug"; Validate (called by Property and Search) names it.
func TestGenValidateNamesUnknownPolicy(t *testing.T) {
	g := check.DefaultGen()
	if err := g.Validate(); err != nil {
		t.Fatalf("the default Gen: %v", err)
	}
	g.Policies = []string{"my-policy"}
	err := g.Validate()
	if err == nil || !strings.Contains(err.Error(), `unknown policy "my-policy"`) {
		t.Fatalf("got %v, want the unknown policy named", err)
	}
	if _, err := check.Search(context.Background(), check.SearchConfig{Gen: g, Runs: 1}); err == nil {
		t.Fatal("Search ran with an unknown policy")
	}
}

// TestGenValidateRefusesBadBounds (QA): a negative MaxFaults, Horizon or
// Settle, or MaxNodes 1, was silently replaced by its default; Validate
// refuses them, naming the field, while 0 still means the default.
func TestGenValidateRefusesBadBounds(t *testing.T) {
	if err := (check.Gen{}).Validate(); err != nil {
		t.Fatalf("the zero Gen (all defaults): %v", err)
	}
	for name, g := range map[string]check.Gen{
		"MaxNodes 1":  {MaxNodes: 1},
		"MaxEntries":  {MaxEntries: -1},
		"MaxFaults":   {MaxFaults: -1},
		"Horizon":     {Horizon: -time.Second},
		"Settle -1ns": {Settle: -1},
	} {
		field, _, _ := strings.Cut(name, " ")
		if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "Gen: "+field) {
			t.Errorf("%s: %v, want an error naming %s", name, err, field)
		}
	}
}
