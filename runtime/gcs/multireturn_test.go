package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestMultiReturnTaskLeavesMemory: a task with two returns whose first is
// made (and flushed) before the second leaves nothing resident once both
// are: the check that the task is finished reads the first back from the
// store without keeping it in memory.
func TestMultiReturnTaskLeavesMemory(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: 7, NumReturns: 2, Func: "f", Owner: 1}})
	sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: 7}, Node: 1, Size: 8})
	sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: 7, Index: 1}, Node: 1, Size: 8})
	st := sh.Stats()
	require.Zero(t, st.ResidentTasks, "task entries left in memory")
	require.Zero(t, st.ResidentObjects, "object entries left in memory")
	require.Equal(t, 2, st.FlushedObjects)
}

// TestCancelMarkOnlyBeforeAResult: the task table keeps a task's cancel
// (GcsTaskFailed, sent ahead of the cancelled results), and a rebuild's
// GcsGetTask hears of it; but not when a result of the task was recorded
// before it: then the cancelled run was a rebuild failed by a tombstone of
// a cancel that came after the task had finished (a no-op), and the mark
// would make every later rebuild ErrCancelled where the first readers got
// the value. The answer also says whether a result was recorded.
func TestCancelMarkOnlyBeforeAResult(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	ask := func(task transport.TaskID) *transport.TaskInfo {
		sent = sent[:0]
		sh.Handle(2, &transport.GcsGetTask{Task: task})
		require.Len(t, sent, 1)
		return sent[0].m.(*transport.TaskInfo)
	}
	for _, id := range []transport.TaskID{7, 8} {
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1, Func: "f", Owner: 1}})
	}
	cancelled := transport.ErrKindCancelled
	sh.Handle(1, &transport.GcsTaskFailed{Task: 7, ErrKind: cancelled}) // cancelled before it finished
	sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: 7}, Node: 1, Size: 8, Failed: true})
	sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: 8}, Node: 1, Size: 8})
	sh.Handle(3, &transport.GcsTaskFailed{Task: 8, ErrKind: cancelled}) // a rebuild of a finished task, failed by a tombstone
	info := ask(7)
	require.True(t, info.Found && info.Failed == cancelled && info.Recorded)
	info = ask(8)
	require.True(t, info.Found && info.Recorded)
	require.Zero(t, info.Failed, "a cancel after the task had finished was kept")
}

// TestValueAfterCancelRefused: once a task's cancel is recorded, a location
// of a value it made (from a node whose word came late: cut off when the
// task finished there, rejoined since) is refused, and its holder told to
// drop the copy; copies of the cancel's result are taken. So is it after
// the shard is loaded again from its store.
func TestValueAfterCancelRefused(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	obj := transport.ObjectID{Task: 7}
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: 7, NumReturns: 1, Func: "f", Owner: 1}})
	sh.Handle(1, &transport.GcsTaskFailed{Task: 7, ErrKind: transport.ErrKindCancelled})
	refused := func(from transport.NodeID) {
		t.Helper()
		sent = sent[:0]
		sh.Handle(from, &transport.GcsAddObject{Object: obj, Node: from, Size: 8, Incarnation: 1})
		require.Len(t, sent, 1)
		require.Equal(t, from, sent[0].to)
		require.Equal(t, &transport.FreeObjects{Objects: []transport.ObjectID{obj}}, sent[0].m)
		require.NotContains(t, sh.Locations(obj), from)
	}
	refused(4) // before the cancel's copy is located
	sh.Handle(1, &transport.GcsAddObject{Object: obj, Node: 1, Size: 8, Incarnation: 1, Failed: true})
	sh.Handle(2, &transport.GcsAddObject{Object: obj, Node: 2, Size: 8, Incarnation: 1, Failed: true}) // a fetched copy
	require.Equal(t, []transport.NodeID{1, 2}, sh.Locations(obj))
	refused(5) // after
	sh.load()
	refused(6) // the store remembers the cancel
	require.Equal(t, []transport.NodeID{1, 2}, sh.Locations(obj))
}

// TestFailureAskAlwaysAnswersAVerdict: an owner's askFailure must be
// answered Recorded or Failed (failureAnswered asks again on anything
// else, for good). First return recorded, last not: taskFailed sees a
// result and keeps no mark, and taskInfo, reading the last return, said
// nothing was recorded. Found in review.
func TestFailureAskAlwaysAnswersAVerdict(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: 7, NumReturns: 2, Func: "f", Owner: 1}})
	sh.Handle(2, &transport.GcsAddObject{Object: transport.ObjectID{Task: 7}, Node: 2, Size: 8, Incarnation: 1})
	for range 3 { // the owner asks again every lookupTimeout
		sent = sent[:0]
		sh.Handle(1, &transport.GcsTaskFailed{Task: 7, ErrKind: transport.ErrKindCancelled, Ask: true})
		require.Len(t, sent, 1)
		info := sent[0].m.(*transport.TaskInfo)
		require.True(t, info.Found)
		require.True(t, info.Recorded || info.Failed != 0,
			"no verdict (Recorded %v, Failed %d): the owner asks again for good", info.Recorded, info.Failed)
	}
}
