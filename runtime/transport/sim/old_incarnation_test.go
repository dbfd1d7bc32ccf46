package sim

import (
	"testing"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// The adapter promises components "see every message once". A frame sent
// by an incarnation that has since crashed is handed to the component
// with no duplicate check once the new incarnation's connection exists
// (Deliver's f.fromInc < in.fromInc branch). With link duplication, frame
// 1's netsim duplicate (sent before the crash, so it had left and is
// delivered) arrives after the new incarnation's frame 2 and is handled a
// second time: got [1 2 1]. Right: [1 2] — a frame of an old connection
// already delivered is not delivered again.
func TestOldIncarnationDuplicateNotDeliveredTwice(t *testing.T) {
	var net *Net
	lat := netsim.Constant(10 * time.Millisecond)
	ns := netsim.New(netsim.Config{Seed: 1, Link: netsim.Link{Latency: lat},
		OnDrop: func(ev *netsim.Event) { net.OnNetEvent(ev) }})
	net = New(ns, Options{WireCheck: true})
	var from transport.Env
	rec := &recorder{}
	net.Add(tFrom, func(env transport.Env) transport.Handler { from = env; return &recorder{env: env} })
	net.Add(tTo, func(env transport.Env) transport.Handler { rec.env = env; return rec })
	a, b := netsim.NodeID(tFrom), netsim.NodeID(tTo)
	ns.SetLink(a, b, netsim.Link{Latency: lat, Duplicate: 1})
	send(from, 1) // arrives at 10ms, its duplicate in [10ms, 20ms)
	ns.RunUntil(time.Millisecond)
	ns.Crash(a) // frame 1 had left: it and its duplicate stay in flight
	ns.Restart(a)
	ns.SetLink(a, b, netsim.Link{Latency: lat})
	send(from, 2) // the new incarnation's first frame: 11ms
	ns.RunUntil(time.Second)
	if len(rec.got) != 2 {
		t.Fatalf("received %v at %v; want [1 2], each once", rec.got, rec.when)
	}
}
