package check

import (
	"context"
	"testing"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// review6Run runs a small scenario (head, worker-0, worker-1; one parallel
// entry with the given max_retries) under faults, checking nothing, and
// returns the checked run: its Events are what AllowedErrors reads.
func review6Run(t *testing.T, retries, faults string) *Run {
	t.Helper()
	s, err := scenarios.Parse("r6.yaml", []byte(`
name: r6
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
  gcs: {shards: 1, replicas: 2}
workload:
  - name: p
    generator: parallel
    params: {tasks: 50, duration: 5ms}
    arrival: {kind: rate, rate: 200/s}
    max_retries: `+retries+`
faults:
`+faults))
	if err != nil {
		t.Fatal(err)
	}
	r, f, err := Execute(context.Background(), s, Correct)
	if err != nil || f != nil {
		t.Fatalf("run: %v %v", err, f)
	}
	return r
}

// exhausted is r with its one workload having seen ErrRetriesExhausted.
func exhausted(r *Run) *Run {
	res := *r.Result
	res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 1,
		FirstErr: "p: ray: task failed after its retries (t1.0): node 2 died; 2 retries allowed"}}
	return &Run{Scenario: r.Scenario, Result: &res, Events: r.Events}
}

// One kill_node (with its restart) is one node failure: a task with
// max_retries 1 may not end in ErrRetriesExhausted. AllowedErrors adds the
// netsim crash and the GCS's death notice of the same node (2 "failures")
// and so allows it: a runtime charging two retries per death passes.
func TestReview6AllowedErrorsCountsOneKillTwice(t *testing.T) {
	r := review6Run(t, "1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	t.Logf("events: crashes %d, node deaths %d", r.Events.Crashes, r.Events.NodeDeaths)
	if err := AllowedErrors.Check(exhausted(r)); err == nil {
		t.Errorf("retries exhausted with max_retries 1 after one node kill (crashes %d + deaths %d counted as failures) passes allowed-errors",
			r.Events.Crashes, r.Events.NodeDeaths)
	}
}

// A GCS replica's death (the chain survives: replicas-1 at most) kills no
// raylet and charges no task retry; AllowedErrors counts it as a node
// failure, so a task with max_retries 0 may "exhaust" its retries.
func TestReview6AllowedErrorsCountsGCSReplicaAsNodeFailure(t *testing.T) {
	r := review6Run(t, "0", `
  - {at: 60ms, kill_gcs_replica: 0}
`)
	t.Logf("events: crashes %d, node deaths %d", r.Events.Crashes, r.Events.NodeDeaths)
	if err := AllowedErrors.Check(exhausted(r)); err == nil {
		t.Errorf("retries exhausted with max_retries 0 and no raylet failure (only a GCS replica killed) passes allowed-errors")
	}
}

// Shrink's candidates must stay within the failure model the generator
// keeps: no kill of a node that hosts a driver (DriverNodes). Removing a
// node from an earlier group shifts later nodes down into the driver
// positions (drivers go to the first nodes in order), so a kill of b-0,
// legal in the original, kills a driver's node in the candidate; the
// shrinker then keeps a "failure" made by its own edit (a driver lost with
// its node: liveness).
func TestReview6ShrinkCandidatesKeepDriversAlive(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(`
name: base
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: a, count: 2, cpus: 2}
    - {name: b, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 30, duration: 5ms}
    drivers: 3
faults:
  - {at: 10ms, kill_node: b-0}
  - {at: 200ms, restart_node: b-0}
`))
	if err != nil {
		t.Fatal(err)
	}
	if i, _ := s.NodeIndex("b-0"); i < DriverNodes(s) {
		t.Fatalf("setup: b-0 hosts a driver in the original")
	}
	for _, c := range candidates(s) {
		c, err := Reparse(c)
		if err != nil {
			continue // Shrink skips it too
		}
		for _, f := range c.Faults {
			if f.Kind != scenarios.KillNode {
				continue
			}
			if i, _ := c.NodeIndex(f.Node); i < DriverNodes(c) {
				t.Errorf("a shrink candidate (groups %v) kills %s, which hosts a driver (node %d of the first %d)",
					groupCounts(c), f.Node, i, DriverNodes(c))
			}
		}
	}
}

func groupCounts(s *scenarios.Scenario) map[string]int {
	m := map[string]int{}
	for _, g := range s.Cluster.Groups {
		m[g.Name] = g.Count
	}
	return m
}

// Without any fault, an actor call may not fail with ErrActorDied. The
// parameter-server (and rl) drivers end their actors with ray.Kill once
// they are done; that emits EvActorDied, which AllowedErrors counts as an
// actor "declared dead", so an ErrActorDied that another driver's call saw
// in a fault-free run passes.
func TestReview6AllowedErrorsCountsDriversOwnKills(t *testing.T) {
	s, err := scenarios.Parse("ps.yaml", []byte(`
name: ps
seed: 1
duration_limit: 5s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - name: ps
    generator: parameter-server
    params: {servers: 2, workers: 2, iterations: 2, duration: 1ms}
    drivers: 2
    max_retries: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	r, f, err := Execute(context.Background(), s, Correct)
	if err != nil || f != nil {
		t.Fatalf("run: %v %v", err, f)
	}
	t.Logf("events: crashes %d, node deaths %d, actor deaths %d, faults %d", r.Events.Crashes, r.Events.NodeDeaths, r.Events.ActorDeaths, r.Events.Faults)
	res := *r.Result
	res.Workloads = []runner.WorkloadResult{{Name: "ps", Generator: "parameter-server", Drivers: 2, Finished: 2, Errors: 1,
		FirstErr: "ps: ray: actor died (t1.0): the actor is dead"}}
	if err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events}); err == nil {
		t.Errorf("ErrActorDied in a run with no fault at all passes allowed-errors (actor deaths %d: the drivers' own ray.Kill)", r.Events.ActorDeaths)
	}
}
