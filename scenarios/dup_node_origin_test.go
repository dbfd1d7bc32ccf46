package scenarios

import (
	"strings"
	"testing"
)

// Guards the duplicate-node error's pointer to the earlier group when that
// group came from a --set. It said "already made by the group at line 1":
// the line of the override's own value, which is no line of the file (line
// 1 of the file held something else entirely). Right: it names the
// override that made the group.
func TestDuplicateNodeNamesTheOverride(t *testing.T) {
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"cluster.nodes.1={name: x, count: 2}", "cluster.nodes.2={name: x-1}"})
	if err == nil {
		t.Fatal("duplicate node x-1 loaded")
	}
	if strings.Contains(err.Error(), "at line 1") || !strings.Contains(err.Error(), "the group of --set cluster.nodes.1=") {
		t.Errorf("error does not name the override that made x-1 first: %v", err)
	}
}
