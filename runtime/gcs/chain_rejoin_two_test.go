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

// TestChainJoinerRestartsAgain: a 3-replica chain's tail crashes and
// restarts (4ms later), the master names it the joiner, and it crashes
// again 5–12ms after its restart and restarts 2ms later, within the
// master's timeout. Between its snapshot's acknowledgement and its first
// ping as synced, the master still held it the joiner and took its
// pings ("no state", as a joiner's waiting for its snapshot) for the same
// join; its predecessor took the join as done and forwarded every update
// to it, and the restarted replica, which had heard no configuration,
// dropped them: the shard acknowledged nothing again (5.5ms to 10ms
// stalled before). A restarted replica now asks the master for the
// configuration, and the master takes the ask from its joiner for the
// joiner's restart and starts the join over under a new epoch.
func TestChainJoinerRestartsAgain(t *testing.T) {
	for d := 5 * time.Millisecond; d <= 12*time.Millisecond; d += 500 * time.Microsecond {
		t.Run(fmt.Sprint("again ", d), func(t *testing.T) {
			h := newChainHarness(t, 3, 400)
			s := h.net.Sim
			tail := netsim.NodeID(replicaID(2))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(104*time.Millisecond, func() { s.Restart(tail) })
			s.At(104*time.Millisecond+d, func() { s.Crash(tail) })
			s.At(106*time.Millisecond+d, func() { s.Restart(tail) })
			s.RunUntil(2 * time.Second)
			h.requireSettled(t, 400)
			for i := range 3 {
				require.True(t, h.replica(i).Serving(), "replica %d serves", i)
			}
			h.requireWritesTraced(t)
		})
	}
}
