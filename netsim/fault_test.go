package netsim

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A message that reached a paused node before a partition began is in the
// node's receive queue: the partition does not reach back into it, and the
// message is delivered when the pause ends.
func TestPartitionAfterArrivalSparesPausedNodesQueue(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond)}})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.Pause(2, 10*time.Millisecond) })
	s.At(0, func() { s.Node(1).Send(2, "m", 10) }) // arrives at 1ms, node 2 paused
	s.At(5*time.Millisecond, func() { s.Partition([]NodeID{1}, []NodeID{2}) })
	s.Run()
	if len(recs[2].got) != 1 || recs[2].got[0].at != 10*time.Millisecond {
		t.Fatalf("message that arrived at 1ms (before the 5ms partition) at a node paused until 10ms: got %v; want it at 10ms", recs[2].got)
	}
}

// The inverse: a message that arrives at a paused node while a partition
// separates it from its sender is dropped, even if the partition heals
// before the pause ends.
func TestArrivalDuringPartitionDroppedDespiteHeal(t *testing.T) {
	var drops []string
	s := New(Config{Link: Link{Latency: Constant(4 * time.Millisecond)}, OnDrop: func(ev *Event) {
		drops = append(drops, ev.At.String()+" "+ev.Detail)
	}})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.Pause(2, 10*time.Millisecond) })
	s.At(0, func() { s.Node(1).Send(2, "m", 10) }) // sent before the partition, arrives at 4ms
	s.At(2*time.Millisecond, func() { s.Partition([]NodeID{1}, []NodeID{2}) })
	s.At(6*time.Millisecond, s.Heal)
	s.Run()
	if len(recs[2].got) != 0 {
		t.Fatalf("message arriving at 4ms inside partition [2ms,6ms) was delivered at %v", recs[2].got[0].at)
	}
	if len(drops) != 1 || drops[0] != "4ms partition" {
		t.Fatalf("drops %q; want one partition drop at 4ms (on arrival)", drops)
	}
}

// HealPartition ends one partition: an older one's end does not heal a
// newer overlapping one, and Heal still removes everything.
func TestHealPartitionEndsOnlyItsOwn(t *testing.T) {
	var heals []string
	s := New(Config{OnEvent: func(ev *Event) {
		if ev.Kind == EvHeal {
			heals = append(heals, ev.At.String()+" "+ev.Detail)
		}
	}})
	defer s.Close()
	recs := addRecorders(s, 1, 2, 3)
	var a, b PartitionID
	s.At(0, func() { a = s.Partition([]NodeID{1}, []NodeID{2}) })
	s.At(time.Millisecond, func() { b = s.Partition([]NodeID{1}, []NodeID{3}) })
	s.At(2*time.Millisecond, func() {
		if !s.HealPartition(a) {
			t.Errorf("HealPartition(%d) of a partition in place reported false", a)
		}
		if s.HealPartition(a) {
			t.Errorf("second HealPartition(%d) reported true", a)
		}
	})
	s.At(3*time.Millisecond, func() {
		s.Node(1).Send(2, "to2", 1) // a healed: delivered
		s.Node(1).Send(3, "to3", 1) // b holds: dropped
	})
	s.At(4*time.Millisecond, s.Heal)
	s.At(5*time.Millisecond, func() {
		if s.HealPartition(b) {
			t.Errorf("HealPartition(%d) after Heal reported true", b)
		}
		s.Node(1).Send(3, "to3 after heal", 1)
	})
	s.Run()
	if len(recs[2].got) != 1 || len(recs[3].got) != 1 || recs[3].got[0].msg != "to3 after heal" {
		t.Fatalf("node 2 got %v, node 3 got %v; want to2, and to3 after heal only", recs[2].got, recs[3].got)
	}
	if want := []string{"2ms [1][2]", "4ms "}; len(heals) != 2 || heals[0] != want[0] || heals[1] != want[1] {
		t.Fatalf("heal events %q; want %q", heals, want)
	}
}

// RestoreDegradation ends a degradation only while it is the link's own: a
// later DegradeWith replaced it, and holds until its own end.
func TestRestoreDegradationEndsOnlyItsOwn(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond)}})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	var a, b DegradationID
	s.At(0, func() { a = s.Degrade(1, 2, 50*time.Millisecond, 0) })
	s.At(10*time.Millisecond, func() { b = s.Degrade(1, 2, 20*time.Millisecond, 0) })
	s.At(20*time.Millisecond, func() {
		if s.RestoreDegradation(1, 2, a) {
			t.Errorf("RestoreDegradation of a replaced degradation reported true")
		}
		s.Node(1).Send(2, "b holds", 1) // 1ms + 20ms
	})
	s.At(100*time.Millisecond, func() {
		if !s.RestoreDegradation(1, 2, b) {
			t.Errorf("RestoreDegradation of the link's degradation reported false")
		}
		s.Node(1).Send(2, "restored", 1) // 1ms
	})
	s.At(200*time.Millisecond, func() {
		c := s.Degrade(1, 2, 5*time.Millisecond, 0)
		s.Restore(1, 2)
		if s.RestoreDegradation(1, 2, c) {
			t.Errorf("RestoreDegradation after Restore reported true")
		}
	})
	s.Run()
	got := recs[2].got
	if len(got) != 2 || got[0].at != 41*time.Millisecond || got[1].at != 101*time.Millisecond {
		t.Fatalf("node 2 got %v; want b holds at 41ms, restored at 101ms", got)
	}
}

