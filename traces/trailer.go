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
	"time"
)

// ReadTrailer reads a trace file's end block without decoding its records:
// it walks the blocks' headers, seeking past their data, and decodes the
// last block only. It is how an exporter learns the run's digest before
// streaming the records (the OTLP export mixes it into its IDs). It does
// not check the records against the end block (a Reader does, as it reads
// them): ok is false, with a nil error, when the file has no end block (an
// interrupted run); err reports a file that is not a trace or whose block
// headers are damaged.
func ReadTrailer(path string) (t Trailer, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return Trailer{}, false, err
	}
	defer f.Close()
	var m [len(magic) + 2]byte
	if _, err := io.ReadFull(f, m[:]); err != nil || string(m[:len(magic)]) != magic {
		return Trailer{}, false, &FormatError{Offset: 0, Msg: "not a raysim trace (bad magic)"}
	}
	version := m[len(magic)]
	if version < minFormatVersion || version > formatVersion {
		return Trailer{}, false, versionError(version)
	}
	comp := m[len(magic)+1]
	off := int64(len(m))
	br := bufio.NewReaderSize(f, 64)
	for {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return Trailer{}, false, err
		}
		br.Reset(f)
		typ, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return Trailer{}, false, nil // no end block
		}
		if err != nil {
			return Trailer{}, false, err
		}
		rawLen, err1 := binary.ReadUvarint(br)
		storedLen, err2 := binary.ReadUvarint(br)
		var crc [4]byte
		_, err3 := io.ReadFull(br, crc[:])
		if err1 != nil || err2 != nil || err3 != nil {
			return Trailer{}, false, nil // cut inside a block header: truncated
		}
		if rawLen > maxBlock || storedLen > maxBlock {
			return Trailer{}, false, &FormatError{Offset: off, Msg: "block lengths out of range"}
		}
		hdrLen := 1 + int64(uvarintLen(rawLen)+uvarintLen(storedLen)) + 4
		if typ != blockEnd {
			off += hdrLen + int64(storedLen)
			continue
		}
		stored := make([]byte, storedLen)
		if _, err := io.ReadFull(br, stored); err != nil {
			return Trailer{}, false, nil
		}
		if crc32.ChecksumIEEE(stored) != binary.LittleEndian.Uint32(crc[:]) {
			return Trailer{}, false, &FormatError{Offset: off, Msg: "end block checksum mismatch"}
		}
		raw := stored
		if comp == compFlate {
			raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(stored)), maxBlock))
			if err != nil {
				return Trailer{}, false, &FormatError{Offset: off, Msg: "end block does not decompress: " + err.Error()}
			}
		}
		t, err := parseTrailer(raw, version)
		if err != nil {
			return Trailer{}, false, &FormatError{Offset: off, Msg: err.Error()}
		}
		return t, true, nil
	}
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// parseTrailer decodes an end block's raw bytes, of a file of format
// version.
func parseTrailer(b []byte, version byte) (Trailer, error) {
	d := decoder{b: b}
	t := Trailer{Records: d.uvarint(), End: time.Duration(d.uvarint())}
	if d.err != nil || len(d.b) < 16 || (version == 1 && len(d.b) != 16) {
		return Trailer{}, fmt.Errorf("malformed end block")
	}
	t.Digest = Digest{binary.BigEndian.Uint64(d.b), binary.BigEndian.Uint64(d.b[8:])}
	if version >= 2 {
		d.b = d.b[16:]
		t.OtherJobsEvents = d.uvarint()
		if d.err != nil {
			return Trailer{}, fmt.Errorf("malformed end block: other jobs' events: %w", d.err)
		}
		// Bytes after: fields of a later minor revision, ignored.
	}
	return t, nil
}
