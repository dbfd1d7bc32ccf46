package scenarios_test

import (
	"context"
	"testing"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Guards that `resources: {}` means what the loader takes it to mean: no
// demand. The docs say an entry's resources replace the default {CPU: 1},
// and the loader read {} as an empty demand (so it skipped the check that
// some node can meet it), but the workload passed an empty map to the
// runtime as "no options", which is Ray's default of one CPU. On a cluster
// of GPU-only nodes (cpus: 0) the file loaded and every task was then
// infeasible: the run sat at the duration limit (an hour by default); on a
// one-CPU node the tasks ran one at a time instead of together. Right:
// {} is a demand of nothing, and the tasks run.
func TestEmptyResourcesIsNoDemand(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte(`
duration_limit: 10s
cluster:
  nodes: [{name: n, cpus: 0, gpus: 1}]
workload:
  - {generator: parallel, params: {tasks: 3}, resources: {}}
expect: {all_complete: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.Run(context.Background(), s, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Errorf("resources: {} on a cpus: 0 cluster: %s %v %v", r.Unfinished, r.Expectations, r.Warnings)
	}
}
