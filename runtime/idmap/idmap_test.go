package idmap

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/transport"
)

// TestMapModel: any sequence of sets and deletes, on children of a few
// parents (keys that share blocks, inline slots and the rest), leaves Map
// holding what a Go map holds.
func TestMapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m Map[int]
		model := map[transport.TaskID]int{}
		key := rapid.Custom(func(t *rapid.T) transport.TaskID {
			parent := transport.TaskID(rapid.IntRange(1, 3).Draw(t, "parent"))
			return transport.ChildTaskID(parent, uint64(rapid.IntRange(0, 2*transport.TaskBlock+1).Draw(t, "n")))
		})
		for i := range rapid.IntRange(1, 100).Draw(t, "ops") {
			k := key.Draw(t, "key")
			wantOld, wantHad := model[k]
			if rapid.IntRange(0, 2).Draw(t, "op") < 2 {
				old, had := m.Set(k, i)
				require.Equal(t, wantHad, had)
				require.Equal(t, wantOld, old)
				model[k] = i
			} else {
				old, had := m.Delete(k)
				require.Equal(t, wantHad, had)
				require.Equal(t, wantOld, old)
				delete(model, k)
			}
			require.Equal(t, len(model), m.Len())
			got := maps.Collect(m.All())
			require.Equal(t, model, got)
			for k, v := range model {
				g, ok := m.Get(k)
				require.True(t, ok)
				require.Equal(t, v, g)
			}
			_, ok := m.Get(key.Draw(t, "absent") ^ 1<<63)
			require.False(t, ok)
		}
	})
}

// TestMapSetWhileRanging: All's body may rewrite the value of the key it
// was given (as a compaction does).
func TestMapSetWhileRanging(t *testing.T) {
	var m Map[int]
	for n := range 3 * transport.TaskBlock {
		m.Set(transport.ChildTaskID(9, uint64(n)), n)
	}
	m.Set(transport.ChildTaskID(10, 0), 100)
	for k, v := range m.All() {
		m.Set(k, v+1000)
	}
	require.Equal(t, 3*transport.TaskBlock+1, m.Len())
	for n := range 3 * transport.TaskBlock {
		v, _ := m.Get(transport.ChildTaskID(9, uint64(n)))
		require.Equal(t, n+1000, v)
	}
	v, _ := m.Get(transport.ChildTaskID(10, 0))
	require.Equal(t, 1100, v)
}

// TestChildTaskIDsShareBlocks: a parent's children come in blocks of
// TaskBlock consecutive IDs with one block key, and distinct children have
// distinct IDs.
func TestChildTaskIDsShareBlocks(t *testing.T) {
	seen := map[transport.TaskID]bool{}
	for n := range uint64(10 * transport.TaskBlock) {
		id := transport.ChildTaskID(5, n)
		require.False(t, seen[id], "child %d repeats an ID", n)
		seen[id] = true
		first := transport.ChildTaskID(5, n-n%transport.TaskBlock)
		require.Equal(t, transport.TaskBlockKey(first), transport.TaskBlockKey(id))
		require.Equal(t, n%transport.TaskBlock, uint64(id)%transport.TaskBlock)
		if n >= transport.TaskBlock {
			require.NotEqual(t, transport.TaskBlockKey(transport.ChildTaskID(5, n-transport.TaskBlock)), transport.TaskBlockKey(id))
		}
	}
}

func BenchmarkMapStream(b *testing.B) {
	var m Map[*int]
	x := 0
	n := uint64(0)
	for b.Loop() {
		id := transport.ChildTaskID(1, n)
		m.Set(id, &x)
		if n >= 1000 {
			m.Delete(transport.ChildTaskID(1, n-1000))
		}
		n++
	}
}

// TestObjectsModel: Objects, with first returns by block and every other
// object apart, holds what a Go map holds.
func TestObjectsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m Objects[int]
		model := map[transport.ObjectID]int{}
		key := rapid.Custom(func(t *rapid.T) transport.ObjectID {
			parent := transport.TaskID(rapid.IntRange(1, 2).Draw(t, "parent"))
			return transport.ObjectID{
				Task:  transport.ChildTaskID(parent, uint64(rapid.IntRange(0, transport.TaskBlock+2).Draw(t, "n"))),
				Index: uint32(rapid.IntRange(0, 1).Draw(t, "index")),
				Put:   rapid.Bool().Draw(t, "put"),
			}
		})
		for i := range rapid.IntRange(1, 80).Draw(t, "ops") {
			k := key.Draw(t, "key")
			wantOld, wantHad := model[k]
			var old int
			var had bool
			if rapid.IntRange(0, 2).Draw(t, "op") < 2 {
				old, had = m.Set(k, i)
				model[k] = i
			} else {
				old, had = m.Delete(k)
				delete(model, k)
			}
			require.Equal(t, wantHad, had)
			require.Equal(t, wantOld, old)
			require.Equal(t, len(model), m.Len())
			require.Equal(t, model, maps.Collect(m.All()))
			for k, v := range model {
				g, ok := m.Get(k)
				require.True(t, ok)
				require.Equal(t, v, g)
			}
		}
	})
}
