package traces

import (
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// Recorder is the sink of a run's events: it encodes each one canonically,
// folds it into the run's digest and, with a Writer, streams it to a file.
// Without a Writer it is the digest-only sink: it encodes into one reused
// buffer and hashes it, allocating nothing.
//
// Net and Runtime are the hooks for netsim's Config.OnEvent and the
// runtime's event hook; both must be called from the simulation loop (one
// goroutine at a time).
type Recorder struct {
	w       *Writer
	buf     []byte
	prev    time.Duration
	digest  Digest
	n       uint64
	check   func(i uint64, r *Record) bool
	checked bool // check returned false: it gets no more records
	stopAt  uint64
	stopped bool
	onStop  func()
	rec     Record
	clamped uint64
	others  uint64 // SetOtherJobsEvents
}

// NewRecorder returns a recorder; w may be nil (digest only).
func NewRecorder(w *Writer) *Recorder {
	return &Recorder{w: w, buf: make([]byte, 0, 256), digest: NewDigest()}
}

// Check makes the recorder hand every record (decoded) to f, until f
// returns false, which stops the run (replay compares here). A stop for
// another reason (StopAfter, Stop) ends the run after the current
// simulation step, and f still gets the records the rest of that step
// produces, so what f saw is what the run produced.
func (r *Recorder) Check(f func(i uint64, rec *Record) bool) { r.check = f }

// StopAfter stops the run once n records exist (time travel to an event);
// 0 never stops.
func (r *Recorder) StopAfter(n uint64) { r.stopAt = n }

// OnStop sets what stopping does (the runner passes the simulator's Stop:
// the loop returns after the current event).
func (r *Recorder) OnStop(f func()) { r.onStop = f }

// Stop asks the run to stop after the current event.
func (r *Recorder) Stop() {
	if !r.stopped {
		r.stopped = true
		if r.onStop != nil {
			r.onStop()
		}
	}
}

// Stopped reports whether Stop was called (or a limit or a check hit).
func (r *Recorder) Stopped() bool { return r.stopped }

// Count is the number of records so far.
func (r *Recorder) Count() uint64 { return r.n }

// Clamped is the number of records written at a later time than their
// own, because a record with a later time had been written before them
// (a live run's record that arrived too late to be put in order): each
// was written at the previous record's time. Always 0 in netsim.
func (r *Recorder) Clamped() uint64 { return r.clamped }

// Digest is the digest of the records so far.
func (r *Recorder) Digest() Digest { return r.digest }

// Last is the virtual time of the last record.
func (r *Recorder) Last() time.Duration { return r.prev }

// Net records a netsim event.
func (r *Recorder) Net(ev *netsim.Event) {
	var msg transport.Kind
	switch p := ev.Payload.(type) {
	case transport.Message:
		msg = p.Kind()
	case interface{ Message() transport.Message }: // the simulator adapter's frames
		msg = p.Message().Kind()
	}
	r.add(Net, uint8(ev.Kind), ev.At, transport.NodeID(ev.From), transport.NodeID(ev.To), msg, 0,
		transport.ObjectID{}, ev.Size, ev.Detail)
}

// Runtime records a runtime event that happened at virtual time at.
func (r *Recorder) Runtime(at time.Duration, ev *transport.Event) {
	r.add(Runtime, uint8(ev.Kind), at, ev.Node, ev.Peer, 0, ev.Task, ev.Object, ev.Bytes, ev.Detail)
}

func (r *Recorder) add(src Source, kind uint8, at time.Duration, node, peer transport.NodeID, msg transport.Kind,
	task transport.TaskID, obj transport.ObjectID, bytes int64, detail string) {
	if at < r.prev {
		// Never happens in netsim. On a wall clock (a live run) it is the
		// last resort for a record that came after later ones were
		// written: it keeps deltas non-negative, and Clamped counts it.
		at = r.prev
		r.clamped++
	}
	if w := r.w; w != nil {
		start := len(w.raw)
		w.raw = appendRecord(w.raw, r.prev, src, kind, at, node, peer, msg, task, obj, bytes, detail)
		r.digest.Add(w.raw[start:])
		if len(w.raw) >= BlockSize {
			w.flush()
		}
	} else {
		r.buf = appendRecord(r.buf[:0], r.prev, src, kind, at, node, peer, msg, task, obj, bytes, detail)
		r.digest.Add(r.buf)
	}
	r.prev = at
	i := r.n
	r.n++
	if r.check != nil && !r.checked {
		r.rec = Record{At: at, Source: src, Kind: kind, Node: node, Peer: peer, Msg: msg, Task: task,
			Object: obj, Bytes: bytes, Detail: detail}
		if !r.check(i, &r.rec) {
			r.checked = true
			r.Stop()
		}
	}
	if r.stopAt != 0 && r.n >= r.stopAt {
		r.Stop()
	}
}

// Write records r as is (copying a trace, tools, tests).
func (r *Recorder) Write(rec *Record) {
	r.add(rec.Source, rec.Kind, rec.At, rec.Node, rec.Peer, rec.Msg, rec.Task, rec.Object, rec.Bytes, rec.Detail)
}

// Close finishes the file (end block with count and digest); a no-op
// without a Writer.
func (r *Recorder) Close() error {
	if r.w == nil {
		return nil
	}
	return r.w.close(Trailer{Records: r.n, End: r.prev, Digest: r.digest, OtherJobsEvents: r.others})
}

// SetOtherJobsEvents records in the end block (Trailer.OtherJobsEvents)
// how many events of other jobs' tasks a live run left out of the trace:
// those tasks shared the cluster, and an analysis should say so.
func (r *Recorder) SetOtherJobsEvents(n uint64) { r.others = n }

// Abandon ends the file without its end block, as an interrupted run
// leaves it: the records so far are written, and a reader reports them,
// then ErrTruncated. Use it when the run failed; a no-op without a Writer.
func (r *Recorder) Abandon() error {
	if r.w == nil {
		return nil
	}
	return r.w.finish(nil)
}
