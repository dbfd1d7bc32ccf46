package gcs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// A review of the object and actor tables' persistence found four ways a
// reloaded shard (a restart on its store, a chain replica installing a
// snapshot) disagreed with the shard that wrote the store.

// located subscribes reader to obj on sh and returns the copy it is named.
func located(t *testing.T, sh *Shard, sent *[]transport.Message, reader transport.NodeID, obj transport.ObjectID, avoid transport.NodeID) transport.NodeID {
	t.Helper()
	*sent = nil
	sh.Handle(reader, &transport.GcsSubscribeObject{Object: obj, Avoid: avoid})
	for _, m := range *sent {
		if l, ok := m.(*transport.ObjectLocated); ok {
			return l.Node
		}
	}
	t.Fatalf("reader %d: no location of %v", reader, obj)
	return 0
}

// TestSubscribeAnswerIsAFunctionOfTheEntry: the copy a reader was named
// came from a round-robin counter in the entry that a subscription advanced
// without writing it, so a reloaded shard, or a chain replica given a
// snapshot, named another copy than the shard before it (a replayed run
// diverged after a GCS restart). The copy is now a hash of reader and
// object: the same answer before and after a reload, readers still spread
// over the copies, and Avoid still honoured.
func TestSubscribeAnswerIsAFunctionOfTheEntry(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	st := NewMemStore()
	var sent []transport.Message
	env := sendRecEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: st})
	obj := transport.ObjectID{Task: 7}
	for _, n := range []transport.NodeID{1, 2, 3} {
		sh.Handle(n, &transport.GcsAddObject{Object: obj, Node: n, Size: 8})
	}
	before := map[transport.NodeID]transport.NodeID{}
	named := map[transport.NodeID]int{}
	for r := transport.NodeID(20); r < 50; r++ {
		before[r] = located(t, sh, &sent, r, obj, 0)
		located(t, sh, &sent, r, obj, 0) // asked twice, as a retry does
		named[before[r]]++
	}
	require.Len(t, named, 3, "30 readers spread over the 3 copies: %v", named)
	require.Equal(t, transport.NodeID(2), located(t, sh, &sent, 2, obj, 0), "a copy on the reader itself")

	sh = New(env, Config{Layout: l, Store: st})
	for r := transport.NodeID(20); r < 50; r++ {
		require.Equal(t, before[r], located(t, sh, &sent, r, obj, 0), "reader %d after a reload", r)
		require.NotEqual(t, before[r], located(t, sh, &sent, r, obj, before[r]), "reader %d avoiding its copy", r)
	}
}

// TestEmptyCheckpointIsACheckpoint: an actor whose state encodes to no
// bytes checkpointed it, and the table took the empty data (nil once
// decoded) for no checkpoint: a late, older checkpoint replaced it, and a
// restart was told there was none while the log it covered was trimmed,
// so the restarted actor ran without the trimmed methods' effects.
func TestEmptyCheckpointIsACheckpoint(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	st := NewMemStore()
	var sent []transport.Message
	env := sendRecEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: st})
	const actor = transport.ActorID(5)
	for c := uint64(1); c <= 3; c++ {
		sh.Handle(1, &transport.GcsActorMethod{Actor: actor, Calls: c, Spec: transport.TaskSpec{ID: transport.TaskID(100 + c)}})
	}
	sh.Handle(1, &transport.GcsActorCheckpoint{Actor: actor, Calls: 2}) // empty state after 2 calls
	sh.Handle(1, &transport.GcsActorCheckpoint{Actor: actor, Calls: 1, Data: []byte("x")})
	ask := func(sh *Shard) *transport.ActorCheckpoint {
		sent = nil
		sh.Handle(1, &transport.GcsGetActorCheckpoint{Actor: actor})
		require.Len(t, sent, 1)
		return sent[0].(*transport.ActorCheckpoint)
	}
	for _, sh := range []*Shard{sh, New(env, Config{Layout: l, Store: st})} {
		got := ask(sh)
		require.True(t, got.Found, "the empty checkpoint is one")
		require.Equal(t, uint64(2), got.Calls, "an older checkpoint does not replace it")
		require.Empty(t, got.Data)
		require.Len(t, got.Log, 1, "the third call, after the checkpoint")
		require.Equal(t, transport.TaskID(103), got.Log[0].ID)
	}
}

