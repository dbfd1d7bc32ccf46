package traces

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"raysim/runtime/transport"
)

// fileWithRaw builds an uncompressed trace whose one records block holds
// raw (hand-made canonical encodings), with a matching end block, so only
// the record contents are at issue (no checksum or digest mismatch).
func fileWithRaw(t *testing.T, raw []byte, n uint64, end time.Duration) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header(), WriterOptions{NoCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	w.raw = append(w.raw, raw...)
	d := NewDigest()
	// The digest is per record; hand the caller's records to it one by one.
	for b := raw; len(b) > 0; {
		var r Record
		k, err := decodeRecord(b, 0, &r, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Add(b[:k])
		b = b[k:]
	}
	if err := w.close(Trailer{Records: n, End: end, Digest: d}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Two records whose time deltas are each within the reader's bound
// (<= 1<<62) add up past math.MaxInt64: the reader hands out a record whose
// time is negative (before the previous one) instead of reporting the file
// as corrupted. `raysim trace stats` then indexes its per-second histogram
// with a negative second (panic) — after first trying to grow it to 4.6e9
// entries for the first record.
func TestReview4ReaderRejectsTimeOverflow(t *testing.T) {
	var raw []byte
	raw = appendRecord(raw, 0, Net, 4, 1<<62, 1, 0, 0, 0, transport.ObjectID{}, 0, "")
	raw = appendRecord(raw, 0, Net, 4, 1<<62, 1, 0, 0, 0, transport.ObjectID{}, 0, "") // dt 1<<62 again
	data := fileWithRaw(t, raw, 2, 0)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var prev time.Duration
	for r.Next() {
		if at := r.Record().At; at < prev {
			t.Fatalf("record %d: time %d is before the previous record's %d (overflow), and no error", r.Index(), at, prev)
		}
		prev = r.Record().At
	}
	var fe *FormatError
	if !errors.As(r.Err(), &fe) {
		t.Errorf("want a *FormatError for the overflowing time, got %v", r.Err())
	}
}

// The writer accepts any non-negative record time, but the reader refuses
// a delta above 1<<62: a record at a time past 1<<62 ns (e.g. a
// math.MaxInt64 "never" sentinel) writes a file that does not read back.
func TestReview4LargeTimeRoundTrips(t *testing.T) {
	recs := []Record{{At: 1<<62 + 1, Source: Net, Kind: 4, Node: 1}}
	data, _ := write(t, recs, WriterOptions{})
	_, got, _, err := ReadAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("a trace the Writer produced does not read back: %v", err)
	}
	if len(got) != 1 || got[0] != recs[0] {
		t.Fatalf("read %v, wrote %v", got, recs)
	}
}
