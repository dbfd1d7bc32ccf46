package traces

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"slices"
	"time"
)

// Sentinels for errors.Is on a *FormatError.
var (
	ErrTruncated = errors.New("traces: truncated trace")
	ErrCorrupt   = errors.New("traces: corrupted trace")
	// ErrNewerFormat: the trace was written by a newer raysim, in a file
	// format version this one does not read (not damage).
	ErrNewerFormat = errors.New("traces: trace written by a newer raysim")
)

// FormatError reports a damaged trace file and where: Offset is the byte
// offset in the file of the damaged part (a block's start for a checksum or
// decoding error, the end of the data for a truncation).
type FormatError struct {
	Offset    int64
	Truncated bool
	// Newer: the file's format version is newer than this binary reads
	// (Msg says which); the file is not known to be damaged.
	Newer bool
	Msg   string
}

func (e *FormatError) Error() string {
	if e.Newer {
		return fmt.Sprintf("traces: trace written by a newer raysim (%s)", e.Msg)
	}
	what := "corrupted"
	if e.Truncated {
		what = "truncated"
	}
	return fmt.Sprintf("traces: %s trace at byte offset %d: %s", what, e.Offset, e.Msg)
}

// Is makes errors.Is(err, ErrTruncated/ErrCorrupt/ErrNewerFormat) work.
func (e *FormatError) Is(target error) bool {
	switch target {
	case ErrNewerFormat:
		return e.Newer
	case ErrTruncated:
		return e.Truncated
	case ErrCorrupt:
		return !e.Truncated && !e.Newer
	}
	return false
}

// versionError reports a format version byte this binary does not read:
// a newer raysim's, or (0) damage.
func versionError(v byte) error {
	if v > formatVersion {
		return &FormatError{Offset: int64(len(magic)), Newer: true,
			Msg: fmt.Sprintf("trace format %d; this raysim reads format %d", v, formatVersion)}
	}
	return &FormatError{Offset: int64(len(magic)), Msg: fmt.Sprintf("unsupported format version %d", v)}
}

// countingReader counts the bytes consumed from the file.
type countingReader struct {
	r   *bufio.Reader
	off int64
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.off++
	}
	return b, err
}

func (c *countingReader) readFull(p []byte) error {
	n, err := io.ReadFull(c.r, p)
	c.off += int64(n)
	return err
}

// Reader iterates a trace's records. It never panics on bad input: a
// damaged file ends the iteration with a *FormatError from Err.
type Reader struct {
	cr       countingReader
	closer   io.Closer
	version  byte // the file's format version
	comp     byte
	hdr      Header
	block    []byte
	pos      int
	blockOff int64 // file offset of the current block
	stored   []byte
	fr       io.ReadCloser
	prev     time.Duration
	rec      Record
	n        uint64 // records returned so far
	digest   Digest
	trailer  *Trailer
	err      error
	partial  bool  // SetPartial
	cut      error // the truncation a partial read stopped at
	intern   map[string]string
}

// NewReader reads the magic and the header.
func NewReader(r io.Reader) (*Reader, error) {
	tr := &Reader{cr: countingReader{r: bufio.NewReaderSize(r, 256<<10)}, digest: NewDigest(),
		intern: make(map[string]string)}
	var m [len(magic) + 2]byte
	if err := tr.cr.readFull(m[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FormatError{Offset: tr.cr.off, Truncated: true, Msg: "file ends inside the magic"}
		}
		return nil, err
	}
	if string(m[:len(magic)]) != magic {
		return nil, &FormatError{Offset: 0, Msg: "not a raysim trace (bad magic)"}
	}
	if v := m[len(magic)]; v < minFormatVersion || v > formatVersion {
		return nil, versionError(v)
	}
	tr.version = m[len(magic)]
	tr.comp = m[len(magic)+1]
	if tr.comp != compNone && tr.comp != compFlate {
		return nil, &FormatError{Offset: int64(len(magic)) + 1, Msg: fmt.Sprintf("unknown compression %d", tr.comp)}
	}
	typ, err := tr.readBlock()
	if err != nil {
		return nil, err
	}
	if typ != blockHeader {
		return nil, &FormatError{Offset: tr.blockOff, Msg: fmt.Sprintf("first block is %q, want the header", typ)}
	}
	if err := tr.hdr.unmarshal(tr.block); err != nil {
		return nil, &FormatError{Offset: tr.blockOff, Msg: "header: " + err.Error()}
	}
	tr.block, tr.pos = tr.block[:0], 0
	return tr, nil
}

