package traces

import (
	"bytes"
	"errors"
	"math"
	"slices"
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

// TestReaderRejectsTimeOverflow guards the reader's time decoding: two
// records whose time deltas add up past math.MaxInt64 must be reported as
// a *FormatError, not handed out with a negative time (before the previous
// record's), which `raysim trace stats` once used as a negative index.
func TestReaderRejectsTimeOverflow(t *testing.T) {
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

// TestLargeTimeRoundTrips guards the agreement of writer and reader on
// record times: the writer accepts any non-negative time, so a record past
// 1<<62 ns (up to a math.MaxInt64 "never" sentinel) must read back (the
// reader once refused any delta above 1<<62).
func TestLargeTimeRoundTrips(t *testing.T) {
	for _, recs := range [][]Record{
		{{At: 1<<62 + 1, Source: Net, Kind: 4, Node: 1}},
		{{At: 5, Source: Net, Kind: 4, Node: 1}, {At: math.MaxInt64, Source: Net, Kind: 4, Node: 2}},
	} {
		data, _ := write(t, recs, WriterOptions{})
		_, got, _, err := ReadAll(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("a trace the Writer produced does not read back: %v", err)
		}
		if !slices.Equal(got, recs) {
			t.Fatalf("read %v, wrote %v", got, recs)
		}
	}
}

// TestStatsFarFutureRecord guards ComputeStats' per-second histogram: a
// record at 1<<62 ns (about 146 years) is counted in Later, not by growing
// BySecond to billions of entries.
func TestStatsFarFutureRecord(t *testing.T) {
	recs := []Record{
		{At: 1500 * time.Millisecond, Source: Net, Kind: 4, Node: 1},
		{At: 1 << 62, Source: Net, Kind: 4, Node: 1},
	}
	data, _ := write(t, recs, WriterOptions{})
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ComputeStats(r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || st.Later != 1 || !slices.Equal(st.BySecond, []uint64{0, 1}) {
		t.Fatalf("records %d, per second %v, later %d; want 2, [0 1], 1", st.Records, st.BySecond, st.Later)
	}
}
