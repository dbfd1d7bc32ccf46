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
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"raysim/runtime/transport"
)

// The file format (all integers varints unless said otherwise):
//
//	magic    "RAYSIMTR" (8 bytes), format version (1 byte), compression (1 byte: 0 none, 1 flate)
//	blocks   type (1 byte: 'H' header, 'R' records, 'E' end), raw length, stored length,
//	         CRC-32 (IEEE) of the stored bytes (4 bytes little-endian), the stored bytes
//
// Format 2 adds, after the end block's digest, the count of other jobs'
// events (Trailer.OtherJobsEvents); a reader of format 2 ignores any bytes
// after the fields it knows in the end block (fields a later minor
// revision adds). Format 1 files, whose end block ends at the digest,
// still read.
//
// The header block comes first and the end block last; records blocks hold
// about BlockSize bytes of canonical record encodings each, compressed
// independently (so a reader reports a damaged block by its file offset). A
// file without its end block is truncated (the run was interrupted).
const (
	magic         = "RAYSIMTR"
	formatVersion = 2
	// minFormatVersion is the oldest format this binary reads.
	minFormatVersion = 1
	// BlockSize is the raw size at which a records block is flushed.
	BlockSize = 64 << 10
	// maxBlock bounds a block's lengths before any allocation.
	maxBlock = 64 << 20

	compNone  = 0
	compFlate = 1

	blockHeader  = 'H'
	blockRecords = 'R'
	blockEnd     = 'E'
)

// Header is the trace's first block: everything replay needs to re-run.
type Header struct {
	Version   string   // the raysim version that wrote it
	File      string   // the scenario file as given on the command line
	Scenario  []byte   // its canonical YAML, --set overrides and seed applied
	Seed      int64    // the run's seed (also in Scenario)
	Overrides []string // the --set overrides applied (informative)
	Transport string   // "sim"
	// Buggify: the run had the runtime's fault points on (runner.Options.
	// Buggify, `raysim run --buggify`); they change its events, so a replay
	// turns them on too. Stored after Transport as a flags varint (absent in
	// older traces: false).
	Buggify bool
	// NodeIDs is the raylet ID of each of the scenario's cluster nodes
	// (cluster.nodes expanded, in order) when they are not 1, 2, ... N: a
	// live cluster's (raysim run --address), whose drivers' raylets take
	// IDs between its nodes'. Nil: node i is ID i+1. Stored after the
	// flags (flag 2: present) as a count and the IDs; absent in older
	// traces.
	NodeIDs []transport.NodeID
}

// Trailer is the end block.
type Trailer struct {
	Records uint64
	End     time.Duration // virtual time of the last record
	Digest  Digest
	// OtherJobsEvents counts the events a live cluster's processes sent
	// during the run for other jobs' tasks (another driver's run sharing
	// the cluster): they are not in the trace, but those tasks shared its
	// nodes' CPUs, so its utilization and latencies include contention the
	// trace cannot show. 0 for a simulated or --tcp run, and in format-1
	// traces.
	OtherJobsEvents uint64
}

// RaysimVersion is the version of this binary, as traces stamp it: the
// module version Go stamped (a pseudo-version holding the commit for a
// build from a VCS checkout), with the VCS revision appended only when the
// version does not already hold it, and "+dirty" for a build from a
// modified tree. A build without VCS information (-buildvcs=false, a
// build outside a checkout) is "devel+bin-" and a CRC-32 of the
// executable, so two different builds never read as one version (replay's
// "trace written by another version" note).
func RaysimVersion() string {
	versionOnce.Do(func() {
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			bi = nil
		}
		version = versionOf(bi, binaryHash)
	})
	return version
}

var (
	versionOnce sync.Once
	version     string
)

// versionOf is RaysimVersion for the build information bi (nil: none);
// binHash names the executable's contents ("" when unknown).
func versionOf(bi *debug.BuildInfo, binHash func() string) string {
	v := "devel"
	var rev string
	dirty := false
	if bi != nil {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) >= 12 && !strings.Contains(v, rev[:12]) {
		v += "+" + rev[:12]
	}
	if dirty && !strings.Contains(v, "dirty") {
		v += "+dirty"
	}
	if rev == "" && v == "devel" {
		if h := binHash(); h != "" {
			v += "+bin-" + h
		}
	}
	return v
}

