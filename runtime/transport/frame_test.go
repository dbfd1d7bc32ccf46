package transport_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

func TestFrameRoundTrip(t *testing.T) {
	bodies := [][]byte{
		transport.Marshal(nil, &transport.Pong{Seq: 7}),
		transport.Marshal(nil, &transport.Ping{Seq: 1 << 40, Payload: bytes.Repeat([]byte{0xab}, 5000)}),
		{0x42},
	}
	var wire bytes.Buffer
	w := bufio.NewWriter(&wire)
	for _, b := range bodies {
		require.NoError(t, transport.WriteFrame(w, b))
	}
	require.NoError(t, w.Flush())
	assert.Equal(t, wire.Bytes(), transport.AppendFrame(transport.AppendFrame(transport.AppendFrame(nil,
		bodies[0]), bodies[1]), bodies[2]))

	r := bufio.NewReader(&wire)
	buf := make([]byte, 0, 64)
	for i, want := range bodies {
		got, err := transport.ReadFrame(r, buf)
		require.NoError(t, err, "frame %d", i)
		assert.Equal(t, want, got, "frame %d", i)
		if len(want) <= cap(buf) {
			assert.Same(t, &buf[:1][0], &got[0], "frame %d: small bodies reuse buf", i)
		}
	}
	_, err := transport.ReadFrame(r, buf)
	assert.ErrorIs(t, err, io.EOF)
}

func TestFrameRejects(t *testing.T) {
	hdr := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"zero length", hdr(0), transport.ErrBadFrame},
		{"one past the bound", hdr(transport.MaxBodyBytes + 1), transport.ErrFrameTooLarge},
		{"max uint32", hdr(^uint32(0)), transport.ErrFrameTooLarge},
		{"short header", []byte{1, 0}, io.ErrUnexpectedEOF},
		{"short body", append(hdr(10), 1, 2, 3), io.ErrUnexpectedEOF},
		{"header only", hdr(10), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := transport.ReadFrame(bufio.NewReader(bytes.NewReader(tt.wire)), nil)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	// The length is checked before anything is allocated.
	wire := hdr(transport.MaxBodyBytes + 1)
	br := bufio.NewReader(bytes.NewReader(wire))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		br.Reset(bytes.NewReader(wire))
		transport.ReadFrame(br, nil)
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20),
		"an oversized frame must be refused before its body is allocated")

	w := bufio.NewWriter(io.Discard)
	assert.ErrorIs(t, transport.WriteFrame(w, nil), transport.ErrBadFrame)
	assert.ErrorIs(t, transport.WriteFrame(w, make([]byte, transport.MaxBodyBytes+1)), transport.ErrFrameTooLarge)
	assert.NoError(t, transport.WriteFrame(w, make([]byte, transport.MaxBodyBytes)))
}

// TestMaxChunkFitsAFrame: an object chunk of MaxChunkBytes, its real
// bytes or its virtual ones, with every header field at its widest, fits
// one frame: its body within MaxBodyBytes, its pad within MaxPadBytes
// (review29 finding 2: a ChunkBytes above 8 MiB made every chunk too
// large for a frame, dropped by its sender).
func TestMaxChunkFitsAFrame(t *testing.T) {
	const wide = 1<<63 - 1
	big := transport.ObjectID{Task: transport.TaskID(1<<64 - 1), Index: 1<<32 - 1}
	for _, m := range []*transport.ObjectChunk{
		{Object: big, Offset: wide, Total: wide, ErrKind: transport.ErrKindReplayInconsistent, Causes: 1<<32 - 1,
			Data: make([]byte, transport.MaxChunkBytes), Virtual: wide, Sum: 1<<32 - 1},
		{Object: big, Offset: wide, Total: wide, Virtual: transport.MaxChunkBytes},
	} {
		body := transport.Marshal(nil, m)
		assert.LessOrEqual(t, len(body), transport.MaxBodyBytes)
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		require.NoError(t, transport.WriteFrame(w, body))
	}
	pad := transport.PadBytes(&transport.ObjectChunk{Virtual: transport.MaxChunkBytes})
	assert.LessOrEqual(t, pad, int64(transport.MaxPadBytes))
	assert.Greater(t, transport.MaxChunkBytes, 8<<20-4<<10, "the limit is most of a frame")
}
