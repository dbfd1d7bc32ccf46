package traces_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// BenchmarkRecorder is the per-event cost of the sinks: digest-only (what
// every run pays) and streaming to a compressed file.
func BenchmarkRecorder(b *testing.B) {
	msg := &transport.Heartbeat{}
	nev := netsim.Event{Kind: netsim.EvSend, From: 1, To: 1 << 20, Size: 120, Payload: msg}
	rev := transport.Event{Kind: transport.EvTaskPlaced, Node: 2, Peer: 2, Task: 0x1234567890abcdef, Detail: "local"}
	run := func(b *testing.B, r *traces.Recorder) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			nev.At = time.Duration(i) * 1000
			if i&1 == 0 {
				r.Net(&nev)
			} else {
				r.Runtime(nev.At, &rev)
			}
		}
	}
	b.Run("digest-only", func(b *testing.B) { run(b, traces.NewRecorder(nil)) })
	b.Run("file", func(b *testing.B) {
		w, err := traces.Create(filepath.Join(b.TempDir(), "b.trace"), traces.Header{}, traces.WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		r := traces.NewRecorder(w)
		run(b, r)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTraceSlowdown runs a simulated scenario with tracing off (the
// digest-only sink) and on (streaming a compressed file), alternately, and
// reports the ratio of their wall times (goal: at most 2x).
func BenchmarkTraceSlowdown(b *testing.B) {
	s, err := scenarios.LoadWithOverrides("../scenarios/quickstart.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var off, on time.Duration
	var records uint64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := runner.Run(context.Background(), s, runner.Options{}); err != nil {
			b.Fatal(err)
		}
		off += time.Since(t0)
		t0 = time.Now()
		w, err := traces.Create(filepath.Join(dir, "run.trace"), traces.Header{File: s.File, Seed: s.Seed}, traces.WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rec := traces.NewRecorder(w)
		if _, err := runner.Run(context.Background(), s, runner.Options{Trace: rec}); err != nil {
			b.Fatal(err)
		}
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		on += time.Since(t0)
		records = rec.Count()
	}
	st, _ := os.Stat(filepath.Join(dir, "run.trace"))
	b.ReportMetric(float64(on)/float64(off), "slowdown")
	b.ReportMetric(float64(off.Milliseconds())/float64(b.N), "ms-off/run")
	b.ReportMetric(float64(on.Milliseconds())/float64(b.N), "ms-on/run")
	b.ReportMetric(float64(records), "records/run")
	if st != nil {
		b.ReportMetric(float64(st.Size())/float64(records), "bytes/record")
	}
}