// binaryHash is the CRC-32 of this executable in hex ("" when it cannot be
// read).
func binaryHash() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (h *Header) marshal() []byte {
	b := appendString(nil, h.Version)
	b = appendString(b, h.File)
	b = appendString(b, string(h.Scenario))
	b = binary.AppendVarint(b, h.Seed)
	b = binary.AppendUvarint(b, uint64(len(h.Overrides)))
	for _, o := range h.Overrides {
		b = appendString(b, o)
	}
	b = appendString(b, h.Transport)
	var flags uint64
	if h.Buggify {
		flags |= 1
	}
	if len(h.NodeIDs) > 0 {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	if len(h.NodeIDs) > 0 {
		b = binary.AppendUvarint(b, uint64(len(h.NodeIDs)))
		for _, id := range h.NodeIDs {
			b = binary.AppendUvarint(b, uint64(id))
		}
	}
	return b
}

func (h *Header) unmarshal(b []byte) error {
	d := decoder{b: b}
	h.Version = d.str()
	h.File = d.str()
	h.Scenario = []byte(d.str())
	h.Seed = d.varint()
	n := d.uvarint()
	if n > uint64(len(b)) {
		return errors.New("override count out of range")
	}
	h.Overrides = nil
	for i := uint64(0); i < n; i++ {
		h.Overrides = append(h.Overrides, d.str())
	}
	h.Transport = d.str()
	h.Buggify, h.NodeIDs = false, nil
	if d.err == nil && len(d.b) > 0 { // older traces end at Transport
		flags := d.uvarint()
		h.Buggify = flags&1 != 0
		if flags&2 != 0 {
			n := d.uvarint()
			if n > uint64(len(b)) {
				return errors.New("node ID count out of range")
			}
			for i := uint64(0); i < n && d.err == nil; i++ {
				h.NodeIDs = append(h.NodeIDs, transport.NodeID(d.uvarint()))
			}
		}
	}
	return d.err
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("string past the block end")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// WriterOptions tune a Writer.
type WriterOptions struct {
	// NoCompression stores blocks raw (compression is on by default).
	NoCompression bool
	// Level is the flate level (default flate.BestSpeed).
	Level int
}

// Writer streams a trace file: the header at creation, records blocks as
// they fill (compressed on a background goroutine, so the simulation does
// not wait for flate), the end block at Close. Memory is bounded by a few
// blocks whatever the run's length.
type Writer struct {
	raw   []byte // the block being filled (the Recorder appends to it)
	comp  byte
	level int

	blocks chan []byte
	free   chan []byte
	done   chan struct{}

	mu     sync.Mutex
	err    error
	out    *bufio.Writer
	closer io.Closer
	fw     *flate.Writer
	cbuf   bytes.Buffer
	hdr    []byte
	closed bool
}

// NewWriter writes the header to w and returns a Writer.
func NewWriter(w io.Writer, h Header, o WriterOptions) (*Writer, error) {
	tw := &Writer{comp: compFlate, level: o.Level, out: bufio.NewWriterSize(w, 256<<10),
		blocks: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{})}
	if o.NoCompression {
		tw.comp = compNone
	}
	if tw.level == 0 {
		tw.level = flate.BestSpeed
	}
	if tw.comp == compFlate {
		fw, err := flate.NewWriter(&tw.cbuf, tw.level)
		if err != nil {
			return nil, err
		}
		tw.fw = fw
	}
	if h.Version == "" {
		h.Version = RaysimVersion()
	}
	if h.Transport == "" {
		h.Transport = "sim"
	}
	tw.out.WriteString(magic)
	tw.out.WriteByte(formatVersion)
	tw.out.WriteByte(tw.comp)
	tw.writeBlock(blockHeader, h.marshal())
	if err := tw.fail(); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		tw.free <- make([]byte, 0, BlockSize+4096)
	}
	tw.raw = <-tw.free
	go tw.loop()
	return tw, nil
}

// Create creates the file at path and writes the header.
func Create(path string, h Header, o WriterOptions) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, h, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

func (w *Writer) loop() {
	defer close(w.done)
	for b := range w.blocks {
		w.writeBlock(blockRecords, b)
		w.free <- b[:0]
	}
}

func (w *Writer) fail() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// writeBlock compresses and writes one block (on the writer goroutine, or
// before it starts / after it ends).
func (w *Writer) writeBlock(typ byte, raw []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	stored := raw
	if w.comp == compFlate {
		w.cbuf.Reset()
		w.fw.Reset(&w.cbuf)
		w.fw.Write(raw)
		if err := w.fw.Close(); err != nil {
			w.err = err
			return
		}
		stored = w.cbuf.Bytes()
	}
	h := w.hdr[:0]
	h = append(h, typ)
	h = binary.AppendUvarint(h, uint64(len(raw)))
	h = binary.AppendUvarint(h, uint64(len(stored)))
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(stored))
	w.hdr = h
	w.out.Write(h)
	if _, err := w.out.Write(stored); err != nil {
		w.err = err
	}
}

// flush hands the filled block to the writer goroutine.
func (w *Writer) flush() {
	if len(w.raw) == 0 {
		return
	}
	w.blocks <- w.raw
	w.raw = <-w.free
}

// close writes the last records block and the end block, and closes the
// underlying file if the Writer created it.
func (w *Writer) close(t Trailer) error { return w.finish(&t) }

// finish writes the last records block and, when t is not nil, the end
// block (without it a reader reports the file as truncated after its
// records), and closes the underlying file if the Writer created it.
func (w *Writer) finish(t *Trailer) error {
	if w.closed {
		return w.fail()
	}
	w.closed = true
	w.flush()
	close(w.blocks)
	<-w.done
	if t != nil {
		b := binary.AppendUvarint(nil, t.Records)
		b = binary.AppendUvarint(b, uint64(t.End))
		b = binary.BigEndian.AppendUint64(b, t.Digest[0])
		b = binary.BigEndian.AppendUint64(b, t.Digest[1])
		b = binary.AppendUvarint(b, t.OtherJobsEvents) // format 2
		w.writeBlock(blockEnd, b)
	}
	err := w.fail()
	if e := w.out.Flush(); err == nil {
		err = e
	}
	if w.closer != nil {
		if e := w.closer.Close(); err == nil {
			err = e
		}
	}
	return err
}
