package objstore

import (
	"testing"

	"raysim/runtime/transport"
)

// BenchmarkStoreNoSpill is the hot path of a store without a spill tier
// (the default): primaries put, read, pinned and unpinned, freed, and
// fetched copies evicted as the store fills. Compare it across changes
// to the store (a spill tier must not slow it).
func BenchmarkStoreNoSpill(b *testing.B) {
	s := New(64 << 10)
	v := transport.Value{Data: []byte{1}, Size: 1 << 10}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := transport.ObjectID{Task: transport.TaskID(i/4 + 1), Index: uint32(i % 4)}
		primary := i%2 == 0
		_, _, _ = s.Put(id, v, primary)
		s.Get(id)
		s.Pin(id)
		s.Unpin(id)
		if primary {
			s.Free(id)
		}
	}
}
