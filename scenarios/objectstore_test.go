package scenarios_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestObjectStoreZeroIsUnbounded: object_store: 0 is documented as an
// unbounded store: results far bigger than a small store never put it over
// capacity.
func TestObjectStoreZeroIsUnbounded(t *testing.T) {
	t.Parallel()
	overCapacity := func(store string) bool {
		s, err := scenarios.Parse("x.yaml", []byte(`
cluster: {nodes: [{name: n, cpus: 4, object_store: `+store+`}]}
workload: [{generator: parallel, params: {tasks: 20, duration: 1ms, output_size: 1MiB}}]
expect: {all_complete: true, results_correct: true}
`))
		require.NoError(t, err)
		require.Equal(t, store == "0", s.Cluster.Nodes[0].ObjectStoreBytes == 0)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "%s: %+v %s", store, r.Expectations, r.Unfinished)
		return strings.Contains(strings.Join(r.Warnings, "\n"), "object store over capacity")
	}
	assert.False(t, overCapacity("0"), "object_store: 0")
	assert.True(t, overCapacity("4MiB"), "object_store: 4MiB, the control: 20 MiB of pinned results")
}
