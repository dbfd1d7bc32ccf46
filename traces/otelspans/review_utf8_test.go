package otelspans

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"raysim/runtime/transport"
	"raysim/traces"
)

// firstErr keeps the first ExportSpans error (the SDK only logs it).
type firstErr struct {
	sdktrace.SpanExporter
	mu  sync.Mutex
	err error
}

func (f *firstErr) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := f.SpanExporter.ExportSpans(ctx, spans)
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
	return err
}

// TestOTLPExportsNonUTF8Error: a task's error text is the error value's raw
// bytes (docs/traces.md), so a task.failed Detail may be invalid UTF-8. It
// became the span's status description as is, and OTLP is protobuf, whose
// string fields must be valid UTF-8: the OTLP exporter failed to marshal
// the whole batch ("string field contains invalid UTF-8"), so
// `raysim trace export --format otlp` of such a trace sent nothing and
// failed. The exporter must send it (invalid bytes replaced, as the JSONL
// export does).
func TestOTLPExportsNonUTF8Error(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml", Seed: 1}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	rt := func(at int64, k transport.EventKind, node, peer transport.NodeID, detail string) {
		rec.Write(&traces.Record{At: timeUnit(at), Source: traces.Runtime, Kind: uint8(k), Node: node, Peer: peer, Task: 7, Detail: detail})
	}
	rt(1, transport.EvTaskSubmitted, 1, 0, "f")
	rt(2, transport.EvTaskPlaced, 1, 1, "local")
	rt(3, transport.EvTaskRunning, 1, 0, "f")
	rt(4, transport.EvTaskFailed, 1, 0, "boom \xff\xfe raw bytes")
	require.NoError(t, rec.Close())

	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	exp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpoint(strings.TrimPrefix(srv.URL, "http://")), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	fe := &firstErr{SpanExporter: exp}
	n, err := Export(context.Background(), r, fe, Options{Batch: true})
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
	require.Equal(t, 1, n)
	require.NoError(t, fe.err, "the OTLP export of a failed task with a non-UTF-8 error")
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, string(got), "boom", "the collector received the failed task's span")
}

func timeUnit(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

// TestFailedTaskWithoutMessageIsError: a task.failed record's Detail is the
// error's text, which may be empty (an error value with no bytes). The
// task's span got the error status only when the text was not empty, so a
// failure without a message was exported with status Unset, like a
// success (docs/traces.md: "error status on failure").
func TestFailedTaskWithoutMessageIsError(t *testing.T) {
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "x.yaml", Seed: 1}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	rt := func(at int64, k transport.EventKind, detail string) {
		rec.Write(&traces.Record{At: timeUnit(at), Source: traces.Runtime, Kind: uint8(k), Node: 1, Peer: 1, Task: 9, Detail: detail})
	}
	rt(1, transport.EvTaskSubmitted, "f")
	rt(2, transport.EvTaskPlaced, "local")
	rt(3, transport.EvTaskRunning, "f")
	rt(4, transport.EvTaskFailed, "")
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	_, err = Export(context.Background(), r, exp, Options{})
	require.NoError(t, err)
	var found bool
	for _, s := range exp.GetSpans() {
		if s.Name == "task f" {
			found = true
			require.Equal(t, codes.Error, s.Status.Code, "a failed task's span has the error status")
		}
	}
	require.True(t, found)
}
