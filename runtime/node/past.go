package node

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"raysim/runtime/transport"
)

// A restarted actor's state can hold calls whose results never reached
// their callers: a method's checkpoint or method-log write is answered
// before its result is published (holdResult), and a node that crashes in
// between loses the held result while the actor table keeps the write. The
// call's owner retries it, with the same task ID and call number. Run
// again, it would be applied twice (QA30: a counter read 21 after 20
// increments). So, as the Ray paper's actor reconstruction has it, a
// method in the log runs once in the rebuilt state, and its retry gets
// that run's result: the restarted instance learns each caller's calls it
// holds — the methods it replays (their specs name caller and number), and
// the calls a checkpoint covers whose results were still held when it was
// taken (saved with it, results included: pastCall) — and takes each
// caller's order from past them, so a retry is a duplicate (hostCall),
// answered with the result.

// pastCall is a call the restored state of a restarted actor holds:
// replayed from the method log, or saved with the checkpoint with its
// result.
type pastCall struct {
	caller transport.TaskID
	seq    uint64
	out    transport.Value
	outs   []transport.Value // a method of several returns' values (see runMethod)
	ready  bool              // the result is known (saved, or the replayed run has ended)
	// waiting is the copy of the call from its caller (a retry) that came
	// before its replayed run ended, the latest attempt's, and rebuilds
	// the rebuilds of its result that came then: all answered when it
	// does.
	waiting  *transport.TaskSpec
	rebuilds []*transport.TaskSpec
	// answered: a copy of the call from its caller has been answered, the
	// last with attempt answeredAt (a later one, with that attempt or
	// below, is the same copy again, a duplicated frame). Rebuilds are
	// always answered (see answerPast).
	answered   bool
	answeredAt uint32
}

// ckptMagic opens the actor table's checkpoint bytes the raylet writes
// (wrapCheckpoint): the instance's Checkpoint bytes, then the calls the
// checkpoint covers whose results were not published yet. Bytes without
// it (a store written before the format) are the instance's alone.
var ckptMagic = []byte("\x00rck1")

// maxSavedCalls bounds the saved calls a checkpoint's bytes may declare.
const maxSavedCalls = 1 << 20

// savedCall is a call a checkpoint covers, with its result.
type savedCall struct {
	id   transport.TaskID
	past pastCall
}

// maxCheckpointBytes bounds the checkpoint bytes wrapCheckpoint makes
// (the instance's data and the saved results): the GcsActorCheckpoint that
// carries them must fit a TCP frame (transport.MaxBodyBytes), with room
// for the message's other fields and the GCS's own envelopes (a chain
// update, a snapshot). Over a frame the write was refused by TCP and
// re-sent for good: the held results were never published.
const maxCheckpointBytes = transport.MaxBodyBytes / 4

// maxCheckpointData bounds an instance's own Checkpoint bytes: past it
// the checkpoint is not saved (a warning; the previous one stands), since
// its write, with the envelope and the GCS's own (a chain update, a
// snapshot part of one entry), would not fit a TCP frame.
const maxCheckpointData = transport.MaxBodyBytes - 64<<10

// savedResultsFloor is the budget for saved results beside Checkpoint
// bytes of more than maxCheckpointBytes (within maxCheckpointData's
// margin).
const savedResultsFloor = 32 << 10

// savedValueOverhead is what a saved value costs besides its data, at
// most (its size, kind and causes, varint-framed), for the budget.
const savedValueOverhead = 32

