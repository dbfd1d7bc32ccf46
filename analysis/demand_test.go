package analysis_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/scenarios"
)

// nodeNamed is the stats of the node named name in r.
func nodeNamed(t *testing.T, r *analysis.Report, name string) *analysis.NodeStats {
	t.Helper()
	for i := range r.Nodes {
		if r.Nodes[i].Name == name {
			return &r.Nodes[i]
		}
	}
	t.Fatalf("no node %s in %+v", name, r.Nodes)
	return nil
}

// resourceUse is node n's use of resource name (nil: none listed).
func resourceUse(n *analysis.NodeStats, name string) *analysis.ResourceUse {
	for i := range n.Resources {
		if n.Resources[i].Name == name {
			return &n.Resources[i]
		}
	}
	return nil
}

// TestUtilizationByDemand (qa32 #25): a node's utilization is the share of
// its capacity the running tasks asked for, per resource, not running
// tasks over CPUs. Three 0.1-CPU tasks at a time fill a 0.3-CPU node:
// about 100%, not the 950% a count of running tasks gave; tasks of no CPU
// and half an accel, four at a time on a node of 100 CPUs and 2 accels,
// hold none of its CPUs and all of its accels (the count gave 4% of CPU).
// Fails before: Utilization 9.5 in the first case, 0.04 (and no
// Resources) in the second.
func TestUtilizationByDemand(t *testing.T) {
	frac := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 0.3}]",
		"workload=[{generator: parallel, params: {tasks: 40, duration: 100ms}, resources: {CPU: 0.1}}]", "expect=")
	head := nodeNamed(t, frac.rep, "head")
	require.InDelta(t, 0.9, head.Utilization, 0.11, "three 0.1-CPU tasks at a time on 0.3 CPUs: %+v", head)
	cpu := resourceUse(head, "CPU")
	require.NotNil(t, cpu, "%+v", head.Resources)
	require.Equal(t, head.Utilization, cpu.Utilization)
	require.Equal(t, 0.3, cpu.Capacity)
	for _, v := range head.Busy.Values {
		require.LessOrEqual(t, v, 1.0+1e-9, "a bin's CPU share above the node's CPUs: %v", head.Busy.Values)
	}

	acc := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 100, resources: {accel: 2}}]",
		"workload=[{generator: parallel, params: {tasks: 40, duration: 100ms}, resources: {CPU: 0, accel: 0.5}}]", "expect=")
	head = nodeNamed(t, acc.rep, "head")
	require.Zero(t, head.Utilization, "the tasks asked for no CPU")
	require.Positive(t, head.BusyTime, "worker-time is still counted")
	a := resourceUse(head, "accel")
	require.NotNil(t, a, "%+v", head.Resources)
	require.Equal(t, 2.0, a.Capacity)
	require.InDelta(t, 0.9, a.Utilization, 0.11, "four half-accel tasks at a time on 2 accels: %+v", a)
}

// TestEntryTaskNamesSubmitted: every name scenarios.EntryTaskNames gives
// for a built-in generator is a task its shipped scenario submits (a
// renamed task would count as 1 CPU in the utilization unnoticed).
func TestEntryTaskNamesSubmitted(t *testing.T) {
	files := map[string]string{"parallel": "parallel.yaml", "tree-reduce": "tree-reduce.yaml", "map-reduce": "map-reduce.yaml",
		"chain": "chain.yaml", "nested": "nested.yaml", "rl": "rl.yaml", "parameter-server": "parameter-server.yaml",
		"actor-calls": "actor-calls.yaml"}
	for _, g := range scenarios.Generators {
		names := scenarios.EntryTaskNames(g)
		require.NotEmpty(t, names, g)
		f, ok := files[g]
		require.True(t, ok, "no scenario for %s", g)
		r := traced(t, f)
		var seen []string
		for _, fn := range r.rep.Functions {
			seen = append(seen, fn.Func)
		}
		for _, n := range names {
			require.True(t, slices.Contains(seen, n), "%s: %s submits no task %q (it submits %v)", g, f, n, seen)
		}
	}
}

// TestFaultLinesNamePartitions (qa32 #13): a plot's fault line labels a
// partition by its groups and a degraded link by its ends, not "partition
// -" (the node column's placeholder) or "degrade head" (one end). Fails
// before: the throughput plot said "partition -".
func TestFaultLinesNamePartitions(t *testing.T) {
	r := traced(t, "fault-partition.yaml")
	var labels []string
	for _, f := range r.rep.Faults {
		labels = append(labels, r.rep.FaultLabel(f))
	}
	require.Contains(t, labels, "partition [head, worker-0, worker-1][worker-2, worker-3]")
	dir := t.TempDir()
	_, err := analysis.WriteReport(dir, r.rep)
	require.NoError(t, err)
	svg, err := os.ReadFile(filepath.Join(dir, "throughput.svg"))
	require.NoError(t, err)
	require.NotContains(t, string(svg), "partition -")
	require.Contains(t, string(svg), "partition [head")

	deg := analysis.Fault{Kind: "degrade", Node: 1, Peer: 2, Symmetric: true, Detail: "1<->2 +5ms"}
	require.Equal(t, "degrade head<->worker-0", r.rep.FaultLabel(deg))
}

// TestZeroTaskReportShowsDash (qa32 #24): a run with no task and no run
// time shows "-" for utilization and no placement shares, not "0.0%"
// measurements. Fails before: "util 0.0%" and "local 0 (0.0%)".
func TestZeroTaskReportShowsDash(t *testing.T) {
	r := traced(t, "parallel.yaml", "workload.0.params.tasks=0", "expect=")
	var b strings.Builder
	require.NoError(t, analysis.WriteText(&b, r.rep))
	text := b.String()
	require.NotContains(t, text, "0.0%", text)
	require.Contains(t, text, "(no task placed)")
}

// TestDemandGuessedSaid: two entries of one generator with different
// resources share their tasks' names, which a trace cannot tell apart:
// the report lists the name (the first entry's demand is counted).
func TestDemandGuessedSaid(t *testing.T) {
	r := traced(t, "parallel.yaml", "cluster.nodes=[{name: head, cpus: 4, resources: {accel: 2}}]",
		"workload=[{generator: parallel, params: {tasks: 4, duration: 10ms}}, {generator: parallel, params: {tasks: 4, duration: 10ms}, resources: {CPU: 0, accel: 1}}]", "expect=")
	require.Equal(t, []string{"parallel"}, r.rep.DemandGuessed)
	var b strings.Builder
	require.NoError(t, analysis.WriteText(&b, r.rep))
	require.Contains(t, b.String(), "tasks named parallel ask for different resources")
}