// Open opens a trace file; Close closes it.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Header is the trace's header.
func (r *Reader) Header() *Header { return &r.hdr }

// readBlock reads the next block into r.block; it returns its type.
func (r *Reader) readBlock() (byte, error) {
	r.blockOff = r.cr.off
	trunc := func(what string) error {
		return &FormatError{Offset: r.cr.off, Truncated: true, Msg: what}
	}
	typ, err := r.cr.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, trunc("file ends before the end block (the run was interrupted?)")
		}
		return 0, err
	}
	if typ != blockHeader && typ != blockRecords && typ != blockEnd {
		return 0, &FormatError{Offset: r.blockOff, Msg: fmt.Sprintf("unknown block type %#x", typ)}
	}
	rawLen, err := binary.ReadUvarint(&r.cr)
	if err != nil {
		return 0, r.varintErr(err, "block raw length")
	}
	storedLen, err := binary.ReadUvarint(&r.cr)
	if err != nil {
		return 0, r.varintErr(err, "block stored length")
	}
	if rawLen > maxBlock || storedLen > maxBlock || (r.comp == compNone && rawLen != storedLen) {
		return 0, &FormatError{Offset: r.blockOff, Msg: fmt.Sprintf("block lengths out of range (raw %d, stored %d)", rawLen, storedLen)}
	}
	var crc [4]byte
	if err := r.cr.readFull(crc[:]); err != nil {
		return 0, trunc("file ends inside a block header")
	}
	dataOff := r.cr.off // the block's data starts after its header
	// The claimed length is not trusted for the allocation: the buffer grows
	// with the bytes actually read (a file of a few bytes claiming a 64 MiB
	// block costs a few bytes, and is reported as truncated).
	r.stored, err = growRead(r.stored[:0], int(storedLen), r.cr.readFull)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// Both numbers count the block's data only (its header is whole).
			return 0, trunc(fmt.Sprintf("file ends inside the block that starts at offset %d (%d of its %d data bytes)",
				r.blockOff, r.cr.off-dataOff, storedLen))
		}
		return 0, err
	}
	if crc32.ChecksumIEEE(r.stored) != binary.LittleEndian.Uint32(crc[:]) {
		return 0, &FormatError{Offset: r.blockOff, Msg: "block checksum mismatch"}
	}
	if r.comp == compNone {
		r.block = append(r.block[:0], r.stored...)
	} else {
		if r.fr == nil {
			r.fr = flate.NewReader(bytes.NewReader(r.stored))
		} else {
			r.fr.(flate.Resetter).Reset(bytes.NewReader(r.stored), nil)
		}
		// As for the stored bytes, the buffer grows with the bytes the
		// block actually decompresses to, not with its claimed raw length.
		r.block, err = growRead(r.block[:0], int(rawLen), func(p []byte) error {
			_, err := io.ReadFull(r.fr, p)
			return err
		})
		if err != nil {
			return 0, &FormatError{Offset: r.blockOff, Msg: "block does not decompress: " + err.Error()}
		}
		var one [1]byte
		if n, _ := r.fr.Read(one[:]); n != 0 {
			return 0, &FormatError{Offset: r.blockOff, Msg: "block decompresses past its raw length"}
		}
	}
	r.pos = 0
	return typ, nil
}

// readStep is the most growRead adds to a buffer before the bytes already
// read justify more: about a records block as the writer makes them
// (BlockSize of raw encodings plus the record that crossed it).
const readStep = BlockSize + 4096

// growRead appends n bytes to buf, read with readFull, growing buf in steps
// no larger than what it already holds (and at least readStep), so the
// memory it takes is at most about twice the bytes actually read plus
// readStep, whatever n claims. On an error buf holds the bytes read so far
// in whole steps.
func growRead(buf []byte, n int, readFull func([]byte) error) ([]byte, error) {
	for n > 0 {
		step := min(n, max(readStep, len(buf)))
		buf = slices.Grow(buf, step)
		if err := readFull(buf[len(buf) : len(buf)+step]); err != nil {
			return buf, err
		}
		buf = buf[:len(buf)+step]
		n -= step
	}
	return buf, nil
}

func (r *Reader) varintErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Offset: r.cr.off, Truncated: true, Msg: "file ends inside a block header (" + what + ")"}
	}
	return &FormatError{Offset: r.blockOff, Msg: what + ": " + err.Error()}
}

