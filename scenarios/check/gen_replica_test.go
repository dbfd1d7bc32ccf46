package check

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// replicatedBase is a scenario whose GCS has 2 shards of the given
// replicas.
func replicatedBase(t *testing.T, replicas int) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse("replicated.yaml", []byte(fmt.Sprintf(`
name: replicated
seed: 1
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: w, count: 2, cpus: 2}
  gcs: {shards: 2, replicas: %d}
workload:
  - name: w
    generator: tree-reduce
    params: {leaves: 4, fanin: 2, duration: 1ms}
`, replicas)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFaultsRestartGCSReplicas: around a replicated GCS the search draws
// restart_gcs_replica (a killed replica rejoining its chain), which it
// never did: every restart follows a kill of its replica, and at no
// instant are more than replicas-1 members of a shard's chain down or
// rejoining (a restarted replica counts down for rejoinAllowance after
// its restart: the failure model counts members holding the chain's
// state).
func TestFaultsRestartGCSReplicas(t *testing.T) {
	for _, replicas := range []int{2, 3} {
		t.Run(fmt.Sprint(replicas), func(t *testing.T) { checkReplicaFaults(t, replicas) })
	}
}

func checkReplicaFaults(t *testing.T, replicas int) {
	s := replicatedBase(t, replicas)
	g := Gen{Base: s, FaultKinds: []string{scenarios.KillGCSReplica}, MaxFaults: 6, Horizon: time.Second}
	restarts := 0
	rapid.Check(t, func(rt *rapid.T) {
		fs := g.Faults(s).Draw(rt, "faults")
		slices.SortStableFunc(fs, func(a, b scenarios.Fault) int { return int(a.At - b.At) })
		down := map[int]bool{}
		back := map[int]time.Duration{} // a restarted replica's restart time
		for _, f := range fs {
			shard := f.Replica / replicas
			switch f.Kind {
			case scenarios.KillGCSReplica:
				if down[f.Replica] {
					rt.Fatalf("replica %d killed while down: %v", f.Replica, fs)
				}
				down[f.Replica] = true
				n := 0
				for r := range 2 * replicas {
					at, restarted := back[r]
					if r/replicas == shard && (down[r] || restarted && f.At-at <= rejoinAllowance) {
						n++
					}
				}
				if n > replicas-1 {
					rt.Fatalf("%d replicas of shard %d down or rejoining at %v: %v", n, shard, f.At, fs)
				}
			case scenarios.RestartGCSReplica:
				if !down[f.Replica] {
					rt.Fatalf("replica %d restarted while up: %v", f.Replica, fs)
				}
				down[f.Replica] = false
				back[f.Replica] = f.At
				restarts++
			default:
				rt.Fatalf("drew %s", f.Kind)
			}
		}
	})
	if restarts == 0 {
		t.Error("no restart_gcs_replica drawn in 100 schedules")
	}
}

// TestShrinkRemovesAReplicaKillWithItsRestart: the shrinker removes a
// kill_gcs_replica together with its replica's restart (a restart alone
// is no candidate), as a kill_node with its restart_node.
func TestShrinkRemovesAReplicaKillWithItsRestart(t *testing.T) {
	s := replicatedBase(t, 3)
	s.Faults = []scenarios.Fault{
		{At: time.Millisecond, Kind: scenarios.KillGCSReplica, Replica: 1},
		{At: 2 * time.Millisecond, Kind: scenarios.KillGCSReplica, Replica: 4},
		{At: 3 * time.Millisecond, Kind: scenarios.RestartGCSReplica, Replica: 1},
		{At: 5 * time.Millisecond, Kind: scenarios.RestartGCSReplica, Replica: 4},
	}
	var schedules [][]scenarios.Fault
	for _, c := range candidates(s) {
		if len(c.Faults) < len(s.Faults) {
			schedules = append(schedules, c.Faults)
		}
	}
	want := [][]scenarios.Fault{
		{s.Faults[1], s.Faults[3]},
		{s.Faults[0], s.Faults[2]},
	}
	if len(schedules) != len(want) {
		t.Fatalf("candidates with fewer faults: %v, want %v", schedules, want)
	}
	for i := range want {
		if !slices.EqualFunc(schedules[i], want[i], func(a, b scenarios.Fault) bool {
			return a.Kind == b.Kind && a.Replica == b.Replica && a.At == b.At
		}) {
			t.Errorf("candidate %d: %v, want %v", i, schedules[i], want[i])
		}
	}
}

// TestSearchStatsCountInOneUnit: drawn and injected count the same thing,
// the drawn fault. A kill with its restart is one drawn fault and, both
// applied, one injected (it counted two: the run's faults_injected); a
// random process is one drawn fault and, three of its faults applied, one
// injected (it counted three); a heal is neither; a kill that found its
// node down is drawn, not injected.
func TestSearchStatsCountInOneUnit(t *testing.T) {
	s := replicatedBase(t, 3)
	s.Faults = []scenarios.Fault{
		{At: time.Millisecond, Kind: scenarios.KillNode, Node: "w-0"},
		{At: 2 * time.Millisecond, Kind: scenarios.RestartNode, Node: "w-0"},
		{At: 3 * time.Millisecond, Kind: scenarios.Random, Random: &scenarios.RandomFaults{Kind: scenarios.RandomPause, From: 3 * time.Millisecond}},
		{At: 4 * time.Millisecond, Kind: scenarios.Heal},
		{At: 5 * time.Millisecond, Kind: scenarios.KillGCSReplica, Replica: 1},
		{At: 6 * time.Millisecond, Kind: scenarios.RestartGCSReplica, Replica: 1},
		{At: 7 * time.Millisecond, Kind: scenarios.PauseNode, Node: "w-1"},
	}
	res := &runner.Result{VirtualSeconds: 1, FaultsInjected: 9, Faults: []runner.FaultOutcome{
		{Kind: scenarios.KillNode, Injected: true, Entry: 0, Schedule: 0},
		{Kind: scenarios.RestartNode, Injected: true, Entry: 1, Schedule: 1},
		{Kind: scenarios.PauseNode, Injected: true, Random: true, Entry: 2, Schedule: 2},
		{Kind: scenarios.PauseNode, Injected: true, Random: true, Entry: 2, Schedule: 2},
		{Kind: scenarios.PauseNode, Injected: true, Random: true, Entry: 2, Schedule: 2},
		{Kind: scenarios.Heal, Injected: true, Entry: 3, Schedule: 3},
		{Kind: scenarios.KillGCSReplica, Injected: true, Entry: 4, Schedule: 4},
		{Kind: scenarios.RestartGCSReplica, Injected: true, Entry: 5, Schedule: 5},
		{Kind: scenarios.PauseNode, Entry: 6, Schedule: 6, Note: "nothing to do"},
	}}
	var st SearchStats
	st.add(s, &Run{Scenario: s, Result: res})
	if st.FaultsDrawn != 4 || st.FaultsInjected != 3 || st.FaultsLate != 0 || st.NoFaultRuns != 0 || st.NoneDrawn != 0 {
		t.Errorf("drawn %d, injected %d, late %d, runs without %d, none drawn %d; want 4, 3, 0, 0, 0",
			st.FaultsDrawn, st.FaultsInjected, st.FaultsLate, st.NoFaultRuns, st.NoneDrawn)
	}
}
