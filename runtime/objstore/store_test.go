package objstore

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

func oid(i uint32) transport.ObjectID { return transport.ObjectID{Task: 1, Index: i} }

func val(size int64) transport.Value { return transport.Value{Data: []byte{1}, Size: size} }

func TestEvictsLeastRecentlyUsedCopies(t *testing.T) {
	s := New(100)
	for i := uint32(0); i < 4; i++ {
		_, over, err := s.Put(oid(i), val(25), false)
		require.NoError(t, err)
		require.False(t, over)
	}
	s.Get(oid(0)) // 0 is now the most recent; 1 is the oldest
	evicted, over, err := s.Put(oid(9), val(30), false)
	require.NoError(t, err)
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(1), oid(2)}, evicted)
	assert.Equal(t, int64(25+25+30), s.Used())
	assert.True(t, s.Contains(oid(0)))
}

func TestPinnedAndPrimaryCopiesStay(t *testing.T) {
	s := New(100)
	_, _, _ = s.Put(oid(0), val(40), true) // primary
	_, _, _ = s.Put(oid(1), val(40), false)
	require.True(t, s.Pin(oid(1)))
	evicted, over, err := s.Put(oid(2), val(40), false)
	require.NoError(t, err)
	assert.Empty(t, evicted)
	assert.True(t, over, "admitted over capacity: nothing evictable")
	s.Unpin(oid(1)) // released: evictable again, and most recently used
	evicted, _, _ = s.Put(oid(3), val(10), false)
	assert.Equal(t, []transport.ObjectID{oid(2)}, evicted)
}

func TestTooLargeAndImmutable(t *testing.T) {
	s := New(100)
	_, _, err := s.Put(oid(0), val(101), false)
	assert.ErrorIs(t, err, ErrTooLarge)
	_, _, err = s.Put(oid(1), val(10), false)
	require.NoError(t, err)
	_, _, err = s.Put(oid(1), val(50), true) // a second copy changes nothing but primacy
	require.NoError(t, err)
	assert.Equal(t, int64(10), s.Used())
	e, ok := s.Get(oid(1))
	require.True(t, ok)
	assert.True(t, e.Primary)
	s.Delete(oid(1))
	assert.Zero(t, s.Used())
	assert.Zero(t, s.Len())
}

func TestUnboundedStoreNeverEvicts(t *testing.T) {
	s := New(0)
	for i := uint32(0); i < 100; i++ {
		ev, over, err := s.Put(oid(i), val(1<<30), false)
		require.NoError(t, err)
		require.Empty(t, ev)
		require.False(t, over)
	}
	assert.Equal(t, 100, s.Len())
}

func TestFree(t *testing.T) {
	s := New(0)
	_, _, _ = s.Put(oid(0), val(10), true)
	_, _, _ = s.Put(oid(1), val(10), true)
	_, _, _ = s.Put(oid(2), val(10), true)
	assert.True(t, s.Free(oid(0)), "an unpinned primary copy goes at once")
	assert.False(t, s.Free(oid(9)), "nothing to free")
	require.True(t, s.Pin(oid(1)))
	require.True(t, s.Pin(oid(1)))
	assert.False(t, s.Free(oid(1)), "a task reads it")
	assert.False(t, s.Unpin(oid(1)))
	assert.True(t, s.Unpin(oid(1)), "the last reader done: dropped")
	require.True(t, s.Pin(oid(2)))
	assert.False(t, s.Free(oid(2)))
	_, _, _ = s.Put(oid(2), val(10), true) // rebuilt while still read: wanted again
	assert.False(t, s.Unpin(oid(2)))
	assert.Equal(t, 1, s.Len())
	assert.Equal(t, int64(10), s.Used())
}