// Next advances to the next record; false at the end or on an error (see
// Err).
func (r *Reader) Next() bool {
	if r.err != nil || r.trailer != nil || r.cut != nil {
		return false
	}
	for r.pos >= len(r.block) {
		typ, err := r.readBlock()
		if err != nil {
			var fe *FormatError
			if r.partial && errors.As(err, &fe) && fe.Truncated {
				r.cut = err // the readable prefix ends here
				return false
			}
			r.err = err
			return false
		}
		switch typ {
		case blockHeader:
			r.err = &FormatError{Offset: r.blockOff, Msg: "a second header block"}
			return false
		case blockEnd:
			r.err = r.endBlock()
			if r.err == nil {
				r.err = r.checkEOF()
			}
			return false
		}
	}
	n, err := decodeRecord(r.block[r.pos:], r.prev, &r.rec, r.intern)
	if err != nil {
		r.err = &FormatError{Offset: r.blockOff, Msg: fmt.Sprintf("record %d (byte %d of the block's %d raw bytes): %v",
			r.n, r.pos, len(r.block), err)}
		return false
	}
	r.digest.Add(r.block[r.pos : r.pos+n])
	r.pos += n
	r.prev = r.rec.At
	r.n++
	return true
}

func (r *Reader) endBlock() error {
	t, err := parseTrailer(r.block, r.version)
	if err != nil {
		return &FormatError{Offset: r.blockOff, Msg: err.Error()}
	}
	r.trailer = &t
	if t.Records != r.n {
		return &FormatError{Offset: r.blockOff, Msg: fmt.Sprintf("end block counts %d records, the file holds %d", t.Records, r.n)}
	}
	if t.Digest != r.digest {
		return &FormatError{Offset: r.blockOff, Msg: fmt.Sprintf("end block digest %v, the records hash to %v", t.Digest, r.digest)}
	}
	return nil
}

// checkEOF reports anything after the end block, which is the file's last
// block (two traces concatenated, a second writer appending, garbage), as
// corruption at the offset of the first extra byte.
func (r *Reader) checkEOF() error {
	off := r.cr.off
	_, err := r.cr.ReadByte()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	}
	return &FormatError{Offset: off, Msg: "data after the end block"}
}

// SetPartial makes the Reader read a truncated trace's readable prefix:
// an interrupted run's file, without its end block or cut inside a block,
// ends the iteration without an error (Err is nil, Trailer absent) and
// Cut reports where. Corruption (a checksum or decoding failure) is still
// an error. For exports and analyses of a run that hung or was stopped
// (`raysim trace export --partial`, `raysim analyze --partial`).
func (r *Reader) SetPartial(on bool) { r.partial = on }

// Cut is the truncation a partial read (SetPartial) stopped at, once Next
// has returned false: nil for an intact trace.
func (r *Reader) Cut() error { return r.cut }

// Count is the number of records read so far.
func (r *Reader) Count() uint64 { return r.n }

// Record is the current record (valid until the next call to Next).
func (r *Reader) Record() *Record { return &r.rec }

// Index is the current record's index (0-based).
func (r *Reader) Index() uint64 { return r.n - 1 }

// Err is nil after a complete, intact trace was read to its end.
func (r *Reader) Err() error { return r.err }

// Trailer is the end block, once Next has returned false on an intact file.
func (r *Reader) Trailer() (Trailer, bool) {
	if r.trailer == nil {
		return Trailer{}, false
	}
	return *r.trailer, true
}

// Digest is the digest of the records read so far.
func (r *Reader) Digest() Digest { return r.digest }

// All iterates (index, record) pairs; check Err afterwards.
func (r *Reader) All() iter.Seq2[uint64, *Record] {
	return func(yield func(uint64, *Record) bool) {
		for r.Next() {
			if !yield(r.n-1, &r.rec) {
				return
			}
		}
	}
}

// ReadAll reads a whole trace into memory (tests and small traces).
func ReadAll(rd io.Reader) (*Header, []Record, Trailer, error) {
	r, err := NewReader(rd)
	if err != nil {
		return nil, nil, Trailer{}, err
	}
	var recs []Record
	for r.Next() {
		recs = append(recs, *r.Record())
	}
	t, _ := r.Trailer()
	return r.Header(), recs, t, r.Err()
}
