package netsim

import (
	"testing"
	"time"
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
