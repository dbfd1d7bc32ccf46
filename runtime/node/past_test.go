package node

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestWrapCheckpointBoundsSavedResults: the checkpoint bytes keep the
// held results while they fit maxCheckpointBytes, in call order; a result
// past it is saved as an ErrKindObjectLost error (its call still saved, so
// a retry after a restart is a duplicate), and the whole fits a TCP frame
// however large the results are (a 12 MiB result made the checkpoint
// larger than a frame: TCP refused it and the result was never published).
func TestWrapCheckpointBoundsSavedResults(t *testing.T) {
	call := func(id transport.TaskID, seq uint64, n int) heldResult {
		spec := &transport.TaskSpec{ID: id, Act: &transport.ActorSpec{Caller: 99, Seq: seq}}
		return heldResult{spec: spec, out: transport.Value{Data: bytes.Repeat([]byte{byte(seq)}, n), Size: int64(n)}}
	}
	held := []heldResult{call(1, 0, 100), call(2, 1, 12<<20), call(3, 2, 1<<20), call(4, 3, 1<<20)}
	last := call(5, 4, 10)
	b := wrapCheckpoint([]byte("state"), held, last)
	require.LessOrEqual(t, len(b), maxCheckpointBytes)
	require.Less(t, len(b), transport.MaxBodyBytes)
	data, saved, err := unwrapCheckpoint(b)
	require.NoError(t, err)
	assert.Equal(t, []byte("state"), data)
	require.Len(t, saved, 5)
	for i, s := range saved {
		assert.Equal(t, transport.TaskID(i+1), s.id)
		assert.Equal(t, transport.TaskID(99), s.past.caller)
		assert.Equal(t, uint64(i), s.past.seq)
		assert.True(t, s.past.ready)
	}
	kept := func(i int) bool { return saved[i].past.out.ErrKind == transport.ErrKindNone }
	assert.True(t, kept(0))
	assert.False(t, kept(1), "12 MiB: over the budget")
	assert.Equal(t, transport.ErrKindObjectLost, saved[1].past.out.ErrKind)
	assert.Contains(t, string(saved[1].past.out.Data), "too large to save with the checkpoint")
	assert.True(t, kept(2), "1 MiB fits")
	assert.False(t, kept(3), "the second 1 MiB does not (2 MiB in all)")
	assert.True(t, kept(4), "a small one after a big one still fits")
	assert.Equal(t, held[2].out.Data, saved[2].past.out.Data)
}

// TestWrapCheckpointLargeDataKeepsSmallResults: beside Checkpoint bytes
// over the results' budget (4 MiB, still within maxCheckpointData), small
// results are still saved, a large one is not, and the whole fits a
// frame.
func TestWrapCheckpointLargeDataKeepsSmallResults(t *testing.T) {
	call := func(id transport.TaskID, seq uint64, n int) heldResult {
		spec := &transport.TaskSpec{ID: id, Act: &transport.ActorSpec{Caller: 7, Seq: seq}}
		return heldResult{spec: spec, out: transport.Value{Data: make([]byte, n), Size: int64(n)}}
	}
	data := make([]byte, 4<<20)
	b := wrapCheckpoint(data, []heldResult{call(1, 0, 1<<20)}, call(2, 1, 100))
	require.Less(t, len(b), transport.MaxBodyBytes)
	got, saved, err := unwrapCheckpoint(b)
	require.NoError(t, err)
	assert.Len(t, got, len(data))
	require.Len(t, saved, 2)
	assert.Equal(t, transport.ErrKindObjectLost, saved[0].past.out.ErrKind)
	assert.Equal(t, transport.ErrKindNone, saved[1].past.out.ErrKind)
	assert.Len(t, saved[1].past.out.Data, 100)
}

// pastActor hosts on r an actor (ID 5) restarted with a replayed log of
// calls calls of one caller (ID 77, numbers 0..calls-1, task IDs 100+i,
// each of one return, owned by node 9, sent with SeqBase base(i)), each
// replayed run ended with a value of size bytes (the first byte i; the
// values share their bytes).
func pastActor(t *testing.T, r *Raylet, calls, size int, base func(i int) uint64) (*actorHost, []transport.TaskSpec) {
	t.Helper()
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true, Replay: true}}}
	a := &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	r.actors[actor] = a
	log := make([]transport.TaskSpec, calls)
	for i := range log {
		log[i] = transport.TaskSpec{ID: transport.TaskID(100 + i), Func: "m", Owner: 9, Actor: actor, NumReturns: 1,
			Act: &transport.ActorSpec{Caller: 77, Seq: uint64(i), SeqBase: base(i)}}
	}
	r.restorePast(a, nil, log)
	data := make([]byte, size*calls)
	for i := range log {
		v := data[i*size : (i+1)*size : (i+1)*size]
		v[0] = byte(i)
		r.replayedPast(a, &log[i], transport.Value{Data: v, Size: int64(size)}, nil)
	}
	return a, log
}

