package netsim

import (
	"math"
	"testing"
	"time"
)

// A message whose transmission time does not fit an int64 of nanoseconds
// (2 GiB on a 1 bps link: ~1.7e19 ns) must not travel back in time. txTime
// converts the out-of-range float to int64 (math.MinInt64 on amd64), so
// the message is "delivered" at virtual time 0 — after the clock had
// reached 1s — and before the small message queued behind it. Right: the
// big message is delivered no earlier than it was sent (saturated far in
// the future), the small one behind it, and virtual time never decreases.
func TestHugeTransmissionTimeDoesNotGoBackInTime(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 0.125}}) // 1 bps
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.RunUntil(time.Second)
	s.Node(1).Send(2, "big", 2<<30)
	s.Node(1).Send(2, "small", 10)
	last := s.Now()
	for s.Step() {
		if s.Now() < last {
			t.Fatalf("virtual time went back from %v to %v", last, s.Now())
		}
		last = s.Now()
	}
	got := recs[2].got
	if len(got) != 2 || got[0].msg != "big" || got[0].at < time.Second || got[1].msg != "small" || got[1].at < got[0].at {
		t.Fatalf("deliveries %v; want big (sent at 1s, ~544 years on the wire) no earlier than 1s, then small behind it", got)
	}
}

// A node timer set for "never" (math.MaxInt64) overflows now+d into a
// negative time and fires at once — at virtual time 0, after the clock had
// reached 1s (the node treats it as due behind busyUntil 0). Right: a
// timer fires at now+d, saturated: not within the run.
func TestHugeTimerDoesNotFireInThePast(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	addRecorders(s, 1)
	s.RunUntil(time.Second)
	fired := time.Duration(-1)
	s.Node(1).After(math.MaxInt64, func() { fired = s.Now() })
	s.RunUntil(2 * time.Second)
	if fired >= 0 {
		t.Fatalf("timer set at 1s for math.MaxInt64 fired at %v", fired)
	}
}

// A message picked for reordering skips the FIFO clamp so later messages
// may overtake it (doc.go: "Only a message picked for reordering ... skips
// the clamp, so later messages may overtake it"). But when it is also
// duplicated, its duplicate is clamped and raises the link's lastAt to the
// reordered copy's time plus the duplicate gap, so every later in-order
// message is held behind it: here B (1ms latency, sent at 0) arrives at
// ~3.2ms, behind A's duplicate. Right: B, neither reordered nor
// duplicated, arrives at 1ms; a reordered message's duplicate, like the
// message itself, does not hold up the link.
func TestReorderedDuplicateDoesNotHoldUpLaterMessages(t *testing.T) {
	s := New(Config{Seed: 1})
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.SetLink(1, 2, Link{Latency: Constant(time.Millisecond), Reorder: 1, Duplicate: 1})
	s.Node(1).Send(2, "A", 10)
	s.SetLink(1, 2, Link{Latency: Constant(time.Millisecond)})
	s.Node(1).Send(2, "B", 10)
	s.Run()
	for _, g := range recs[2].got {
		if g.msg == "B" && g.at != time.Millisecond {
			t.Fatalf("deliveries %v: B at %v; want 1ms (only A was reordered/duplicated)", recs[2].got, g.at)
		}
	}
}
