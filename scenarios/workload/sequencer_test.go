package workload

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSequencerVerdicts: an actor-calls instance takes each caller's calls
// in rising order, with gaps (a cancelled or failed number, one run on an
// earlier instance), and reports the first call out of order or run twice,
// then keeps reporting it.
func TestSequencerVerdicts(t *testing.T) {
	fresh := func() *sequencer { return &sequencer{id: 1, last: map[uint64]uint64{}, ran: map[uint64]bool{}} }
	s := fresh()
	for i, c := range []struct{ id, caller, seq uint64 }{{10, 0, 0}, {20, 1, 0}, {11, 0, 1}, {13, 0, 3}, {21, 1, 5}} {
		require.Empty(t, s.run(c.id, c.caller, c.seq), "call %d", i)
	}

	s = fresh()
	s.run(10, 0, 0)
	s.run(12, 0, 2)
	require.Equal(t, "sequencer 1 ran call 1 of caller 0 after its call 2 in one instance (out of submission order)", s.run(11, 0, 1))
	require.Equal(t, s.bad, s.run(13, 0, 3), "the first violation sticks")

	s = fresh()
	s.run(10, 0, 0)
	s.run(11, 0, 1)
	require.Equal(t, "sequencer 1 ran call 1 of caller 0 twice in one instance", s.run(11, 0, 1))
}
