package gcs

import (
	"encoding/binary"
	"slices"

	"raysim/runtime/transport"
)

// A task's max_retries is one budget shared by the retries after its node
// (or actor) died and the rebuilds of its lost results, as in Ray, where
// the owner's task manager counts both (num_retries_left) and a rebuild
// asked of a task with none left fails with
// ObjectReconstructionFailedMaxAttemptsExceededError. Here any reader may
// start a rebuild, and the reader's raylet may be gone by the next loss,
// so the task's shard keeps the count (TableReruns): owners report the
// retries they charge (GcsTaskRerun), and every rebuild is claimed from
// the shard (GcsRebuild), which charges it or refuses it. A rebuild of an
// argument is claimed from the argument's task: it is that task that
// runs again. max_retries -1 never runs out.

// rerunRecord is what the task table keeps of a task's re-executions.
type rerunRecord struct {
	// reruns: the re-executions charged to the task's max_retries (its
	// retries and its rebuilds, the rebuilds' own retries too).
	reruns uint32
	// claimant: the node running the rebuild under way (0: none), and
	// deadAt the death of that node the shard knew of when it claimed
	// (deadInc): a later death ends the claim, and the next reader to ask
	// takes the rebuild over.
	claimant transport.NodeID
	deadAt   uint64
	// asked: the claim is held on the word of a retry report that came
	// after a result was announced, and the claimant was asked whether its
	// run is over (ClaimHeld). The question is a side effect of the report,
	// sent by the chain's tail alone: a tail that dies with it behind a
	// lost frame, after its predecessors trimmed the report on its
	// acknowledgement, loses it, and nothing else ends that claim. So the
	// record says so, and a new tail asks again (reaskHeldClaims), as does
	// every claim of a waiting reader (rebuild: a question lost other than
	// with a tail, review31 #3). Kept in
	// the store only when set: a record without it is encoded as before.
	asked bool
}

// rerunsOf reads a task's record (zero if there is none).
func (s *Shard) rerunsOf(id transport.TaskID) rerunRecord {
	if !s.reruns {
		return rerunRecord{}
	}
	s.kbuf = appendTaskKey(s.kbuf[:0], id)
	v, ok := s.store.Get(TableReruns, s.kbuf)
	if !ok {
		return rerunRecord{}
	}
	rec, ok := decodeReruns(v)
	if !ok {
		return rerunRecord{}
	}
	return rec
}

func decodeReruns(v []byte) (rerunRecord, bool) {
	d := transport.NewDecoder(v)
	n := d.Uvarint()
	rec := rerunRecord{reruns: uint32(min(n, 1<<32-1)), claimant: d.Node(), deadAt: d.Uvarint()}
	if d.Remaining() > 0 {
		rec.asked = d.Uvarint() != 0
	}
	return rec, d.Err() == nil
}

// saveReruns writes a task's record and keeps claims in step with it. A
// record with no claimant has no question out (asked).
func (s *Shard) saveReruns(id transport.TaskID, rec rerunRecord) {
	if rec.claimant == 0 {
		rec.asked = false
	}
	enc := transport.NewEncoder(s.scratch[:0])
	enc.Uvarint(uint64(rec.reruns))
	enc.Node(rec.claimant)
	enc.Uvarint(rec.deadAt)
	if rec.asked {
		enc.Uvarint(1)
	}
	s.scratch = enc.Bytes()
	s.kbuf = appendTaskKey(s.kbuf[:0], id)
	s.store.Put(TableReruns, s.kbuf, s.scratch)
	s.reruns = true
	if rec.claimant != 0 {
		s.claims[id] = struct{}{}
	} else {
		delete(s.claims, id)
	}
	s.written()
}

// loadReruns reads back, as the shard loads its store, whether any task's
// re-executions are recorded and which rebuilds are under way.
func (s *Shard) loadReruns() {
	s.reruns, s.claims = false, make(map[transport.TaskID]struct{})
	s.store.Scan(TableReruns, func(k, v []byte) bool {
		s.reruns = true
		if rec, ok := decodeReruns(v); ok && rec.claimant != 0 && len(k) == 8 {
			s.claims[transport.TaskID(binary.LittleEndian.Uint64(k))] = struct{}{}
		}
		return true
	})
}

