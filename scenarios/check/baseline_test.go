package check

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"raysim/scenarios"
)

// QA qa28 item 4: Search around a base that cannot finish even without
// faults drew schedules and "found" a liveness violation in the first.
// Right: the fault-free run before the search fails, Search returns
// ErrBaseFails and writes nothing.
func TestSearchRefusesABaseThatFailsWithoutFaults(t *testing.T) {
	base, err := scenarios.ParseWithOverrides("base.yaml", []byte(interruptBase), []string{"workload.0.params.duration=20s", "duration_limit=30s"})
	if err != nil {
		t.Fatal(err)
	}
	g := Gen{Base: base, FaultKinds: []string{scenarios.PauseNode}, Dir: t.TempDir(), Name: "never"}
	found, err := Search(context.Background(), SearchConfig{Gen: g, Runs: 3, Seed: 1})
	if !errors.Is(err, ErrBaseFails) || !strings.Contains(err.Error(), "does not finish") {
		t.Errorf("err = %v, want ErrBaseFails (does not finish)", err)
	}
	files, _ := filepath.Glob(filepath.Join(g.Dir, "*.yaml"))
	if len(found) > 0 || len(files) > 0 {
		t.Errorf("found %v, wrote %v", found, files)
	}
}

// The fault-free run's time widens the liveness bound of every drawn
// schedule: duration_limit = faults' end + Settle + 2*BaseTime.
func TestBaseTimeWidensTheLivenessBound(t *testing.T) {
	base, err := scenarios.ParseWithOverrides("base.yaml", []byte(interruptBase), []string{"workload.0.params.duration=20s"})
	if err != nil {
		t.Fatal(err)
	}
	g := Gen{Base: base, FaultKinds: []string{scenarios.PauseNode}, Settle: time.Second}
	r, err := Baseline(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	g.BaseTime = runTime(r)
	if g.BaseTime < 20*time.Second {
		t.Fatalf("base time %v: 10 tasks of 20s on 6 CPUs take 40s", g.BaseTime)
	}
	s, err := example(g.withDefaults().Scenario(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := FaultsEnd(s) + time.Second + 2*g.BaseTime; s.DurationLimit != want {
		t.Errorf("duration_limit %v, want %v", s.DurationLimit, want)
	}
}

// SearchStats counts what a search exercised. A schedule that drew no
// fault injected none: an autoscaler's idle node stops (crash events) are
// no injected fault (counted from the event stream, scenarios/autoscaling
// had 0 schedules without faults of 4 that drew none).
func TestSearchStatsCountInjectedFaults(t *testing.T) {
	base, err := scenarios.Load("../autoscaling.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var st SearchStats
	g := Gen{Base: base, FaultKinds: []string{scenarios.PauseNode, scenarios.Partition}, Dir: t.TempDir()}
	found, err := Search(context.Background(), SearchConfig{Gen: g, Runs: 10, Seed: 1, Stats: &st})
	if err != nil || len(found) > 0 {
		t.Fatalf("found %v, err %v", found, err)
	}
	if st.Runs != 10 || st.NoneDrawn == 0 || st.NoFaultRuns < st.NoneDrawn || st.FaultsDrawn == 0 || st.FaultsInjected == 0 ||
		st.BaseTime < time.Minute || st.Horizon != st.BaseTime || st.FaultsLate > 0 {
		t.Errorf("stats %+v", st)
	}
}
