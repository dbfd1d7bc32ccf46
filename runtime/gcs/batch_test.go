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
	specs = append(specs, transport.TaskSpec{ID: 1 << 40, Actor: 1 << 40, ActorCreation: true, Func: "A", Owner: 1})
	for i := 1; i <= n; i++ {
		specs = append(specs, transport.TaskSpec{ID: transport.TaskID(i), NumReturns: 1, Func: "f", Owner: 1,
			Args: []transport.Arg{{Value: transport.Value{Data: make([]byte, 64<<10)}}}})
	}
	if batch {
		sh.Handle(1, &transport.GcsAddTasks{Specs: specs})
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
	st := Stats{ResidentTasks: len(sh.tasks)}
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