// rebuild answers a reader's claim to rebuild a lost object (GcsRebuild):
// the task's record first (not found, or its results a failure of record:
// the reader reads that, as before); then, the object has a copy after
// all (the reader heard of a loss a rebuild has since repaired), or a
// rebuild of the task is under way by another node that has not died
// since it claimed it: wait (the reader hears of the copy through its
// subscription, and asks again while it waits). Else the task's retries
// decide: spent, the object is lost for good; left, one is charged and
// the reader runs the rebuild, numbered by the count (Spec.Attempt).
func (s *Shard) rebuild(from transport.NodeID, m *transport.GcsRebuild) {
	s.env.Charge(s.costs.GCSWrite)
	id := m.Object.Task
	info := s.taskInfo(id)
	if !info.Found || info.Failed != 0 || m.Object.Put {
		s.env.Send(from, info)
		return
	}
	if info.Spec.IsCreation() {
		// An actor's creation restarts under max_restarts, which the
		// actor table counts: its rebuild is not charged here.
		info.Claim = transport.ClaimRun
		s.env.Send(from, info)
		return
	}
	if s.hasCopy(m.Object) {
		info.Claim = transport.ClaimWait
		s.env.Send(from, info)
		return
	}
	rec := s.rerunsOf(id)
	if rec.claimant != 0 && s.deadInc[rec.claimant] == rec.deadAt {
		info.Claim = transport.ClaimWait
		if rec.claimant == from {
			// Its claimant asks again: the answer granting it was lost
			// (or it crossed the run's start). The same run, uncharged.
			info.Claim = transport.ClaimRun
			info.Spec.Attempt = rec.reruns
		}
		s.env.Send(from, info)
		if rec.asked && rec.claimant != from {
			// The claim is held on a late retry report's word, and its
			// owner was asked whether its run is over: ask again with
			// every reader's claim (each waiting reader claims every
			// second). The question or its answer can be lost other
			// than with a failed tail (a TCP write that fails while both
			// ends live on), and the claim would hold every reader for
			// good (review31 #3). Asked twice, the owner answers twice,
			// harmlessly (see reaskHeldClaims).
			q := s.taskInfo(id)
			q.Claim = transport.ClaimHeld
			s.env.Send(rec.claimant, q)
		}
		return
	}
	if info.Spec.MaxRetries >= 0 && int64(rec.reruns) >= int64(info.Spec.MaxRetries) {
		if rec.claimant != 0 { // a claim whose node died: nothing runs
			rec.claimant, rec.deadAt = 0, 0
			s.saveReruns(id, rec)
		}
		info.Claim = transport.ClaimSpent
		info.Spec.Attempt = rec.reruns
		s.env.Send(from, info)
		return
	}
	rec = rerunRecord{reruns: rec.reruns + 1, claimant: from, deadAt: s.deadInc[from]}
	s.saveReruns(id, rec)
	info.Claim = transport.ClaimRun
	info.Spec.Attempt = rec.reruns
	s.env.Send(from, info)
}

// taskRerun records a re-execution a node charged to a task
// (GcsTaskRerun: an owner's retry, an executor's RetryExceptions re-run, a
// rebuild's retry): one more unit, and the run under way is that node's,
// as a claimed rebuild is (until a live node announces the task's last
// return, or the node dies): a reader that finds the result lost
// meanwhile (its copy dropped with the incarnation that made it) waits
// for that run instead of claiming a rebuild, which the spent budget
// would refuse and lose the object the run is about to make. A rebuild
// given up ends the claim under way and leaves the budget spent.
//
// A report can reach the table after the run it charged announced its
// result (the owner's requests held up behind ones a partition dropped,
// the executor's not): a copy still there keeps the claim from being
// recorded, but one lost meanwhile with its node does not, and nothing
// would then end a claim whose run is over: every reader of the loss
// waited for good (the scenario known-rerun-claim-never-ended). The table
// cannot tell that result from an earlier run's (whose node's death is
// why the owner retried), so when a result was announced before the
// report it asks the owner (TaskInfo with ClaimHeld), which answers Done
// once it knows of no run under way. Done ends the sender's own live
// claim alone, uncharged: another node's claim is another run.
func (s *Shard) taskRerun(from transport.NodeID, m *transport.GcsTaskRerun) {
	s.env.Charge(s.costs.GCSWrite)
	spec, ok := s.task(m.Task)
	if !ok {
		return
	}
	rec := s.rerunsOf(m.Task)
	switch {
	case m.Done:
		if rec.claimant != from || s.deadInc[from] != rec.deadAt {
			return
		}
		rec.claimant, rec.deadAt = 0, 0
	case !m.GiveUp:
		rec.reruns = min(rec.reruns, 1<<32-2) + 1
		if spec.NumReturns == 0 || !s.hasCopy(spec.Return(spec.NumReturns-1)) {
			// Not when the run's result is here already (the report
			// came late, behind a slow link): no run is under way then,
			// and a claim nothing would end would hold every reader.
			rec.claimant, rec.deadAt, rec.asked = from, s.deadInc[from], false
			if info := s.taskInfo(m.Task); info.Recorded {
				info.Claim = transport.ClaimHeld
				s.env.Send(from, info)
				rec.asked = true
			}
		}
	case spec.MaxRetries >= 0:
		rec.reruns = max(rec.reruns, uint32(spec.MaxRetries))
		rec.claimant, rec.deadAt = 0, 0
	default: // -1: nothing is spent; the claim ends
		rec.claimant, rec.deadAt = 0, 0
	}
	s.saveReruns(m.Task, rec)
}

