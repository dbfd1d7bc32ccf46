package netsim

import (
	"testing"
	"time"
)

// retime re-times the messages a bandwidth cap held back with a plain
// start+txTime, where Send saturates (later): when the end of a cap
// queues several transmissions of centuries each back to back, their end
// times pass math.MaxInt64 and wrap negative. The link's busy-until
// (txFree) is set to that negative time, so the link reads as idle: a
// message sent next starts transmitting at once, although four
// transmissions of ~89 years each are queued ahead of it on the link (two
// transfers on one link at once). The FIFO clamp hides it from an
// in-order message; one picked for reordering skips the clamp and arrives
// a second later. Right: as in Send, the re-timed ends saturate at never,
// the link stays busy, and nothing here arrives within the run.
func TestRetimeHugeTransmissionsSaturate(t *testing.T) {
	s := New(Config{Link: Link{Bandwidth: 1}}) // 1 B/s
	defer s.Close()
	recs := addRecorders(s, 1, 2)
	s.DegradeWith(1, 2, Degradation{Bandwidth: 0.5})
	const size = 2_800_000_000 // ~89 years each at 1 B/s (~0.6 of never)
	for _, m := range []string{"a", "b", "c", "d"} {
		s.Node(1).Send(2, m, size)
	}
	s.RunUntil(time.Second)
	s.Restore(1, 2)                                 // back to 1 B/s: a, b, c, d re-timed back to back
	s.SetLink(1, 2, Link{Bandwidth: 1, Reorder: 1}) // the same 1 B/s: no re-timing
	s.Node(1).Send(2, "e", 1)
	s.RunUntil(3 * time.Second)
	if got := recs[2].got; len(got) != 0 {
		t.Fatalf("deliveries within 3s of 4 messages of %d bytes each, then one of 1 byte, on a 1 B/s link: %v", size, got)
	}
}
