package traces

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// synthetic makes n varied records in time order.
func synthetic(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Record, n)
	var at time.Duration
	details := []string{"", "loss", "spilled", "local", "f_compute", "partition [1 2] [3]"}
	for i := range out {
		at += time.Duration(rng.IntN(3)) * time.Duration(rng.IntN(100000))
		r := Record{At: at}
		if rng.IntN(2) == 0 {
			r.Source = Net
			r.Kind = uint8(rng.IntN(13))
			r.Node = transport.NodeID(rng.IntN(5))
			r.Peer = transport.NodeID(rng.IntN(5))
			r.Msg = transport.Kind(rng.IntN(40))
			r.Bytes = int64(rng.IntN(1 << 20))
		} else {
			r.Kind = uint8(1 + rng.IntN(23))
			r.Node = transport.NodeID(rng.IntN(5))
			r.Task = transport.TaskID(rng.Uint64())
			if rng.IntN(2) == 0 {
				r.Object = transport.ObjectID{Task: r.Task, Index: uint32(rng.IntN(4)), Put: rng.IntN(2) == 0}
			}
			r.Bytes = int64(rng.IntN(1<<30)) - 5
		}
		r.Detail = details[rng.IntN(len(details))]
		out[i] = r
	}
	return out
}

func header() Header {
	return Header{File: "x.yaml", Scenario: []byte("name: x\nseed: 3\n"), Seed: 3, Overrides: []string{"seed=3"}}
}

// write records recs through a Recorder (the real path) and returns the file.
func write(t testing.TB, recs []Record, o WriterOptions) ([]byte, Digest) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header(), o)
	require.NoError(t, err)
	rec := NewRecorder(w)
	for i := range recs {
		r := &recs[i]
		rec.add(r.Source, r.Kind, r.At, r.Node, r.Peer, r.Msg, r.Task, r.Object, r.Bytes, r.Detail)
	}
	require.NoError(t, rec.Close())
	return buf.Bytes(), rec.Digest()
}

func TestRoundTrip(t *testing.T) {
	for _, o := range []WriterOptions{{}, {NoCompression: true}} {
		t.Run(fmt.Sprintf("nocomp=%v", o.NoCompression), func(t *testing.T) {
			recs := synthetic(50000, 1) // several blocks
			data, d := write(t, recs, o)
			h, got, tr, err := ReadAll(bytes.NewReader(data))
			require.NoError(t, err)
			assert.Equal(t, "x.yaml", h.File)
			assert.Equal(t, int64(3), h.Seed)
			assert.Equal(t, []string{"seed=3"}, h.Overrides)
			assert.Equal(t, "name: x\nseed: 3\n", string(h.Scenario))
			assert.NotEmpty(t, h.Version)
			require.Equal(t, len(recs), len(got))
			for i := range recs {
				if recs[i] != got[i] {
					t.Fatalf("record %d: wrote %v, read %v", i, recs[i].String(), got[i].String())
				}
			}
			assert.Equal(t, uint64(len(recs)), tr.Records)
			assert.Equal(t, d, tr.Digest)
			assert.Equal(t, recs[len(recs)-1].At, tr.End)
		})
	}
}

// The digest-only recorder and the file-writing one agree.
func TestDigestOnlyMatchesFile(t *testing.T) {
	recs := synthetic(3000, 2)
	_, d := write(t, recs, WriterOptions{})
	r := NewRecorder(nil)
	for i := range recs {
		x := &recs[i]
		r.add(x.Source, x.Kind, x.At, x.Node, x.Peer, x.Msg, x.Task, x.Object, x.Bytes, x.Detail)
	}
	assert.Equal(t, d, r.Digest())
	r2 := NewRecorder(nil)
	for i := range recs[:len(recs)-1] {
		x := &recs[i]
		r2.add(x.Source, x.Kind, x.At, x.Node, x.Peer, x.Msg, x.Task, x.Object, x.Bytes, x.Detail)
	}
	assert.NotEqual(t, d, r2.Digest())
	back, err := ParseDigest(d.String())
	require.NoError(t, err)
	assert.Equal(t, d, back)
}

func TestDigestOnlyAllocationFree(t *testing.T) {
	r := NewRecorder(nil)
	msg := &transport.Heartbeat{}
	nev := netsim.Event{Kind: netsim.EvSend, At: time.Second, From: 1, To: 2, Size: 100, Payload: msg}
	rev := transport.Event{Kind: transport.EvTaskPlaced, Node: 1, Peer: 2, Task: 99, Detail: "spilled"}
	allocs := testing.AllocsPerRun(1000, func() {
		r.Net(&nev)
		r.Runtime(time.Second, &rev)
	})
	assert.Zero(t, allocs)
}

