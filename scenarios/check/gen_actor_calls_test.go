package check_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"raysim/scenarios"
	"raysim/scenarios/check"
)

// TestActorCallsFitTheHorizon: every driver of a generated actor-calls
// entry sends its calls within the fault horizon (its share of the entry's
// rate, calls/(rate/drivers), is at most Horizon), so its callers, even run
// one after another on the one node that can hold them, end well inside
// the settle time. At the shared rate two drivers' callers each took twice
// the span: six GPU callers on a one-GPU cluster ran past the settle time
// with no fault (TestPropertyFaults at 54e930f, a liveness failure that
// needed no fault).
func TestActorCallsFitTheHorizon(t *testing.T) {
	g := check.Gen{Dir: t.TempDir()}
	horizon := time.Second // Gen's default
	seen := 0
	rapid.Check(t, func(rt *rapid.T) {
		s := g.Scenario().Draw(rt, "scenario")
		for _, w := range s.Workload {
			if w.Generator != "actor-calls" {
				continue
			}
			seen++
			calls := w.Params.(*scenarios.ActorCallsParams).Calls
			perDriver := w.Arrival.Rate / float64(w.Drivers.Count)
			if span := time.Duration(float64(calls) / perDriver * float64(time.Second)); span > horizon+horizon/10 {
				rt.Fatalf("%s: %d drivers at rate %g/s send %d calls each over %v, past the horizon %v", w.Name, w.Drivers.Count, w.Arrival.Rate, calls, span, horizon)
			}
		}
	})
	if seen == 0 {
		t.Fatal("no actor-calls entry was generated: the test checked nothing")
	}
}
