package traces_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/traces"
)

// TestNewerFormatIsNotCorrupt: a trace whose format version is newer than
// this binary reads was reported as "corrupted trace at byte offset 8:
// unsupported format version 2". It is now "written by a newer raysim
// (trace format 3; this raysim reads format 2)", errors.Is ErrNewerFormat
// and not ErrCorrupt; version 0 is still damage.
func TestNewerFormatIsNotCorrupt(t *testing.T) {
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml"}, traces.WriterOptions{})
	require.NoError(t, err)
	require.NoError(t, traces.NewRecorder(w).Close())
	data := buf.Bytes()
	cur := data[8]

	newer := bytes.Clone(data)
	newer[8] = cur + 1
	_, err = traces.NewReader(bytes.NewReader(newer))
	require.Error(t, err)
	assert.ErrorIs(t, err, traces.ErrNewerFormat)
	assert.NotErrorIs(t, err, traces.ErrCorrupt)
	assert.Contains(t, err.Error(), "written by a newer raysim")
	assert.Contains(t, err.Error(), fmt.Sprintf("trace format %d; this raysim reads format %d", cur+1, cur))
	assert.NotContains(t, err.Error(), "corrupt")

	zero := bytes.Clone(data)
	zero[8] = 0
	_, err = traces.NewReader(bytes.NewReader(zero))
	assert.ErrorIs(t, err, traces.ErrCorrupt)
}

// TestUnknownRecordKind: a record kind this binary does not know was
// decoded silently (as net.EventKind(126), which replay printed and every
// analysis skipped); reading it is now an error that says so.
func TestUnknownRecordKind(t *testing.T) {
	for _, src := range []traces.Source{traces.Runtime, traces.Net} {
		var buf bytes.Buffer
		w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml"}, traces.WriterOptions{})
		require.NoError(t, err)
		rec := traces.NewRecorder(w)
		rec.Write(&traces.Record{At: time.Millisecond, Source: src, Kind: uint8(transport.EvTaskSubmitted), Node: 1, Task: 7})
		rec.Write(&traces.Record{At: time.Millisecond, Source: src, Kind: 126, Node: 1})
		require.NoError(t, rec.Close())
		_, recs, _, err := traces.ReadAll(bytes.NewReader(buf.Bytes()))
		require.Error(t, err, "source %d", src)
		assert.Len(t, recs, 1, "the known record before it")
		assert.Contains(t, err.Error(), "record kind 126, unknown to this raysim")
	}
}