// readErr reads data to its end and returns the error.
func readErr(data []byte) (n int, err error) {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	for r.Next() {
		n++
	}
	return n, r.Err()
}

func TestTruncated(t *testing.T) {
	data, _ := write(t, synthetic(20000, 3), WriterOptions{})
	for _, cut := range []int{0, 3, 9, 10, 11, 20, len(data) / 3, len(data) / 2, len(data) - 20, len(data) - 1} {
		_, err := readErr(data[:cut])
		var fe *FormatError
		require.ErrorAs(t, err, &fe, "cut at %d", cut)
		assert.True(t, errors.Is(err, ErrTruncated), "cut at %d: %v", cut, err)
		assert.LessOrEqual(t, fe.Offset, int64(cut), "cut at %d: %v", cut, err)
		assert.Contains(t, err.Error(), "byte offset")
	}
}

func TestCorrupted(t *testing.T) {
	for _, o := range []WriterOptions{{}, {NoCompression: true}} {
		data, _ := write(t, synthetic(20000, 4), o)
		rng := rand.New(rand.NewPCG(9, 9))
		for i := 0; i < 300; i++ {
			bad := bytes.Clone(data)
			pos := 10 + rng.IntN(len(bad)-10)
			bad[pos] ^= byte(1 + rng.IntN(255))
			n, err := readErr(bad)
			require.Error(t, err, "flip at %d", pos)
			var fe *FormatError
			require.ErrorAs(t, err, &fe, "flip at %d", pos)
			assert.LessOrEqual(t, fe.Offset, int64(pos)+1, "flip at %d: %v (after %d records)", pos, err, n)
		}
		// Bad magic and garbage.
		_, err := readErr([]byte("not a trace at all"))
		assert.ErrorIs(t, err, ErrCorrupt)
	}
}

// Arbitrary bytes after a valid prefix never panic.
func FuzzReader(f *testing.F) {
	data, _ := write(f, synthetic(300, 5), WriterOptions{})
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		readErr(b)
	})
}

func TestStopAfterAndCheck(t *testing.T) {
	recs := synthetic(100, 6)
	r := NewRecorder(nil)
	stops := 0
	r.OnStop(func() { stops++ })
	r.StopAfter(10)
	var seen []uint64
	r.Check(func(i uint64, rec *Record) bool {
		seen = append(seen, i)
		assert.Equal(t, recs[i], *rec)
		return i < 5
	})
	for i := range recs[:20] {
		x := &recs[i]
		r.add(x.Source, x.Kind, x.At, x.Node, x.Peer, x.Msg, x.Task, x.Object, x.Bytes, x.Detail)
	}
	assert.True(t, r.Stopped())
	assert.Equal(t, 1, stops)
	assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5}, seen)
}

// A file cut inside a block's data says how much of the data is there:
// both numbers count the data only (the block header is whole), so a cut
// right after the first block's header has 0 bytes of it, and each byte
// kept after that adds one.
func TestTruncatedInsideBlockCountsData(t *testing.T) {
	data, _ := write(t, synthetic(20000, 3), WriterOptions{})
	re := regexp.MustCompile(`starts at offset (\d+) \((\d+) of (?:its )?(\d+) (?:data )?bytes\)`)
	first := -1
	for cut := 0; cut < min(len(data), 4096); cut++ {
		_, err := readErr(data[:cut])
		require.Error(t, err, "cut at %d", cut)
		m := re.FindStringSubmatch(err.Error())
		if m == nil {
			if first >= 0 {
				break // past the block
			}
			continue
		}
		if first < 0 {
			first = cut
		}
		got, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		assert.Equal(t, cut-first, got, "cut at %d: %v", cut, err)
		assert.Less(t, got, total, "cut at %d: %v", cut, err)
	}
	require.GreaterOrEqual(t, first, 0, "no cut fell inside a block's data")
}

// TestAbandonLeavesTruncated guards Recorder.Abandon (a run that did not
// finish): every record so far is in the file, without the end block, so a
// reader returns them all and then ErrTruncated.
func TestAbandonLeavesTruncated(t *testing.T) {
	recs := synthetic(30000, 2) // several blocks and a partial one
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header(), WriterOptions{})
	require.NoError(t, err)
	rec := NewRecorder(w)
	for i := range recs {
		rec.Write(&recs[i])
	}
	require.NoError(t, rec.Abandon())
	_, got, _, err := ReadAll(bytes.NewReader(buf.Bytes()))
	assert.True(t, errors.Is(err, ErrTruncated), "abandoned file: %v", err)
	assert.Equal(t, recs, got)
}
