package workload

import (
	"fmt"
	"testing"

	"raysim/runtime/ray"
)

// TestTallyKeepsFirstErrorOfEachKind: the check of which errors faults
// allow reads every kind a workload saw (KindErrs), so the tally keeps the
// first error of each, in order, and no more.
func TestTallyKeepsFirstErrorOfEachKind(t *testing.T) {
	tl := &Tally{Name: "p"}
	tl.fail(fmt.Errorf("get: %w", ray.ErrObjectLost))
	tl.fail(fmt.Errorf("get again: %w", ray.ErrObjectLost))
	tl.fail(fmt.Errorf("get: %w", ray.ErrTaskFailed))
	tl.fail(fmt.Errorf("untyped"))
	if tl.Errors != 4 || len(tl.KindErrs) != 3 {
		t.Fatalf("errors %d, kinds %v: want 4 errors of 3 kinds", tl.Errors, tl.KindErrs)
	}
	if got := tl.KindErrs[0].Error(); got != "p: get: "+ray.ErrObjectLost.Error() {
		t.Errorf("first kind's error %q: want the first object lost", got)
	}
}
