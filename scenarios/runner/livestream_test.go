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
	later := at(9).Add(liveHold)
	l.add(later, &transport.Event{Kind: transport.EvObjectCreated, Node: 2, Object: transport.ObjectID{Task: grandchild}}, later)
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
	assert.Equal(t, int(later.Sub(t0)/time.Millisecond), got[6].ms)
}

// TestLiveStreamHoldGrows: a batch that arrives later than the hold (a
// starved process, a host whose clock is behind) makes the stream hold
// every later event longer, so that the next such batch still finds its
// place, and the run wait longer at its end.
func TestLiveStreamHoldGrows(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var got []time.Time
	l := newLiveStream(liveHold, func(tm time.Time, ev *transport.Event) { got = append(got, tm) })
	lag := 2 * liveHold
	l.add(t0, &transport.Event{Kind: transport.EvNodeAlive, Node: 1}, t0.Add(lag))
	assert.Equal(t, lag+liveMargin, l.hold)
	assert.Equal(t, lag+liveMargin, l.grace(300*time.Millisecond))
	ev := func(n transport.NodeID) *transport.Event {
		return &transport.Event{Kind: transport.EvNodeAlive, Node: n}
	}
	late := t0.Add(lag - 10*time.Millisecond)
	l.add(late, ev(2), late)
	assert.Empty(t, got, "the first record is not hold old yet")
	// Another lagging batch, less late than the first: its record still
	// goes before the one written at late.
	early := t0.Add(110 * time.Millisecond)
	l.add(early, ev(3), early.Add(lag-100*time.Millisecond))
	assert.Empty(t, got)
	now := t0.Add(lag + liveMargin + 200*time.Millisecond)
	l.add(now, ev(4), now)
	assert.Equal(t, []time.Time{t0, early}, got, "released up to now - hold, in order")
	l.flush()
	assert.Equal(t, []time.Time{t0, early, late, now}, got)
}