// TestAwait: what awaits an object is kept beside it, and an awaited
// object that is not here is not in the store for any other purpose.
func TestAwait(t *testing.T) {
	s := New(60)
	w := new(int)
	s.Await(oid(1), w)
	assert.False(t, s.Contains(oid(1)))
	_, ok := s.Get(oid(1))
	assert.False(t, ok)
	assert.False(t, s.Pin(oid(1)))
	assert.False(t, s.Free(oid(1)))
	assert.Zero(t, s.Len())
	assert.Empty(t, s.IDs())
	assert.Equal(t, []transport.ObjectID{oid(1)}, s.Awaiting())
	assert.Same(t, w, s.Awaited(oid(1)))

	// The put fills the awaited entry in; the wait stays until cleared.
	_, _, err := s.Put(oid(1), val(25), false)
	require.NoError(t, err)
	assert.True(t, s.Contains(oid(1)))
	assert.Equal(t, 1, s.Len())
	assert.Same(t, w, s.Awaited(oid(1)))
	s.Await(oid(1), nil)
	assert.Nil(t, s.Awaited(oid(1)))
	assert.Empty(t, s.Awaiting())
	assert.True(t, s.Contains(oid(1)), "clearing the wait keeps the object")

	// An object evicted while awaited again leaves the wait behind.
	s.Await(oid(1), w)
	_, _, err = s.Put(oid(2), val(25), false)
	require.NoError(t, err)
	_, _, err = s.Put(oid(3), val(25), false) // evicts oid(1), the least recently used
	require.NoError(t, err)
	assert.False(t, s.Contains(oid(1)))
	assert.Same(t, w, s.Awaited(oid(1)))
	assert.Equal(t, int64(50), s.Used())
	assert.Equal(t, 2, s.Len())

	// Clearing the wait of an object that is not here forgets it.
	s.Await(oid(1), nil)
	assert.Empty(t, s.Awaiting())
	assert.Nil(t, s.Awaited(oid(1)))
	s.Await(oid(9), nil) // nothing to clear
	assert.Equal(t, 2, s.Len())
}

// TestPutAtHint: a put handed the entry Await made fills that entry without
// looking the object up; a hint that is no longer the object's entry (the
// wait ended, or the object came and went) is ignored, never written.
func TestPutAtHint(t *testing.T) {
	s := New(0)
	w := new(int)
	e := s.Await(oid(0), w)
	require.NotNil(t, e)
	got, _, _, err := s.PutAt(e, oid(0), val(5), true)
	require.NoError(t, err)
	assert.Same(t, e, got)
	assert.Same(t, w, got.Awaited())
	s.Unawait(got)
	assert.Nil(t, s.Awaited(oid(0)))
	assert.True(t, s.Contains(oid(0)))

	// The wait ended before the put: the hint is detached.
	stale := s.Await(oid(1), w)
	s.Await(oid(1), nil)
	got, _, _, err = s.PutAt(stale, oid(1), val(5), true)
	require.NoError(t, err)
	assert.NotSame(t, stale, got)
	assert.False(t, stale.present, "a detached hint is left alone")
	g, ok := s.Get(oid(1))
	require.True(t, ok)
	assert.Same(t, got, g)

	// A hint for another object is ignored.
	other := s.Await(oid(2), w)
	got, _, _, err = s.PutAt(other, oid(3), val(5), true)
	require.NoError(t, err)
	assert.NotSame(t, other, got)
	assert.Same(t, w, s.Awaited(oid(2)))

	// The object came and went while awaited again: the map holds a fresh
	// entry with the wait, and the old one is detached.
	e4 := s.Await(oid(4), w)
	_, _, _, _ = s.PutAt(e4, oid(4), val(5), true)
	s.Delete(oid(4))
	assert.Same(t, w, s.Awaited(oid(4)))
	got, _, _, err = s.PutAt(e4, oid(4), val(6), true)
	require.NoError(t, err)
	assert.NotSame(t, e4, got)
	assert.Same(t, w, got.Awaited())
	s.Unawait(e4) // detached: clears the object's current entry
	assert.Nil(t, s.Awaited(oid(4)))
	assert.Equal(t, int64(5+5+5+6), s.Used())
}