// wrapCheckpoint is the bytes saved in the actor table for an actor's
// checkpoint data, taken after the call of last: with data, the results of
// the calls held unpublished (a.held) and last's, all in the checkpointed
// state. The results are saved while the whole stays within
// maxCheckpointBytes, in call order; a result past it is saved as an
// ErrKindObjectLost error instead (bigResult): its call still counts as
// run in the state (a retry after a restart is a duplicate, never applied
// twice), and a retry that comes because the node died before publishing
// the result reads that error — the result is lost with its node, as an
// object with no copy left is. Its caller, if the node lives, gets the
// result itself, published from a.held. On the loop.
func wrapCheckpoint(data []byte, held []heldResult, last heldResult) []byte {
	e := transport.NewEncoder(make([]byte, 0, len(ckptMagic)+len(data)+64))
	for _, b := range ckptMagic {
		e.U8(b)
	}
	e.Bytes8(data)
	e.Uvarint(uint64(len(held) + 1))
	// A large Checkpoint (up to maxCheckpointData) leaves small results
	// a floor within the frame's margin.
	budget := max(maxCheckpointBytes-len(ckptMagic)-len(data)-16, savedResultsFloor)
	put := func(h *heldResult) {
		e.Task(h.spec.ID)
		e.Task(h.spec.A().Caller)
		e.Uvarint(h.spec.A().Seq)
		out, outs := h.out, h.outs
		size := savedValueOverhead + len(out.Data) + 8
		for _, v := range outs {
			size += savedValueOverhead + len(v.Data)
		}
		budget -= 8 + 8 + 10 // the call's IDs and number
		if size > budget {
			out, outs = bigResult(h, size), nil
			size = savedValueOverhead + len(out.Data) + 8
		}
		budget -= size
		e.Value(out)
		e.Uvarint(uint64(len(outs)))
		for _, v := range outs {
			e.Value(v)
		}
	}
	for i := range held {
		put(&held[i])
	}
	put(&last)
	return e.Bytes()
}

// bigResult is the error saved in place of a held result of size bytes
// that does not fit the checkpoint (see wrapCheckpoint): for every return
// of the call.
func bigResult(h *heldResult, size int) transport.Value {
	return errValue(transport.ErrKindObjectLost, fmt.Sprintf(
		"the result of actor call %s (%d bytes) was lost with its node before it was published: "+
			"the call ran once, in the actor's restored state, but its result was too large to save with the checkpoint "+
			"(checkpoint bytes are at most %d, a TCP frame's quarter)", h.spec.ID, size, maxCheckpointBytes))
}

// unwrapCheckpoint splits the actor table's checkpoint bytes into the
// instance's data and the calls saved with it.
func unwrapCheckpoint(b []byte) ([]byte, []savedCall, error) {
	if !bytes.HasPrefix(b, ckptMagic) {
		return b, nil, nil
	}
	d := transport.NewDecoder(b[len(ckptMagic):])
	data := d.Bytes8()
	n := d.Count(maxSavedCalls, 8+8+1+2)
	saved := make([]savedCall, 0, n)
	for range n {
		var s savedCall
		s.id = d.Task()
		s.past.caller = d.Task()
		s.past.seq = d.Uvarint()
		s.past.out = d.Value()
		if k := d.Count(maxSavedCalls, 2); k > 0 {
			s.past.outs = make([]transport.Value, k)
			for i := range s.past.outs {
				s.past.outs[i] = d.Value()
			}
		}
		s.past.ready = true
		saved = append(saved, s)
	}
	if err := d.Err(); err != nil {
		return nil, nil, fmt.Errorf("actor checkpoint's saved calls: %w", err)
	}
	return data, saved, nil
}

// restorePast installs the calls a restarted actor's state holds (the
// checkpoint's saved ones, then the log it is about to replay, each in
// call order) and moves each caller's expected number past them: a retry
// of one is then a duplicate, and answered with its result (answerPast),
// as is a rebuild of its result (lost with the node, its lineage re-runs
// the call: Rebuild) — the call's run is in the state once, and its
// result is the one it made. Copies that came before (queued) are taken
// off the queue and answered the same way. The entries stay for the
// instance's life (the replayed log's results: as many as the log the
// instance was sent): a result can be lost, and rebuilt, again. On the
// loop.
func (r *Raylet) restorePast(a *actorHost, saved []savedCall, log []transport.TaskSpec) {
	if a.past == nil {
		a.past = make(map[transport.TaskID]*pastCall)
	}
	var callers []transport.TaskID
	add := func(id transport.TaskID, p *pastCall) {
		a.past[id] = p
		if next, seen := a.expected[p.caller]; !seen || p.seq+1 > next {
			a.expected[p.caller] = p.seq + 1
			for n := range a.early[p.caller] { // deletes only: the order cannot show
				if n <= p.seq {
					delete(a.early[p.caller], n)
				}
			}
			if !slices.Contains(callers, p.caller) {
				callers = append(callers, p.caller)
			}
		}
	}
	for i := range saved {
		p := saved[i].past
		add(saved[i].id, &p)
	}
	for i := range log {
		if s := &log[i]; s.Act != nil {
			add(s.ID, &pastCall{caller: s.A().Caller, seq: s.A().Seq})
		}
	}
	var dups []*transport.TaskSpec
	a.queue = slices.DeleteFunc(a.queue, func(t *task) bool {
		if a.past[t.spec.ID] == nil {
			return false
		}
		r.dropWaits(t)
		dups = append(dups, t.spec)
		return true
	})
	for _, spec := range dups {
		r.answerPast(a.past[spec.ID], spec)
	}
	for _, c := range callers {
		r.advance(a, c)
	}
}

