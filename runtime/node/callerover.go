package node

import (
	"maps"
	"slices"

	"raysim/runtime/transport"
)

// An actor's host keeps, per caller, its place in the caller's order
// (actorHost.expected: the next number), the calls that came ahead of it
// (early), and on a restarted instance the results of the calls its
// restored state holds (past). One entry per caller task ever met, for
// the instance's life: an actor called once by each of N tasks kept N.
//
// When may the host forget a caller? Not when the caller's task ends: a
// new run of it — its owner's retry after its node died before its end
// was recorded, or a rebuild of its lost result, at any time later —
// sends its calls again under the same IDs and numbers (IDs derive from
// the caller's task: determinism rule 4), and the instance must answer
// them as duplicates, not run them again (the actor-calls workload's
// sequencer checks it). A host that had forgotten the caller would take
// the new run's first call for a fresh caller's and run it twice. Late
// frames are not the risk (the transport hands a connection's frames over
// once each, in order: a call sent before a word arrives before it), new
// runs are, and the caller's own node cannot know none will come.
//
// A job's end for good can: once a job's driver returned (JobEnd, and
// EndJob on the driver's node: jobsDone), no task of the job runs again
// (an owner does not retry a task of an ended job, a reader does not
// rebuild a result of one: its objects are released), and this host
// refuses every call of the job that still comes (refuseEndedCall): a
// late copy of a call that ran here is not run twice, nor a new run's
// call, nor a call whose caller's earlier calls were forgotten out of
// order. So the host forgets the job's callers then (releaseJobCallers):
// their places, their early calls (failed, cancelled by the job's end),
// and their kept results. A job ended by its driver node's death is not
// ended for good (a newer incarnation of the node revives it: jobNews),
// nor one jobsDone has no room to remember: their callers stay. So do
// the callers of no job (a detached actor's code) and those a restored
// checkpoint names without their job (savedCall; at most a checkpoint's
// worth).
//
// Within a job, the results kept for a caller's retry are bounded by the
// caller's own word that it is over (CallsDone.Over, from dropTrack), a
// done word: they go among the done ones, within maxPastKeptBytes. A
// caller over before its actor restarted cannot tell the restored
// instance (its sequence is gone): the instance asks the owners of the
// calls it restored open which are done (OpenCalls, askOpenCalls), and
// each answers for the calls it will not retry.

// askOpenCalls asks the owners of the calls a's restored state holds open
// (pastOf; those from the log, whose owner is known) which are done for
// them (transport.OpenCalls): an owner answers with CallsDone for the
// numbers it will not retry (onOpenCalls). On the loop, at the restore.
func (r *Raylet) askOpenCalls(a *actorHost) {
	if len(a.pastOf) == 0 {
		return
	}
	per := map[transport.NodeID]*transport.OpenCalls{}
	for _, c := range slices.Sorted(maps.Keys(a.pastOf)) {
		for _, p := range a.pastOf[c] {
			if p.owner == 0 {
				continue
			}
			m := per[p.owner]
			if m == nil {
				m = &transport.OpenCalls{Actor: a.id}
				per[p.owner] = m
			}
			m.Calls = append(m.Calls, transport.CallNumber{Caller: c, Seq: p.seq})
		}
	}
	for _, owner := range slices.Sorted(maps.Keys(per)) {
		m := per[owner]
		for part := range slices.Chunk(m.Calls, transport.MaxCallsDone) {
			part := &transport.OpenCalls{Actor: a.id, Calls: part}
			if owner == r.self {
				r.onOpenCalls(r.self, part)
			} else {
				r.send(owner, part)
			}
		}
	}
}

// onOpenCalls answers a restarted actor's host (from) that asks which of
// the calls its restored state holds are done for this node, their owner
// (transport.OpenCalls): a CallsDone per caller names the numbers this
// node will not retry — its caller's sequence to the actor gone (the
// caller over, its calls all done; or the calls were owned by an earlier
// incarnation of this node, dead with it), or past those numbers, or
// done above a gap. A number still open here is not named: its retry may
// come.
func (r *Raylet) onOpenCalls(from transport.NodeID, m *transport.OpenCalls) {
	var callers []transport.TaskID
	done := map[transport.TaskID][]uint64{}
	for _, call := range m.Calls {
		c, seq := call.Caller, call.Seq
		if t := r.seqs[seqKey{c, m.Actor}]; t != nil && seq >= t.base && !t.done[seq] {
			continue
		}
		if _, ok := done[c]; !ok {
			callers = append(callers, c)
		}
		done[c] = append(done[c], seq)
	}
	for _, c := range callers {
		seqs := done[c]
		slices.Sort(seqs)
		r.sendCallsDone(from, m.Actor, c, slices.Compact(seqs))
	}
}

