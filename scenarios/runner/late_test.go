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

// TestNodesJoinLater: a node group with a start joins the cluster then (a
// machine booting, as an autoscaler's would): tasks that need its GPUs
// wait for it and none runs before it; the drivers run on the nodes up at
// the start (drivers: per-node counts those); a fault on a node that has
// not joined yet does nothing, said in a warning; the same digest twice;
// the key encodes back.
func TestNodesJoinLater(t *testing.T) {
	const yaml = `
name: late
seed: 1
duration_limit: 20s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: gpu, count: 2, cpus: 4, gpus: 1, start: 1s}
workload:
  - generator: parallel
    params: {tasks: 40, duration: 50ms}
    resources: {GPU: 1}
    drivers: per-node
faults:
  - {at: 500ms, kill_node: gpu-1}
  - {at: 2s, kill_node: gpu-1}
  - {at: 2500ms, restart_node: gpu-1}
expect:
  all_complete: true
  results_correct: true
`
	s, err := scenarios.Parse("late.yaml", []byte(yaml))
	require.NoError(t, err)
	require.Equal(t, time.Second, s.Cluster.Nodes[2].Start)
	var digests []string
	for range 2 {
		var first time.Duration = -1
		drivers := map[transport.NodeID]bool{}
		r, err := Run(context.Background(), s, Options{OnEvent: func(at time.Duration, ev *transport.Event) {
			switch {
			case ev.Kind == transport.EvTaskRunning && ev.Detail == "parallel" && first < 0:
				first = at
			case ev.Kind == transport.EvTaskSubmitted && ev.Detail == "parallel":
				drivers[ev.Node] = true
			}
		}})
		require.NoError(t, err)
		assert.True(t, r.OK, "%+v", r.Expectations)
		assert.GreaterOrEqual(t, first, time.Second, "no GPU task ran before the GPU nodes joined")
		assert.Len(t, drivers, 1, "per-node: the one node up at the start")
		assert.Contains(t, r.Warnings, "kill_node at 500ms: node gpu-1 has not joined yet (its group's start); nothing to do")
		digests = append(digests, r.Digest)
	}
	assert.Equal(t, digests[0], digests[1])
	out, err := s.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), "start: 1s")
}
