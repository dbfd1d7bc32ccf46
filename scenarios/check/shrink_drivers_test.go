// Tests that Shrink's candidates stay within the generator's failure model.

package check

import (
	"testing"

	"raysim/scenarios"
)

// Guards that Shrink's candidates stay within the failure model the
// generator keeps: no kill of a node that hosts a driver (DriverHosts).
// Removing a node from an earlier group shifts later nodes down into the
// driver positions (drivers go to the first nodes in order), so a kill of
// b-0, legal in the original, would kill a driver's node in the candidate,
// and the shrinker would keep a "failure" made by its own edit (a driver
// lost with its node: liveness).
func TestShrinkCandidatesKeepDriversAlive(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(`
name: base
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: a, count: 2, cpus: 2}
    - {name: b, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 30, duration: 5ms}
    drivers: 3
faults:
  - {at: 10ms, kill_node: b-0}
  - {at: 200ms, restart_node: b-0}
`))
	if err != nil {
		t.Fatal(err)
	}
	if DriverHosts(s)["b-0"] {
		t.Fatalf("setup: b-0 hosts a driver in the original")
	}
	for _, c := range candidates(s) {
		c, err := Reparse(c)
		if err != nil {
			continue // Shrink skips it too
		}
		for _, f := range c.Faults {
			if f.Kind != scenarios.KillNode {
				continue
			}
			if DriverHosts(c)[f.Node] {
				t.Errorf("a shrink candidate (groups %v) kills %s, which hosts a driver (of %v)",
					groupCounts(c), f.Node, DriverHosts(c))
			}
		}
	}
}

func groupCounts(s *scenarios.Scenario) map[string]int {
	m := map[string]int{}
	for _, g := range s.Cluster.Groups {
		m[g.Name] = g.Count
	}
	return m
}
