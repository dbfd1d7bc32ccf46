package objstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// spillIDs returns the IDs of what the store spilled since the last call.
func spillIDs(s *Store) []transport.ObjectID {
	var ids []transport.ObjectID
	for _, sp := range s.TakeSpills() {
		ids = append(ids, sp.ID)
	}
	return ids
}

func TestSpillTakesPrimariesInsteadOfGoingOverCapacity(t *testing.T) {
	s := NewSpilling(100, 1000)
	for i := uint32(0); i < 4; i++ {
		_, over, err := s.Put(oid(i), val(25), true)
		require.NoError(t, err)
		require.False(t, over)
	}
	s.Get(oid(0)) // read: 0 is now the most recent primary, 1 the oldest
	evicted, over, err := s.Put(oid(9), val(30), true)
	require.NoError(t, err)
	assert.False(t, over, "spilled to make room, not over capacity")
	assert.Empty(t, evicted, "a primary is never evicted")
	assert.Equal(t, []transport.ObjectID{oid(1), oid(2)}, spillIDs(s))
	assert.Equal(t, int64(25+25+30), s.Used())
	assert.Equal(t, int64(50), s.SpillUsed())
	assert.Equal(t, 5, s.Len(), "a spilled object is still here")
	assert.True(t, s.Contains(oid(1)))
	e, ok := s.Peek(oid(1))
	require.True(t, ok)
	assert.True(t, e.Spilled())
	assert.Equal(t, uint64(2), s.Spilled)
	assert.Equal(t, int64(50), s.SpilledBytes)
	assert.Zero(t, s.OverCapacity)
}

func TestWithoutSpillTierPrimariesGoOverCapacity(t *testing.T) {
	for _, s := range []*Store{New(100), NewSpilling(100, 0), NewSpilling(0, 1000)} {
		_, _, _ = s.Put(oid(0), val(60), true)
		evicted, over, err := s.Put(oid(1), val(60), true)
		require.NoError(t, err)
		assert.Empty(t, evicted)
		assert.Equal(t, s.Capacity() > 0, over)
		assert.Empty(t, s.TakeSpills())
		assert.Zero(t, s.SpillCapacity())
	}
}

func TestSpillEvictsFetchedCopiesFirst(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(40), true)  // primary, the oldest
	_, _, _ = s.Put(oid(1), val(40), false) // fetched copy
	evicted, over, err := s.Put(oid(2), val(40), true)
	require.NoError(t, err)
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(1)}, evicted, "the fetched copy is evicted, as without a tier")
	assert.Empty(t, s.TakeSpills(), "evicting was enough")
	// More room than the fetched copies give: the oldest primary spills.
	_, _, _ = s.Put(oid(3), val(20), false)
	evicted, over, _ = s.Put(oid(4), val(40), true)
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(3)}, evicted)
	assert.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
	assert.False(t, s.Contains(oid(3)), "a fetched copy is evicted, never spilled")
}

func TestPinnedPrimariesAreNotSpilled(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), true)
	require.True(t, s.Pin(oid(0)))
	_, over, _ := s.Put(oid(1), val(60), true)
	assert.True(t, over, "the only primary is pinned (a task reads it)")
	assert.Empty(t, s.TakeSpills())
	s.Unpin(oid(0)) // spillable again, and more recent than 1
	_, over, _ = s.Put(oid(2), val(60), true)
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(1), oid(0)}, spillIDs(s), "unpinned: spillable again")
}

func TestRestoreBringsASpilledObjectBack(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(50), true)
	_, _, _ = s.Put(oid(1), val(50), false) // fetched
	_, _, _ = s.Put(oid(2), val(50), true)  // evicts 1
	_, _, _ = s.Put(oid(3), val(50), true)  // spills 0
	assert.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
	e, ok := s.Get(oid(0))
	require.True(t, ok)
	require.True(t, e.Spilled())
	evicted, over := s.Restore(e)
	assert.Empty(t, evicted)
	assert.False(t, over)
	assert.False(t, e.Spilled())
	assert.Equal(t, []transport.ObjectID{oid(2)}, spillIDs(s), "room for the restore: the oldest primary spills")
	assert.Equal(t, int64(100), s.Used())
	assert.Equal(t, int64(100), s.SpillUsed(), "0's copy stays in the tier after its restore, as Ray's spilled file")
	assert.Equal(t, uint64(1), s.Restored)
	assert.Equal(t, int64(50), s.RestoredBytes)
	// Restoring an object in memory does nothing.
	evicted, over = s.Restore(e)
	assert.Empty(t, evicted)
	assert.False(t, over)
	assert.Equal(t, uint64(1), s.Restored)
	// The restored object is the most recent: 3 spills before it.
	_, _, _ = s.Put(oid(4), val(50), true)
	assert.Equal(t, []transport.ObjectID{oid(3)}, spillIDs(s))
	// Spilled again, 0 writes nothing: its copy is still in the tier.
	_, _, _ = s.Put(oid(5), val(50), true)
	sp := s.TakeSpills()
	require.Len(t, sp, 1)
	assert.Equal(t, Spill{ID: oid(0), Bytes: 50, Written: false}, sp[0])
	assert.Equal(t, int64(150), s.SpillUsed())
	assert.Equal(t, uint64(4), s.Spilled)
	assert.Equal(t, int64(150), s.SpilledBytes, "bytes written: 0's once")
	// Freeing a restored object drops its copy in the tier too.
	e, _ = s.Get(oid(4))
	assert.False(t, e.Spilled())
	_, _, _ = s.Put(oid(6), val(1), true) // spills 5
	require.Len(t, s.TakeSpills(), 1)
	assert.True(t, s.Free(oid(0)))
	assert.Equal(t, int64(150), s.SpillUsed(), "0, 2, 3, 5 on disk, 0 freed")
}

