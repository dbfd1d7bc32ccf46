package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The work bound counts what runs: parallel, chain and nested split their
// count among the drivers (Split), so 2e6 tasks over 100 drivers are 2e6
// tasks, not 2e8 (the documented paper-scale fig 8b command was refused);
// tree-reduce, map-reduce, rl and parameter-server run one instance per
// driver, so their work is multiplied.
func TestWorkBoundSplitAmongDrivers(t *testing.T) {
	for _, tc := range []struct {
		entry string
		want  string // "" loads
	}{
		{"{generator: parallel, params: {tasks: 2000000}, drivers: 100}", ""},
		{"{generator: parallel, params: {tasks: 2000000}, drivers: per-node}", ""},
		{"{generator: chain, params: {chains: 2000000, length: 10}, drivers: 100}", ""},
		{"{generator: nested, params: {roots: 1000000, depth: 3, fanout: 3}, drivers: 100}", ""},
		{"{generator: parallel, params: {tasks: 200000000}, drivers: 100}", "(tasks = 200000000)"},
		{"{generator: tree-reduce, params: {leaves: 3000000, fanin: 4}, drivers: 100}", "((leaves*fanin/(fanin-1))*100 drivers = 400000000)"},
		{"{generator: map-reduce, params: {maps: 1000, reduces: 1000}, drivers: 100}", "drivers = 100200000"},
		{"{generator: rl, params: {actors: 1000, rounds: 1000}, drivers: 200}", "drivers = 200400000"},
		{"{generator: parameter-server, params: {servers: 1, workers: 1000, iterations: 1000}, drivers: 100}", "drivers = 300000100"},
	} {
		src := "cluster:\n  nodes:\n    - {name: n, count: 100, cpus: 4}\nworkload:\n  - " + tc.entry + "\n"
		_, err := Parse("x.yaml", []byte(src))
		if tc.want == "" {
			assert.NoError(t, err, tc.entry)
			continue
		}
		if assert.Error(t, err, tc.entry) {
			assert.Contains(t, err.Error(), "at most 1e8 tasks, calls and objects in all", tc.entry)
			assert.Contains(t, err.Error(), tc.want, tc.entry)
		}
	}
	for _, p := range []Params{&ParallelParams{Tasks: 7}, &ChainParams{Chains: 7}, &NestedParams{Roots: 7}} {
		n, split := Split(p)
		assert.True(t, split, p.Generator())
		assert.Equal(t, 7, n, p.Generator())
	}
	for _, p := range []Params{&TreeReduceParams{}, &MapReduceParams{}, &RLParams{}, &ParameterServerParams{}} {
		_, split := Split(p)
		assert.False(t, split, p.Generator())
	}
}

// The paper-scale fig 8b command documented in docs/scenarios.md and the
// file's header loads.
func TestPaperFig8bScaleLoads(t *testing.T) {
	_, err := LoadWithOverrides("paper-fig8b-throughput.yaml", []string{
		"cluster.nodes.0.count=100", "workload.0.params.tasks=2000000",
		"expect.throughput.min=1800000", "cluster.gcs.shards=16",
	})
	require.NoError(t, err)
}
