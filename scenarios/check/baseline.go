package check

import (
	"context"
	"errors"
	"fmt"
	"time"

	"raysim/scenarios"
)

// ErrBaseFails is returned (wrapped) by Baseline, and so by Search, when
// the Base scenario fails or does not finish without the search's faults:
// every schedule drawn around it would "fail" for reasons no fault caused
// (a workload that needs longer than its limit, or one that never ends),
// and the search would report them as fault bugs.
var ErrBaseFails = errors.New("the scenario fails without faults")

// Baseline runs g.Base once without the search's faults (with its own
// faults if g.KeepFaults, which every drawn schedule keeps too), under its
// own duration_limit and seed and without its expectations (a search
// checks invariants, not expect), and checks that its work finishes
// (Liveness) and that the built-in invariants among invs hold
// (DefaultInvariants when none are given; custom ones are left out: they
// judge what faults did). It returns the run, whose virtual end time is
// the base's fault-free run time (Gen.BaseTime), or an error wrapping
// ErrBaseFails that says what failed and what to change.
func Baseline(ctx context.Context, g Gen, invs ...Invariant) (*Run, error) {
	if g.Base == nil {
		return nil, errors.New("check: Baseline: Gen.Base is nil")
	}
	if len(invs) == 0 {
		invs = DefaultInvariants()
	}
	s := clone(g.Base)
	if !g.KeepFaults {
		s.Faults = nil
	}
	s.Expect = scenarios.Expect{}
	checked := []Invariant{Liveness}
	for _, inv := range invs {
		if _, builtin := ByName(inv.Name); builtin && inv.Name != Liveness.Name {
			checked = append(checked, inv)
		}
	}
	r, f, err := Execute(ctx, s, checked...)
	if err != nil {
		return nil, fmt.Errorf("check: the scenario without faults: %w", err)
	}
	if f == nil {
		return r, nil
	}
	what := "without faults"
	if g.KeepFaults && len(s.Faults) > 0 {
		what = "with only its own faults (--keep-faults)"
	}
	if f.Invariant == Liveness.Name {
		limit := "its duration_limit " + s.DurationLimit.String()
		if g.Base.DurationLimit == scenarios.DefaultDurationLimit {
			limit = "the default duration_limit " + s.DurationLimit.String()
		}
		return r, fmt.Errorf("%w: it does not finish %s within %s (seed %d): %v; fix the scenario first "+
			"(if its work only needs longer, raise duration_limit)", ErrBaseFails, what, limit, s.Seed, f.Err)
	}
	return r, fmt.Errorf("%w: invariant %s violated %s (seed %d): %v; fix it first "+
		"(raysim run FILE --set 'expect.invariants=[%s]' shows it)", ErrBaseFails, f.Invariant, what, s.Seed, f.Err, f.Invariant)
}

// runTime is a run's virtual end time, rounded up to a millisecond (the
// generator draws fault times in milliseconds).
func runTime(r *Run) time.Duration {
	d := time.Duration(r.Result.VirtualSeconds * float64(time.Second))
	return max(((d+time.Millisecond-1)/time.Millisecond)*time.Millisecond, time.Millisecond)
}
