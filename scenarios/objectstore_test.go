package scenarios_test

import (
	"context"
	"encoding/json"
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

// TestObjectSpillScenario: the shipped object-spilling scenario (short
// form) spills and restores, with nothing lost or run twice, and is
// deterministic with its spill tier on: the same seed gives the same
// digest. Without the tier (object_spill=0) nothing spills and the run
// result leaves the spill counters out.
func TestObjectSpillScenario(t *testing.T) {
	t.Parallel()
	run := func(sets ...string) *runner.Result {
		s, err := scenarios.LoadWithOverrides("object-spilling.yaml", append([]string{"workload.0.params.length=8", "workload.1.params.maps=16"}, sets...))
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "%+v %s", r.Expectations, r.Unfinished)
		return r
	}
	on := run()
	assert.Positive(t, on.ObjectsSpilled)
	assert.Positive(t, on.ObjectsRestored)
	assert.Positive(t, on.BytesSpilled)
	assert.Positive(t, on.BytesRestored)
	assert.Zero(t, on.TasksReexecuted)
	assert.Zero(t, on.ObjectsReconstructed)
	again := run()
	assert.Equal(t, on.Digest, again.Digest, "same seed, same digest with spilling on")
	assert.Equal(t, on.ObjectsSpilled, again.ObjectsSpilled)

	off := run("cluster.nodes.0.object_spill=0")
	assert.Zero(t, off.ObjectsSpilled)
	assert.Zero(t, off.ObjectsRestored)
	assert.NotEqual(t, on.Digest, off.Digest)
	js, err := json.Marshal(off)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "spilled", "no spill counters in a run without spilling")
}

// TestObjectSpillRoundTrips: object_spill is written back only when set.
func TestObjectSpillRoundTrips(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"object_spill: 1GiB", "object_spill: 1GiB"},
		{"object_spill: 0", ""},
		{"", ""},
	} {
		s, err := scenarios.Parse("x.yaml", []byte("cluster: {nodes: [{name: n, object_store: 64MiB, "+tc.in+"}]}\nworkload: [{generator: chain}]\n"))
		require.NoError(t, err, tc.in)
		out, err := s.Marshal()
		require.NoError(t, err)
		if tc.want == "" {
			assert.NotContains(t, string(out), "object_spill", tc.in)
		} else {
			assert.Contains(t, string(out), tc.want, tc.in)
		}
	}
}
