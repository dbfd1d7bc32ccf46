package gcs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// addrEnv is a recordingEnv that keeps where each message went.
type addrEnv struct {
	recordingEnv
	to  []transport.NodeID
	now time.Time
}

func (e *addrEnv) Self() transport.NodeID { return 1 }
func (e *addrEnv) Now() time.Time         { return e.now }
func (e *addrEnv) Send(to transport.NodeID, m transport.Message) {
	e.to = append(e.to, to)
	e.recordingEnv.Send(to, m)
}

// TestListNamesReadsOwnWrites: on chains a listing of named actors
// (GcsListNames) is a read, sent to the tail alone (no replica applies,
// computes or syncs it: review32 #3), and it reads the client's writes:
// it waits until the tail has acknowledged every write the client sent
// its shard before it (a named creation's), is not re-sent meanwhile, and
// does not wait for another shard's writes. Before, it went to the head
// at once, as a write.
func TestListNamesReadsOwnWrites(t *testing.T) {
	head0, tail0, head1, tail1 := transport.NodeID(20), transport.NodeID(21), transport.NodeID(30), transport.NodeID(31)
	l := &Layout{Shards: []transport.NodeID{head0, head1}, Chains: [][]transport.NodeID{{head0, tail0}, {head1, tail1}}, Master: 9, Scheduler: 99}
	env := &addrEnv{now: time.Unix(1, 0)}
	c := NewClient(env, l)
	reqOf := func(i int) *transport.GcsRequest {
		t.Helper()
		r, ok := env.sent[i].(*transport.GcsRequest)
		require.True(t, ok, "%T", env.sent[i])
		return r
	}
	c.Send(head0, &transport.GcsActorUpdate{Actor: 1, State: transport.ActorPending, Name: "a"})
	c.Send(head1, &transport.GcsActorUpdate{Actor: 2, State: transport.ActorPending, Name: "b"})
	c.Send(head0, &transport.GcsActorUpdate{Actor: 3, State: transport.ActorPending, Name: "c"})
	require.Len(t, env.sent, 3)
	w0, w1, w2 := reqOf(0).Seq, reqOf(1).Seq, reqOf(2).Seq

	list := &transport.GcsListNames{Seq: 7}
	c.Send(head0, list)
	other := &transport.GcsListNames{Seq: 8}
	c.Send(head1, other)
	require.Len(t, env.sent, 3, "each listing waits for its shard's writes")

	env.now = env.now.Add(time.Second)
	env.timers[0]() // the retry timer: the writes are re-sent, the listings not
	resent := 0
	for _, m := range env.sent[3:] {
		if r, ok := m.(*transport.GcsRequest); ok {
			_, listing := r.Op.(*transport.GcsListNames)
			require.False(t, listing, "a listing waiting for writes is not re-sent")
			resent++
		}
	}
	require.Equal(t, 3, resent, "the writes are")

	n := len(env.sent)
	c.Handle(tail0, &transport.GcsAck{Seq: w0})
	require.Len(t, env.sent, n, "one of shard 0's two writes acknowledged")
	c.Handle(tail1, &transport.GcsAck{Seq: w1})
	require.Len(t, env.sent, n+1, "shard 1's write acknowledged: its listing goes")
	require.Equal(t, tail1, env.to[n], "to the tail")
	require.Same(t, other, reqOf(n).Op)
	c.Handle(tail0, &transport.GcsAck{Seq: w2})
	require.Len(t, env.sent, n+2)
	require.Equal(t, tail0, env.to[n+1], "to the tail")
	require.Same(t, list, reqOf(n+1).Op)

	// With no write of the client's unacknowledged, at once.
	again := &transport.GcsListNames{Seq: 9}
	c.Send(head0, again)
	require.Len(t, env.sent, n+3)
	require.Equal(t, tail0, env.to[n+2])
	require.Same(t, again, reqOf(n+2).Op)
}
