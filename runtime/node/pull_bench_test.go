package node

import (
	"testing"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// BenchmarkServeLargePull is repeated pulls, by another node, of one large
// object held here: 16 MiB of real bytes, served in 16 chunks of the
// default 1 MiB. Each op is one whole pull (servePull). The chunks' Sum
// (ObjectChunk.Sum, a CRC-32C of the value's real bytes) is a pass over
// every byte; its cost per pull is what this measures.
func BenchmarkServeLargePull(b *testing.B) {
	const size = 16 << 20
	env := &hostileEnv{self: 1, now: time.Unix(0, 0)}
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7, 8}}
	pol, err := scheduler.NewPolicy("")
	if err != nil {
		b.Fatal(err)
	}
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol, Incarnation: 1})
	r.registered = true
	r.renewLease(r.since())
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
