// Tests that Shrink keeps the failure it was given: a shrunk scenario must
// violate the same invariant as the one found.

package check

import (
	"context"
	"errors"
	"testing"

	"raysim/scenarios"
)

// Guards that Shrink minimizes the failure it was handed, not whichever
// invariant a candidate happens to break. Shrink keeps a candidate when it
// violates any invariant (shrink.go: `if nf != nil`), so the search can
// "slip" from the bug it found to another one the shrinker's own edits
// produce (a liveness failure after halving counts, say), and the written
// file names, and replays, a different failure than the one found. Here
// "paused" fails on any schedule with a pause_node and "unpaused" on any
// without one: the original violates "paused"; deleting the pause gives a
// candidate that violates only "unpaused". Right: the shrunk failure is
// still "paused" (the kill and its restart go, the pause stays); wrong
// (today): the pause is deleted first and the result is an empty schedule
// violating "unpaused".
func TestShrinkKeepsTheSameInvariant(t *testing.T) {
	hasPause := func(r *Run) bool {
		for _, f := range r.Scenario.Faults {
			if f.Kind == scenarios.PauseNode {
				return true
			}
		}
		return false
	}
	paused := Invariant{Name: "paused", Check: func(r *Run) error {
		if hasPause(r) {
			return errors.New("a node was paused")
		}
		return nil
	}}
	unpaused := Invariant{Name: "unpaused", Check: func(r *Run) error {
		if !hasPause(r) {
			return errors.New("no node was paused")
		}
		return nil
	}}
	s, err := scenarios.Parse("slip.yaml", []byte(`
name: slip
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - name: p
    generator: parallel
    params: {tasks: 10, duration: 1ms}
faults:
  - {at: 10ms, pause_node: worker-0, for: 5ms}
  - {at: 20ms, kill_node: worker-1}
  - {at: 30ms, restart_node: worker-1}
`))
	if err != nil {
		t.Fatal(err)
	}
	invs := []Invariant{paused, unpaused}
	_, f, err := Execute(context.Background(), s, invs...)
	if err != nil {
		t.Fatal(err)
	}
	if f == nil || f.Invariant != "paused" {
		t.Fatalf("setup: the original should violate %q, got %v", "paused", f)
	}
	shrunk, err := Shrink(context.Background(), f, invs, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	if shrunk.Invariant != f.Invariant {
		t.Errorf("shrinking a %q failure gave a %q failure (faults %+v): the shrinker slipped to another invariant",
			f.Invariant, shrunk.Invariant, shrunk.Scenario.Faults)
	}
}