// noteCaller lists caller, met for the first time, under its job (0: no
// job, never ended, not listed).
func (a *actorHost) noteCaller(caller transport.TaskID, job transport.JobID) {
	if job == 0 {
		return
	}
	if a.jobCallers == nil {
		a.jobCallers = make(map[transport.JobID][]transport.TaskID)
	}
	a.jobCallers[job] = append(a.jobCallers[job], caller)
}

// refuseEndedCall fails a call of a job ended for good (jobsDone) that
// reached an actor hosted here: cancelled by the job's end, as its
// normal tasks placed later are (the copy of a call that ran here, or a
// new run's call of a caller the host forgot, is not run again). A call
// failed here already (a duplicated frame) is dropped.
func (r *Raylet) refuseEndedCall(spec *transport.TaskSpec) {
	if spec.NumReturns > 0 && r.store.Contains(spec.Return(0)) {
		return
	}
	r.failTask(spec, transport.ErrKindCancelled, "task cancelled: "+r.jobEndedMsg(spec.Job()))
}

// releaseJobCallers forgets, on every actor hosted here, the callers of
// job, which has ended for good (see the comment above). On the loop.
func (r *Raylet) releaseJobCallers(job transport.JobID) {
	if job == 0 || !r.jobsDone.has(job) {
		return
	}
	var ids []transport.ActorID
	for id, a := range r.actors {
		if len(a.jobCallers[job]) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := r.actors[id]
		callers := a.jobCallers[job]
		delete(a.jobCallers, job)
		r.forgetCallers(a, callers)
	}
}

// forgetCallers drops what a keeps of callers, all of a job ended: their
// places in expected, the calls that came early (failed: cancelled by the
// job's end), and the restored calls' results kept for them (a copy
// waiting for a replayed run is failed so).
func (r *Raylet) forgetCallers(a *actorHost, callers []transport.TaskID) {
	var fail []*transport.TaskSpec
	gone := make(map[transport.TaskID]bool, len(callers))
	for _, c := range callers {
		gone[c] = true
		delete(a.expected, c)
		delete(a.pastOf, c)
		early := a.early[c]
		delete(a.early, c)
		for _, n := range slices.Sorted(maps.Keys(early)) {
			if spec := early[n]; spec != nil {
				fail = append(fail, spec)
			}
		}
	}
	if len(a.past) > 0 {
		var ids []transport.TaskID
		for id, p := range a.past {
			if gone[p.caller] {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			p := a.past[id]
			delete(a.past, id)
			if p.waiting != nil {
				fail = append(fail, p.waiting)
			}
			fail = append(fail, p.rebuilds...)
		}
		a.pastKept = slices.DeleteFunc(a.pastKept, func(p *pastCall) bool { return gone[p.caller] })
		a.pastKeptBytes = 0
		for _, p := range a.pastKept {
			a.pastKeptBytes += p.bytes()
		}
	}
	for _, spec := range fail {
		r.refuseEndedCall(spec)
	}
}

// CallerEntries counts what an actor instance hosted here keeps per
// caller: places in its callers' orders (expected), callers with calls
// that came early (early), restored calls (past), callers with restored
// calls not said done (pastOf), done ones kept for a rebuild (pastKept),
// and the callers listed under their jobs (jobCallers).
type CallerEntries struct {
	Expected, Early, Past, PastOpen, PastKept, JobCallers int
}

// ActorCallerEntries is CallerEntries of actor id's instance hosted
// here (false: none). Loop only (tests).
func (r *Raylet) ActorCallerEntries(id transport.ActorID) (CallerEntries, bool) {
	a := r.actors[id]
	if a == nil {
		return CallerEntries{}, false
	}
	e := CallerEntries{Expected: len(a.expected), Early: len(a.early), Past: len(a.past), PastOpen: len(a.pastOf), PastKept: len(a.pastKept)}
	for _, cs := range a.jobCallers {
		e.JobCallers += len(cs)
	}
	return e, true
}
