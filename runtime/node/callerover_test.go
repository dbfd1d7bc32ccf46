package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestCallerOverSaysLastCallsDone (review31 #1): a restarted actor's
// restored state keeps the result of each caller's call not said done,
// for the caller's retry; the last call of a caller that calls no more
// was never said done, so an instance that restored one call of each of
// N callers kept N results outside its bound for done ones. A caller's
// word that it is over (CallsDone.Over) says them done: what is kept is
// the bounded done results, and the caller keeps its place in the order
// (a copy of its call is still a duplicate, not run again).
func TestCallerOverSaysLastCallsDone(t *testing.T) {
	const callers, size = 300, 64 << 10 // 19 MiB of results
	bound := maxPastKeptBytes / (size + pastEntryOverhead)
	r, _ := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true, Replay: true}}}
	a := &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	r.actors[actor] = a
	log := make([]transport.TaskSpec, callers)
	for i := range log { // caller 1000+i's call 0
		log[i] = transport.TaskSpec{ID: transport.TaskID(100 + i), Func: "m", Owner: 9, Actor: actor, NumReturns: 1,
			Act: &transport.ActorSpec{Caller: transport.TaskID(1000 + i), Seq: 0, SeqBase: 0}}
	}
	r.restorePast(a, nil, log)
	data := make([]byte, size)
	for i := range log {
		r.replayedPast(a, &log[i], transport.Value{Data: data, Size: size}, nil)
	}
	require.Equal(t, callers, len(a.pastOf), "precondition: each caller's last call is open")
	require.Equal(t, callers, withValues(a))

	for i := range log {
		m, err := roundTrip(&transport.CallsDone{Actor: actor, Caller: transport.TaskID(1000 + i), Over: 1})
		require.NoError(t, err)
		r.Handle(9, m)
	}
	assert.Zero(t, len(a.pastOf), "a caller over has no call open")
	assert.Equal(t, bound, withValues(a), "only the done results within the bound are kept")
	assert.LessOrEqual(t, a.pastKeptBytes, maxPastKeptBytes)
	assert.Len(t, a.expected, callers, "each caller keeps its place: a new run of it sends its calls again")

	retry := log[0]
	retry.Attempt = 1
	r.Handle(9, &transport.ActorCall{Spec: retry})
	assert.Empty(t, a.queue, "a copy of a call of a caller over is a duplicate, not run again")

	// A word from a caller this instance never met gives it no place.
	m, err := roundTrip(&transport.CallsDone{Actor: actor, Caller: 9999, Over: 3})
	require.NoError(t, err)
	r.Handle(9, m)
	assert.Len(t, a.expected, callers)
	assert.Len(t, a.early, 0)
}

// TestEndedJobsCallersForgotten: an actor's host keeps a place per
// caller (expected), one per caller task ever met; once the callers'
// job has ended for good (its driver returned: JobEnd) the host forgets
// them, and refuses any call of the job that still comes — a late copy
// of a call it ran, a new run's call — so none runs twice or out of
// order. Callers of a live job, and of no job, keep theirs.
func TestEndedJobsCallersForgotten(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true, Detached: true}}}
	a := &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	r.actors[actor] = a
	ended, live := transport.JobOf(9, 1), transport.JobOf(9, 2)
	call := func(id, caller transport.TaskID, seq uint64, job transport.JobID) transport.TaskSpec {
		s := transport.TaskSpec{ID: id, Func: "m", Owner: 9, Actor: actor, NumReturns: 1,
			Act: &transport.ActorSpec{Caller: caller, Seq: seq}}
		s.SetAct(func(a *transport.ActorSpec) { a.Job, a.JobSet = job, true })
		return s
	}
	const callers = 1000
	for i := range callers {
		s := call(transport.TaskID(100+i), transport.TaskID(1000+i), 0, ended)
		r.Handle(9, &transport.ActorCall{Spec: s})
	}
	early := call(99, 999, 1, ended) // ahead of its caller's call 0
	r.Handle(9, &transport.ActorCall{Spec: early})
	other := call(98, 998, 0, live)
	r.Handle(9, &transport.ActorCall{Spec: other})
	none := call(97, 997, 0, 0)
	r.Handle(9, &transport.ActorCall{Spec: none})
	require.Len(t, a.expected, callers+3)
	queued := len(a.queue)

	r.Handle(9, &transport.JobEnd{Job: ended})
	e, ok := r.ActorCallerEntries(actor)
	require.True(t, ok)
	assert.Equal(t, CallerEntries{Expected: 2, JobCallers: 1}, e, "only the live job's caller and the caller of no job keep a place")
	assert.EqualValues(t, 1, r.Stats.Cancelled, "the call that came early is failed (cancelled by the job's end), not left waiting")

	// A late copy of a call that ran, and a new run's call, of the ended
	// job: refused, not run.
	dup := call(100, 1000, 0, ended)
	dup.Attempt = 1
	r.Handle(9, &transport.ActorCall{Spec: dup})
	rerun := call(100, 1000, 0, ended)
	rerun.Attempt = 2
	r.Handle(9, &transport.ActorCall{Spec: rerun})
	assert.Len(t, a.queue, queued, "no call of the ended job runs again")
	assert.EqualValues(t, 3, r.Stats.Cancelled, "each is failed: cancelled by the job's end")
	assert.Equal(t, CallerEntries{Expected: 2, JobCallers: 1}, mustEntries(t, r, actor), "nor takes a place")
}