// chargeThenSend answers every message after 10ms of service time.
type chargeThenSend struct{ n *Node }

func (c *chargeThenSend) Deliver(from NodeID, payload any) {
	c.n.Charge(10 * time.Millisecond)
	c.n.Send(from, "reply", 10) // departs at busy-until
}

// A send made after Charge departs at busy-until: if the node crashes
// before then, the message never left, and is dropped (DropUnsent) when it
// would have arrived.
func TestCrashBeforeDepartureDropsSend(t *testing.T) {
	var drops []string
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond)}, OnDrop: func(ev *Event) {
		drops = append(drops, ev.At.String()+" "+ev.Detail)
	}})
	defer s.Close()
	s.AddNode(1, func(n *Node) Handler { return &chargeThenSend{n} })
	recs := addRecorders(s, 2)
	s.At(0, func() { s.Node(2).Send(1, "req", 10) }) // arrives at 1ms; reply departs at 11ms
	s.At(5*time.Millisecond, func() { s.Crash(1) })
	s.Run()
	if len(recs[2].got) != 0 {
		t.Fatalf("node 1 crashed at 5ms, before its reply departed (11ms), yet it was delivered at %v", recs[2].got[0].at)
	}
	if len(drops) != 1 || drops[0] != "12ms "+DropUnsent {
		t.Fatalf("drops %q; want one %q at 12ms", drops, DropUnsent)
	}
}

// A reply that departed before its sender crashed is delivered.
func TestCrashAfterDepartureKeepsSend(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond)}})
	defer s.Close()
	s.AddNode(1, func(n *Node) Handler { return &chargeThenSend{n} })
	recs := addRecorders(s, 2)
	s.At(0, func() { s.Node(2).Send(1, "req", 10) }) // reply departs at 11ms
	s.At(11*time.Millisecond, func() { s.Crash(1) })
	s.At(11*time.Millisecond, func() { s.Restart(1) })
	s.Run()
	if len(recs[2].got) != 1 || recs[2].got[0].at != 12*time.Millisecond {
		t.Fatalf("node 2 got %v; want the reply (departed at 11ms, before the crash) at 12ms", recs[2].got)
	}
}

// A crash kills the sender's connections and NIC queue: a message still
// being transmitted must not arrive whole, and the restarted incarnation
// does not queue behind bytes of the dead one.
func TestCrashMidTransmission(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6}}) // 1 MB/s
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.Node(1).Send(2, "big", 10e6) }) // 10 s on the wire
	s.At(time.Second, func() { s.Crash(1) })           // 10% transmitted
	s.At(2*time.Second, func() { s.Restart(1) })
	s.At(2*time.Second, func() { s.Node(1).Send(2, "small", 100) })
	s.Run()
	got := recs[2].got
	if len(got) != 1 || got[0].msg != "small" || got[0].at != 2*time.Second+1100*time.Microsecond {
		t.Fatalf("node 2 got %v; want only small, at 2.0011s (100B at 1MB/s + 1ms)", got)
	}
}

// The destination-side twin: bytes queued to a receiver that crashed (its
// copy is dropped as crashed) do not hold the link against the sender's
// first message to the restarted receiver.
func TestDeadReceiversQueueFreesLink(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6}})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.Node(1).Send(2, "big", 10e6) })
	s.At(time.Second, func() { s.Crash(2) })
	s.At(1500*time.Millisecond, func() { s.Restart(2) })
	s.At(2*time.Second, func() { s.Node(1).Send(2, "small", 100) })
	s.Run()
	got := recs[2].got // the recorder of the new incarnation
	if len(got) != 1 || got[0].at != 2*time.Second+1100*time.Microsecond {
		t.Fatalf("restarted node 2 got %v; want only small at 2.0011s", got)
	}
}

// Links configured before their nodes exist are reset at a crash too.
func TestCrashResetsLinkMadeBeforeNode(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond)}})
	defer s.Close()
	s.SetLink(1, 2, Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6})
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.Node(1).Send(2, "big", 10e6) })
	s.At(time.Second, func() { s.Restart(1) })
	s.At(time.Second, func() { s.Node(1).Send(2, "small", 100) })
	s.Run()
	got := recs[2].got
	if len(got) != 1 || got[0].msg != "small" || got[0].at != time.Second+1100*time.Microsecond {
		t.Fatalf("node 2 got %v; want only small at 1.0011s", got)
	}
}

