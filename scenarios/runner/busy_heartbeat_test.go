package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// busyShuffle runs the shipped map-reduce with 64 MiB Put partitions and no
// fault: 16 reducers placed on one node ask its three peers for ~770
// partitions at once (~330 ms), and each peer's raylet serves every pull on
// its one loop at object_per_mb (6.4 ms a partition): its heartbeat timer
// waits behind ~1.6 s of queued serving, the GCS declares it dead for
// missed heartbeats at 1.4 s (timeout 1 s), drops its copies, and the
// reducers' Put arguments are lost ("its owner died"), though no node
// crashed. It returns the result and the node.dead events' nodes.
func busyShuffle(t *testing.T) (*Result, []transport.NodeID) {
	t.Helper()
	s, err := scenarios.LoadWithOverrides("../map-reduce.yaml", []string{
		"workload.0.params.partition_size=64MiB", "expect.finish_by=10m", "duration_limit=10m"})
	require.NoError(t, err)
	var dead []transport.NodeID
	r, err := Run(context.Background(), s, Options{OnEvent: func(_ time.Duration, ev *transport.Event) {
		if ev.Kind == transport.EvNodeDead && ev.Detail == transport.DetailMissedHeartbeats {
			dead = append(dead, ev.Node)
		}
	}})
	require.NoError(t, err)
	return r, dead
}

// A node the GCS declares dead for missed heartbeats in a run that
// injected no fault is a raylet too busy to heartbeat: the summary says
// so (before, it said "faults 0 injected" and nothing of the deaths), and
// a Put lost with it says its node was declared dead, not that it died.
func TestUnfaultedHeartbeatDeathsWarned(t *testing.T) {
	r, dead := busyShuffle(t)
	require.Zero(t, r.FaultsInjected)
	var warned string
	for _, w := range r.Warnings {
		if strings.Contains(w, "declared dead for missed heartbeats though no fault was injected") {
			warned = w
		}
	}
	if len(dead) == 0 { // the busy raylet's heartbeats no longer wait (fixed): nothing to warn of
		require.Empty(t, warned)
		return
	}
	require.NotEmpty(t, warned, "warnings: %q", r.Warnings)
	require.NotZero(t, r.ObjectsLost)
	require.Len(t, r.Workloads, 1)
	e := r.Workloads[0].FirstErr
	require.Contains(t, e, "its owner died: the object was made by Put on a node the GCS has since declared dead")
	require.NotContains(t, e, "on a node that has died")
}

// The bug itself, kept for its fix: with no fault no node may be declared
// dead, and no Put partition lost. It fails today (3 of 4 nodes declared
// dead at 1.4 s, 765 objects lost): a raylet serves pulls and sends
// heartbeats on one loop, and Ray serves pulls on the object manager's own
// threads (paced by its push manager's bytes in flight), apart from the
// raylet's main loop and from the GCS health check.
func TestBusyRayletNotDeclaredDead(t *testing.T) {
	t.Skip("known bug (branch putloss): a raylet serving a burst of large pulls misses heartbeats and is declared dead; see busyShuffle")
	r, dead := busyShuffle(t)
	require.Empty(t, dead)
	require.Zero(t, r.ObjectsLost)
}