func mustEntries(t *testing.T, r *Raylet, id transport.ActorID) CallerEntries {
	t.Helper()
	e, ok := r.ActorCallerEntries(id)
	require.True(t, ok)
	return e
}

// TestOpenCallsAnsweredByOwner: a restarted instance asks the owner of
// the calls its restored state holds open which are done (OpenCalls);
// the owner names, per caller, the numbers it will not retry — its
// caller's sequence gone (over), or past them — and not one still open.
func TestOpenCallsAnsweredByOwner(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	open := transport.TaskSpec{ID: 300, Func: "m", Owner: 1, Actor: actor, NumReturns: 1, Act: &transport.ActorSpec{Caller: 77, Seq: 0}}
	r.own(&open)
	ask := func() map[transport.TaskID][]uint64 {
		env.sent = nil
		m, err := roundTrip(&transport.OpenCalls{Actor: actor, Calls: []transport.CallNumber{{Caller: 77, Seq: 0}, {Caller: 88, Seq: 3}, {Caller: 88, Seq: 1}}})
		require.NoError(t, err)
		r.Handle(7, m)
		got := map[transport.TaskID][]uint64{}
		for _, s := range env.sent {
			if d, ok := s.(*transport.CallsDone); ok {
				require.Equal(t, actor, d.Actor)
				got[d.Caller] = append(got[d.Caller], d.Seqs...)
			}
		}
		return got
	}
	assert.Equal(t, map[transport.TaskID][]uint64{88: {1, 3}}, ask(), "caller 88's sequence is gone: done; 77's call 0 is open here")
	r.seqs[seqKey{77, actor}].markDone(0)
	assert.Equal(t, map[transport.TaskID][]uint64{77: {0}, 88: {1, 3}}, ask(), "77's call 0 done")
}

// TestRestoredCallersListedUnderTheirJob: a restored instance takes its
// callers' places from its checkpoint's saved calls (their job is not
// saved) and its log (whose specs name it): a caller met first in the
// saved calls is still listed under the job its logged calls name, and
// forgotten when that job ends; a logged call of a job ended already is
// not restored at all.
func TestRestoredCallersListedUnderTheirJob(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true, Replay: true, Detached: true}}}
	a := &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	r.actors[actor] = a
	job, gone := transport.JobOf(9, 1), transport.JobOf(9, 2)
	r.Handle(9, &transport.JobEnd{Job: gone})
	logged := func(id, caller transport.TaskID, seq uint64, j transport.JobID) transport.TaskSpec {
		s := transport.TaskSpec{ID: id, Func: "m", Owner: 9, Actor: actor, NumReturns: 1, Act: &transport.ActorSpec{Caller: caller, Seq: seq}}
		s.SetAct(func(a *transport.ActorSpec) { a.Job, a.JobSet = j, true })
		return s
	}
	saved := []savedCall{{id: 100, past: pastCall{caller: 77, seq: 0, ready: true}}}
	r.restorePast(a, saved, []transport.TaskSpec{logged(101, 77, 1, job), logged(102, 88, 0, gone)})
	require.Equal(t, CallerEntries{Expected: 1, Past: 2, PastOpen: 1, JobCallers: 1}, mustEntries(t, r, actor),
		"caller 77 listed under its logged job; 88's job ended: not restored")
	r.Handle(9, &transport.JobEnd{Job: job})
	assert.Equal(t, CallerEntries{}, mustEntries(t, r, actor), "caller 77 forgotten with its job")
}
