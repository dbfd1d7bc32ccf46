package scenarios_test

import (
	"testing"
	"time"

	"raysim/scenarios"
)

// TestSetThroughMergeKeepsMergedSiblings guards --set on a path that goes
// through a mapping that a merge key (<<) supplies. applySet looked only at
// the keys written in the entry itself: "params" was not one (it comes from
// the anchor), so it created an explicit `params: {tasks: 10}`, which then
// overrode the whole merged params mapping. The override of tasks silently
// reset every other merged param to its default (duration 50ms became 10ms,
// making the run 5x shorter) with no error. Right: the merged mapping is
// copied into the entry before the override edits it, so only tasks
// changes (and the anchor's other users are left alone).
func TestSetThroughMergeKeepsMergedSiblings(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("testdata/merge-params.yaml", []string{"workload.0.params.tasks=10"})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Workload[0].Params.(*scenarios.ParallelParams)
	if p.Tasks != 10 {
		t.Errorf("tasks = %d, want 10 (the override)", p.Tasks)
	}
	if got := time.Duration(p.Duration.Mean); got != 50*time.Millisecond {
		t.Errorf("duration = %v after --set workload.0.params.tasks=10, want the merged 50ms (the override of one param reset its siblings)", got)
	}
	if q := s.Workload[1].Params.(*scenarios.ParallelParams); q.Tasks != 20 {
		t.Errorf("the anchor's other user has tasks = %d, want 20", q.Tasks)
	}
}
