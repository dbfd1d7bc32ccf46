package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// edgeBase is a small valid scenario the tests below bend with --set.
const edgeBase = `
duration_limit: 5s
cluster:
  nodes:
    - {name: node, count: 2, cpus: 2}
workload:
  - {name: a, generator: parallel, params: {tasks: 10, duration: 1ms}}
`

// A stray "-" or "~" in a list is an error at its line, never dropped
// (a partition losing a whole fault) nor read as an entry of defaults.
func TestNullListEntriesRefused(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"workload.1=null", "workload.1: a workload entry (got nothing)"},
		{"faults=[~]", "faults.0: a fault (got nothing)"},
		{"cluster.nodes.1=null", "cluster.nodes.1: a node group (got nothing)"},
		{"cluster.network.links=[~]", "cluster.network.links.0: a link (got nothing)"},
		{"faults=[{at: 1s, partition: [[node-0], ~, [node-1]]}]", "faults.0.partition.1: a group of node names (got nothing)"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
	src := edgeBase + "  -\nfaults:\n  - {at: 1ms, kill_node: node-1}\n  -\n"
	_, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:8:4: workload.1: a workload entry (got nothing)")
	assert.Contains(t, err.Error(), "t.yaml:11:4: faults.1: a fault (got nothing)")
}

// Everything after a "---" would be read by no one: a second document is
// refused; a trailing empty one is nothing.
func TestSecondYAMLDocumentRefused(t *testing.T) {
	_, err := Parse("t.yaml", []byte(edgeBase+"---\nexpect: {finish_by: 1ns}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:8:1: a second YAML document")
	_, err = Parse("t.yaml", []byte(edgeBase+"---\n"))
	assert.NoError(t, err)
	_, err = Parse("t.yaml", []byte("---\n"+edgeBase))
	assert.NoError(t, err)
}

// Merge keys as YAML defines them: an explicit key overrides a merged one
// whatever their order, and --set can override a merged key.
func TestMergeKeyOverriddenByExplicitKey(t *testing.T) {
	src := `
x-w: &w {cpus: 8, count: 2}
cluster:
  nodes:
    - {<<: *w, name: node, cpus: 4}
    - {name: big, cpus: 16, <<: *w}
workload:
  - {generator: parallel, params: {tasks: 10, duration: 1ms}}
`
	s, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, 4.0, s.Cluster.Nodes[0].CPUs)
	assert.Equal(t, 16.0, s.Cluster.Nodes[2].CPUs)
	assert.Len(t, s.Cluster.Nodes, 4)
	s, err = ParseWithOverrides("t.yaml", []byte(src), []string{"cluster.nodes.1.count=1"})
	require.NoError(t, err)
	assert.Len(t, s.Cluster.Nodes, 3)
	dup := "x-w: &w {cpus: 8}\ncluster:\n  nodes:\n    - {<<: *w, name: c, cpus: 1, cpus: 2}\n" +
		"workload:\n  - {generator: parallel}\n"
	_, err = Parse("t.yaml", []byte(dup))
	assert.ErrorContains(t, err, "t.yaml:4:34: cluster.nodes.0.cpus: each key once")
}

// --set through an alias changes the entry it names, not the anchor's
// other users.
func TestSetThroughAliasChangesOneEntry(t *testing.T) {
	src := `
x-p: &p {tasks: 10, duration: 1ms}
cluster:
  nodes:
    - {name: node, count: 2, cpus: 2}
workload:
  - {name: a, generator: parallel, params: *p}
  - {name: b, generator: parallel, params: *p}
`
	s, err := ParseWithOverrides("t.yaml", []byte(src), []string{"workload.0.params.tasks=20"})
	require.NoError(t, err)
	assert.Equal(t, 20, s.Workload[0].Params.(*ParallelParams).Tasks)
	assert.Equal(t, 10, s.Workload[1].Params.(*ParallelParams).Tasks)
	s, err = ParseWithOverrides("t.yaml", []byte(src), []string{"workload.1.params="})
	require.NoError(t, err)
	assert.Equal(t, 10, s.Workload[0].Params.(*ParallelParams).Tasks)
}

// Times that would silently do nothing: a random fault window starting at
// or after duration_limit, a workload starting then.
func TestTimesPastTheLimitRefused(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"faults=[{random: {kind: crash, rate: 1/s, from: 10s}}]", `faults.0.random.from: a time before duration_limit 5s (got "10s")`},
		{"workload.0.start=5s", `workload.0.start: a time before duration_limit 5s (got "5s")`},
		{"expect.finish_by=10mins", `expect.finish_by: a time within duration_limit 5s (got "10mins")`},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
	s, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"faults=[{random: {kind: crash, rate: 1/s, from: 1s}}]", "workload.0.start=4s"})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, s.Faults[0].Random.Until)
}

// What the runtime would refuse without a file position the loader
// refuses with one.
func TestLoaderBoundsMatchRuntime(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"cluster.gcs.shards=5000", "cluster.gcs.shards: at most 4095"},
		{"cluster.gcs.replicas=65", "cluster.gcs.replicas: at most 64"},
		{"cluster.nodes.0.cpus=1e15", "cluster.nodes.0.cpus: a resource amount from 0 to"},
		{"cluster.nodes.0.resources={disk: 1e15}", "cluster.nodes.0.resources.disk: a resource amount from 0 to"},
		{"workload.0.resources={CPU: 1e15}", "workload.0.resources.CPU: a resource amount from 0 to"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"cluster.gcs.shards=4095", "cluster.gcs.replicas=64"})
	assert.NoError(t, err)
}

// A few zeros too many is an error at the params, not a run that dies of
// exhausted memory or never ends.
func TestWorkTooLargeRefused(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"workload.0.params.tasks=100000000000"}, "(tasks = 100000000000)"},
		{[]string{"workload.0={generator: tree-reduce, params: {leaves: 1e11}}"}, "leaves*fanin/(fanin-1) = 200000000000"},
		{[]string{"workload.0={generator: map-reduce, params: {maps: 1000000, reduces: 1000000}}"}, "maps*reduces partitions + maps + reduces = 1000002000000"},
		{[]string{"workload.0={generator: chain, params: {chains: 1e12}}"}, "chains*length = 10000000000000"},
		{[]string{"workload.0={generator: rl, params: {actors: 1e9}}"}, "actors + rounds*(actors+1) = 11000000010"},
		{[]string{"workload.0={generator: parameter-server, params: {workers: 1e6, iterations: 1e3}}"}, "= 5000000002"},
		{[]string{"workload.0={generator: tree-reduce, params: {leaves: 7500000, fanin: 4}}", "workload.0.drivers=20"}, "(leaves*fanin/(fanin-1))*20 drivers = 200000000"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), tc.set)
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), "at most 1e8 tasks, calls and objects in all", tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
	_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"workload.0.params.tasks=100000000"})
	assert.NoError(t, err)
}
