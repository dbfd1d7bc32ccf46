package scenarios

import (
	"strings"
	"testing"
)

// Guards a random fault process given `nodes: []`. The list picks the
// nodes the process may hit, all of them when left out; an empty list
// loaded as if it were left out, so a process meant to hit none of the
// listed nodes (a list emptied by an edit, or by --set ...nodes=) hit
// every node of the cluster, silently. Right: an empty list is an error
// that says to leave nodes out for all of them (as an empty
// expect.latency is).
func TestRandomNodesEmptyRefused(t *testing.T) {
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"faults=[{random: {kind: crash, rate: 1/s, nodes: []}}]"})
	if err == nil {
		t.Fatal("random nodes: [] loaded (and picks from every node)")
	}
	if !strings.Contains(err.Error(), "faults.0.random.nodes") {
		t.Errorf("error not at the list: %v", err)
	}
}
