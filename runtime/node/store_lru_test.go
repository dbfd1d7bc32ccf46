package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestRejoinKeepsLRUOrder: a rejoin looks at every copy to announce it
// again; that is no read, and must not change which copy is evicted
// first. It read them with store.Get, which touches: the LRU became the
// copies' ID order, and the next put evicted the copy read last instead of
// the one unread longest.
func TestRejoinKeepsLRUOrder(t *testing.T) {
	r, _ := boundedRaylet(t, 100)
	old, recent := transport.ObjectID{Task: 9}, transport.ObjectID{Task: 5}
	r.put(old, transport.Value{Data: []byte{1}, Size: 40}, false) // fetched copies: a cache
	r.put(recent, transport.Value{Data: []byte{2}, Size: 40}, false)
	r.rejoin()
	r.put(transport.ObjectID{Task: 11}, transport.Value{Data: []byte{3}, Size: 40}, true)
	assert.False(t, r.store.Contains(old), "the copy unread longest stayed")
	require.True(t, r.store.Contains(recent), "the copy read last was evicted")
}

// TestFreedPinnedCopyIsNotServed: a copy freed while a task here reads it
// (pinned) stays for that task only, as Entry.Freed says: its location is
// gone from the object table, and at a rejoin such a copy is a result of
// the dead incarnation the task table may refuse. servePull served it all
// the same to a node that still had its location cached; it now answers as
// for a copy it does not hold.
func TestFreedPinnedCopyIsNotServed(t *testing.T) {
	r, env := boundedRaylet(t, 1000)
	id := transport.ObjectID{Task: 77}
	r.put(id, transport.Value{Data: []byte("v")}, true)
	require.True(t, r.store.Pin(id)) // a task's argument
	r.Handle(50, &transport.FreeObjects{Objects: []transport.ObjectID{id}})
	require.True(t, r.store.Contains(id), "kept for the task that reads it")
	env.sent = nil
	r.Handle(8, &transport.PullRequest{Object: id})
	for _, m := range env.sent {
		_, chunk := m.(*transport.ObjectChunk)
		require.False(t, chunk, "the freed copy of %s was served", id)
	}
	require.True(t, r.store.Unpin(id), "dropped at the last unpin")
}

// TestSpillKeepsLRUOrder: a spill names for the scheduler the copies of
// its arguments held here; that is no read of them (the node the task goes
// to reads them, by a pull, if it has none). It looked them up with
// store.Get, which made them the most recently used.
func TestSpillKeepsLRUOrder(t *testing.T) {
	r, _ := boundedRaylet(t, 100)
	old, recent := transport.ObjectID{Task: 9}, transport.ObjectID{Task: 5}
	r.put(old, transport.Value{Data: []byte{1}, Size: 40}, false)
	r.put(recent, transport.Value{Data: []byte{2}, Size: 40}, false)
	r.sendSpill(&transport.TaskSpec{ID: 77, Args: []transport.Arg{{IsRef: true, Ref: old}}})
	r.put(transport.ObjectID{Task: 11}, transport.Value{Data: []byte{3}, Size: 40}, true)
	assert.False(t, r.store.Contains(old), "the copy unread longest stayed")
	require.True(t, r.store.Contains(recent), "the copy read last was evicted")
}

// TestServedPullKeepsLRUOrder: serving a pull sends another node a copy;
// no reader here used it. servePull looked the copy up with store.Get,
// which made it the most recently used, so a copy other nodes kept pulling
// stayed while the one this node's tasks read was evicted. The chunks are
// all sent within the one handler call and carry the value with them, so
// nothing needs the copy pinned meanwhile: it is looked up with Peek.
func TestServedPullKeepsLRUOrder(t *testing.T) {
	r, env := boundedRaylet(t, 100)
	old, recent := transport.ObjectID{Task: 9}, transport.ObjectID{Task: 5}
	r.put(old, transport.Value{Data: []byte{1}, Size: 40}, false)
	r.put(recent, transport.Value{Data: []byte{2}, Size: 40}, false)
	env.sent = nil
	r.Handle(8, &transport.PullRequest{Object: old})
	var chunks int
	for _, m := range env.sent {
		if c, ok := m.(*transport.ObjectChunk); ok && c.Object == old {
			chunks++
		}
	}
	require.Positive(t, chunks, "the copy was served")
	r.put(transport.ObjectID{Task: 11}, transport.Value{Data: []byte{3}, Size: 40}, true)
	assert.False(t, r.store.Contains(old), "the copy unread here longest stayed")
	require.True(t, r.store.Contains(recent), "the copy read last was evicted")
}
