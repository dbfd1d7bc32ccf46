package netsim

import (
	"math"
	"testing"
	"time"
)

// later saturates at never (MaxInt64/2) assuming its start is no later
// than never, but Sim.At takes any time: a harness event at
// math.MaxInt64 ("at the end of time") runs with Now past never, and a
// timer it sets, even for 0, is due at never — before Now. Virtual time
// then goes backwards when it fires (as it does after RunUntil(MaxInt64),
// which leaves Now at MaxInt64 too). Right: nothing is scheduled before
// Now; a time past never saturates at itself.
func TestNothingScheduledBeforeNowPastNever(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	addRecorders(s, 1, 2)
	var times []time.Duration
	s.At(math.MaxInt64, func() {
		times = append(times, s.Now())
		s.Node(1).After(0, func() { times = append(times, s.Now()) })
		s.Node(1).Send(2, "x", 1)
	})
	last := s.Now()
	for s.Step() {
		if s.Now() < last {
			t.Fatalf("virtual time went back from %v to %v (events so far at %v)", last, s.Now(), times)
		}
		last = s.Now()
	}
	if len(times) != 2 {
		t.Fatalf("events at %v; want the harness event and its timer", times)
	}
}
