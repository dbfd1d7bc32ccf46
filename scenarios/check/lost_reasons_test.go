package check

import (
	"testing"

	"raysim/runtime/node"
	"raysim/scenarios/runner"
)

// TestLostReasonsNeedTheirFault: an ErrObjectLost's reason must be one the
// run's faults explain (review29 finding 11): its owner's death, a Put's
// lost with its owner and its job's end take a node failure; its task
// missing from the task table takes a node failure or a crash (a GCS
// replica's). After a link degradation alone none of them passes; after a
// GCS replica's kill only the task table's does. A Put freed needs no
// node fault.
func TestLostReasonsNeedTheirFault(t *testing.T) {
	const (
		ownerDied  = "its owner, node 2, died before the task finished (Ray's OwnerDiedError), and its retries were spent (the task table's record)"
		putOwner   = "its owner died: the object was made by Put on a node the GCS has since declared dead (crashed, or its heartbeats missed), which dropped every copy, and it has no lineage to rebuild it from"
		jobEnded   = "not rebuilt: " + node.JobEnded + " (its driver's node 1 left or was declared dead)"
		notInTable = "its task is not in the task table"
		freedPut   = "the object was made by Put and every copy is gone (it was freed): it has no lineage to rebuild it from"
	)
	for _, c := range []struct {
		name, faults string
		allowed      map[string]bool
	}{
		{"a degraded link", `
  - {at: 60ms, degrade_link: {from: head, to: worker, latency: 5ms}, for: 100ms}
`, map[string]bool{freedPut: true}},
		{"a GCS replica killed", `
  - {at: 60ms, kill_gcs_replica: 0}
`, map[string]bool{freedPut: true, notInTable: true}},
		{"a node killed", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`, map[string]bool{freedPut: true, notInTable: true, ownerDied: true, putOwner: true, jobEnded: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := faultRun(t, "-1", c.faults)
			t.Logf("events: faults %d, crashes %d, node failures %d", r.Events.Faults, r.Events.Crashes, r.Events.NodeFailures)
			for _, why := range []string{ownerDied, putOwner, jobEnded, notInTable, freedPut} {
				res := *r.Result
				lost := "p: ray: object lost (t1.0): object t1.0 lost: " + why
				res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 1, FirstErr: lost}}
				err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events})
				if c.allowed[why] && err != nil {
					t.Errorf("%q: %v", why, err)
				}
				if !c.allowed[why] && err == nil {
					t.Errorf("%q passes allowed-errors", why)
				}
			}
		})
	}
}
