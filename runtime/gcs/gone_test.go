package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestGoneObjectAnswersJobEnded: an object whose job ended
// (GcsObjectsGone) loses its copies — its holders are told to drop them —
// and every reader is answered ObjectJobEnded, never ObjectLost (which
// would send it to rebuild the object from lineage): one waiting when the
// end came, one that subscribes later, one of a shard reloaded from the
// store (the mark is persisted), and one after a copy announced late (a
// run that finished after the end), which is dropped. A plain free's
// reader, by contrast, is answered ObjectLost.
func TestGoneObjectAnswersJobEnded(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	store := NewMemStore()
	var sent []transport.Message
	sh := New(sentEnv{fakeEnv{self: 10}, &sent}, Config{Layout: l, Store: store, SyncEvery: -1})
	spec := transport.TaskSpec{ID: 7 << transport.TaskBlockBits, NumReturns: 2, Func: "f", Owner: 1}
	made, waited := spec.Return(0), spec.Return(1)
	sh.Handle(1, &transport.GcsAddTask{Spec: spec})
	sh.Handle(5, &transport.GcsAddObject{Object: made, Node: 5, Size: 8, Incarnation: 1})
	sh.Handle(3, &transport.GcsSubscribeObject{Object: waited}) // a reader waits for the second
	sent = nil

	sh.Handle(5, &transport.GcsObjectsGone{Objects: []transport.ObjectID{made, waited}})
	require.Equal(t, []transport.Message{
		&transport.ObjectJobEnded{Object: waited},                   // the waiting reader
		&transport.FreeObjects{Objects: []transport.ObjectID{made}}, // the holder
	}, sent)
	require.Empty(t, sh.Locations(made))

	sent = nil
	sh.Handle(4, &transport.GcsSubscribeObject{Object: made})
	require.Equal(t, []transport.Message{&transport.ObjectJobEnded{Object: made}}, sent, "a later reader")

	sent = nil
	sh.Handle(6, &transport.GcsAddObject{Object: waited, Node: 6, Size: 8, Incarnation: 1})
	require.Equal(t, []transport.Message{&transport.FreeObjects{Objects: []transport.ObjectID{waited}}}, sent, "a copy announced after the end")
	require.Empty(t, sh.Locations(waited))

	var resent []transport.Message
	re := New(sentEnv{fakeEnv{self: 10}, &resent}, Config{Layout: l, Store: store})
	for _, id := range []transport.ObjectID{made, waited} {
		resent = nil
		re.Handle(4, &transport.GcsSubscribeObject{Object: id})
		require.Equal(t, []transport.Message{&transport.ObjectJobEnded{Object: id}}, resent, "a reloaded shard's reader of %v", id)
	}

	// A plain free: its reader rebuilds.
	other := transport.TaskSpec{ID: 8 << transport.TaskBlockBits, NumReturns: 1, Func: "f", Owner: 1}
	sh.Handle(1, &transport.GcsAddTask{Spec: other})
	sh.Handle(5, &transport.GcsAddObject{Object: other.Return(0), Node: 5, Size: 8, Incarnation: 1})
	sh.Handle(1, &transport.GcsFreeObjects{Objects: []transport.ObjectID{other.Return(0)}})
	sent = nil
	sh.Handle(4, &transport.GcsSubscribeObject{Object: other.Return(0)})
	require.Equal(t, []transport.Message{&transport.ObjectLost{Object: other.Return(0)}}, sent)
}
