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

// TestGCSBacklogWarning: a run that ends with the GCS far behind (one
// shard for eight busy nodes) says so; with shards enough it does not.
func TestGCSBacklogWarning(t *testing.T) {
	t.Parallel()
	behind := func(shards string) bool {
		s, err := scenarios.Parse("x.yaml", []byte(`
cluster:
  nodes: [{name: node, count: 8, cpus: 16}]
  gcs: {shards: `+shards+`}
  scheduler: {spill_threshold: 1000000000}
workload: [{generator: parallel, params: {tasks: 16000, duration: 0, output_size: 8B}, drivers: per-node}]
expect: {all_complete: true, results_correct: true}
`))
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "%s: %+v %s", shards, r.Expectations, r.Unfinished)
		return strings.Contains(strings.Join(r.Warnings, "\n"), "could not keep up")
	}
	assert.True(t, behind("1"), "one shard")
	assert.False(t, behind("16"), "sixteen shards")
}
