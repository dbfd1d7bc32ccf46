package transporttest

import (
	"testing"

	"raysim/runtime/transport"
)

// TestSeedsDecode: every kind's filled seeds encode to bodies that decode
// (Seeds panics otherwise), envelopes included.
func TestSeedsDecode(t *testing.T) {
	s := Seeds(IDs{Nodes: []transport.NodeID{1, 2}, Tasks: []transport.TaskID{5, 6}})
	if want := 3 * len(transport.Kinds()); len(s) < want {
		t.Fatalf("%d seeds, want at least %d", len(s), want)
	}
}