func noBase(int) uint64 { return 0 }

// addsOf counts the GcsAddObject messages r sent for the object.
func addsOf(env *hostileEnv, id transport.ObjectID) int {
	n := 0
	for _, m := range env.sent {
		if add, ok := m.(*transport.GcsAddObject); ok && add.Object == id {
			n++
		}
	}
	return n
}

// TestPastRebuildAnsweredAfterRetry (review30 finding 9): a restarted
// actor answered its caller's retry of a replayed call (attempt 2) with
// the replayed run's result; the result was lost again, and a rebuild of
// it came, numbered from the task table's count of re-executions, which
// lagged the retry (attempt 1). answerPast took it for the retry's copy
// again (its attempt not above the one answered) and dropped it: the
// result was never stored, and the reader that asked for the rebuild
// waited for good. A rebuild is always answered now; a duplicated frame
// of the retry is still dropped.
func TestPastRebuildAnsweredAfterRetry(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	a, log := pastActor(t, r, 1, 1, noBase)
	call := log[0]
	obj := call.Return(0)
	retry := call
	retry.Attempt = 2
	r.Handle(9, &transport.ActorCall{Spec: retry})
	require.Equal(t, 1, addsOf(env, obj), "the retry is answered with the replayed result")
	r.Handle(9, &transport.ActorCall{Spec: retry})
	require.Equal(t, 1, addsOf(env, obj), "the retry's duplicated frame is answered once")

	require.True(t, r.store.Delete(obj), "the result is lost (its copy dropped)")
	rebuild := call
	rebuild.Attempt, rebuild.Rebuild, rebuild.Owner = 1, true, 7
	rebuild.SetAct(func(s *transport.ActorSpec) { s.Caller, s.Seq, s.SeqBase = 555, 0, 0 })
	r.Handle(7, &transport.ActorCall{Spec: rebuild})
	require.Equal(t, 2, addsOf(env, obj), "a rebuild whose attempt is not above the retry's was dropped: its reader waits for good")
	e, ok := r.store.Peek(obj)
	require.True(t, ok, "the rebuilt result is stored")
	assert.Equal(t, []byte{0}, e.Value.Data, "the replayed run's result, not a second run's")
	assert.Empty(t, a.queue, "the rebuild is not run again")
}

// withValues counts a's past entries that hold a result.
func withValues(a *actorHost) int {
	n := 0
	for _, p := range a.past {
		if p.ready {
			n++
		}
	}
	return n
}

