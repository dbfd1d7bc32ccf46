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

// shuffle runs the shipped map-reduce with Put partitions and no fault,
// with sets applied, and returns the result and the nodes the GCS declared
// dead for missed heartbeats, in order.
func shuffle(t *testing.T, sets ...string) (*Result, []transport.NodeID) {
	t.Helper()
	s, err := scenarios.LoadWithOverrides("../map-reduce.yaml", append([]string{"expect.finish_by=10m", "duration_limit=10m"}, sets...))
	require.NoError(t, err)
	var dead []transport.NodeID
	r, err := Run(context.Background(), s, Options{OnEvent: func(_ time.Duration, ev *transport.Event) {
		if ev.Kind == transport.EvNodeDead && ev.Detail == transport.DetailMissedHeartbeats {
			dead = append(dead, ev.Node)
		}
	}})
	require.NoError(t, err)
	require.Zero(t, r.FaultsInjected)
	return r, dead
}

// With 64 MiB partitions, 16 reducers placed on one node ask its three
// peers for ~770 partitions at once (~330 ms). Each peer's raylet served
// every pull as it came, on its one loop, at object_per_mb (6.4 ms a
// partition): its heartbeat timer waited behind ~1.6 s of serving, the
// GCS declared 3 of the 4 nodes dead for missed heartbeats at 1.4 s
// (timeout 1 s) and dropped their copies, and 765 Put partitions were
// lost ("its owner died"), though no node crashed. The pulls now queue
// behind an overdue heartbeat (node.Raylet.onPull): no node dies, nothing
// is lost, every reduce is correct.
func TestBusyRayletNotDeclaredDead(t *testing.T) {
	r, dead := shuffle(t, "workload.0.params.partition_size=64MiB")
	require.Empty(t, dead)
	require.Zero(t, r.ObjectsLost)
	require.Zero(t, r.Incorrect)
	require.Len(t, r.Workloads, 1)
	require.Empty(t, r.Workloads[0].FirstErr)
	require.Equal(t, 16, r.Workloads[0].Checked)
}

// A node the GCS declares dead for missed heartbeats in a run that
// injected no fault is a raylet too busy to heartbeat (here one pull of
// an 8 MiB partition costs 1.6 s at 200 ms/MiB, past the 1 s timeout):
// the summary says so (it said "faults 0 injected" and nothing of the
// deaths), and a Put lost with it says its node was declared dead, not
// that it died.
func TestUnfaultedHeartbeatDeathsWarned(t *testing.T) {
	r, dead := shuffle(t, "workload.0.params.maps=16", "workload.0.params.reduces=4",
		"workload.0.params.partition_size=8MiB", "cluster.costs.object_per_mb=200ms")
	require.NotEmpty(t, dead)
	var warned string
	for _, w := range r.Warnings {
		if strings.Contains(w, "declared dead for missed heartbeats though no fault was injected") {
			warned = w
		}
	}
	require.NotEmpty(t, warned, "warnings: %q", r.Warnings)
	require.NotZero(t, r.ObjectsLost)
	require.Len(t, r.Workloads, 1)
	e := r.Workloads[0].FirstErr
	require.Contains(t, e, "its owner died: the object was made by Put on a node the GCS has since declared dead")
	require.NotContains(t, e, "on a node that has died")
}

// A run whose nodes all stay alive warns of no death.
func TestNoUnfaultedDeathNoWarning(t *testing.T) {
	r, dead := shuffle(t, "workload.0.params.maps=16", "workload.0.params.reduces=4")
	require.Empty(t, dead)
	for _, w := range r.Warnings {
		require.NotContains(t, w, "missed heartbeats")
	}
}
