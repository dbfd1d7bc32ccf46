package gcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestRebuildClaims: the task table's claims on a task's rebuilds. A claim
// is charged to the task's max_retries, after the retries its owner
// reported; a second reader's claim while the rebuild is under way waits,
// and is charged only once the claimant is declared dead; the rebuild's
// last return announced ends the claim, so the next loss is charged
// again; past the budget a claim is refused (spent), and the count and the
// claim under way survive a reload of the store.
func TestRebuildClaims(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	const task = transport.TaskID(7)
	last := transport.ObjectID{Task: task, Index: 1}
	claim := func(from transport.NodeID) *transport.TaskInfo {
		t.Helper()
		sent = sent[:0]
		sh.Handle(from, &transport.GcsRebuild{Object: last})
		require.Len(t, sent, 1)
		require.Equal(t, from, sent[0].to)
		return sent[0].m.(*transport.TaskInfo)
	}
	sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: task, NumReturns: 2, Func: "f", Owner: 1, MaxRetries: 3}})
	sh.Handle(1, &transport.GcsTaskRerun{Task: task}) // the owner retried it once
	sh.Handle(2, &transport.GcsAddObject{Object: transport.ObjectID{Task: task}, Node: 2, Size: 8, Incarnation: 1})
	sh.Handle(2, &transport.GcsAddObject{Object: last, Node: 2, Size: 8, Incarnation: 1})
	require.Equal(t, transport.ClaimWait, claim(3).Claim, "a claim for an object that has a copy")

	sh.Handle(11, &transport.NodeDead{Node: 2, Incarnation: 1}) // the copies go
	info := claim(3)
	require.Equal(t, transport.ClaimRun, info.Claim)
	require.Equal(t, uint32(2), info.Spec.Attempt, "the owner's retry, then this rebuild")
	require.Equal(t, transport.ClaimWait, claim(4).Claim, "a second reader of the same loss")
	// The claimant asks again (the answer granting it was lost at a
	// failover): the same run, not charged again (review: it was charged
	// a second unit, and the claimant did not ask again at all).
	info = claim(3)
	require.Equal(t, transport.ClaimRun, info.Claim, "the claimant's re-ask")
	require.Equal(t, uint32(2), info.Spec.Attempt, "uncharged")
	sh.load()
	require.Equal(t, transport.ClaimWait, claim(4).Claim, "the claim, reloaded")

	sh.Handle(11, &transport.NodeDead{Node: 3, Incarnation: 1}) // the claimant dies
	info = claim(4)
	require.Equal(t, transport.ClaimRun, info.Claim, "the rebuild taken over")
	require.Equal(t, uint32(3), info.Spec.Attempt)
	// The rebuild's returns are announced: the claim is over.
	sh.Handle(5, &transport.GcsAddObject{Object: transport.ObjectID{Task: task}, Node: 5, Size: 8, Incarnation: 1})
	require.Equal(t, transport.ClaimWait, claim(6).Claim, "the first return is not the run's end")
	sh.Handle(5, &transport.GcsAddObject{Object: last, Node: 5, Size: 8, Incarnation: 1})
	sh.Handle(11, &transport.NodeDead{Node: 5, Incarnation: 1}) // lost again
	info = claim(6)
	require.Equal(t, transport.ClaimSpent, info.Claim, "three re-executions of max_retries 3")
	require.Equal(t, uint32(3), info.Spec.Attempt)
}

// TestRebuildGivenUpEndsTheClaim: a claimant whose rebuild's node died
// with the retries spent reports a count past the budget: the claim ends,
// and the next reader is told the retries are spent rather than to wait.
// max_retries 0 refuses every claim, -1 none.
func TestRebuildGivenUpEndsTheClaim(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	claim := func(from transport.NodeID, task transport.TaskID) uint8 {
		t.Helper()
		sent = sent[:0]
		sh.Handle(from, &transport.GcsRebuild{Object: transport.ObjectID{Task: task}})
		require.Len(t, sent, 1)
		return sent[0].m.(*transport.TaskInfo).Claim
	}
	for id, retries := range map[transport.TaskID]int32{7: 1, 8: 0, 9: -1} {
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1, Func: "f", Owner: 1, MaxRetries: retries}})
		sh.Handle(2, &transport.GcsAddObject{Object: transport.ObjectID{Task: id}, Node: 2, Size: 8, Incarnation: 1})
	}
	sh.Handle(11, &transport.NodeDead{Node: 2, Incarnation: 1})
	require.Equal(t, transport.ClaimRun, claim(3, 7))
	require.Equal(t, transport.ClaimWait, claim(4, 7))
	sh.Handle(3, &transport.GcsTaskRerun{Task: 7, GiveUp: true}) // given up
	require.Equal(t, transport.ClaimSpent, claim(4, 7))
	require.Equal(t, transport.ClaimSpent, claim(3, 8), "max_retries 0")
	for i := range 5 {
		require.Equal(t, transport.ClaimRun, claim(transport.NodeID(3+i), 9), "max_retries -1, claim %d", i+1)
		sh.Handle(11, &transport.NodeDead{Node: transport.NodeID(3 + i), Incarnation: 1})
	}
}

