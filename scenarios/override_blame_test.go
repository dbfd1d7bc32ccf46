package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/scenarios.md: errors from overrides name the override. A check that
// fails on a file's value because of an overridden one (a fault time past
// a --set duration_limit, no node left by a --set count) names the
// override, not the file's line, which is fine as written.
func TestErrorCausedByOverrideNamesIt(t *testing.T) {
	const src = "duration_limit: 10s\ncluster:\n  nodes:\n    - {name: a, count: 2}\nworkload:\n  - {generator: chain, start: 2s}\nfaults:\n  - {at: 1s, kill_node: a-0}\n  - {random: {kind: pause, from: 3s, until: 4s, rate: 1/s}}\nexpect: {finish_by: 5s}\n"
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"duration_limit=500ms"}, "--set duration_limit=500ms: workload.0.start: a time before duration_limit 500ms (got \"2s\")\n" +
			"--set duration_limit=500ms: faults.0.at: a time within duration_limit 500ms (got \"1s\")\n" +
			"--set duration_limit=500ms: faults.1.random.until: a time within duration_limit 500ms (got \"4s\")\n" +
			"--set duration_limit=500ms: expect.finish_by: a time within duration_limit 500ms (got \"5s\")"},
		{[]string{"cluster.nodes.0.count=0", "faults=", "expect="}, "--set cluster.nodes.0.count=0: cluster.nodes: at least one node (got none: every count is 0)"},
		// The file's own value stays at its line.
		{[]string{"faults.0.at=20s"}, "--set faults.0.at=20s: faults.0.at: a time within duration_limit 10s (got \"20s\")"},
	} {
		_, err := ParseWithOverrides("x.yaml", []byte(src), tc.sets)
		require.Error(t, err, tc.sets)
		assert.Equal(t, tc.want, err.Error(), tc.sets)
	}
	_, err := ParseWithOverrides("x.yaml", []byte("duration_limit: 500ms\n"+src[len("duration_limit: 10s\n"):]), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x.yaml:8:10: faults.0.at: a time within duration_limit 500ms")
}
