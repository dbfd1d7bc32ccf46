package traces

import (
	"slices"
	"testing"

	"raysim/runtime/transport"
)

// TestHeaderNodeIDs: a live trace's header names its nodes' IDs (the
// drivers' raylets take IDs between them); a header without them (every
// simulator trace, older live ones) is byte for byte as before and reads
// as nil.
func TestHeaderNodeIDs(t *testing.T) {
	h := Header{Version: "v", File: "f.yaml", Scenario: []byte("name: x"), Transport: "remote", NodeIDs: []transport.NodeID{1, 2, 19}}
	var got Header
	if err := got.unmarshal(h.marshal()); err != nil || !slices.Equal(got.NodeIDs, h.NodeIDs) || got.Buggify || got.Transport != "remote" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	h.NodeIDs = nil
	b := h.marshal()
	if b[len(b)-1] != 0 {
		t.Errorf("a header without node IDs ends with flags 0: %v", b)
	}
	got = Header{NodeIDs: []transport.NodeID{4}}
	if err := got.unmarshal(b); err != nil || got.NodeIDs != nil {
		t.Errorf("no node IDs: %+v, %v", got, err)
	}
}