// TestRebuildReportAfterTheRunEndsWithDone: an owner's retry report that
// reaches the table after the retry announced its result (the owner's
// requests held up behind ones a partition dropped), the copy lost
// meanwhile with its node, holds the rebuild as the owner's: readers wait,
// and the table asks the owner (ClaimHeld). The owner's Done, applied
// after the report, ends the claim, uncharged, and the next reader
// rebuilds. A Done ends only its sender's claim; a report that comes
// before any result is announced asks nothing (scenario
// known-rerun-claim-never-ended: every reader waited for good).
func TestRebuildReportAfterTheRunEndsWithDone(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	const task, early = transport.TaskID(7), transport.TaskID(8)
	obj := transport.ObjectID{Task: task}
	var asked int // questions to the owner (node 1) in the last claim's answer
	claim := func(from transport.NodeID) *transport.TaskInfo {
		t.Helper()
		sent = sent[:0]
		sh.Handle(from, &transport.GcsRebuild{Object: obj})
		var reply *transport.TaskInfo
		asked = 0
		for _, s := range sent {
			switch info := s.m.(*transport.TaskInfo); {
			case s.to == from:
				require.Nil(t, reply, "two answers to one claim")
				reply = info
			case s.to == 1 && info.Claim == transport.ClaimHeld:
				asked++
			default:
				t.Fatalf("unexpected %v to %d", info, s.to)
			}
		}
		require.NotNil(t, reply)
		return reply
	}
	for _, id := range []transport.TaskID{task, early} {
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1, Func: "f", Owner: 1, MaxRetries: 3}})
	}
	sent = sent[:0]
	sh.Handle(1, &transport.GcsTaskRerun{Task: early}) // before any result: no question
	require.Empty(t, sent)

	// The retry ran on node 3 and announced its result; node 3 then died.
	sh.Handle(3, &transport.GcsAddObject{Object: obj, Node: 3, Size: 8, Incarnation: 2})
	sh.Handle(11, &transport.NodeDead{Node: 3, Incarnation: 2})
	sent = sent[:0]
	sh.Handle(1, &transport.GcsTaskRerun{Task: task}) // the owner's report, late
	require.Len(t, sent, 1, "the owner is asked")
	require.Equal(t, transport.NodeID(1), sent[0].to)
	require.Equal(t, transport.ClaimHeld, sent[0].m.(*transport.TaskInfo).Claim)
	require.Equal(t, transport.ClaimWait, claim(2).Claim, "the report holds the rebuild as the owner's")
	require.Equal(t, 1, asked, "a waiting reader's claim asks the owner again (the question may have been lost)")
	sh.Handle(4, &transport.GcsTaskRerun{Task: task, Done: true})
	require.Equal(t, transport.ClaimWait, claim(2).Claim, "another node's Done ends no claim of the owner's")
	require.Equal(t, 1, asked)
	sh.Handle(1, &transport.GcsTaskRerun{Task: task, Done: true})
	info := claim(2)
	require.Equal(t, transport.ClaimRun, info.Claim, "the owner's Done ends its claim")
	require.Zero(t, asked, "no question once the claim ended")
	require.Equal(t, uint32(2), info.Spec.Attempt, "the retry, then this rebuild: Done is not charged")
	sh.Handle(1, &transport.GcsTaskRerun{Task: task, Done: true})
	require.Equal(t, transport.ClaimWait, claim(5).Claim, "a Done ends no claim of another node's")
	require.Zero(t, asked, "a claim no late report holds is never asked about")
}

// TestHeldClaimAskedAgainFromTheStore: a claim held on the word of a late
// retry report records that its owner was asked (ClaimHeld), in the store,
// so a shard loaded from it (a chain's new tail, by failover or by a
// join's snapshot) asks the owner again (reaskHeldClaims): the first
// question may have died with the old tail. The owner's Done ends the
// claim and the question with it; a claim no report holds is never asked,
// and its record is encoded as before the flag.
func TestHeldClaimAskedAgainFromTheStore(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	store := NewMemStore()
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	const task, quiet = transport.TaskID(7), transport.TaskID(8)
	obj := transport.ObjectID{Task: task}
	for _, id := range []transport.TaskID{task, quiet} {
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1, Func: "f", Owner: 1, MaxRetries: 3}})
	}
	sh.Handle(1, &transport.GcsTaskRerun{Task: quiet}) // before any result: a claim, no question
	sh.Handle(3, &transport.GcsAddObject{Object: obj, Node: 3, Size: 8, Incarnation: 2})
	sh.Handle(3, &transport.GcsRemoveObject{Object: obj, Node: 3, Incarnation: 2})
	sent = sent[:0]
	sh.Handle(1, &transport.GcsTaskRerun{Task: task}) // the owner's report, late
	require.Len(t, sent, 1)
	require.Equal(t, transport.ClaimHeld, sent[0].m.(*transport.TaskInfo).Claim)
	v, ok := store.Get(TableReruns, appendTaskKey(nil, quiet))
	require.True(t, ok)
	require.Equal(t, []byte{1, 1, 0}, v, "a record with no question out: reruns, claimant, deadAt (varints)")

	loaded := func() *Shard {
		sent = sent[:0]
		return New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l, Store: store})
	}
	next := loaded()
	next.reaskHeldClaims()
	require.Len(t, sent, 1, "the owner is asked again, of the held claim alone")
	require.Equal(t, transport.NodeID(1), sent[0].to)
	require.Equal(t, task, sent[0].m.(*transport.TaskInfo).Task)
	require.Equal(t, transport.ClaimHeld, sent[0].m.(*transport.TaskInfo).Claim)

	next.Handle(1, &transport.GcsTaskRerun{Task: task, Done: true})
	next = loaded()
	next.reaskHeldClaims()
	require.Empty(t, sent, "the owner's Done ended the claim and its question")
}
