package transport_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestChunkSum: a chunk's Sum travels behind the sign of its Offset, so a
// chunk without one encodes as before (the same bytes, whatever the
// offset), one with it costs only the sum's uvarint; a flag with a sum of
// 0 is refused. ChunkSum is 0 for real bytes that fit one chunk, and
// tells apart two values of real bytes past a chunk.
func TestChunkSum(t *testing.T) {
	for _, off := range []int64{0, 1, 1 << 20, 1<<63 - 1} {
		plain := &transport.ObjectChunk{Object: transport.ObjectID{Task: 9}, Offset: off, Total: 1 << 62, Data: []byte("abc"), Virtual: 7}
		summed := *plain
		summed.Sum = 1<<32 - 1
		a, b := transport.Marshal(nil, plain), transport.Marshal(nil, &summed)
		assert.Equal(t, len(a)+5, len(b), "offset %d: the flag costs no byte, the sum a uvarint", off)
		for _, m := range []*transport.ObjectChunk{plain, &summed} {
			back, err := transport.Unmarshal(transport.Marshal(nil, m))
			require.NoError(t, err)
			assert.Equal(t, m, back)
		}
	}
	zero := transport.Marshal(nil, &transport.ObjectChunk{Object: transport.ObjectID{Task: 9}, Offset: 3, Total: 4, Sum: 1})
	zero[len(zero)-1] = 0 // the sum's one byte
	_, err := transport.Unmarshal(zero)
	assert.ErrorIs(t, err, transport.ErrInvalid)

	one, two := bytes.Repeat([]byte{1}, 3<<20), bytes.Repeat([]byte{2}, 3<<20)
	assert.Zero(t, transport.ChunkSum(one[:1<<20], 1<<20), "fits one chunk: no sum")
	assert.NotZero(t, transport.ChunkSum(one, 1<<20))
	assert.NotEqual(t, transport.ChunkSum(one, 1<<20), transport.ChunkSum(two, 1<<20))
	assert.Equal(t, transport.ChunkSum(one, 1<<20), transport.ChunkSum(bytes.Clone(one), 1<<20), "a copy's is the same")
}
