package sim

import (
	"testing"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// recorder keeps what a node received, with the virtual time of each.
type recorder struct {
	env  transport.Env
	got  []uint64
	when []time.Duration
}

func (r *recorder) Handle(_ transport.NodeID, m transport.Message) {
	r.got = append(r.got, m.(*transport.GcsAck).Seq)
	r.when = append(r.when, r.env.Now().Sub(netsim.DefaultEpoch))
}

const (
	tFrom transport.NodeID = 1
	tTo   transport.NodeID = 2
)

// pair is a sender and a receiver joined by a 1ms link.
func pair(t *testing.T) (*netsim.Sim, transport.Env, *recorder) {
	t.Helper()
	var net *Net
	ns := netsim.New(netsim.Config{Seed: 1, Link: netsim.Link{Latency: netsim.Constant(time.Millisecond)},
		OnDrop: func(ev *netsim.Event) { net.OnNetEvent(ev) }})
	net = New(ns, Options{WireCheck: true})
	var from transport.Env
	rec := &recorder{}
	net.Add(tFrom, func(env transport.Env) transport.Handler { from = env; return &recorder{env: env} })
	net.Add(tTo, func(env transport.Env) transport.Handler { rec.env = env; return rec })
	return ns, from, rec
}

func send(env transport.Env, seq uint64) { env.Send(tTo, &transport.GcsAck{Seq: seq}) }

// lossy makes the link drop everything from now until d later.
func lossy(ns *netsim.Sim, d time.Duration) {
	ns.Degrade(netsim.NodeID(tFrom), netsim.NodeID(tTo), 0, 1)
	ns.After(d, func() { ns.Restore(netsim.NodeID(tFrom), netsim.NodeID(tTo)) })
}

func requireInOrder(t *testing.T, rec *recorder, n int, by time.Duration) {
	t.Helper()
	if len(rec.got) != n {
		t.Fatalf("received %v, want %d messages", rec.got, n)
	}
	for i, s := range rec.got {
		if s != uint64(i+1) {
			t.Fatalf("received %v, want 1..%d in order", rec.got, n)
		}
	}
	if last := rec.when[n-1]; last > by {
		t.Fatalf("received %v at %v: the last at %v, want by %v", rec.got, rec.when, last, by)
	}
	t.Logf("received at %v", rec.when)
}

// A lost frame followed by others is resent as soon as the receiver's gap
// is known at the sender (one round trip), not after a 200ms RTO; a lost
// retransmission likewise, by the next frame sent after it. Before, the
// connection was held up 200ms, and 600ms when the retransmission was lost
// too: on a GCS chain two such stalls in a row held heartbeats back past
// the node timeout.
func TestLossRevealedByLaterFramesIsResentFast(t *testing.T) {
	ns, from, rec := pair(t)
	lossy(ns, 0) // frame 1 is lost
	send(from, 1)
	ns.RunUntil(500 * time.Microsecond)
	send(from, 2) // arrives at 1.5ms: the gap is known at the sender at 2.5ms
	ns.At(2*time.Millisecond, func() { lossy(ns, time.Millisecond) })
	// frame 1's retransmission (2.5ms) is lost; frame 3 (4ms) reveals it
	ns.At(4*time.Millisecond, func() { send(from, 3) })
	ns.RunUntil(time.Second)
	requireInOrder(t, rec, 3, 10*time.Millisecond)
}

// A lost frame that nothing after it reveals waits for its RTO, which
// doubles with each timeout.
func TestTailLossWaitsForRTO(t *testing.T) {
	ns, from, rec := pair(t)
	lossy(ns, 100*time.Millisecond) // the first transmission is lost...
	send(from, 1)
	ns.At(150*time.Millisecond, func() { lossy(ns, 100*time.Millisecond) }) // ...and the retransmission at 200ms
	ns.RunUntil(2 * time.Second)
	requireInOrder(t, rec, 1, 602*time.Millisecond)
	if rec.when[0] < 600*time.Millisecond {
		t.Fatalf("received at %v, before the second RTO (200ms + 400ms)", rec.when[0])
	}
}

// A frame lost in a partition is resent by its RTO even when frames sent
// after the partition healed arrive first (TCP's window has collapsed to
// the retransmission).
func TestPartitionLossWaitsForRTO(t *testing.T) {
	ns, from, rec := pair(t)
	ns.Cut(netsim.NodeID(tFrom), netsim.NodeID(tTo))
	send(from, 1)
	ns.At(10*time.Millisecond, func() { ns.Heal(); send(from, 2) })
	ns.RunUntil(time.Second)
	requireInOrder(t, rec, 2, 202*time.Millisecond)
	if rec.when[0] < 200*time.Millisecond {
		t.Fatalf("received at %v, before the RTO", rec.when)
	}
}
