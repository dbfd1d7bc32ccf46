package check

import (
	"context"
	"fmt"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// ByName returns the invariant named name (one of scenarios.InvariantNames).
func ByName(name string) (Invariant, bool) {
	for _, inv := range DefaultInvariants() {
		if inv.Name == name {
			return inv, true
		}
	}
	return Invariant{}, false
}

// RunExpect runs s in the simulator as runner.Run does, with opts (its
// event hooks still see every event), and checks the invariants its
// expect.invariants names: each becomes one of the result's expectations
// (named "invariant NAME"), and the run is OK only if every one holds.
// This is how `raysim run` replays a fault-search failure file, which
// names the invariant it violated, to the same verdict.
func RunExpect(ctx context.Context, s *scenarios.Scenario, opts runner.Options) (*runner.Result, error) {
	ev := newEvents()
	rerun := opts // the determinism check's second run: no trace, no progress of its own
	rerun.OnEvent, rerun.OnNetEvent, rerun.Progress = nil, nil, nil
	rerun.Trace = nil // a digest-only recorder of its own, not the first run's file
	onEvent, onNet := opts.OnEvent, opts.OnNetEvent
	opts.OnEvent = func(at time.Duration, e *transport.Event) {
		ev.runtime(at, e)
		if onEvent != nil {
			onEvent(at, e)
		}
	}
	opts.OnNetEvent = func(e *netsim.Event) {
		ev.net(e)
		if onNet != nil {
			onNet(e)
		}
	}
	res, err := runner.Run(ctx, s, opts)
	if err != nil {
		return res, err
	}
	r := &Run{Scenario: s, Result: res, Events: ev, ctx: ctx, opts: rerun}
	for _, name := range s.Expect.Invariants {
		inv, ok := ByName(name)
		if !ok {
			return res, fmt.Errorf("%w: unknown invariant %q", runner.ErrBadScenario, name)
		}
		x := runner.Expectation{Name: "invariant " + name, OK: true, Detail: "holds"}
		if err := inv.Check(r); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				// Interrupted (deterministic's rerun cut short): no verdict.
				return res, cerr
			}
			x.OK, x.Detail = false, err.Error()
			res.OK = false
		}
		res.Expectations = append(res.Expectations, x)
	}
	return res, nil
}
