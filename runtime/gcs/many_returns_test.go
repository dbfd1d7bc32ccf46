package gcs

import (
	"testing"

	"raysim/runtime/transport"
)

// TestManyReturnsLookedAtOnce guards a task of many returns (QA: 65,536
// returns stalled a shard for minutes): each made return asked whether the
// task was finished by looking at every return from the first, n²/2
// lookups (store reads once entries were flushed). The shard keeps a
// cursor over the returns known made, so each is looked at once; a return
// made out of order is found when the cursor reaches it.
func TestManyReturnsLookedAtOnce(t *testing.T) {
	var sent []sentMsg
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99, Raylets: []transport.NodeID{1}}
	sh := New(diffEnv{self: 10, sent: &sent}, Config{Layout: l, Store: NewMemStore(), SyncEvery: 1})
	const n = 1000
	id := transport.TaskID(7)
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: n, Func: "f", Owner: 1}})
	made := func(i uint32) {
		sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: id, Index: i}, Node: 1, Size: 8, Incarnation: 1})
	}
	cursor := func() uint32 {
		m, ok := sh.tasks.Get(id)
		if !ok {
			return n // finished: flushed
		}
		return m.made
	}
	made(5) // out of order: the cursor waits at 0
	if got := cursor(); got != 0 {
		t.Fatalf("cursor %d after return 5 alone, want 0", got)
	}
	for i := uint32(0); i < n; i++ {
		if i == 5 {
			continue
		}
		made(i)
		want := i + 1
		if i == 4 {
			want = 6 // 5 was made already
		}
		if got := cursor(); got != want && !(i == n-1 && got == n) {
			t.Fatalf("after return %d the cursor is at %d, want %d", i, got, want)
		}
	}
	if _, ok := sh.tasks.Get(id); ok {
		t.Fatal("every return made, the task is still resident")
	}
}
