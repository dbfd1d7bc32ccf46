package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/transport"
)

// TestLiveStreamOrdersAndFilters: batches from two processes arrive out
// of timestamp order and mixed with another job's events; the stream
// passes on the run's own events (its root's descendants, whatever order
// their lineage arrived in, and the cluster's task-less events) sorted by
// time, ties by node then arrival, holding what is not liveHold old yet.
func TestLiveStreamOrdersAndFilters(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type out struct {
		ms   int
		kind transport.EventKind
		task transport.TaskID
		node transport.NodeID
	}
	var got []out
	l := newLiveStream(liveHold, func(tm time.Time, ev *transport.Event) {
		got = append(got, out{int(tm.Sub(t0) / time.Millisecond), ev.Kind, ev.Task, ev.Node})
	})
	const root, child, grandchild, other, otherChild = 100, 101, 102, 200, 201
	l.setRoots([]transport.TaskID{root})
	sub := func(id, parent transport.TaskID, node transport.NodeID) *transport.Event {
		return &transport.Event{Kind: transport.EvTaskSubmitted, Node: node, Task: id, Object: transport.ObjectID{Task: parent}}
	}
	ev := func(k transport.EventKind, id transport.TaskID, node transport.NodeID) *transport.Event {
		return &transport.Event{Kind: k, Node: node, Task: id}
	}
	now := at(0)
	// Node 2's batch first: the grandchild's submission (by the child,
	// running there) and the child's run, before the child's submission.
	l.add(at(5), sub(grandchild, child, 2), now)
	l.add(at(3), ev(transport.EvTaskRunning, child, 2), now)
	l.add(at(9), ev(transport.EvTaskFinished, child, 2), now)
	l.add(at(4), sub(otherChild, other, 2), now) // another job's
	l.add(at(9), &transport.Event{Kind: transport.EvNodeDead, Node: 3}, now)
	// The driver's raylet (node 4): the child's submission, late.
	l.add(at(1), sub(child, root, 4), now)
	l.add(at(9), ev(transport.EvTaskPlaced, grandchild, 4), now)
	assert.Empty(t, got, "nothing is liveHold old yet")
	l.add(at(20), &transport.Event{Kind: transport.EvObjectCreated, Node: 2, Object: transport.ObjectID{Task: grandchild}}, at(9).Add(liveHold))
	assert.Equal(t, []out{
		{1, transport.EvTaskSubmitted, child, 4},
		{3, transport.EvTaskRunning, child, 2},
		{5, transport.EvTaskSubmitted, grandchild, 2},
		{9, transport.EvTaskFinished, child, 2}, // ties: node 2, then 3, then 4
		{9, transport.EvNodeDead, 0, 3},
		{9, transport.EvTaskPlaced, grandchild, 4},
	}, got, "released up to 9ms, in order, without the other job's")
	assert.Equal(t, uint64(1), l.others)
	l.flush()
	assert.Len(t, got, 7, "flush releases the rest")
	assert.Equal(t, 20, got[6].ms)
}
