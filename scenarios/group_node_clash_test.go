package scenarios

import (
	"strings"
	"testing"
)

// Guards that a group name is never also another group's node name. The
// docs say node names (after expansion) and group names must be unique,
// and that wherever a fault or link takes a node or group name, a group
// name means all of its nodes. But groups {name: w, count: 2} and
// {name: w-1, count: 2} loaded without a word (nodes w-0, w-1, w-1-0,
// w-1-1), and resolve looks the name up among the nodes first: a fault
// naming the group w-1 (a random crash process's nodes, a partition, a
// link) silently meant the single node w-1 of group w, never w-1-0 or
// w-1-1. Right: the clash is an error at the group's name, in either
// order of the groups.
func TestGroupNameClashesWithNodeName(t *testing.T) {
	for _, nodes := range []string{
		"[{name: w, count: 2}, {name: w-1, count: 2}]",
		"[{name: w-1, count: 2}, {name: w, count: 2}]",
		"[{name: w, count: 2}, {name: w-1, count: 0}]",
	} {
		src := "cluster:\n  nodes: " + nodes + `
workload:
  - generator: parallel
faults:
  - random: {kind: crash, rate: 1/s, until: 10s, nodes: [w-1]}
`
		_, err := Parse("t.yaml", []byte(src))
		if err == nil {
			t.Errorf("nodes %s: loaded; the group w-1 and the node w-1 share a name (faults naming w-1 hit the node only)", nodes)
			continue
		}
		if !strings.Contains(err.Error(), "cluster.nodes.") || !strings.Contains(err.Error(), ".name") {
			t.Errorf("nodes %s: error does not name the group's name: %v", nodes, err)
		}
	}
	// A group of one node is that node: no clash.
	if _, err := Parse("t.yaml", []byte("cluster:\n  nodes: [{name: w, count: 2}, {name: w-1-x}]\nworkload:\n  - generator: parallel\n")); err != nil {
		t.Errorf("distinct names refused: %v", err)
	}
}
