package gcs

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
)

// TestChainTwoReplicasRestartTogether: two of a 3-replica chain's members
// (the tail, then the middle) crash and restart within the master's
// timeout, a few ms apart (regression two-replicas-rejoin-fence-every-node).
// The tail's first ping after its restart makes it the joiner, behind the
// middle; the middle, restarted too, pings as a replica with no state
// while that join is pending. Before the fix the master kept it as a
// member ("one join at a time": it asks again later) and, pinging, it was
// never found silent: the head forwarded every write to a member that
// dropped them, the middle never sent the joiner its snapshot, and the
// shard acknowledged nothing again (every raylet fenced itself).
func TestChainTwoReplicasRestartTogether(t *testing.T) {
	for _, gap := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond} {
		t.Run(fmt.Sprint("second restart ", gap), func(t *testing.T) {
			h := newChainHarness(t, 3, 400)
			s := h.net.Sim
			tail, mid := netsim.NodeID(replicaID(2)), netsim.NodeID(replicaID(1))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(104*time.Millisecond, func() { s.Crash(mid) })
			s.At(109*time.Millisecond, func() { s.Restart(tail) })
			s.At(109*time.Millisecond+gap, func() { s.Restart(mid) })
			s.RunUntil(2 * time.Second)
			h.requireSettled(t, 400)
			for i := range 3 {
				require.True(t, h.replica(i).Serving(), "replica %d serves", i)
			}
			h.requireWritesTraced(t)
		})
	}
}
