package ray

import (
	"testing"

	"raysim/runtime/transport"
)

// TestDupObjectID: Wait's duplicate check finds a repeat wherever it is,
// in short lists (compared pairwise) and long ones (the table), among IDs
// that differ only in their index, Put flag or low task bits; and it
// finds none in lists of distinct IDs.
func TestDupObjectID(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 100, 1000, 5000} {
		ids := make([]transport.ObjectID, 0, n)
		for i := range n {
			ids = append(ids, transport.ObjectID{Task: transport.TaskID(1000 + i/3), Index: uint32(i % 3), Put: i%2 == 0})
		}
		if id, dup := dupObjectID(ids); dup {
			t.Fatalf("n=%d: distinct IDs reported %v twice", n, id)
		}
		if n < 2 {
			continue
		}
		for _, at := range [][2]int{{0, n - 1}, {n - 2, n - 1}, {n / 2, n / 3}} {
			if at[0] == at[1] {
				continue
			}
			withDup := append([]transport.ObjectID(nil), ids...)
			withDup[at[1]] = withDup[at[0]]
			id, dup := dupObjectID(withDup)
			if !dup || id != ids[at[0]] {
				t.Fatalf("n=%d: ids[%d] repeated at %d: got %v, %v", n, at[0], at[1], id, dup)
			}
		}
	}
}

// TestDupObjectIDAllocs: the check allocates nothing once its table is
// reused — the map it replaced allocated on every Wait (qa29 #4).
func TestDupObjectIDAllocs(t *testing.T) {
	ids := make([]transport.ObjectID, 1000)
	for i := range ids {
		ids[i] = transport.ObjectID{Task: transport.ChildTaskID(7, uint64(i))}
	}
	dupObjectID(ids)
	if a := testing.AllocsPerRun(100, func() { dupObjectID(ids) }); a > 0 {
		t.Fatalf("%v allocations per check of 1000 IDs, want 0", a)
	}
}

// BenchmarkDupObjectID is the duplicate check of a Wait over 1000 refs.
func BenchmarkDupObjectID(b *testing.B) {
	ids := make([]transport.ObjectID, 1000)
	for i := range ids {
		ids[i] = transport.ObjectID{Task: transport.ChildTaskID(7, uint64(i))}
	}
	for b.Loop() {
		dupObjectID(ids)
	}
}
