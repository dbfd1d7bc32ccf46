package objstore

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestChunkSumOncePerCopy: a pull of a value of real bytes past one chunk
// sends the CRC-32C of all of them with every chunk (ObjectChunk.Sum).
// servePull computed it on every pull of the same copy: a pass over every
// byte, 1.4 ms a pull of 16 MiB (BenchmarkServeLargePull). The store now
// computes it once per copy, and drops it with the copy: a copy put again
// (an object rebuilt from lineage by a nondeterministic task) has its own.
func TestChunkSumOncePerCopy(t *testing.T) {
	const chunk = 4
	s := New(0)
	id := oid(1)
	one := bytes.Repeat([]byte{1}, 3*chunk)
	e, _, _, err := s.PutAt(nil, id, transport.Value{Data: one}, true)
	require.NoError(t, err)
	sum := s.ChunkSum(e, chunk)
	require.Equal(t, transport.ChunkSum(one, chunk), sum)

	// Values are immutable while stored: changing the bytes behind the
	// store's back shows whether the sum was computed again.
	e.Value.Data[0] = 9
	assert.Equal(t, sum, s.ChunkSum(e, chunk), "the sum was computed again for the same copy")

	require.True(t, s.Delete(id))
	assert.Empty(t, s.sums, "the sum outlived its copy")
	two := bytes.Repeat([]byte{2}, 3*chunk)
	e2, _, _, err := s.PutAt(nil, id, transport.Value{Data: two}, true)
	require.NoError(t, err)
	assert.Equal(t, transport.ChunkSum(two, chunk), s.ChunkSum(e2, chunk), "a new copy of the object was served the old copy's sum")

	// A value whose real bytes fit one chunk has no sum and takes no room;
	// nor does an entry the store no longer holds.
	small, _, _, err := s.PutAt(nil, oid(2), transport.Value{Data: []byte{1, 2}, Size: 100}, true)
	require.NoError(t, err)
	assert.Zero(t, s.ChunkSum(small, chunk))
	require.True(t, s.Delete(id))
	assert.Equal(t, transport.ChunkSum(two, chunk), s.ChunkSum(e2, chunk))
	assert.Empty(t, s.sums)
}
