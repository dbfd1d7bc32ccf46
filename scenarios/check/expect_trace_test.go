package check

import (
	"context"
	"testing"

	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// Guards that `raysim run --trace FILE` (or --chrome) can replay a
// scenario with expect.invariants: [deterministic], as every fault-search
// failure file that violated determinism has. RunExpect's rerun for the
// determinism check kept Options.Trace, so the second run recorded into the
// first run's recorder: its digest was that of both runs' events, never
// equal to the first, and the invariant failed ("digest X, then Y on a
// second run") on a deterministic scenario — exit 1 with --trace, 0
// without; the trace file got the second run's events appended too.
// Right: the rerun records into a recorder of its own.
func TestRunExpectDeterministicWithTrace(t *testing.T) {
	s, err := scenarios.ParseWithOverrides("base.yaml", []byte(interruptBase), []string{"expect.invariants=[deterministic]"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunExpect(context.Background(), s, runner.Options{Trace: traces.NewRecorder(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res.Expectations {
		if !x.OK {
			t.Errorf("traced run: %s failed: %s", x.Name, x.Detail)
		}
	}
}
