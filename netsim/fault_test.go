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
