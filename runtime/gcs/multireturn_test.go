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
