package gcs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// claimOwner is a test raylet that owns a task: it answers the task
// table's ClaimHeld with Done at once (it knows of no run under way), as
// node.Raylet.onClaimHeld does with no run of the task owned.
type claimOwner struct {
	env    transport.Env
	c      *Client
	layout *Layout
	asked  int // ClaimHeld questions received
}

func (o *claimOwner) Handle(from transport.NodeID, m transport.Message) {
	if info, ok := m.(*transport.TaskInfo); ok && info.Claim == transport.ClaimHeld {
		o.asked++
		o.c.Send(o.layout.Shards[0], &transport.GcsTaskRerun{Task: info.Task, Done: true})
		return
	}
	o.c.Handle(from, m)
}

// claimReader is a test raylet that claims a lost object's rebuild and
// records the task table's answers.
type claimReader struct {
	c       *Client
	answers []transport.TaskInfo
}

func (r *claimReader) Handle(from transport.NodeID, m transport.Message) {
	if info, ok := m.(*transport.TaskInfo); ok {
		r.answers = append(r.answers, *info)
		return
	}
	r.c.Handle(from, m)
}

// TestChainClaimHeldAskedAgainAfterFailover: an owner's retry report
// reaches the task table after a result of the task was announced (its
// copy since dropped), so the table holds the task's rebuild as the
// owner's run and asks the owner (ClaimHeld) whether that run is over.
// The question is the tail's side effect: the tail sends it (behind a
// slow link to the owner), acknowledges the report to its predecessor,
// and crashes with the question still on the wire. The predecessor,
// tail now, has trimmed the report: without asking again, the owner never
// answered Done, the claim was held for good, and every reader of the
// lost result waited (ClaimWait) for good. The new tail asks again
// (reaskHeldClaims), the owner answers Done, and a reader's claim runs.
func TestChainClaimHeldAskedAgainAfterFailover(t *testing.T) {
	const (
		ownerID  transport.NodeID = 2
		readerID transport.NodeID = 3
		task                      = transport.TaskID(77)
	)
	h := newChainHarness(t, 2, 0)
	s := h.net.Sim
	var owner *claimOwner
	var reader *claimReader
	h.net.Add(ownerID, func(env transport.Env) transport.Handler {
		owner = &claimOwner{env: env, c: NewClient(env, h.layout), layout: h.layout}
		return owner
	})
	h.net.Add(readerID, func(env transport.Env) transport.Handler {
		reader = &claimReader{c: NewClient(env, h.layout)}
		return reader
	})
	obj := transport.ObjectID{Task: task}
	shard := h.layout.Shards[0]
	s.At(time.Millisecond, func() {
		owner.c.Send(shard, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: task, NumReturns: 1, Func: "f", Owner: ownerID, MaxRetries: 3}})
		owner.c.Send(shard, &transport.GcsAddObject{Object: obj, Node: ownerID, Size: 8})
		owner.c.Send(shard, &transport.GcsRemoveObject{Object: obj, Node: ownerID})
	})
	tail := netsim.NodeID(replicaID(1))
	s.At(10*time.Millisecond, func() {
		// What the tail sends the owner from now on takes a second to
		// leave it.
		s.SetLink(tail, netsim.NodeID(ownerID), netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 100})
		owner.c.Send(shard, &transport.GcsTaskRerun{Task: task}) // the owner's report, late
	})
	s.At(20*time.Millisecond, func() {
		head := h.replica(0)
		require.Equal(t, head.applied, head.acked, "the tail acknowledged the report to the head")
		require.Empty(t, head.pending, "the head trimmed the report")
		s.Crash(tail) // for good
	})
	s.At(300*time.Millisecond, func() { reader.c.Send(shard, &transport.GcsRebuild{Object: obj}) })
	s.RunUntil(time.Second)
	require.Equal(t, 1, owner.asked, "the new tail asked the owner again")
	require.Zero(t, owner.c.Pending(), "the owner's requests were acknowledged")
	require.NotEmpty(t, reader.answers)
	got := reader.answers[len(reader.answers)-1]
	require.Equal(t, transport.ClaimRun, got.Claim, "the owner's Done ended its claim: the reader rebuilds")
	require.Equal(t, uint32(2), got.Spec.Attempt, "the retry, then this rebuild")
}
