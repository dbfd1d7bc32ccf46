package scenarios_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestRestartAfterBackwardSkew: a node whose clock was set back 5s and
// that then restarts registers again at once with a replicated GCS. Its GCS
// client numbered its requests from its clock, below what the chain had
// acknowledged from its previous incarnation, and the chain dropped them as
// duplicates: the node never came back. Requests now carry the client's
// incarnation (found in review).
func TestRestartAfterBackwardSkew(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("parallel.yaml", []string{
		"workload.0.params.tasks=2000", "workload.0.start=200ms", "cluster.gcs.replicas=2",
		"faults=[{at: 50ms, skew_clock: {node: node-3, offset: -5s}}, {at: 100ms, kill_node: node-3}, {at: 150ms, restart_node: node-3}]",
	})
	require.NoError(t, err)
	i, ok := s.NodeIndex("node-3")
	require.True(t, ok)
	id := ray.RayletID(i)
	var back time.Duration
	r, err := runner.Run(context.Background(), s, runner.Options{OnEvent: func(at time.Duration, ev *transport.Event) {
		if ev.Kind == transport.EvNodeAlive && ev.Node == id && at > 150*time.Millisecond && back == 0 {
			back = at
		}
	}})
	require.NoError(t, err)
	require.True(t, r.OK, "expectations: %+v", r.Expectations)
	require.NotZero(t, back, "node-3 registered again after its restart")
	assert.Less(t, back, 200*time.Millisecond, "at once, not after its old incarnation's heartbeats lapsed")
	assert.Zero(t, r.TasksRetried, "nothing was lost with it")
}

// TestSkewedDriverKeepsItsPace: a driver paces its arrivals on its node's
// monotonic clock, so a wall clock set back 2s neither stalls them (they
// waited for the wall clock to catch up) nor, set forward, bursts them.
func TestSkewedDriverKeepsItsPace(t *testing.T) {
	run := func(faults string) float64 {
		t.Helper()
		s, err := scenarios.LoadWithOverrides("parallel.yaml", []string{"workload.0.params.tasks=2000", faults})
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "expectations: %+v", r.Expectations)
		return r.VirtualSeconds
	}
	base := run("faults=[]")
	for _, off := range []string{"-2s", "2s"} {
		assert.InDelta(t, base, run("faults=[{at: 20ms, skew_clock: {node: node-0, offset: "+off+"}}, {at: 20ms, skew_clock: {node: node-1, offset: "+off+"}}]"), 0.01,
			"skew %s moved the run's end", off)
	}
}