// answerCopy answers a copy of a call this instance already ran, and
// reports whether spec is one: a call its restored state holds (a.past:
// replayed, or saved with its checkpoint) gets that run's result
// (answerPast), whether it is its caller's retry or a rebuild of its lost
// result; otherwise a copy whose number its caller's order has passed (a
// duplicate: a retry, a duplicated frame, a retried caller's call sent
// anew under the same ID) is answered by the call's run if this instance
// holds it (held, running or queued: see runsCall), else by its finished
// result in the store (answerFinished). A call whose number is next or
// ahead is not a copy. On the loop.
func (r *Raylet) answerCopy(a *actorHost, spec *transport.TaskSpec) bool {
	if p := a.past[spec.ID]; p != nil {
		r.answerPast(p, spec)
		return true
	}
	if spec.A().Seq >= a.expected[spec.A().Caller] {
		return false
	}
	// A duplicate: its number was taken. If this instance holds the
	// call, the copy is a retry its owner sent here (it took an earlier
	// incarnation's death, or a bounce, for the call's end): the held
	// run now answers for it, so a drop's bounce must name the retry's
	// attempt, or its owner takes the bounce for news of an older one.
	r.raiseAttempt(a, spec)
	if spec.NumReturns > 0 && !a.runsCall(spec.ID) {
		r.answerFinished(spec)
	}
	return true
}

// answerPast answers a copy of a call the restored state holds (p: its
// caller's retry, or a rebuild of its lost result) with the call's result,
// when its replayed run has ended (else then, see replayedPast). A copy
// from its caller with an attempt at or below the last one answered is
// that copy again (a duplicated frame), and dropped; a rebuild is always
// answered: the table numbers an actor call's rebuild from its count of
// re-executions, which can lag the owner's retries (a rerun record still
// in flight, or lost with a shard's unsynced writes), so a rebuild that
// comes after the retry was answered may carry an attempt no higher, and
// dropped, its reader would wait for good. Storing a result again is
// harmless: the store keeps one copy. On the loop.
func (r *Raylet) answerPast(p *pastCall, spec *transport.TaskSpec) {
	if !p.ready {
		switch {
		case spec.Rebuild:
			p.rebuilds = append(p.rebuilds, spec)
		case p.waiting == nil || p.waiting.Attempt < spec.Attempt:
			p.waiting = spec
		}
		return
	}
	if !spec.Rebuild {
		if p.answered && spec.Attempt <= p.answeredAt {
			return // a copy answered already
		}
		p.answered, p.answeredAt = true, spec.Attempt
	}
	r.storeAll(spec, p.out, p.outs, nil)
}

// replayedPast records a replayed run's result, and answers a copy of the
// call that waits for it. On the loop.
func (r *Raylet) replayedPast(a *actorHost, spec *transport.TaskSpec, out transport.Value, outs []transport.Value) {
	p := a.past[spec.ID]
	if p == nil {
		return
	}
	p.out, p.outs, p.ready = out, outs, true
	if w := p.waiting; w != nil {
		p.waiting = nil
		r.answerPast(p, w)
	}
	rebuilds := p.rebuilds
	p.rebuilds = nil
	for _, w := range rebuilds {
		r.answerPast(p, w)
	}
}

// waitingPast lists the copies waiting for a replayed run (see
// heldCalls), in a fixed order.
func (a *actorHost) waitingPast() []*transport.TaskSpec {
	var out []*transport.TaskSpec
	for _, id := range slices.Sorted(maps.Keys(a.past)) {
		p := a.past[id]
		if p.waiting != nil {
			out = append(out, p.waiting)
		}
		out = append(out, p.rebuilds...)
	}
	return out
}
