// Tests of AllowedErrors' accounting of what the faults did: a typed error
// is allowed only after the failures that cause it, each counted once and
// only if it is one (a raylet's life ending; an actor's death not of the
// program's own ray.Kill).

package check

import (
	"context"
	"slices"
	"testing"

	"raysim/runtime/node"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// faultRun runs a small scenario (head, worker-0, worker-1; one parallel
// entry with the given max_retries) under faults, checking nothing, and
// returns the checked run: its Events are what AllowedErrors reads.
func faultRun(t *testing.T, retries, faults string) *Run {
	t.Helper()
	s, err := scenarios.Parse("allowed.yaml", []byte(`
name: allowed
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

// Guards the count of node failures: one kill_node (with its restart) is
// one, though it shows twice in the events (netsim's crash, the GCS's death
// notice of the same raylet life), so a task with max_retries 1 may not end
// in ErrRetriesExhausted. Counting both let a runtime that charged two
// retries per death pass.
func TestAllowedErrorsCountsOneKillOnce(t *testing.T) {
	r := faultRun(t, "1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	t.Logf("events: crashes %d, node deaths %d, node failures %d", r.Events.Crashes, r.Events.NodeDeaths, r.Events.NodeFailures)
	if r.Events.NodeFailures != 1 {
		t.Errorf("one kill_node counted as %d node failures, want 1", r.Events.NodeFailures)
	}
	if err := AllowedErrors.Check(exhausted(r)); err == nil {
		t.Errorf("retries exhausted with max_retries 1 after one node kill (crashes %d + deaths %d counted as failures) passes allowed-errors",
			r.Events.Crashes, r.Events.NodeDeaths)
	}
}

// Guards that only raylets are nodes: a GCS replica's death (the chain
// survives: replicas-1 at most) kills no raylet and charges no task retry,
// so a task with max_retries 0 may not "exhaust" its retries after it.
func TestAllowedErrorsIgnoresGCSReplicaCrash(t *testing.T) {
	r := faultRun(t, "0", `
  - {at: 60ms, kill_gcs_replica: 0}
`)
	t.Logf("events: crashes %d, node deaths %d", r.Events.Crashes, r.Events.NodeDeaths)
	if err := AllowedErrors.Check(exhausted(r)); err == nil {
		t.Errorf("retries exhausted with max_retries 0 and no raylet failure (only a GCS replica killed) passes allowed-errors")
	}
}

// Guards that without any fault an actor call may not fail with
// ErrActorDied. The parameter-server (and rl) drivers end their actors with
// ray.Kill once they are done; that actor.died (Detail
// transport.DetailRayKill) is the program's doing, not a death that allows
// an ErrActorDied another driver's call saw.
func TestAllowedErrorsIgnoresDriversOwnKills(t *testing.T) {
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

// Guards that every kind of error a workload saw is checked, not only its
// first: an object lost after a node kill is allowed, but a plain task
// failure after it is not (the workloads' functions never fail). Only the
// first error was kept, so the second passed unseen. The runner now keeps
// the first error of each kind (WorkloadResult.KindErrs).
func TestAllowedErrorsChecksEveryKind(t *testing.T) {
	r := faultRun(t, "1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	res := *r.Result
	lost := "p: ray: object lost (t1.0): object t1.0 lost: the object was made by Put and every copy is gone (its node died, or it was freed): it has no lineage to rebuild it from"
	res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 2, FirstErr: lost,
		KindErrs: []string{lost, "p: ray: task failed (t2.0): boom"}}}
	if err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events}); err == nil {
		t.Errorf("a task failure after an allowed object loss passes allowed-errors")
	}
	res.Workloads[0].KindErrs = res.Workloads[0].KindErrs[:1]
	if err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events}); err != nil {
		t.Errorf("a Put's object lost after a node kill: %v", err)
	}
}

// A lost object with lineage and retries left is rebuilt: an
// ErrObjectLost after a fault must give one of the runtime's reasons to
// give an object up (lostReasons), else it is a bug that a fault exposed
// (the planted no-lineage bug of bench/mutants.txt gives none).
func TestAllowedErrorsLostNeedsAReason(t *testing.T) {
	r := faultRun(t, "-1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	for _, tc := range []struct {
		why string
		ok  bool
	}{
		{"its copies died with their nodes", false},
		{"mutant: no rebuild", false},
		{"the object was made by Put and every copy is gone", true},
		{"its owner, node 2, died before the task finished (Ray's OwnerDiedError)", true},
		{"not rebuilt: " + node.JobEnded + " (its driver's node 1 left or was declared dead)", true},
		{"its task is not in the task table", true},
	} {
		res := *r.Result
		lost := "p: ray: object lost (t1.0): object t1.0 lost: " + tc.why
		res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 1, FirstErr: lost}}
		err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events})
		if tc.ok && err != nil {
			t.Errorf("%q: %v", tc.why, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%q passes allowed-errors", tc.why)
		}
	}
}

// An rl simulator (max_restarts 3) dead for good took four deaths, or its
// owner's or job's end: the planted no-actor-restart bug of
// bench/mutants.txt kills one at its first.
func TestAllowedErrorsSimulatorRestarts(t *testing.T) {
	r := faultRun(t, "-1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	sc := *r.Scenario
	sc.Workload = slices.Clone(sc.Workload)
	sc.Workload[0].Generator = "rl"
	check := func(text string) error {
		res := *r.Result
		res.Workloads = []runner.WorkloadResult{{Name: "rl", Generator: "rl", Drivers: 1, Finished: 1, Errors: 1, FirstErr: "rl: ray: actor died (t1.0): " + text}}
		return AllowedErrors.Check(&Run{Scenario: &sc, Result: &res, Events: r.Events})
	}
	if err := check("actor a1 is dead: node 3 died; 0 retries allowed"); err == nil {
		t.Errorf("a simulator dead for good after one node failure passes allowed-errors")
	}
	if err := check("actor a1 is dead: its owner, node 1, died (the actor was not detached)"); err != nil {
		t.Errorf("a simulator dead with its owner: %v", err)
	}
	if err := check("actor a1 is dead: " + node.JobEnded); err != nil {
		t.Errorf("a simulator dead with its job: %v", err)
	}
}

// Guards the shared retry budget: an object lost because its task's
// retries are spent (node.RetriesSpent: its retries and rebuilds share
// max_retries) takes more node failures than max_retries, each
// re-execution following one; with max_retries -1 it never happens. A
// plain loss after a fault stays allowed.
func TestAllowedErrorsSpentRebuildBudget(t *testing.T) {
	spent := "p: ray: object lost (t1.0): object t1.0 lost: " + node.RetriesSpent + ": max_retries 1, and its retries and rebuilds ran it again 1 times"
	check := func(r *Run) error {
		res := *r.Result
		res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 1, FirstErr: spent}}
		return AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events})
	}
	one := `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`
	if err := check(faultRun(t, "1", one)); err == nil {
		t.Errorf("retries spent with max_retries 1 after one node failure passes allowed-errors")
	}
	if err := check(faultRun(t, "-1", one)); err == nil {
		t.Errorf("retries spent with max_retries -1 passes allowed-errors")
	}
	if err := check(faultRun(t, "0", one)); err != nil {
		t.Errorf("max_retries 0, one node failure: %v", err)
	}
	two := one + `
  - {at: 200ms, kill_node: worker-0}
`
	if err := check(faultRun(t, "1", two)); err != nil {
		t.Errorf("max_retries 1, two node failures: %v", err)
	}
}

// A first error that faults allow does not hide a later one of the same
// kind that they do not: allowed-errors judges the first of each reason
// too (runner.WorkloadResult.ReasonErrs; review29 finding 5).
func TestAllowedErrorsJudgesEveryReason(t *testing.T) {
	r := faultRun(t, "-1", `
  - {at: 60ms, kill_node: worker-1}
  - {at: 120ms, restart_node: worker-1}
`)
	put := "p: ray: object lost (t1.0): object t1.0 lost: the object was made by Put and every copy is gone"
	bad := "p: ray: object lost (t2.0): object t2.0 lost: mutant: no rebuild"
	res := *r.Result
	res.Workloads = []runner.WorkloadResult{{Name: "p", Generator: "parallel", Drivers: 1, Finished: 1, Errors: 2, FirstErr: put,
		KindErrs: []string{put}, ReasonErrs: []string{put, bad}}}
	if err := AllowedErrors.Check(&Run{Scenario: r.Scenario, Result: &res, Events: r.Events}); err == nil {
		t.Errorf("a lost object without a reason, after a Put's allowed loss, passes allowed-errors")
	}
}
