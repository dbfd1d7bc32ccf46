// Tests that every task a workload entry submits, its nested children and
// its drivers' verification (reread) tasks too, carries the entry's
// resources and max_retries.

package runner

import (
	"context"
	"testing"

	"raysim/scenarios"
)

// Guards that nested's children carry the entry's options. The workload
// entry's resources are "per task" (docs/scenarios.md), and a cluster of
// cpus: 0.5 nodes runs an entry that asks {CPU: 0.5}: the loader accepts
// it. Children submitted with the default options (CPU 1, max_retries 3)
// instead of the entry's are infeasible here and the driver never returns.
//
// (CPU, not the reviewer's first {GPU: 1} on cpus: 0 nodes: a parent
// blocked in Get gives back its CPU only, as in Ray, so a tree of parents
// holding GPUs can use them all up and wait for good on children queued
// behind them, a deadlock of the workload itself.)
func TestNestedChildrenUseEntryResources(t *testing.T) {
	s, err := scenarios.Parse("nested-half-cpu.yaml", []byte(`
name: nested-half-cpu
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 0.5}
    - {name: worker, count: 2, cpus: 0.5}
workload:
  - generator: nested
    params: {roots: 2, depth: 3, fanout: 2, duration: 1ms}
    resources: {CPU: 0.5}
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
		t.Errorf("nested on cpus: 0.5 nodes with resources {CPU: 0.5}: unfinished %q, warnings %v, expectations %+v", r.Unfinished, r.Warnings, r.Expectations)
	}
}

// Guards the same for the verification tasks: parallel's cancel_every
// re-reads each cancelled ref through a `reread` task, which must ask the
// entry's resources, not the default CPU 1 that no node of this (valid)
// cluster has.
func TestRereadTaskFitsTheCluster(t *testing.T) {
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
