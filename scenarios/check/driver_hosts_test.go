package check

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"raysim/runtime/node"
	"raysim/runtime/ray"
	"raysim/scenarios"
)

// lateFirst is a hand-written cluster whose first worker group joins
// late: its two drivers run on head and w-0 (the first nodes up at the
// start, node IDs 1 and 4), not on head and late-0 (the first nodes
// listed), as the search assumed (review29 finding 9).
const lateFirst = `
name: late-first
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: late, count: 2, cpus: 2, start: 300ms}
    - {name: w, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 20, duration: 5ms}
    drivers: 2
`

// TestFaultsSpareDriverHostsOfALateGroup: the fault generator never
// kills a node that hosts a driver, w-0 here, and may kill the late
// nodes listed before it.
func TestFaultsSpareDriverHostsOfALateGroup(t *testing.T) {
	s, err := scenarios.Parse("late-first.yaml", []byte(lateFirst))
	if err != nil {
		t.Fatal(err)
	}
	if got := DriverHosts(s); len(got) != 2 || !got["head"] || !got["w-0"] {
		t.Fatalf("driver hosts %v, want head and w-0", got)
	}
	g := DefaultGen()
	g.FaultKinds = []string{scenarios.KillNode}
	killed := map[string]bool{}
	rapid.Check(t, func(rt *rapid.T) {
		for _, f := range g.Faults(s).Draw(rt, "faults") {
			if f.Kind == scenarios.KillNode {
				if f.Node == "head" || f.Node == "w-0" {
					rt.Fatalf("kill_node %s, which hosts a driver", f.Node)
				}
				killed[f.Node] = true
			}
		}
	})
	if !killed["late-0"] {
		t.Errorf("late-0, which hosts no driver, was never killed (killed: %v)", killed)
	}
}

// TestJobEndNamesADriverHost: after a node failure, a task cancelled by
// the end of the job of the driver on w-0 (node 4) is allowed; one naming
// late-0 (node 2), which hosts no driver, is not.
func TestJobEndNamesADriverHost(t *testing.T) {
	s, err := scenarios.Parse("late-first.yaml", []byte(lateFirst))
	if err != nil {
		t.Fatal(err)
	}
	text := func(n int) string {
		return fmt.Sprintf("parallel: %v (t1.0): task cancelled: %s (its driver's node %d left or was declared dead)", ray.ErrCancelled, node.JobEnded, n)
	}
	if why := notAllowed(&Run{Scenario: s}, text(4), 1, 0, "parallel", false); why != "" {
		t.Errorf("the job of w-0's driver ended: %s", why)
	}
	if why := notAllowed(&Run{Scenario: s}, text(2), 1, 0, "parallel", false); !strings.Contains(why, "hosts no driver") {
		t.Errorf("a job of late-0, which hosts no driver, ended: allowed (%q)", why)
	}
}
