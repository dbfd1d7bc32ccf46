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

// TestLimitCoversSerializedCallers: a generated scenario's duration_limit
// leaves, past the faults' end and the settle time, room for every
// actor-calls caller task to run 1+max_retries times, one after another
// (all of them may need the one node that can hold them, and a caller
// whose actor died for good fails only once its calls are all made: a
// retry_exceptions entry runs it again, the whole span each time). Before,
// the limit was the faults' end plus Settle alone: the 40,000-scenario
// search at 5cd6d8a reported a run that finished 0.5s past it, nothing
// stuck (regression doomed-callers-serialized-on-one-accel).
func TestLimitCoversSerializedCallers(t *testing.T) {
	g := check.Gen{Dir: t.TempDir()}
	settle := 10 * time.Second // Gen's default
	seen := 0
	rapid.Check(t, func(rt *rapid.T) {
		s := g.Scenario().Draw(rt, "scenario")
		var serial time.Duration
		for _, w := range s.Workload {
			if w.Generator != "actor-calls" {
				continue
			}
			seen++
			p := w.Params.(*scenarios.ActorCallsParams)
			perDriver := w.Arrival.Rate / float64(w.Drivers.Count)
			span := time.Duration(float64(p.Calls) / perDriver * float64(time.Second))
			serial += time.Duration(w.Drivers.Count*p.Callers*(1+max(0, w.MaxRetries))) * span
		}
		if least := check.FaultsEnd(s) + settle + serial; s.DurationLimit < least-time.Millisecond {
			rt.Fatalf("duration_limit %v: less than the faults' end %v + settle %v + the callers run one after another %v", s.DurationLimit, check.FaultsEnd(s), settle, serial)
		}
	})
	if seen == 0 {
		t.Fatal("no actor-calls entry was generated: the test checked nothing")
	}
}