// TestEntrySize: an entry per object held or awaited, millions in a large
// run: keep it in the allocator's 96-byte size class.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(Entry{}); n > 96 {
		t.Fatalf("Entry is %d bytes, more than the 96-byte size class", n)
	}
}

// TestPeekDoesNotTouch: Peek finds an object as Get does, without making
// it the most recently used.
func TestPeekDoesNotTouch(t *testing.T) {
	s := New(100)
	_, _, _ = s.Put(oid(0), val(40), false)
	_, _, _ = s.Put(oid(1), val(40), false)
	e, ok := s.Peek(oid(0))
	require.True(t, ok)
	assert.Equal(t, oid(0), e.ID)
	_, ok = s.Peek(oid(9))
	assert.False(t, ok)
	evicted, _, _ := s.Put(oid(2), val(40), false)
	assert.Equal(t, []transport.ObjectID{oid(0)}, evicted)
}

// TestDeleteLeavesPinnedObject: Delete dropped a pinned object at once:
// its bytes left Used while the task that pinned it still read them, and
// the pins went with the detached entry. A later Put of the same ID made a
// fresh entry, so the first reader's Unpin took the pin of a second reader
// of the new copy, which became evictable while that reader still read it.
// A pinned object is in use: Delete leaves it (Free drops it at its last
// Unpin) and reports that it did not drop it.
func TestDeleteLeavesPinnedObject(t *testing.T) {
	s := New(100)
	_, _, _ = s.Put(oid(1), val(40), false)
	require.True(t, s.Pin(oid(1))) // reader A
	assert.False(t, s.Delete(oid(1)), "pinned: not dropped")
	assert.True(t, s.Contains(oid(1)), "a pinned object is in use: it stays")
	assert.Equal(t, int64(40), s.Used(), "its bytes are still held")
	_, _, _ = s.Put(oid(1), val(40), false) // the same object again
	require.True(t, s.Pin(oid(1)))          // reader B
	s.Unpin(oid(1))                         // A is done
	evicted, _, _ := s.Put(oid(2), val(70), false)
	assert.Empty(t, evicted, "B still reads the copy: not evictable")
	assert.True(t, s.Contains(oid(1)))
	assert.Equal(t, int64(110), s.Used(), "admitted over capacity, every byte counted")

	s.Unpin(oid(1)) // B is done: an ordinary cached copy
	assert.True(t, s.Delete(oid(1)))
	assert.False(t, s.Contains(oid(1)), "unpinned: dropped")
	assert.Equal(t, int64(70), s.Used())
	assert.Equal(t, 1, s.Len())
}

// TestPrimariesCounted: Primaries counts the primary copies here: a put
// made here, a fetched copy promoted by the put of its own task's run,
// less what is freed or deleted; fetched copies do not count.
func TestPrimariesCounted(t *testing.T) {
	s := New(0)
	a, b, c := transport.ObjectID{Task: 1}, transport.ObjectID{Task: 2}, transport.ObjectID{Task: 3}
	v := transport.Value{Data: []byte("x")}
	mustPut := func(id transport.ObjectID, primary bool) {
		t.Helper()
		if _, _, err := s.Put(id, v, primary); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(a, true)
	mustPut(b, false)
	if got := s.Primaries(); got != 1 {
		t.Fatalf("after a primary and a fetched copy: %d, want 1", got)
	}
	mustPut(b, true) // its task ran here too
	mustPut(c, true)
	mustPut(a, true) // again: no second count
	if got := s.Primaries(); got != 3 {
		t.Fatalf("after a promotion: %d, want 3", got)
	}
	s.Free(a)
	s.Delete(b)
	if got := s.Primaries(); got != 1 {
		t.Fatalf("after a free and a delete: %d, want 1", got)
	}
}