// hasCopy reports whether the shard knows of a copy of object id.
func (s *Shard) hasCopy(id transport.ObjectID) bool {
	e := s.object(id)
	if e == nil {
		return false
	}
	located := len(e.nodes) > 0
	s.flushObject(id)
	return located
}

// rebuildDone ends the rebuild under way of the object's task when a live
// node announces the task's last return (a run's last word: the returns
// before it, a generator's items, are announced first): the next loss is
// a new one, charged again.
func (s *Shard) rebuildDone(m *transport.GcsAddObject) {
	id := m.Object.Task
	if _, ok := s.claims[id]; !ok || m.Object.Put {
		return
	}
	if inc, dead := s.deadInc[m.Node]; dead && m.Incarnation <= inc {
		return
	}
	spec, ok := s.task(id)
	if !ok || spec.NumReturns == 0 || m.Object.Index != spec.NumReturns-1 {
		return
	}
	rec := s.rerunsOf(id)
	rec.claimant, rec.deadAt = 0, 0
	s.saveReruns(id, rec)
}

// A task's owner is the node that retries it when its run is lost (its
// node died). When the owner dies first, nobody would: a reader waiting
// for a result of the task would wait for good once the run died too
// (QA28b: both the owner and the executor crash while the task runs).
// raysim keeps lineage in the GCS, so a ref outlives its owner: such a
// reader rebuilds the result from lineage, as it would a lost one. The
// task's shard tells the readers it knows of (ObjectOrphaned) when it
// hears of the owner's death, and a reader subscribing later; a reader
// then claims the rebuild (GcsRebuild) after a grace, charged to the
// task's max_retries, or reads ErrObjectLost with them spent. A node
// still running the task claims it first, uncharged (GcsAdoptRun): the
// readers wait for its run, and rebuild only if that node dies too.
// Where that news comes late (a reader claims first, a lossy link), the
// task runs twice; the first value announced is what readers get.

// orphaned reports whether readers waiting for an object not made yet
// must rebuild it because its task's owner died since the task's spec
// reached the shard, and which node that was: a normal task's result
// (not a Put, an actor's creation, which restarts under the actor table,
// nor an actor call, whose re-run would change its actor twice while the
// call may still run), of a task resident here (not finished), with no
// run under way that the shard knows of (a claim of a live node).
func (s *Shard) orphaned(id transport.ObjectID) (transport.NodeID, bool) {
	if id.Put || len(s.diedAt) == 0 {
		return 0, false
	}
	t, ok := s.tasks.Get(id.Task)
	if !ok || t.creation || t.call || t.returns == 0 || t.owner == 0 || s.diedAt[t.owner] <= t.epoch {
		return 0, false
	}
	if rec := s.rerunsOf(id.Task); rec.claimant != 0 && s.deadInc[rec.claimant] == rec.deadAt {
		return 0, false
	}
	return t.owner, true
}

// adoptRun takes a node's word that it queues or runs a task whose owner
// died (GcsAdoptRun): the task's rebuild is held as that node's, as a
// claim is, but uncharged (it is the run under way, not another), so
// readers told of the orphan wait for it. Not over a live claim, nor for
// a task whose results are recorded, nor from an incarnation declared
// dead. The run's last return, announced, ends the hold (rebuildDone).
func (s *Shard) adoptRun(from transport.NodeID, m *transport.GcsAdoptRun) {
	s.env.Charge(s.costs.GCSWrite)
	if s.deadSender(from, m.Incarnation) {
		return
	}
	info := s.taskInfo(m.Task)
	if !info.Found || info.Recorded || info.Failed != 0 || info.Spec.NumReturns == 0 || info.Spec.Actor != 0 {
		return
	}
	rec := s.rerunsOf(m.Task)
	if rec.claimant != 0 && s.deadInc[rec.claimant] == rec.deadAt {
		return
	}
	rec.claimant, rec.deadAt, rec.asked = from, s.deadInc[from], false
	s.saveReruns(m.Task, rec)
}

// reaskHeldClaims asks again, in task order, every live claimant whose
// claim is held on the word of a retry report (asked) whether its run is
// over (TaskInfo with ClaimHeld). A replica that becomes its chain's tail
// calls it (Replica.takeOver): the old tail's question may have died with
// it, sent but behind a lost frame, and the claim would then hold every
// reader of the loss for good. Asked twice, an owner answers twice: Done
// ends only its own live claim, and changes nothing once it has.
func (s *Shard) reaskHeldClaims() {
	ids := make([]transport.TaskID, 0, len(s.claims))
	for id := range s.claims {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := s.rerunsOf(id)
		if !rec.asked || rec.claimant == 0 || s.deadInc[rec.claimant] != rec.deadAt {
			continue
		}
		info := s.taskInfo(id)
		if !info.Found {
			continue
		}
		info.Claim = transport.ClaimHeld
		s.env.Send(rec.claimant, info)
	}
}
