package node

import (
	"bytes"
	"cmp"
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
	id     transport.TaskID
	caller transport.TaskID
	seq    uint64
	owner  transport.NodeID // the call's owner, from the log (0: saved, not known)
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
	// done: its caller has said the call done (see pastDone); the entry
	// is then among a.pastKept once its result is known.
	done bool
}

// maxPastKeptBytes bounds the results a restarted actor keeps of the
// calls of its restored state their callers have said done (a.pastKept,
// their data and pastEntryOverhead each): for a rebuild of a result lost
// with the previous instance's node, read after its caller was done with
// it. Past it the oldest go (see keepDone). A frame's worth: a checkpoint
// saves at most a quarter of one (maxCheckpointBytes).
const maxPastKeptBytes = transport.MaxBodyBytes

// pastEntryOverhead is what a past entry costs besides its result's data,
// about, for maxPastKeptBytes: many small results are bounded too.
const pastEntryOverhead = 128

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
// off the queue and answered the same way. An entry keeps its result
// while its caller has not said the call done (a retry may still come),
// then for a rebuild within maxPastKeptBytes (see pastDone): a result can
// be lost, and rebuilt, again. On the loop.
func (r *Raylet) restorePast(a *actorHost, saved []savedCall, log []transport.TaskSpec) {
	if a.past == nil {
		a.past = make(map[transport.TaskID]*pastCall)
	}
	if a.pastOf == nil {
		a.pastOf = make(map[transport.TaskID][]*pastCall)
	}
	var callers, fresh []transport.TaskID
	add := func(id transport.TaskID, p *pastCall) {
		p.id = id
		if old := a.past[id]; old != nil { // one call saved and logged: the later word stands
			a.pastOf[old.caller] = slices.DeleteFunc(a.pastOf[old.caller], func(q *pastCall) bool { return q == old })
		}
		a.past[id] = p
		a.pastOf[p.caller] = append(a.pastOf[p.caller], p)
		next, seen := a.expected[p.caller]
		if !seen {
			fresh = append(fresh, p.caller)
		}
		if !seen || p.seq+1 > next {
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
	jobOf := make(map[transport.TaskID]transport.JobID)
	for i := range log {
		// A call of a job ended for good is refused, copies too
		// (releaseJobCallers): nothing to keep for it.
		if s := &log[i]; s.Act != nil && !r.jobsDone.has(s.Job()) {
			add(s.ID, &pastCall{caller: s.A().Caller, seq: s.A().Seq, owner: s.Owner})
			jobOf[s.A().Caller] = s.Job()
		}
	}
	for _, c := range fresh { // listed under its job, as the log says it (a saved call's is not saved: none)
		a.noteCaller(c, jobOf[c])
	}
	for _, list := range a.pastOf { // each list sorted alone: the order cannot show
		slices.SortStableFunc(list, func(p, q *pastCall) int { return cmp.Compare(p.seq, q.seq) })
	}
	// A logged call's SeqBase is its caller's word, when it sent the
	// call, that every number below it was done: the calls the log holds
	// past that word are the ones a retry may still come for.
	var said []transport.TaskID
	base := make(map[transport.TaskID]uint64)
	for i := range log {
		if s := &log[i]; s.Act != nil && !r.jobsDone.has(s.Job()) {
			c, b := s.A().Caller, s.A().SeqBase
			if old, seen := base[c]; !seen {
				said = append(said, c)
				base[c] = b
			} else if b > old {
				base[c] = b
			}
		}
	}
	for _, c := range said {
		r.pastDone(a, c, base[c], nil)
	}
	r.askOpenCalls(a)
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
	if p.done {
		r.keepDone(a, p)
	}
}

// pastDone takes a caller's word that calls of a restarted actor's
// restored state are done: those numbered below base (a call's SeqBase,
// a logged call's at the restore), and those in seqs (CallsDone). The
// caller has the result (or the call failed for it) and sends no retry;
// the result is kept only for a rebuild of it (lost with the previous
// instance's node, and read since), among the done results the instance
// keeps within maxPastKeptBytes (keepDone), and not for the instance's
// life: a replaying instance restarted after n calls held the results of
// all n (review30 finding 8). The calls not done, whose retries may come,
// keep theirs: each caller's calls still open at the restart. On the
// loop.
func (r *Raylet) pastDone(a *actorHost, caller transport.TaskID, base uint64, seqs []uint64) {
	list := a.pastOf[caller]
	if len(list) == 0 {
		return
	}
	done := func(p *pastCall) {
		p.done = true
		if p.ready { // else once its replayed run ends (replayedPast)
			r.keepDone(a, p)
		}
	}
	n := 0
	for n < len(list) && list[n].seq < base {
		done(list[n])
		n++
	}
	list = slices.Delete(list, 0, n)
	for _, seq := range seqs {
		if i, ok := slices.BinarySearchFunc(list, seq, func(p *pastCall, s uint64) int { return cmp.Compare(p.seq, s) }); ok {
			done(list[i])
			list = slices.Delete(list, i, i+1)
		}
	}
	if len(list) == 0 {
		delete(a.pastOf, caller)
	} else {
		a.pastOf[caller] = list
	}
}

// keepDone keeps the result of a done past call (see pastDone) among the
// done ones, and forgets the oldest of them (in the order they were said
// done) while they hold more than maxPastKeptBytes. A forgotten call's
// number stays passed in its caller's order (restorePast), so a copy of
// it from its caller is still a duplicate (answerCopy: answered by its
// finished result in the store, if it is here); a rebuild of its result
// runs the call again, as on an instance that ran it itself, or for a
// call a checkpoint covers (Ray re-executes an actor task for its lost
// object). On the loop.
func (r *Raylet) keepDone(a *actorHost, p *pastCall) {
	a.pastKept = append(a.pastKept, p)
	a.pastKeptBytes += p.bytes()
	for a.pastKeptBytes > maxPastKeptBytes && len(a.pastKept) > 0 {
		q := a.pastKept[0]
		a.pastKept[0] = nil
		a.pastKept = a.pastKept[1:]
		a.pastKeptBytes -= q.bytes()
		delete(a.past, q.id)
	}
	if cap(a.pastKept) > 64 && len(a.pastKept) < cap(a.pastKept)/4 {
		a.pastKept = slices.Clone(a.pastKept) // the dropped prefix's array goes
	}
}

// bytes is what a past call's entry holds, for maxPastKeptBytes.
func (p *pastCall) bytes() int {
	n := pastEntryOverhead + len(p.out.Data)
	for _, v := range p.outs {
		n += len(v.Data)
	}
	return n
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
