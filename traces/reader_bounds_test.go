package traces

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrailingDataAfterEndBlockIsCorrupt: Reader.Next stops at the end
// block (r.trailer != nil) and never looks at what follows, so a file with
// bytes after its end block — two traces concatenated, a file appended to
// by a second writer, garbage — reads as an intact trace (Err nil, digest
// verified) though the end block is documented as the last block.
// Right: after the end block the reader checks for EOF and reports
// anything else as a *FormatError (ErrCorrupt) at the offset where the
// extra bytes start.
func TestTrailingDataAfterEndBlockIsCorrupt(t *testing.T) {
	data, _ := write(t, synthetic(100, 11), WriterOptions{})
	for name, extra := range map[string][]byte{
		"garbage":      []byte("garbage"),
		"second trace": data,
	} {
		bad := append(bytes.Clone(data), extra...)
		n, err := readErr(bad)
		assert.Equal(t, 100, n, name)
		assert.ErrorIs(t, err, ErrCorrupt, "%s after the end block", name)
	}
}

// TestTinyHostileFileAllocatesLittle: readBlock allocates a block's stored
// bytes from the block header's claimed length (r.stored = make(storedLen),
// reader.go readBlock) before reading any of them, and maxBlock allows
// 64 MiB, so a 23-byte file that claims a 64 MiB header block makes the
// reader allocate 64 MiB before it finds the file truncated (the writer's
// blocks are about BlockSize = 64 KiB). Right: memory grows with the bytes
// actually present (read the data in bounded chunks, or through
// io.CopyN into a buffer), so a hostile file of a few bytes costs a few
// bytes, and is still reported as truncated.
func TestTinyHostileFileAllocatesLittle(t *testing.T) {
	b := []byte(magic)
	b = append(b, formatVersion, compNone, blockHeader)
	b = binary.AppendUvarint(b, maxBlock) // raw length
	b = binary.AppendUvarint(b, maxBlock) // stored length
	b = append(b, 0, 0, 0, 0)             // CRC; no data follows
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(b))
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrTruncated)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(4<<20), "a %d-byte file made the reader allocate %d bytes", len(b), allocated)
}
