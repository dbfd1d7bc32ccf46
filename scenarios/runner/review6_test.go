package runner

import (
	"context"
	"testing"

	"raysim/scenarios"
)

// The workload entry's resources are "per task" (docs/scenarios.md), and a
// cluster of cpus: 0 nodes runs an entry that asks {GPU: 1}: the loader
// accepts it. nested's children are submitted with the default options
// (CPU 1, max_retries 3) instead of the entry's, so here they are
// infeasible and the driver never returns.
func TestReview6NestedChildrenUseEntryResources(t *testing.T) {
	s, err := scenarios.Parse("nested-gpu.yaml", []byte(`
name: nested-gpu
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 0, gpus: 4}
    - {name: worker, count: 2, cpus: 0, gpus: 4}
workload:
  - generator: nested
    params: {roots: 2, depth: 3, fanout: 2, duration: 1ms}
    resources: {GPU: 1}
expect: {all_complete: true, results_correct: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Errorf("nested on a GPU-only cluster with resources {GPU: 1}: unfinished %q, warnings %v, expectations %+v", r.Unfinished, r.Warnings, r.Expectations)
	}
}

// The same for the verification tasks: parallel's cancel_every re-reads
// each cancelled ref through a `reread` task submitted with the default
// CPU 1, which no node of this (valid) cluster has.
func TestReview6RereadTaskFitsTheCluster(t *testing.T) {
	s, err := scenarios.Parse("parallel-gpu.yaml", []byte(`
name: parallel-gpu
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 0, gpus: 4}
    - {name: worker, count: 2, cpus: 0, gpus: 4}
workload:
  - generator: parallel
    params: {tasks: 20, duration: 5ms, cancel_every: 2}
    resources: {GPU: 1}
expect: {all_complete: true, results_correct: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Errorf("parallel cancel_every on a GPU-only cluster: unfinished %q, warnings %v", r.Unfinished, r.Warnings)
	}
}
