package scenarios

import (
	"strings"
	"testing"
)

// Guards a link (a degrade_link fault or a cluster.network.links entry)
// whose two ends name the same single node. The runner never degrades a
// node's link to itself (there is none), so such an entry loaded and did
// nothing at all, while the fault was still counted in "faults N
// injected". Right: it is an error at its `to`.
func TestSelfLinkRefused(t *testing.T) {
	for _, set := range []string{
		"faults=[{at: 1ms, degrade_link: {from: node-0, to: node-0, latency: 50ms}, for: 1s}]",
		"cluster.network.links=[{from: node-1, to: node-1, loss: 1}]",
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{set})
		if err == nil {
			t.Errorf("--set %s: loaded; the link joins a node to itself and does nothing", set)
			continue
		}
		if !strings.Contains(err.Error(), ".to:") {
			t.Errorf("--set %s: error not at to: %v", set, err)
		}
	}
	// A group to itself is every pair of its nodes: allowed.
	if _, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"cluster.network.links=[{from: node, to: node, loss: 1%}]"}); err != nil {
		t.Errorf("a group's links among its nodes: %v", err)
	}
}
