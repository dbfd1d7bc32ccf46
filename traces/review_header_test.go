package traces

import (
	"encoding/binary"
	"testing"
)

// TestHeaderBuggifyCompat: the header's Buggify flag (added after
// Transport) round-trips, and a header written before it existed (ending
// at Transport) still reads, as Buggify false.
func TestHeaderBuggifyCompat(t *testing.T) {
	h := Header{Version: "v", File: "f.yaml", Scenario: []byte("name: x"), Seed: -3, Overrides: []string{"a=b"}, Transport: "sim", Buggify: true}
	var got Header
	if err := got.unmarshal(h.marshal()); err != nil || !got.Buggify || got.Transport != "sim" || got.Seed != -3 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	old := appendString(nil, "v")
	old = appendString(old, "f.yaml")
	old = appendString(old, "name: x")
	old = binary.AppendVarint(old, 5)
	old = binary.AppendUvarint(old, 0)
	old = appendString(old, "sim")
	got = Header{Buggify: true}
	if err := got.unmarshal(old); err != nil || got.Buggify || got.Transport != "sim" || got.Seed != 5 {
		t.Fatalf("old header: %+v, %v", got, err)
	}
}
