package node

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestWrapCheckpointBoundsSavedResults: the checkpoint bytes keep the
// held results while they fit maxCheckpointBytes, in call order; a result
// past it is saved as an ErrKindObjectLost error (its call still saved, so
// a retry after a restart is a duplicate), and the whole fits a TCP frame
// however large the results are (a 12 MiB result made the checkpoint
// larger than a frame: TCP refused it and the result was never published).
func TestWrapCheckpointBoundsSavedResults(t *testing.T) {
	call := func(id transport.TaskID, seq uint64, n int) heldResult {
		spec := &transport.TaskSpec{ID: id, Act: &transport.ActorSpec{Caller: 99, Seq: seq}}
		return heldResult{spec: spec, out: transport.Value{Data: bytes.Repeat([]byte{byte(seq)}, n), Size: int64(n)}}
	}
	held := []heldResult{call(1, 0, 100), call(2, 1, 12<<20), call(3, 2, 1<<20), call(4, 3, 1<<20)}
	last := call(5, 4, 10)
	b := wrapCheckpoint([]byte("state"), held, last)
	require.LessOrEqual(t, len(b), maxCheckpointBytes)
	require.Less(t, len(b), transport.MaxBodyBytes)
	data, saved, err := unwrapCheckpoint(b)
	require.NoError(t, err)
	assert.Equal(t, []byte("state"), data)
	require.Len(t, saved, 5)
	for i, s := range saved {
		assert.Equal(t, transport.TaskID(i+1), s.id)
		assert.Equal(t, transport.TaskID(99), s.past.caller)
		assert.Equal(t, uint64(i), s.past.seq)
		assert.True(t, s.past.ready)
	}
	kept := func(i int) bool { return saved[i].past.out.ErrKind == transport.ErrKindNone }
	assert.True(t, kept(0))
	assert.False(t, kept(1), "12 MiB: over the budget")
	assert.Equal(t, transport.ErrKindObjectLost, saved[1].past.out.ErrKind)
	assert.Contains(t, string(saved[1].past.out.Data), "too large to save with the checkpoint")
	assert.True(t, kept(2), "1 MiB fits")
	assert.False(t, kept(3), "the second 1 MiB does not (2 MiB in all)")
	assert.True(t, kept(4), "a small one after a big one still fits")
	assert.Equal(t, held[2].out.Data, saved[2].past.out.Data)
}

// TestWrapCheckpointLargeDataKeepsSmallResults: beside Checkpoint bytes
// over the results' budget (4 MiB, still within maxCheckpointData), small
// results are still saved, a large one is not, and the whole fits a
// frame.
func TestWrapCheckpointLargeDataKeepsSmallResults(t *testing.T) {
	call := func(id transport.TaskID, seq uint64, n int) heldResult {
		spec := &transport.TaskSpec{ID: id, Act: &transport.ActorSpec{Caller: 7, Seq: seq}}
		return heldResult{spec: spec, out: transport.Value{Data: make([]byte, n), Size: int64(n)}}
	}
	data := make([]byte, 4<<20)
	b := wrapCheckpoint(data, []heldResult{call(1, 0, 1<<20)}, call(2, 1, 100))
	require.Less(t, len(b), transport.MaxBodyBytes)
	got, saved, err := unwrapCheckpoint(b)
	require.NoError(t, err)
	assert.Len(t, got, len(data))
	require.Len(t, saved, 2)
	assert.Equal(t, transport.ErrKindObjectLost, saved[0].past.out.ErrKind)
	assert.Equal(t, transport.ErrKindNone, saved[1].past.out.ErrKind)
	assert.Len(t, saved[1].past.out.Data, 100)
}
