package gcs

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// heapAfter feeds a shard n tasks with 64 KiB inline arguments plus one
// actor creation, as one GcsAddTasks (batch) or one GcsAddTask each, then
// creates every task's result (so the tasks are flushed from memory), and
// returns the live heap.
func heapAfter(batch bool, n int) (uint64, Stats) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	specs := make([]transport.TaskSpec, 0, n+1)
	specs = append(specs, transport.TaskSpec{ID: 1 << 40, Actor: 1 << 40, Act: &transport.ActorSpec{Creation: true}, Func: "A", Owner: 1})
	for i := 1; i <= n; i++ {
		specs = append(specs, transport.TaskSpec{ID: transport.TaskID(i), NumReturns: 1, Func: "f", Owner: 1,
			Args: []transport.Arg{{Value: transport.Value{Data: make([]byte, 64<<10)}}}})
	}
	if batch {
		sh.Handle(1, &transport.GcsAddTasks{Specs: pointers(specs)})
	} else {
		for i := range specs {
			sh.Handle(1, &transport.GcsAddTask{Spec: specs[i]})
		}
	}
	specs = nil
	for i := 1; i <= n; i++ {
		sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i)}, Node: 1, Size: 8})
	}
	sh.store, sh.cfg.Store = nil, nil // only what the tables in memory keep
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := Stats{ResidentTasks: sh.tasks.Len()}
	runtime.KeepAlive(sh)
	return ms.HeapAlloc, st
}

// TestBatchRetention: one spec of a GcsAddTasks that stays resident (an
// actor creation never leaves memory) must not keep the whole batch — every
// flushed task's spec and inline arguments — alive, as it did when the shard
// kept pointers into the batch (found in review: 32 MiB against 1 MiB).
func TestBatchRetention(t *testing.T) {
	single, st1 := heapAfter(false, 500)
	batched, st2 := heapAfter(true, 500)
	t.Logf("resident tasks %d / %d; heap singles %d MiB, batch %d MiB", st1.ResidentTasks, st2.ResidentTasks, single>>20, batched>>20)
	if batched > single+16<<20 {
		t.Fatalf("a batch with one resident spec keeps %d MiB more alive", (batched-single)>>20)
	}
}

// queuedEnv is a recordingEnv whose timers are queued behind the loop's
// items, as netsim's are (transport.QueuedTimer).
type queuedEnv struct{ recordingEnv }

func (*queuedEnv) TimersQueued() {}

// TestAddObjectBatches: in netsim a client holds object locations until
// its flush timer and sends each shard's as one message (one alone as a
// GcsAddObject); anything else for a shard sends what is held for it
// first, so each shard sees the client's messages in order. On TCP (no
// QueuedTimer) each goes at once.
func TestAddObjectBatches(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	loc := func(i int) transport.GcsAddObject {
		return transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i)}, Node: 1}
	}
	env := &queuedEnv{}
	c := NewClient(env, l)
	c.AddObject(10, loc(1))
	c.AddObject(11, loc(2))
	c.AddObject(10, loc(3))
	require.Empty(t, env.sent)
	require.Len(t, env.timers, 1, "one flush armed")
	sub := &transport.GcsSubscribeObject{Object: loc(9).Object}
	c.Send(10, sub) // shard 10's locations go first
	c.AddTask(11, &transport.TaskSpec{ID: 7})
	require.Equal(t, []transport.Message{
		&transport.GcsAddObjects{Objects: []transport.GcsAddObject{loc(1), loc(3)}}, sub,
		ptr(loc(2)), &transport.GcsAddTask{Spec: transport.TaskSpec{ID: 7}},
	}, env.sent)

	env.sent = nil
	c.AddObject(11, loc(4))
	c.AddObject(11, loc(5))
	env.timers[0]() // the flush
	require.Equal(t, []transport.Message{&transport.GcsAddObjects{Objects: []transport.GcsAddObject{loc(4), loc(5)}}}, env.sent)
	c.AddObject(10, loc(6))
	require.Len(t, env.timers, 2, "the next location arms the flush again")

	tcp := &recordingEnv{}
	NewClient(tcp, l).AddObject(10, loc(1))
	require.Equal(t, []transport.Message{ptr(loc(1))}, tcp.sent, "TCP: at once")
	require.Empty(t, tcp.timers)
}

func ptr[T any](v T) *T { return &v }

