package runner

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// TestEntryInPlacementGroup: a workload entry's placement_group makes each
// driver run its tasks in a group of bundles of the entry's resources:
// STRICT_PACK on one node, STRICT_SPREAD on as many nodes as bundles, and
// at most as many at once as there are bundles; every result right, the
// same digest twice; a group the cluster cannot place is a loading error.
func TestEntryInPlacementGroup(t *testing.T) {
	const yaml = `
name: group
seed: 2
duration_limit: 60s
cluster:
  nodes:
    - {name: head, cpus: 4}
    - {name: worker, count: 3, cpus: 4}
workload:
  - generator: parallel
    params: {tasks: 300, duration: 2ms}
    resources: {CPU: 1}
    placement_group: {bundles: 3, strategy: STRATEGY}
expect:
  all_complete: true
  results_correct: true
`
	for _, tc := range []struct {
		strategy string
		nodes    int
	}{{"STRICT_PACK", 1}, {"STRICT_SPREAD", 3}} {
		s, err := scenarios.ParseWithOverrides("group.yaml", []byte(yaml), []string{"workload.0.placement_group.strategy=" + tc.strategy})
		require.NoError(t, err)
		var digests []string
		for range 2 {
			nodes := map[transport.NodeID]bool{}
			running, most := 0, 0
			r, err := Run(context.Background(), s, Options{OnEvent: func(_ time.Duration, ev *transport.Event) {
				switch {
				case ev.Kind == transport.EvTaskRunning && ev.Detail == "parallel":
					nodes[ev.Node] = true
					running++
					most = max(most, running)
				case (ev.Kind == transport.EvTaskFinished || ev.Kind == transport.EvTaskFailed) && running > 0:
					running--
				}
			}})
			require.NoError(t, err)
			assert.True(t, r.OK, "%s: %+v", tc.strategy, r.Expectations)
			assert.Len(t, nodes, tc.nodes, tc.strategy)
			assert.LessOrEqual(t, most, 3, "%s: at most a task per bundle at once", tc.strategy)
			digests = append(digests, r.Digest)
		}
		assert.Equal(t, digests[0], digests[1], tc.strategy)
	}
	_, err := scenarios.ParseWithOverrides("group.yaml", []byte(yaml), []string{"workload.0.placement_group.strategy=STRICT_SPREAD", "workload.0.placement_group.bundles=5"})
	require.ErrorContains(t, err, "workload.0.placement_group: a group the cluster can place: 5 bundles of the entry's resources, STRICT_SPREAD")
}

// TestNestedEntryCapturesChildren: with capture_child_tasks a nested
// entry's children and grandchildren run in its placement group too: its
// 16 bundles of a quarter CPU take all of one node's 4 CPUs (STRICT_PACK),
// so every nested task runs on that node; without capture the children
// run elsewhere (the bundles' CPUs are the group's only). Every result is
// right, the digest the same twice, and the scenario encodes the key back.
func TestNestedEntryCapturesChildren(t *testing.T) {
	const yaml = `
name: capture
seed: 3
duration_limit: 60s
cluster:
  nodes:
    - {name: head, cpus: 4}
    - {name: worker, count: 2, cpus: 4}
workload:
  - generator: nested
    params: {roots: 2, depth: 3, fanout: 1, duration: 2ms}
    resources: {CPU: 0.25}
    placement_group: {bundles: 16, strategy: STRICT_PACK, capture_child_tasks: CAPTURE}
expect:
  all_complete: true
  results_correct: true
`
	for _, tc := range []struct {
		capture string
		nodes   int // the nodes nested tasks ran on: 1, or more
	}{{"true", 1}, {"false", 2}} {
		s, err := scenarios.ParseWithOverrides("capture.yaml", []byte(yaml), []string{"workload.0.placement_group.capture_child_tasks=" + tc.capture})
		require.NoError(t, err)
		require.Equal(t, tc.capture == "true", s.Workload[0].Group.CaptureChildTasks)
		out, err := s.Marshal()
		require.NoError(t, err)
		back, err := scenarios.Parse("capture.yaml", out)
		require.NoError(t, err)
		require.Equal(t, s.Workload[0].Group, back.Workload[0].Group)
		var digests []string
		for range 2 {
			nodes := map[transport.NodeID]bool{}
			tasks := 0
			r, err := Run(context.Background(), s, Options{OnEvent: func(_ time.Duration, ev *transport.Event) {
				if ev.Kind == transport.EvTaskRunning && ev.Detail == "nested" {
					nodes[ev.Node] = true
					tasks++
				}
			}})
			require.NoError(t, err)
			assert.True(t, r.OK, "capture %s: %+v", tc.capture, r.Expectations)
			assert.Greater(t, tasks, 2, "capture %s: the roots had children", tc.capture)
			if tc.nodes == 1 {
				assert.Len(t, nodes, 1, "capture: every nested task in the group's node")
			} else {
				assert.GreaterOrEqual(t, len(nodes), tc.nodes, "no capture: children outside the group")
			}
			digests = append(digests, r.Digest)
		}
		assert.Equal(t, digests[0], digests[1], tc.capture)
	}
	_, err := scenarios.ParseWithOverrides("capture.yaml", []byte(yaml), []string{"workload.0.placement_group.capture_child_tasks=true", "workload.0.placement_group.bundles=13"})
	require.ErrorContains(t, err, "at least 14 bundles with capture_child_tasks")
}
