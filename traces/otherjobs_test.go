package traces

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"raysim/runtime/transport"
)

// TestOtherJobsEventsInEndBlock: a live run's warning that the cluster ran
// other jobs' tasks (their N events left out) was printed by `raysim run`
// alone, so analyze of its trace showed a low utilization without a word.
// The count is now in the end block (format 2): the Reader's Trailer and
// ReadTrailer give it, and trace stats warns.
func TestOtherJobsEventsInEndBlock(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{File: "x.yaml", Transport: "remote"}, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(w)
	rec.Runtime(time.Millisecond, &transport.Event{Kind: transport.EvTaskSubmitted, Node: 1, Task: 7})
	rec.SetOtherJobsEvents(13010)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ComputeStats(r)
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := r.Trailer(); !ok || tr.OtherJobsEvents != 13010 {
		t.Errorf("trailer %+v, %v", tr, ok)
	}
	if st.OtherJobsEvents != 13010 {
		t.Errorf("stats: %d", st.OtherJobsEvents)
	}
	var text bytes.Buffer
	st.Print(&text)
	if !bytes.Contains(text.Bytes(), []byte("their 13010 events are not in its trace")) {
		t.Errorf("trace stats text:\n%s", text.String())
	}
	path := filepath.Join(t.TempDir(), "x.trace")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if tr, ok, err := ReadTrailer(path); err != nil || !ok || tr.OtherJobsEvents != 13010 {
		t.Errorf("ReadTrailer: %+v, %v, %v", tr, ok, err)
	}
}

// TestFormat1StillReads: a trace written before format 2 (its end block
// ends at the digest) reads as before, with no other jobs' events.
func TestFormat1StillReads(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{File: "x.yaml"}, WriterOptions{NoCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(w)
	rec.Runtime(time.Millisecond, &transport.Event{Kind: transport.EvTaskSubmitted, Node: 1, Task: 7})
	rec.Runtime(2*time.Millisecond, &transport.Event{Kind: transport.EvTaskRunning, Node: 1, Task: 7})
	if err := rec.Abandon(); err != nil { // no end block: it is written below, as format 1 wrote it
		t.Fatal(err)
	}
	d := rec.Digest()
	end := binary.AppendUvarint(nil, rec.Count())
	end = binary.AppendUvarint(end, uint64(rec.Last()))
	end = binary.BigEndian.AppendUint64(end, d[0])
	end = binary.BigEndian.AppendUint64(end, d[1])
	data := buf.Bytes()
	data[len(magic)] = 1
	data = append(data, blockEnd)
	data = binary.AppendUvarint(data, uint64(len(end)))
	data = binary.AppendUvarint(data, uint64(len(end)))
	data = binary.LittleEndian.AppendUint32(data, crc32.ChecksumIEEE(end))
	data = append(data, end...)
	_, recs, tr, err := ReadAll(bytes.NewReader(data))
	if err != nil || len(recs) != 2 || tr.Digest != d || tr.OtherJobsEvents != 0 {
		t.Fatalf("format 1: %d records, %+v, %v", len(recs), tr, err)
	}
	path := filepath.Join(t.TempDir(), "v1.trace")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := ReadTrailer(path); err != nil || !ok || got != tr {
		t.Errorf("ReadTrailer of format 1: %+v, %v, %v", got, ok, err)
	}
}