// TestFreedObjectFromDeadHolderLeavesMemory: an object freed before it was
// made whose first copy comes from an incarnation already declared dead
// (its node finished the task and died, the death reaching the shard
// first), and whose copy from the task's retry elsewhere is then dropped
// for the free, leaves no entry in memory: neither the object's nor its
// task's (settled, both stay in the store).
func TestFreedObjectFromDeadHolderLeavesMemory(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	spec := transport.TaskSpec{ID: 7, NumReturns: 1, Func: "f", Owner: 1}
	obj := spec.Return(0)
	sh.Handle(1, &transport.GcsAddTask{Spec: spec})
	sh.Handle(1, &transport.GcsFreeObjects{Objects: []transport.ObjectID{obj}}) // freed while it runs
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 1})
	sh.Handle(5, &transport.GcsAddObject{Object: obj, Node: 5, Size: 8, Incarnation: 1, Owner: 1}) // from the dead incarnation
	sh.Handle(6, &transport.GcsAddObject{Object: obj, Node: 6, Size: 8, Incarnation: 1, Owner: 1}) // the retry's copy
	st := sh.Stats()
	require.Zero(t, st.ResidentObjects, "object entries left in memory")
	require.Zero(t, st.ResidentTasks, "task entries left in memory")
	require.Empty(t, sh.Locations(obj))
	got, ok := sh.Task(7)
	require.True(t, ok, "the lineage stays in the store")
	require.Equal(t, "f", got.Func)
}

// TestHoldSizesBatchesExactly: the specs announced to Hold fill each
// shard's batch exactly: no batch grows by copying or keeps spare room.
func TestHoldSizesBatchesExactly(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	env := &queuedEnv{}
	c := NewClient(env, l)
	var specs []*transport.TaskSpec
	for i := 0; i < 11; i++ { // even blocks to shard 10, odd to 11: 6 and 5
		specs = append(specs, &transport.TaskSpec{ID: transport.TaskID(i << transport.TaskBlockBits)})
	}
	c.Hold(specs)
	for _, s := range specs {
		c.AddTask(l.ShardOfTask(s.ID), s)
	}
	c.Release()
	require.Len(t, env.sent, 2)
	for i, want := range []int{6, 5} {
		b := env.sent[i].(*transport.GcsAddTasks).Specs
		require.Len(t, b, want)
		require.Equal(t, want, cap(b), "shard %d's batch", i)
	}
}

// TestObjectBeforeItsSpecFlushesTask: a task's object can reach its shard
// before the task's spec (the spill carrying the task overtakes the batch
// with its spec). The shard remembers it, and the spec that comes later
// finds its task finished and out of memory, also after a reload; a spec
// with no object yet stays resident until its object comes.
func TestObjectBeforeItsSpecFlushesTask(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	store := NewMemStore()
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	obj := func(task transport.TaskID) *transport.GcsAddObject {
		return &transport.GcsAddObject{Object: transport.ObjectID{Task: task}, Node: 1, Size: 8}
	}
	spec := func(task transport.TaskID) *transport.GcsAddTask {
		return &transport.GcsAddTask{Spec: transport.TaskSpec{ID: task, NumReturns: 1, Func: "f", Owner: 1}}
	}
	// Something flushed, so that finding objects takes the store.
	sh.Handle(1, spec(1))
	sh.Handle(1, obj(1))
	require.Equal(t, 0, sh.Stats().ResidentTasks)
	require.Equal(t, 1, sh.Stats().FlushedObjects)

	sh.Handle(1, obj(2)) // before its spec
	sh.Handle(1, spec(3))
	require.Equal(t, 1, sh.Stats().ResidentTasks, "task 3 waits for its object")
	sh.Handle(1, spec(2))
	require.Equal(t, 1, sh.Stats().ResidentTasks, "task 2 came finished: out of memory")
	sh.Handle(1, obj(3))
	require.Equal(t, 0, sh.Stats().ResidentTasks)

	// The same across a reload: the early object is found in the store.
	sh.Handle(1, obj(4))
	require.NoError(t, store.Sync())
	sh = New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	sh.Handle(1, obj(5)) // flushes nothing yet: make the store matter
	sh.Handle(1, spec(4))
	require.Equal(t, 0, sh.Stats().ResidentTasks, "task 4's object came before a reload")
}

// pointers returns pointers to each of specs, for a GcsAddTasks.
func pointers(specs []transport.TaskSpec) []*transport.TaskSpec {
	ps := make([]*transport.TaskSpec, len(specs))
	for i := range specs {
		ps[i] = &specs[i]
	}
	return ps
}

// TestShardOfTaskByBlock: a parent's consecutive children in one block
// (transport.ChildTaskID) go to one shard, whose tables then hold them side
// by side, and blocks spread over the shards.
func TestShardOfTaskByBlock(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11, 12, 13}}
	per := map[transport.NodeID]int{}
	const blocks = 4000
	for b := range uint64(blocks) {
		first := l.ShardOfTask(transport.ChildTaskID(42, b*transport.TaskBlock))
		for i := range uint64(transport.TaskBlock) {
			require.Equal(t, first, l.ShardOfTask(transport.ChildTaskID(42, b*transport.TaskBlock+i)), "block %d, child %d", b, i)
		}
		per[first]++
	}
	for _, s := range l.Shards {
		require.InDelta(t, blocks/len(l.Shards), per[s], float64(blocks/len(l.Shards)/5), "blocks on shard %d", s)
	}
}
