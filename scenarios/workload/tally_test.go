package workload

import (
	"errors"
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

// TestRereadAfterTransientFirstFailureIsChecked: a cancelled ref's first
// read failed otherwise than for good (an object lost, a timeout); its
// second read was then neither checked nor counted, so a wrong value or an
// error passed unseen. It is a read as any now.
func TestRereadAfterTransientFirstFailureIsChecked(t *testing.T) {
	tl := &Tally{Name: "p"}
	first := fmt.Errorf("get: %w", ray.ErrObjectLost)
	tl.reread(first, nil, false, "task 1")
	if tl.Checked != 1 || tl.Incorrect != 1 {
		t.Errorf("a wrong value on the second read: checked %d, wrong %d; want 1, 1", tl.Checked, tl.Incorrect)
	}
	tl.reread(first, fmt.Errorf("get: %w", ray.ErrObjectLost), false, "task 2")
	if tl.Errors != 1 {
		t.Errorf("an error on the second read: %d errors, want 1", tl.Errors)
	}
	tl.reread(first, ray.ErrCancelled, false, "task 3")
	if tl.Cancelled != 1 || tl.Errors != 1 {
		t.Errorf("ErrCancelled on the second read: cancelled %d errors %d, want 1, 1", tl.Cancelled, tl.Errors)
	}
}

// TestTallyKeepsEachReason: the first error of each reason is kept (IDs
// and numbers aside), beside the first of each kind.
func TestTallyKeepsEachReason(t *testing.T) {
	var tl Tally
	tl.fail(errors.New("ray: object lost (t1a.0): object t1a.0 lost: made by Put on node 3"))
	tl.fail(errors.New("ray: object lost (t2b.0): object t2b.0 lost: made by Put on node 4"))
	tl.fail(errors.New("ray: object lost (t3c.0): object t3c.0 lost: its task's retries are spent: max_retries 1"))
	if len(tl.KindErrs) != 1 || len(tl.ReasonErrs) != 2 {
		t.Fatalf("kinds %d, reasons %d: %v", len(tl.KindErrs), len(tl.ReasonErrs), tl.ReasonErrs)
	}
}
