package check

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/scenarios"
)

// checks is how many cases a property test runs: RAYSIM_CHECKS when set,
// else few (fewer still with -short), so the package stays fast.
func checks(short, normal int) int {
	if n, err := strconv.Atoi(os.Getenv("RAYSIM_CHECKS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return short
	}
	return normal
}

// withChecks makes rapid.Check run n cases in this test (-rapid.checks is
// global; it is restored when the test ends). rapid itself divides the
// count by 5 under -short.
func withChecks(t *testing.T, n int) {
	f := flag.Lookup("rapid.checks")
	old := f.Value.String()
	f.Value.Set(strconv.Itoa(n))
	t.Cleanup(func() { f.Value.Set(old) })
}

func TestGeneratedScenariosAreValid(t *testing.T) {
	g := DefaultGen()
	g.FaultKinds = AllFaultKinds
	rapid.Check(t, func(rt *rapid.T) {
		s := rapid.Map(g.Scenario(), func(s *scenarios.Scenario) Case { return Case{s} }).Draw(rt, "scenario").Scenario
		if FaultsEnd(s)+g.Settle > s.DurationLimit {
			rt.Fatalf("duration_limit %v leaves less than Settle after the faults (end %v)", s.DurationLimit, FaultsEnd(s))
		}
		drivers := DriverHosts(s)
		for _, f := range s.Faults {
			if f.Kind == scenarios.KillNode {
				if drivers[f.Node] {
					rt.Fatalf("kill_node %s hosts a driver", f.Node)
				}
			}
		}
	})
}

// TestPropertyNoFaults: without faults every generated cluster and workload
// gives correct results, finishes, and replays to the same digest.
func TestPropertyNoFaults(t *testing.T) {
	g := DefaultGen()
	g.FaultKinds = []string{scenarios.Heal}
	g.NoNetworkFaults = true
	g.Dir = t.TempDir()
	withChecks(t, checks(20, 40))
	rapid.Check(t, func(rt *rapid.T) { Property(rt, g) })
}

// TestPropertyFaults is the fault search: random clusters, workloads and
// fault schedules (GCS replica kills included), every invariant checked. In
// the suite it runs a fixed seed (CI must not be flaky) over a few dozen
// cases; RAYSIM_CHECKS=N searches N cases from a fresh seed:
//
//	RAYSIM_CHECKS=2000 go test ./scenarios/check -run TestPropertyFaults
//
// The minimal failing scenario lands in testdata/failures/.
func TestPropertyFaults(t *testing.T) {
	g := DefaultGen()
	g.FaultKinds = AllFaultKinds
	if os.Getenv("RAYSIM_CHECKS") == "" {
		f := flag.Lookup("rapid.seed")
		old := f.Value.String()
		f.Value.Set("1")
		t.Cleanup(func() { f.Value.Set(old) })
	}
	withChecks(t, checks(10, 40))
	rapid.Check(t, func(rt *rapid.T) { Property(rt, g) })
}

// TestSettleBoundsABaseScenario: around a scenario without its own
// duration_limit, the liveness bound is the faults' end plus Settle (the
// default hour used to win, so --settle did nothing); a scenario's own
// later limit is kept.
func TestSettleBoundsABaseScenario(t *testing.T) {
	for _, tc := range []struct {
		limit time.Duration
		own   bool
	}{{scenarios.DefaultDurationLimit, false}, {time.Minute, true}} {
		base, err := scenarios.Load("../quickstart.yaml")
		require.NoError(t, err)
		base.DurationLimit = tc.limit
		g := Gen{Base: base, FaultKinds: []string{scenarios.PauseNode}, Settle: 50 * time.Millisecond}
		rapid.Check(t, func(rt *rapid.T) {
			s := g.Scenario().Draw(rt, "scenario")
			want := max(FaultsEnd(s), s.Workload[0].Start) + g.Settle
			for _, w := range s.Workload {
				want = max(want, w.Start+g.Settle)
			}
			if tc.own {
				want = max(want, tc.limit)
			}
			want = max(want, base.Expect.FinishBy)
			if s.DurationLimit != want {
				rt.Fatalf("duration_limit %v, want %v (base limit %v)", s.DurationLimit, want, tc.limit)
			}
		})
	}
}
