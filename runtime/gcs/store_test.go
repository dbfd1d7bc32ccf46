package gcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/transport"
)

// TestMemStoreModel: random writes, deletes, syncs and crashes on a MemStore
// read back as a plain model of synced and unsynced maps says they should.
func TestMemStoreModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := NewMemStore()
		type model map[Table]map[string][]byte
		clone := func(in model) model {
			out := model{}
			for tb, kv := range in {
				out[tb] = map[string][]byte{}
				for k, v := range kv {
					out[tb][k] = v
				}
			}
			return out
		}
		cur, synced := model{}, model{}
		// Short ID-like keys and long name-like ones, few enough to collide;
		// 8 bytes (a task's key) and 9 ending in a zero (its first
		// return's) go to integer-keyed tables of their own, by block: a
		// first byte drawn apart puts keys in several slots of a block and
		// in neighbouring blocks.
		key := rapid.Custom(func(t *rapid.T) []byte {
			n := rapid.SampledFrom([]int{0, 1, 8, 9, 16, 17, 30}).Draw(t, "len")
			k := bytes.Repeat([]byte{byte(rapid.IntRange(0, 3).Draw(t, "b"))}, n)
			if n > 0 && rapid.Bool().Draw(t, "zero-last") {
				k[n-1] = 0
			}
			if n > 1 && rapid.Bool().Draw(t, "slot") {
				k[0] = byte(rapid.IntRange(0, transport.TaskBlock+1).Draw(t, "first"))
			}
			return k
		})
		table := rapid.SampledFrom([]Table{TableObjects, TableTasks, TableNames})
		for i := range rapid.IntRange(1, 60).Draw(t, "ops") {
			tb, k := table.Draw(t, "table"), key.Draw(t, "key")
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5:
				v := []byte(fmt.Sprint(i))
				m.Put(tb, k, v)
				if cur[tb] == nil {
					cur[tb] = map[string][]byte{}
				}
				cur[tb][string(k)] = v
			case op < 7:
				m.Delete(tb, k)
				delete(cur[tb], string(k))
			case op < 9:
				require.NoError(t, m.Sync())
				synced = clone(cur)
			default:
				m.Crash()
				cur = clone(synced)
			}
			live := 0
			for _, kv := range cur {
				for _, v := range kv {
					live += len(v)
				}
			}
			require.Equal(t, live, m.arena.live, "live bytes counted")
			for _, tb := range []Table{TableObjects, TableTasks, TableNames} {
				require.Equal(t, len(cur[tb]), m.Len(tb), "len of table %d", tb)
				var prev []byte
				n := 0
				m.Scan(tb, func(k, v []byte) bool {
					require.True(t, n == 0 || bytes.Compare(prev, k) < 0, "scan out of order")
					require.Equal(t, cur[tb][string(k)], v, "scan %q", k)
					prev, n = bytes.Clone(k), n+1
					return true
				})
				require.Equal(t, len(cur[tb]), n)
				for k, v := range cur[tb] {
					got, ok := m.Get(tb, []byte(k))
					require.True(t, ok, "get %q", k)
					require.Equal(t, v, got)
				}
			}
		}
	})
}

// BenchmarkShardTasks: the GCS's per-task work (the task written, its
// return object located, the task flushed) with the tables holding a
// million tasks, as they do in a long run.
func BenchmarkShardTasks(b *testing.B) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	id := 0
	task := func() {
		id++
		spec := transport.TaskSpec{ID: transport.ChildTaskID(7, uint64(id)), NumReturns: 1, Func: "f", Owner: 1}
		sh.Handle(1, &transport.GcsAddTask{Spec: spec})
		sh.Handle(1, &transport.GcsAddObject{Object: spec.Return(0), Node: 1, Size: 8})
	}
	for range 1_000_000 {
		task()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		task()
	}
}

// TestMemStoreCompacts: a Sync after overwrites that leave more garbage than
// live data copies the live values to a new arena, and every key of every
// shape (block slots inline and not, 9-byte, short, long) still reads its
// last value.
func TestMemStoreCompacts(t *testing.T) {
	m := NewMemStore()
	var keys [][]byte
	for i := range 40 {
		id := uint64(transport.ChildTaskID(3, uint64(i)))
		keys = append(keys,
			binary.LittleEndian.AppendUint64(nil, id),
			append(binary.LittleEndian.AppendUint64(nil, id), 0),
			append(binary.LittleEndian.AppendUint64(nil, id), 1),
			[]byte(fmt.Sprintf("a long key, a name of some actor %d", i)))
	}
	big := bytes.Repeat([]byte{'x'}, 1<<16)
	for round := range 3 {
		for i, k := range keys {
			m.Put(TableTasks, k, append(big[:len(big):len(big)], fmt.Sprint(round, i)...))
		}
	}
	total := m.arena.total
	require.NoError(t, m.Sync())
	require.Less(t, m.arena.total, total/2, "the arena was compacted")
	require.Equal(t, len(keys), m.Len(TableTasks))
	for i, k := range keys {
		v, ok := m.Get(TableTasks, k)
		require.True(t, ok, "key %d", i)
		require.Equal(t, fmt.Sprint(2, i), string(v[len(big):]), "key %d", i)
	}
}
