package netsim

import (
	"math"
	"testing"
	"time"
)

// Pause computes the end of the stall as now+d without saturating, unlike
// every other "now + duration" in the simulator (Node.After, Sim.After,
// Send: see later). A pause "forever" (math.MaxInt64, or any d past
// never-now) taken after time 0 wraps into a negative busy-until, and
// max(busyUntil, negative) leaves the node un-paused: it goes on handling
// its deliveries although the log says it was paused. Right: the pause
// saturates at never, so nothing of the node runs within the run.
func TestHugePauseStallsTheNode(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.RunUntil(time.Second)
	s.Pause(2, math.MaxInt64)
	if b := s.Node(2).BusyUntil(); b < time.Second {
		t.Errorf("BusyUntil after Pause(MaxInt64) at 1s = %v; want far in the future", b)
	}
	s.Node(1).Send(2, "x", 1)
	s.RunUntil(2 * time.Second)
	if got := recs[2].got; len(got) != 0 {
		t.Fatalf("node 2, paused at 1s for math.MaxInt64, handled %v", got)
	}
}

// Charge has the same wrap: max(busyUntil, now)+d overflows for a huge d
// (or a huge d on top of a long pause), busy-until turns negative and the
// node is free at once — the service time it was charged vanishes, and
// Node.BusyUntil reports a time before the simulation began. Right: the
// busy-until saturates at never.
func TestHugeChargeKeepsTheNodeBusy(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.RunUntil(time.Second)
	s.Node(2).Charge(math.MaxInt64)
	if b := s.Node(2).BusyUntil(); b < time.Second {
		t.Errorf("BusyUntil after Charge(MaxInt64) at 1s = %v; want far in the future", b)
	}
	s.Node(1).Send(2, "x", 1)
	s.RunUntil(2 * time.Second)
	if got := recs[2].got; len(got) != 0 {
		t.Fatalf("node 2, charged math.MaxInt64 at 1s, handled %v", got)
	}
}
