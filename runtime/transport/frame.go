package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FrameHeaderBytes is the size of a frame's length prefix.
const FrameHeaderBytes = 4

// MaxBodyBytes bounds one frame body: MaxFrameBytes counts the header too.
const MaxBodyBytes = MaxFrameBytes - FrameHeaderBytes

// Framing errors; a TCP host closes the connection on either.
var (
	// ErrFrameTooLarge: the length prefix announces more than MaxBodyBytes.
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrBadFrame: the length prefix is zero (no message has an empty body).
	ErrBadFrame = errors.New("transport: bad frame")
)

// MaxPadBytes bounds the payload that may follow one frame (PadBytes): a
// frame announcing more is refused like an oversized one. An object chunk
// (1 MiB by default) is well below it.
const MaxPadBytes = MaxFrameBytes

// chunkHeaderBytes is room enough for an ObjectChunk's encoding besides
// its Data: its kind, object, offset, total, error kind and causes, data
// length and virtual bytes, each at most a ten-byte varint (well under
// it: TestMaxChunkFitsAFrame).
const chunkHeaderBytes = 1 << 10

// MaxChunkBytes bounds an object transfer's chunk size (node.Config's
// ChunkBytes): a chunk carries up to that many real bytes in its frame
// body (MaxBodyBytes, less its header) and up to that many virtual bytes
// as the frame's pad (MaxPadBytes). A larger chunk size made every chunk
// of a large enough object undeliverable on TCP: the sender drops it as
// larger than a frame, and the puller retries for good.
const MaxChunkBytes = min(MaxBodyBytes-chunkHeaderBytes, MaxPadBytes)

// PadBytes is the payload a real network carries right after m's frame:
// the virtual bytes of a Sized message (the part of an object chunk that
// stands for a Blob's declared size), that many bytes of any content. So
// TCP moves what netsim charges for m (WireSize) and a Blob of 64 MiB
// costs 64 MiB on the wire, not the dozen bytes that encode it; the
// receiver reads and drops them (the object store counts the value's
// declared size, not the bytes it keeps). 0 for any other message.
func PadBytes(m Message) int64 {
	if s, ok := m.(Sized); ok {
		return max(s.VirtualBytes(), 0)
	}
	return 0
}

// ErrPadTooLarge: a frame's payload (PadBytes) exceeds MaxPadBytes.
var ErrPadTooLarge = errors.New("transport: frame payload too large")

// AppendFrame appends the frame [u32 little-endian len(body)][body] to buf.
func AppendFrame(buf, body []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(body)))
	return append(buf, body...)
}

// WriteFrame writes one frame: a u32 little-endian body length, then body
// (a Marshal output). It does not flush w: callers batch frames and flush
// once per batch.
func WriteFrame(w *bufio.Writer, body []byte) error {
	if len(body) == 0 {
		return ErrBadFrame
	}
	if len(body) > MaxBodyBytes {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(body))
	}
	var hdr [FrameHeaderBytes]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(body)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// ReadFrame reads one frame and returns its body. The length is checked
// before anything is allocated: zero gives ErrBadFrame, more than
// MaxBodyBytes gives ErrFrameTooLarge. The body is read into buf when it has
// the capacity (the caller owns the result until it reuses buf), else into a
// fresh slice. A stream that ends inside a frame gives io.ErrUnexpectedEOF;
// one that ends between frames gives io.EOF.
func ReadFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var hdr [FrameHeaderBytes]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	switch {
	case n == 0:
		return nil, ErrBadFrame
	case n > MaxBodyBytes:
		return nil, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	body := buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}
