package gcs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// captured is a message a captureEnv was asked to send.
type captured struct {
	to transport.NodeID
	m  transport.Message
}

// captureEnv records what is sent through it, for a test to deliver by hand.
type captureEnv struct {
	fakeEnv
	sent *[]captured
}

func (e captureEnv) Send(to transport.NodeID, m transport.Message) {
	*e.sent = append(*e.sent, captured{to, m})
}

// TestChainNewHeadKeepsClientOrder: the head of a shard's chain dies and
// the master names its successor the head. The master's configuration
// reaches a client before it reaches the new head (in the regression
// crash-report-overtakes-alive-at-failover its frame to the new head was
// reordered, 1.4ms late): the client re-sends its unacknowledged requests
// there at once — among them a host's "actor alive" — and the new head,
// still holding the old chain, in which it is not the head, dropped them. A
// request the client sent after, once the new head knew (the host's report
// that the actor's worker crashed), was applied first; the shard, which had
// not seen the actor alive, took the report for stale news; then the
// client's retry of "alive" was applied, and the table had a dead actor
// alive for good: its callers waited forever. A client's requests must be
// applied in the order it sent them.
func TestChainNewHeadKeepsClientOrder(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	next := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Shard: Config{Layout: l}, Index: 0})
	var out []captured
	c := NewClient(captureEnv{fakeEnv{self: tClient}, &out}, l)
	const actor = transport.ActorID(7)
	// The host's "alive" goes to the head, replica 0, which dies with it.
	c.Send(l.Shards[0], &transport.GcsActorUpdate{Actor: actor, Node: tClient, State: transport.ActorAlive, Incarnation: 1})
	out = nil
	var resent []transport.Message
	deliver := func() {
		for _, s := range out {
			require.Equal(t, replicaID(1), s.to, "requests go to the new head")
			m := wire(t, s.m)
			resent = append(resent, m)
			next.Handle(tClient, m)
		}
		out = nil
	}
	cfg := &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{replicaID(1)}}
	c.Handle(tMaster, cfg) // the client hears first: it re-sends "alive" to replica 1
	deliver()              // which does not know yet that it is the head
	next.Handle(tMaster, cfg)
	// The actor's worker crashes: the host reports it.
	c.Send(l.Shards[0], &transport.GcsActorUpdate{Actor: actor, Node: tClient, State: transport.ActorRestarting, Incarnation: 1})
	deliver()
	// The client's retry of "alive" (unacknowledged before the fix).
	next.Handle(tClient, resent[0])
	for _, row := range next.Shard().ActorRows() {
		if row.Actor == actor {
			require.NotEqual(t, transport.ActorAlive, row.State,
				"the crash report was applied before the earlier \"alive\": the table has the dead actor alive")
		}
	}
	// Applied in the order sent: "alive" first.
	d := next.seen[tClient]
	require.NotNil(t, d)
	require.Len(t, d.seqs, 2)
	require.Less(t, d.seqs[c.low], d.seqs[c.low+1], "the client's requests were applied out of order")
}

// TestChainAheadBounded: a replica holds only requests sent under a
// configuration it has not heard of, a few configurations ahead at most
// (maxAheadEpochs), maxAheadPerSender of one sender and maxAhead in all (a
// client, or a forger, may name a configuration that never comes); a
// request from a client with a stale configuration is dropped, as before.
func TestChainAheadBounded(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	tail := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Shard: Config{Layout: l}, Index: 0})
	op := func(i int) transport.Message {
		return &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i + 1)}, Node: tClient, Incarnation: 1}
	}
	tail.Handle(tClient, wire(t, &transport.GcsRequest{Seq: 1, Low: 1, Epoch: 1, Chain: 1, Op: op(0)}))
	require.Empty(t, tail.ahead, "a request under the replica's own configuration, in which it is not the head, is dropped")
	tail.Handle(tClient, wire(t, &transport.GcsRequest{Seq: 2, Low: 1, Epoch: 1, Chain: math.MaxUint64, Op: op(1)}))
	require.Empty(t, tail.ahead, "a request under a configuration far ahead is dropped")
	for i := range maxAheadPerSender + 10 {
		tail.Handle(tClient, wire(t, &transport.GcsRequest{Seq: uint64(i + 3), Low: 1, Epoch: 1, Chain: 2, Op: op(i)}))
	}
	require.Len(t, tail.ahead, maxAheadPerSender, "one sender's share")
	for s := range maxAhead/maxAheadPerSender + 1 {
		from := transport.NodeID(1000 + s)
		for i := range maxAheadPerSender {
			tail.Handle(from, wire(t, &transport.GcsRequest{Seq: uint64(i + 1), Low: 1, Epoch: 1, Chain: 2, Op: op(i)}))
		}
	}
	require.Len(t, tail.ahead, maxAhead)
}

// TestChainAheadHoldsOneCopyOfAResend: holdAhead appends every copy of a
// request it holds, a client's re-sends of the same (client, epoch, seq)
// included, though takeAhead applies at most one of them (the rest are
// deduplicated). While a replica waits for its configuration, re-sends
// fill the maxAhead slots, and a request another client sent under the
// same configuration is then dropped, as before protocol 24: the order the
// hold exists to keep is lost for that client.
func TestChainAheadHoldsOneCopyOfAResend(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{replicaID(0)}, Chains: [][]transport.NodeID{{replicaID(0), replicaID(1)}},
		Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient, tClient + 1}}
	next := NewReplica(fakeEnv{self: replicaID(1)}, ReplicaConfig{Shard: Config{Layout: l}, Index: 0})
	op := func(c transport.NodeID) transport.Message {
		return &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(c)}, Node: c, Incarnation: 1}
	}
	// Client 1 re-sends its unacknowledged request while the new head has
	// not heard it is the head.
	for range maxAhead {
		next.Handle(tClient, wire(t, &transport.GcsRequest{Seq: 1, Low: 1, Epoch: 1, Chain: 2, Op: op(tClient)}))
	}
	// Client 2 sends one request under the same configuration.
	next.Handle(tClient+1, wire(t, &transport.GcsRequest{Seq: 1, Low: 1, Epoch: 1, Chain: 2, Op: op(tClient + 1)}))
	next.Handle(tMaster, &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{replicaID(1)}})
	require.NotNil(t, next.seen[tClient])
	require.NotNil(t, next.seen[tClient+1], "client 2's request, sent under the configuration, was dropped: %d copies of client 1's one request filled the hold", maxAhead)
}
