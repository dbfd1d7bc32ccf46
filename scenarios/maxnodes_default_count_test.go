package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// Guards that the cluster-size bound names a line when the group past it
// leaves count out (the default 1). The check reported at the group's
// count value, which is nil when count is not written, so the error read
// "t.yaml: cluster.nodes.1.count: at most 1000000 nodes in the cluster
// (got nothing)": no line, no column, and "got nothing" for a group that
// asked for one node. Right: it is reported at the group's line.
func TestMaxNodesErrorHasALineForDefaultCount(t *testing.T) {
	src := "cluster:\n  nodes:\n    - {name: w, count: 1000000}\n    - {name: head}\nworkload:\n  - generator: parallel\n"
	_, err := Parse("t.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want the bound's error, got %v", err)
	}
	for _, e := range es {
		if !strings.Contains(e.Msg, "nodes in the cluster") {
			continue
		}
		if e.Line != 4 {
			t.Errorf("%v: want it at line 4, the group {name: head}", e)
		}
		if strings.Contains(e.Msg, "got nothing") {
			t.Errorf("%v: the group asks for one node (count's default), not nothing", e)
		}
		return
	}
	t.Fatalf("no error about the cluster's size: %v", err)
}