func TestRestoreOfAPinnedSpilledObjectGoesOverCapacity(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), true)
	_, _, _ = s.Put(oid(1), val(60), true) // spills 0
	require.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
	require.True(t, s.Pin(oid(0)), "a spilled object is here: a task may pin it")
	require.True(t, s.Pin(oid(1)))
	e, _ := s.Peek(oid(0))
	require.True(t, e.Spilled(), "pinning is no read: it stays spilled")
	_, over := s.Restore(e)
	assert.True(t, over, "a read must succeed: nothing can make room")
	assert.False(t, e.Spilled())
	assert.Equal(t, int64(120), s.Used())
	assert.Equal(t, int64(60), s.SpillUsed(), "its copy stays in the tier")
}

func TestFreeAndDeleteDropSpilledCopies(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), true)
	_, _, _ = s.Put(oid(1), val(30), true)
	_, _, _ = s.Put(oid(2), val(60), true) // spills 0
	require.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
	assert.True(t, s.Free(oid(0)))
	assert.False(t, s.Contains(oid(0)))
	assert.Zero(t, s.SpillUsed())
	assert.Equal(t, int64(90), s.Used())

	_, _, _ = s.Put(oid(3), val(60), true) // spills 1 and 2
	require.Equal(t, []transport.ObjectID{oid(1), oid(2)}, spillIDs(s))
	require.True(t, s.Pin(oid(1)))
	assert.False(t, s.Free(oid(1)), "pinned: it goes at the last unpin")
	assert.True(t, s.Unpin(oid(1)))
	assert.True(t, s.Delete(oid(2)))
	assert.Zero(t, s.SpillUsed())
	assert.Equal(t, int64(60), s.Used())
	assert.Equal(t, 1, s.Len())
}

func TestFullSpillTierFallsBackToOverCapacity(t *testing.T) {
	s := NewSpilling(100, 70)
	_, _, _ = s.Put(oid(0), val(60), true)
	_, _, _ = s.Put(oid(1), val(35), true)
	_, _, _ = s.Put(oid(2), val(5), false)
	evicted, over, _ := s.Put(oid(3), val(60), true) // evicts 2, spills 0 (60 of 70)
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(2)}, evicted)
	assert.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
	_, _, _ = s.Put(oid(4), val(5), false) // a fetched copy: evicted before spilling
	evicted, over, _ = s.Put(oid(5), val(60), true)
	assert.Equal(t, []transport.ObjectID{oid(4)}, evicted, "eviction still happens as without a tier")
	assert.True(t, over, "35 more bytes do not fit in the tier: over capacity, as without one")
	assert.Empty(t, s.TakeSpills())
	assert.Equal(t, int64(60), s.SpillUsed())
	assert.Equal(t, uint64(1), s.OverCapacity)
}

func TestAwaitedSpilledObjectKeepsItsWaitWhenFreed(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), true)
	_, _, _ = s.Put(oid(1), val(60), true) // spills 0
	require.Len(t, s.TakeSpills(), 1)
	s.Await(oid(0), "reader")
	assert.True(t, s.Free(oid(0)))
	assert.Equal(t, "reader", s.Awaited(oid(0)))
	assert.Zero(t, s.SpillUsed())
	assert.False(t, s.Contains(oid(0)))
}

func TestPrimaryUpgradeOfAFetchedCopyIsSpillable(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), false)
	_, _, _ = s.Put(oid(0), val(60), true) // the copy becomes the primary (rebuilt here)
	evicted, over, _ := s.Put(oid(1), val(60), true)
	assert.Empty(t, evicted, "a primary is not evicted")
	assert.False(t, over)
	assert.Equal(t, []transport.ObjectID{oid(0)}, spillIDs(s))
}

func TestRestoreOfADroppedEntryDoesNothing(t *testing.T) {
	s := NewSpilling(100, 1000)
	_, _, _ = s.Put(oid(0), val(60), true)
	_, _, _ = s.Put(oid(1), val(60), true) // spills 0
	require.Len(t, s.TakeSpills(), 1)
	e, _ := s.Peek(oid(0))
	require.True(t, s.Free(oid(0)))
	evicted, over := s.Restore(e)
	assert.Empty(t, evicted)
	assert.False(t, over)
	assert.True(t, e.Spilled(), "a detached entry is left as it was")
	assert.Equal(t, int64(60), s.Used())
	assert.Zero(t, s.SpillUsed())
	assert.Zero(t, s.Restored)
}
