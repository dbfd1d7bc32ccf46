package runner

import (
	"context"
	"testing"

	"raysim/scenarios"
)

// TestParallelFreeRereadsBeforeFreeing: parallel with free and
// cancel_every read its cancelled refs a second time only after freeing
// every result, so a cancelled task that had finished was rebuilt from
// lineage for the second read, which then compared the first read with a
// re-run (with no fault, 18 of 40 tasks re-executed). The second reads now
// come before the free: nothing is re-executed.
func TestParallelFreeRereadsBeforeFreeing(t *testing.T) {
	s, err := scenarios.Parse("free.yaml", []byte(`
name: free
cluster:
  nodes: [{name: head, cpus: 2}, {name: w, count: 2, cpus: 2}]
workload:
  - {name: p, generator: parallel, params: {tasks: 40, duration: 1ms, free: true, cancel_every: 2}, arrival: {kind: rate, rate: 2000/s}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.TasksReexecuted != 0 || r.ObjectsReconstructed != 0 {
		t.Fatalf("ok %v, %d tasks re-executed, %d objects reconstructed without a fault; want 0 and 0", r.OK, r.TasksReexecuted, r.ObjectsReconstructed)
	}
}