// opStore records the order of a store's writes.
type opStore struct {
	Store
	ops []string
}

func (s *opStore) Put(t Table, k, v []byte) {
	s.ops = append(s.ops, "put "+tableName(t))
	s.Store.Put(t, k, v)
}

func (s *opStore) Delete(t Table, k []byte) {
	s.ops = append(s.ops, "delete "+tableName(t))
	s.Store.Delete(t, k)
}

func tableName(t Table) string {
	switch t {
	case TableActors:
		return "actor"
	case TableActorLog:
		return "log"
	}
	return "other"
}

// TestCheckpointStoredBeforeLogTrimmed: the log a checkpoint covers was
// deleted before the checkpoint was written, so a crash between the two
// left an old checkpoint and a log missing the methods after it. The
// checkpoint is written first; a crash between leaves stale log entries,
// which a load skips.
func TestCheckpointStoredBeforeLogTrimmed(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	st := &opStore{Store: NewMemStore()}
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: st})
	const actor = transport.ActorID(5)
	for c := uint64(1); c <= 3; c++ {
		sh.Handle(1, &transport.GcsActorMethod{Actor: actor, Calls: c, Spec: transport.TaskSpec{ID: transport.TaskID(100 + c)}})
	}
	st.ops = nil
	sh.Handle(1, &transport.GcsActorCheckpoint{Actor: actor, Calls: 2, Data: []byte("s")})
	require.Equal(t, []string{"put actor", "delete log", "delete log"}, st.ops)

	// The crash between: the checkpoint stored, the log not trimmed.
	crashed := NewMemStore()
	mem := st.Store
	for _, tb := range []Table{TableActors, TableActorLog} {
		mem.Scan(tb, func(k, v []byte) bool {
			crashed.Put(tb, bytes.Clone(k), bytes.Clone(v))
			return true
		})
	}
	for c := uint64(1); c <= 2; c++ {
		crashed.Put(TableActorLog, logKey(actor, c), []byte{})
	}
	var sent []transport.Message
	sh = New(sendRecEnv{fakeEnv{self: 10}, &sent}, Config{Layout: l, Store: crashed})
	sh.Handle(1, &transport.GcsGetActorCheckpoint{Actor: actor})
	got := sent[0].(*transport.ActorCheckpoint)
	require.Equal(t, uint64(2), got.Calls)
	require.Len(t, got.Log, 1)
	require.Equal(t, transport.TaskID(103), got.Log[0].ID)
}

// TestLoadKeepsSettledObjectsFlushed: a running shard keeps in memory only
// the object entries someone waits for (flushObject), but a load read every
// entry of the table into memory, so a restarted shard of a long run held
// millions. A load now leaves settled entries in the store, and they are
// read back on demand.
func TestLoadKeepsSettledObjectsFlushed(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	st := NewMemStore()
	var sent []transport.Message
	env := sendRecEnv{fakeEnv{self: 10}, &sent}
	sh := New(env, Config{Layout: l, Store: st})
	const n = 1000
	for i := 1; i <= n; i++ {
		sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i)}, Node: 1, Size: 8})
	}
	waited := transport.ObjectID{Task: n + 1}
	sh.Handle(2, &transport.GcsSubscribeObject{Object: waited})
	want := sh.Stats()
	require.Equal(t, 1, want.ResidentObjects, "only the waited-for entry")

	sh = New(env, Config{Layout: l, Store: st})
	got := sh.Stats()
	require.Equal(t, want.Objects, got.Objects)
	require.Equal(t, want.ResidentObjects, got.ResidentObjects, "a load holds what the running shard held")
	require.Equal(t, transport.NodeID(1), located(t, sh, &sent, 3, transport.ObjectID{Task: 17}, 0), "a flushed entry is read back")
	sent = nil
	sh.Handle(4, &transport.GcsAddObject{Object: waited, Node: 4, Size: 8})
	var told bool
	for _, m := range sent {
		if loc, ok := m.(*transport.ObjectLocated); ok && loc.Object == waited {
			told = true
		}
	}
	require.True(t, told, "the subscriber kept by the load is told")
}
