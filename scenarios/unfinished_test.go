package scenarios_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestUnfinishedDriversFail: a run whose drivers did not all return has
// failed, with or without expectations, and says which drivers and why.
func TestUnfinishedDriversFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		ok         bool
		want       string // regexp on Result.Unfinished
	}{
		{"finishes", `
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 5, duration: 1ms}}]
`, true, `^$`},
		{"cut at the limit, no expect", `
duration_limit: 50ms
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 100, duration: 10ms}}]
`, false, `^1 of 1 driver still running at the duration limit 50ms: parallel-0 driver 0 on n$`},
		{"lost with its node", `
cluster: {nodes: [{name: a, count: 2}]}
workload: [{name: w, generator: parallel, drivers: 2, params: {tasks: 20, duration: 10ms}}]
faults: [{at: 1ms, kill_node: a-1}]
`, false, `^1 of 2 drivers still waiting when the run ended at [0-9.]+m?s with nothing left to happen: w driver 1 on a-1 \(its node crashed at 1ms\)$`},
		{"many drivers listed up to a bound", `
duration_limit: 20ms
cluster: {nodes: [{name: a, count: 10}]}
workload: [{name: w, generator: parallel, drivers: per-node, params: {tasks: 100, duration: 10ms}}]
`, false, `^10 of 10 drivers still running at the duration limit 20ms: w driver 0 on a-0, .*, w driver 7 on a-7 and 2 more$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := scenarios.Parse("x.yaml", []byte(tc.yaml))
			require.NoError(t, err)
			r, err := runner.Run(context.Background(), s, runner.Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.ok, r.OK, "ok; unfinished %q", r.Unfinished)
			assert.Regexp(t, regexp.MustCompile(tc.want), r.Unfinished)
			if !tc.ok {
				require.NotEmpty(t, r.Workloads[0].Unfinished, "drivers_unfinished")
			}
		})
	}
}

// TestExpectationDetailsStateTheirReason: each expectation's detail says
// why it failed, not only the numbers of a passing run.
func TestExpectationDetailsStateTheirReason(t *testing.T) {
	t.Parallel()
	const cut = `
duration_limit: 50ms
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 100, duration: 10ms}}]
expect: {all_complete: true, results_correct: true, finish_by: 50ms}
`
	const stillRunning = `did not finish: 1 driver still running at the duration limit 50ms`
	for _, tc := range []struct {
		name, yaml, exp string
		ok              bool
		want            string // regexp on the detail
	}{
		{"all_complete cut", cut, "all_complete", false, `^` + stillRunning + `; \d+/\d+ tasks completed$`},
		{"results_correct cut", cut, "results_correct", false, `^` + stillRunning + `; \d+ results checked so far, 0 wrong$`},
		{"finish_by cut", cut, "finish_by", false, `^` + stillRunning + ` \(bound 50ms\)$`},
		{"finish_by late", `
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 10, duration: 10ms}}]
expect: {finish_by: 20ms}
`, "finish_by", false, `^finished at [0-9.]+ms, after the bound 20ms$`},
		{"finish_by met", `
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 1, duration: 1ms}}]
expect: {finish_by: 1s}
`, "finish_by", true, `^finished at [0-9.]+ms \(bound 1s\)$`},
		{"results_correct nothing to check", `
cluster: {nodes: [{name: n}]}
workload: [{generator: parallel, params: {tasks: 0}}]
expect: {results_correct: true}
`, "results_correct", false, `^no result to check: the workload produced none$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := scenarios.Parse("x.yaml", []byte(tc.yaml))
			require.NoError(t, err)
			r, err := runner.Run(context.Background(), s, runner.Options{})
			require.NoError(t, err)
			var got *runner.Expectation
			for i := range r.Expectations {
				if r.Expectations[i].Name == tc.exp {
					got = &r.Expectations[i]
				}
			}
			require.NotNil(t, got, "no %s in %+v", tc.exp, r.Expectations)
			assert.Equal(t, tc.ok, got.OK, got.Detail)
			assert.Regexp(t, regexp.MustCompile(tc.want), got.Detail)
		})
	}
}