// TestPastKeepsBoundedResultsOfDoneCalls (review30 finding 8): an actor
// restarted with ReplayMethods and no checkpoint replays every method
// since its creation, and kept each replayed run's result for its life,
// to answer a copy of the call: memory grew with the calls since the
// creation. Once its caller says a number done (its next call's SeqBase,
// or CallsDone) no retry of it comes: its result is kept only for a
// rebuild of it, within maxPastKeptBytes, the oldest done dropped first;
// a copy of a dropped one is still a duplicate, not run again. The calls
// not done keep theirs.
func TestPastKeepsBoundedResultsOfDoneCalls(t *testing.T) {
	const calls, size = 400, 64 << 10 // 25 MiB of results
	bound := maxPastKeptBytes / (size + pastEntryOverhead)
	r, _ := hostileRaylet(t, 0)
	a, log := pastActor(t, r, calls, size, noBase)
	require.Equal(t, calls, withValues(a), "precondition: no call is said done yet: every replayed run's result is kept")

	// Calls 0..349 done, 350..399 not yet.
	next := log[0]
	next.ID = 1000
	next.SetAct(func(s *transport.ActorSpec) { s.Seq, s.SeqBase = calls, 350 })
	r.Handle(9, &transport.ActorCall{Spec: next})
	require.Len(t, a.queue, 1, "the caller's next call is taken")
	assert.Equal(t, 50+bound, withValues(a), "the open calls' results, and the done ones' within the bound")
	assert.LessOrEqual(t, a.pastKeptBytes, maxPastKeptBytes)
	assert.Nil(t, a.past[log[0].ID], "the oldest done go first")
	assert.NotNil(t, a.past[log[349].ID], "the latest done is kept, for a rebuild of its result")
	m, err := roundTrip(&transport.CallsDone{Actor: a.id, Caller: 77, Seqs: []uint64{350, 351, 399}})
	require.NoError(t, err)
	r.Handle(9, m)
	assert.Equal(t, 47+bound, withValues(a), "the numbers CallsDone names are done too")
	assert.NotNil(t, a.past[log[352].ID], "a number not done keeps its result: its retry may come")

	// A copy of a dropped call is still a duplicate: not run again.
	retry := log[10]
	retry.Attempt = 1
	r.Handle(9, &transport.ActorCall{Spec: retry})
	assert.Len(t, a.queue, 1, "a retry of a call done is a duplicate")
	// A rebuild of a kept result gets the replayed run's; of a dropped
	// one, it runs again (as on an instance that ran the call itself).
	rebuild := func(i int, caller transport.TaskID) {
		s := log[i]
		s.Rebuild, s.Owner, s.Attempt = true, 7, 1
		s.SetAct(func(a *transport.ActorSpec) { a.Caller, a.Seq, a.SeqBase = caller, 0, 0 })
		r.Handle(7, &transport.ActorCall{Spec: s})
	}
	rebuild(349, 555)
	assert.Len(t, a.queue, 1, "a rebuild of a kept result is answered with it")
	rebuild(0, 556)
	assert.Len(t, a.queue, 2, "a rebuild of a dropped result runs the call again")

	// All done: what is kept does not grow with the calls.
	later := next
	later.ID = 1001
	later.SetAct(func(s *transport.ActorSpec) { s.Seq, s.SeqBase = calls+1, calls+1 })
	r.Handle(9, &transport.ActorCall{Spec: later})
	assert.Equal(t, bound, withValues(a))
	assert.Len(t, a.past, bound)
	assert.Zero(t, len(a.pastOf))
}

// TestPastDoneFromTheLog: a logged call's SeqBase says which numbers its
// caller had seen done when it sent it; at the restore the calls below the
// caller's last word are done already, and only the rest, within the
// bound, keep their results (a caller that calls no more says nothing
// later).
func TestPastDoneFromTheLog(t *testing.T) {
	const calls, size = 400, 64 << 10
	bound := maxPastKeptBytes / (size + pastEntryOverhead)
	r, _ := hostileRaylet(t, 0)
	// Each call sent once the one before it was done; the last not done.
	a, log := pastActor(t, r, calls, size, func(i int) uint64 { return uint64(i) })
	assert.Equal(t, 1+bound, withValues(a), "the last call open, and the done ones within the bound")
	assert.NotNil(t, a.past[log[calls-1].ID])
	assert.Nil(t, a.past[log[0].ID])
}

// TestPastDoneBeforeReplayedRunEnds: a caller that says a number done
// while its replayed run has not ended (a rebuild of its result waits for
// it) still gets the rebuild answered with that run's result; the entry
// is kept among the done ones after.
func TestPastDoneBeforeReplayedRunEnds(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true, Replay: true}}}
	a := &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	r.actors[actor] = a
	call := transport.TaskSpec{ID: 100, Func: "m", Owner: 9, Actor: actor, NumReturns: 1, Act: &transport.ActorSpec{Caller: 77, Seq: 0}}
	r.restorePast(a, nil, []transport.TaskSpec{call})
	rebuild := call
	rebuild.Rebuild, rebuild.Owner = true, 7
	rebuild.SetAct(func(s *transport.ActorSpec) { s.Caller = 555 })
	r.Handle(7, &transport.ActorCall{Spec: rebuild})
	m, err := roundTrip(&transport.CallsDone{Actor: actor, Caller: 77, Seqs: []uint64{0}})
	require.NoError(t, err)
	r.Handle(9, m)
	require.NotNil(t, a.past[call.ID], "kept until its replayed run ends: a rebuild waits for it")
	r.replayedPast(a, &call, transport.Value{Data: []byte("v"), Size: 1}, nil)
	assert.Equal(t, 1, addsOf(env, call.Return(0)), "the waiting rebuild is answered")
	assert.Equal(t, []*pastCall{a.past[call.ID]}, a.pastKept, "then it is kept among the done ones")
}
