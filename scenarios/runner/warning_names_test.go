package runner

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// TestWarningsNameNodes (qa32 #15): a runtime warning's text names nodes
// as the scenario does, not only its prefix: the infeasible warning of a
// GPU task before the GPU pool is up said "(node 1: GPU: need 1, have 0);
// the largest node, 1, has ..." for head. Fails before: "node 1" in the
// text.
func TestWarningsNameNodes(t *testing.T) {
	const yaml = `
name: late-gpu
seed: 1
duration_limit: 20s
cluster:
  nodes:
    - {name: head, cpus: 1}
    - {name: pool, count: 1, cpus: 4, gpus: 1, autoscale: {min: 0, boot: 1s, idle_timeout: 2s}}
workload:
  - generator: parallel
    params: {tasks: 4, duration: 20ms}
    resources: {GPU: 1}
    start: 100ms
expect:
  all_complete: true
`
	s, err := scenarios.Parse("late-gpu.yaml", []byte(yaml))
	require.NoError(t, err)
	res, err := Run(context.Background(), s, Options{})
	require.NoError(t, err)
	var infeasible []string
	for _, w := range res.Warnings {
		if strings.Contains(w, "infeasible") {
			infeasible = append(infeasible, w)
		}
	}
	require.NotEmpty(t, infeasible, "the GPU tasks wait for the pool: %q", res.Warnings)
	byID := regexp.MustCompile(`node \d|largest node, \d`)
	for _, w := range infeasible {
		require.NotRegexp(t, byID, w, "a node named by its ID")
		require.Contains(t, w, "node head: GPU")
		require.Contains(t, w, "the largest node, head, has")
	}
}

// TestNameNodesText: the rewrite leaves a mention with its name already
// ("node 3 (worker-1)") and an ID without a name as they are.
func TestNameNodesText(t *testing.T) {
	names := map[transport.NodeID]string{1: "head", 3: "worker-1"}
	m := &metrics{nodeName: func(id transport.NodeID) string { return names[id] }}
	require.Equal(t, "the owner of the task making it, node worker-1, died", m.nameNodes("the owner of the task making it, node 3, died"))
	require.Equal(t, "(node head: GPU: need 1, have 0); the largest node, head, has CPU=1", m.nameNodes("(node 1: GPU: need 1, have 0); the largest node, 1, has CPU=1"))
	require.Equal(t, "its owner, node 3 (worker-1), died; node 7 left; node 12", m.nameNodes("its owner, node 3 (worker-1), died; node 7 left; node 12"))
}
