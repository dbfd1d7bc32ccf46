package node

import (
	"testing"

	"raysim/runtime/transport"
)

// BenchmarkServeLargePull is repeated pulls, by another node, of one large
// object held here: 16 MiB of real bytes, served in 16 chunks of the
// default 1 MiB. Each op is one whole pull (servePull). The chunks' Sum
// (ObjectChunk.Sum, a CRC-32C of the value's real bytes) is a pass over
// every byte; computed on every pull, it was all of a pull's cost.
func BenchmarkServeLargePull(b *testing.B) {
	const size = 16 << 20
	r, env := boundedRaylet(b, 0)
	id := transport.ObjectID{Task: 77}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	r.put(id, transport.Value{Data: data}, true)
	pull := &transport.PullRequest{Object: id}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		env.sent = env.sent[:0]
		r.Handle(8, pull)
		if len(env.sent) != size>>20 {
			b.Fatalf("a pull sent %d messages, want %d chunks", len(env.sent), size>>20)
		}
	}
}
