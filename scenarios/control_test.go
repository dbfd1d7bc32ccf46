package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

// TestControlPlaneFaults: partitions and degraded links may name the
// control plane (scheduler, gcs, gcs-N) besides nodes, and take effect: a
// node cut from the GCS longer than the heartbeat timeout is declared dead
// and its tasks are retried elsewhere; placements through a slow scheduler
// take longer. Both runs still finish with every result right.
func TestControlPlaneFaults(t *testing.T) {
	base := runOK(t, "fault-partition.yaml", "faults=[]")
	cut := runOK(t, "fault-partition.yaml", "faults=[{at: 100ms, partition: [[gcs], [worker-2]], for: 2s}]")
	assert.Zero(t, base.TasksRetried)
	assert.Positive(t, cut.TasksRetried, "worker-2, cut from the GCS past the timeout, was declared dead")
	slow := runOK(t, "fault-partition.yaml", "faults=[{at: 0s, degrade_link: {from: scheduler, to: worker, latency: 20ms}}]")
	assert.Greater(t, slow.LatencyMs.P50, base.LatencyMs.P50, "every spilled task waits for the scheduler's slow placement")
	shard := runOK(t, "fault-partition.yaml", "cluster.gcs.shards=2", "faults=[{at: 100ms, degrade_link: {from: gcs-1, to: head, loss: 50%}, for: 500ms}, {at: 700ms, heal: true}]")
	assert.Equal(t, 2, shard.FaultsInjected)
}

// TestControlPlaneNames: the names resolve where they mean the control
// plane, a node of the same name wins, and a shard the cluster does not
// have is an error that lists the ones it has.
func TestControlPlaneNames(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("fault-partition.yaml", []string{"cluster.gcs.shards=3",
		"faults=[{at: 1s, partition: [[gcs, scheduler], [worker]]}, {at: 2s, degrade_link: {from: gcs-2, to: head, latency: 1ms}}]"})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"gcs-0", "gcs-1", "gcs-2", "scheduler"}, {"worker-0", "worker-1", "worker-2", "worker-3"}}, s.Faults[0].Groups)
	assert.Equal(t, []string{"gcs-2"}, s.Faults[1].Link.FromNodes)
	assert.True(t, s.NamesControl(&s.Faults[0]))
	assert.Equal(t, []string{"scheduler", "gcs-0", "gcs-1", "gcs-2"}, s.ControlEndpoints())

	_, err = scenarios.LoadWithOverrides("fault-partition.yaml", []string{"faults=[{at: 1s, degrade_link: {from: gcs-1, to: head, latency: 1ms}}]"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "faults.0.degrade_link.from: a node or group name of the cluster, or of the control plane: scheduler, gcs or gcs-0 (got \"gcs-1\")")

	s, err = scenarios.LoadWithOverrides("fault-partition.yaml", []string{"cluster.nodes=[{name: scheduler}, {name: worker, count: 2}]",
		"faults=[{at: 1s, partition: [[scheduler], [worker]]}]"})
	require.NoError(t, err)
	assert.False(t, s.NamesControl(&s.Faults[0]), "a node named scheduler is that node")
	assert.Equal(t, []string{"gcs-0"}, s.ControlEndpoints())
}
