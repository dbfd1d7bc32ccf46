package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestOrphanedObjects: the task table tells the readers of a result not
// made yet that the task's owner died (ObjectOrphaned): those subscribed
// when it hears of the death, and one subscribing later; not for a death
// of another node, nor for an owner that died before the spec it holds
// was written (a restarted owner resubmitting), nor while a live node
// holds the task's run (GcsAdoptRun, or a reader's claim), nor for an
// actor call. The adopter's death ends its hold.
func TestOrphanedObjects(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	orphaned := func() map[transport.NodeID]transport.ObjectID {
		out := map[transport.NodeID]transport.ObjectID{}
		for _, s := range sent {
			if m, ok := s.m.(*transport.ObjectOrphaned); ok {
				out[s.to] = m.Object
			}
		}
		sent = sent[:0]
		return out
	}
	const task, call = transport.TaskID(7), transport.TaskID(8)
	obj, callObj := transport.ObjectID{Task: task}, transport.ObjectID{Task: call}
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: task, NumReturns: 1, Func: "f", Owner: 1, MaxRetries: 3}})
	callSpec := transport.TaskSpec{ID: call, NumReturns: 1, Func: "m", Owner: 1, Actor: 5}
	callSpec.SetAct(func(a *transport.ActorSpec) { a.Caller = 1 })
	sh.Handle(1, &transport.GcsAddTask{Spec: callSpec})
	sh.Handle(3, &transport.GcsSubscribeObject{Object: obj})
	sh.Handle(3, &transport.GcsSubscribeObject{Object: callObj})
	require.Empty(t, orphaned(), "the owner lives")
	sh.Handle(10, &transport.NodeDead{Node: 2, Incarnation: 1})
	require.Empty(t, orphaned(), "another node's death")

	sh.Handle(10, &transport.NodeDead{Node: 1, Incarnation: 1})
	require.Equal(t, map[transport.NodeID]transport.ObjectID{3: obj}, orphaned(), "the subscriber, not of an actor call")
	sh.Handle(4, &transport.GcsSubscribeObject{Object: obj})
	require.Equal(t, map[transport.NodeID]transport.ObjectID{4: obj}, orphaned(), "a later subscriber")

	// A node running the task holds it: no more news; its death ends that.
	sh.Handle(6, &transport.GcsAdoptRun{Task: task, Incarnation: 1})
	sh.Handle(4, &transport.GcsSubscribeObject{Object: obj})
	require.Empty(t, orphaned(), "held by the node running it")
	sh.Handle(3, &transport.GcsRebuild{Object: obj})
	require.Len(t, sent, 1)
	require.Equal(t, transport.ClaimWait, sent[0].m.(*transport.TaskInfo).Claim, "a reader's claim waits for the adopted run")
	sent = sent[:0]
	sh.Handle(10, &transport.NodeDead{Node: 6, Incarnation: 1})
	require.Equal(t, map[transport.NodeID]transport.ObjectID{3: obj, 4: obj}, orphaned(), "the adopter died")
	sh.Handle(3, &transport.GcsRebuild{Object: obj})
	require.Len(t, sent, 1)
	info := sent[0].m.(*transport.TaskInfo)
	require.Equal(t, transport.ClaimRun, info.Claim)
	require.Equal(t, uint32(1), info.Spec.Attempt, "the rebuild is charged; the adopted run was not")
	sent = sent[:0]

	// The owner restarted and wrote the spec again (a retried parent
	// resubmitting): not orphaned by the death it wrote it after.
	const again = transport.TaskID(9)
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: again, NumReturns: 1, Func: "f", Owner: 1, MaxRetries: 3}})
	sh.Handle(4, &transport.GcsSubscribeObject{Object: transport.ObjectID{Task: again}})
	require.Empty(t, orphaned(), "a spec written after its owner's death")
}