// The end of a bandwidth cap re-times what it slowed: the rest of the
// message being transmitted goes out at the link's own rate, and traffic
// sent after the restore does not wait for the capped schedule.
func TestBandwidthDegradeEndsWithRestore(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6}}) // 1 MB/s
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() { s.DegradeWith(1, 2, Degradation{Bandwidth: 1e3}) }) // 1 KB/s
	s.At(0, func() { s.Node(1).Send(2, "1MB", 1e6) })                    // 1000s at 1KB/s
	s.At(time.Second, func() { s.Restore(1, 2) })                        // 1KB sent; 999KB at 1MB/s: 0.999s
	s.At(2*time.Second, func() { s.Node(1).Send(2, "after", 100) })
	s.Run()
	got := recs[2].got
	if len(got) != 2 || got[0].at != 2*time.Second || got[1].at != 2*time.Second+1100*time.Microsecond {
		t.Fatalf("node 2 got %v; want 1MB at 2s, after at 2.0011s", got)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending %d after Run", s.Pending())
	}
}

// Messages queued behind the one being transmitted are re-timed too, in
// order; a tighter cap slows them down the same way; a message sent before
// the cap began is not recorded, and keeps its time.
func TestBandwidthChangeRetimesQueuedMessages(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6}})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.At(0, func() {
		s.Node(1).Send(2, "before", 1000) // 1ms at 1MB/s: left at 1ms
		s.DegradeWith(1, 2, Degradation{Bandwidth: 1e3})
		s.Node(1).Send(2, "a", 2000) // from 1ms: 2s at 1KB/s
		s.Node(1).Send(2, "b", 1000) // then 1s
	})
	s.At(1001*time.Millisecond, func() { s.DegradeWith(1, 2, Degradation{Bandwidth: 500}) }) // a: 1000B left, 2s
	s.At(2001*time.Millisecond, func() { s.Restore(1, 2) })                                  // a: 500B left, 0.5ms; b: 1ms
	s.Run()
	var got []string
	for _, r := range recs[2].got {
		got = append(got, r.msg.(string)+"@"+r.at.String())
	}
	want := []string{"before@2ms", "a@2.0025s", "b@2.0035s"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("node 2 got %q; want %q", got, want)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending %d after Run", s.Pending())
	}
}

// Re-timing keeps the link FIFO (without reordering) and delivers every
// message once (but for losses), whatever the caps, their ends, losses and
// duplicates, and leaves no dead item counted as pending.
func TestPropRetimeKeepsFIFO(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := Link{
			Latency:   drawLatency(t),
			Jitter:    time.Duration(rapid.IntRange(0, 3).Draw(t, "jitter")) * time.Millisecond,
			Bandwidth: float64(rapid.SampledFrom([]int{0, 1e6, 1e7}).Draw(t, "bw")),
			Duplicate: rapid.SampledFrom([]float64{0, 0.2}).Draw(t, "dup"),
			Loss:      rapid.SampledFrom([]float64{0, 0.2}).Draw(t, "loss"),
		}
		nodes := rapid.IntRange(2, 3).Draw(t, "nodes")
		s, log := newLogSim(t, l, nodes)
		for i := rapid.IntRange(0, 8).Draw(t, "changes"); i > 0; i-- {
			at := time.Duration(rapid.Int64Range(0, int64(40*time.Millisecond)).Draw(t, "changeAt"))
			from := NodeID(rapid.IntRange(1, nodes).Draw(t, "cfrom"))
			to := NodeID(rapid.IntRange(1, nodes).Draw(t, "cto"))
			bw := float64(rapid.SampledFrom([]int{0, 1e4, 1e5, 1e6}).Draw(t, "cap"))
			s.At(at, func() {
				if bw == 0 {
					s.Restore(from, to)
				} else {
					s.DegradeWith(from, to, Degradation{Bandwidth: bw})
				}
			})
		}
		sent := scheduleSends(t, s, nodes, rapid.IntRange(1, 150).Draw(t, "count"), 30*time.Millisecond)
		s.Run()
		last := map[[2]NodeID]int{}
		got := map[[2]NodeID]int{}
		for _, d := range *log {
			key := [2]NodeID{d.from, d.to}
			if d.m.k < last[key] || (l.Duplicate == 0 && d.m.k == last[key]) {
				t.Fatalf("link %d->%d out of order: %d after %d", d.from, d.to, d.m.k, last[key])
			}
			if d.m.k != last[key] {
				got[key]++
			}
			last[key] = d.m.k
		}
		for key, n := range sent {
			if got[key] > *n || (l.Loss == 0 && got[key] != *n) {
				t.Fatalf("link %d->%d: %d of %d messages delivered", key[0], key[1], got[key], *n)
			}
		}
		if s.Pending() != 0 {
			t.Fatalf("Pending %d after Run", s.Pending())
		}
	})
}
