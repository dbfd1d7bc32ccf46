package deploy

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// burstCoordinator is a coordinator on an afterEnv (its timers fire when
// the test says: a turn of its loop) whose book holds the coordinator and
// have processes (a driver's raylet and agent each) joined one at a time.
func burstCoordinator(t *testing.T, have int) (*Coordinator, *afterEnv) {
	t.Helper()
	h := listenCoordinatorHost(t)
	env := &afterEnv{loopEnv: loopEnv{self: CoordinatorID}}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) },
		Book: []transport.BookEntry{{Node: CoordinatorID, Addr: h.Addr(), Agent: CoordinatorID}}})
	env.fire() // the first publication
	for i := range have {
		burstJoin(c, i)
		env.fire()
	}
	return c, env
}

// burstJoin hands the coordinator the i-th driver's join request.
func burstJoin(c *Coordinator, i int) {
	c.Handle(AgentBase+transport.NodeID(i), &transport.JoinRequest{Role: transport.RoleDriver,
		Functions: []string{"f=func()"}, Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
}

// TestBookBatchesJoinBurst: each join was published on its own, one
// delta to every endpoint: a burst of N joins cost O(N²) frames (170,000
// from the head's coordinator for 300 drivers connecting at once, 256,000
// for 450), which starved the joins' answers of the head's CPU. The joins
// that come in one turn of the coordinator's loop now go out as one delta
// to each endpoint already in the book, and their joiners are answered
// after it, each with the whole book as of that delta. Fails before: the
// burst of 100 joins onto 10 sent 11,900 deltas (2·(10+…+109)), not 20.
func TestBookBatchesJoinBurst(t *testing.T) {
	const have, burst = 10, 100
	c, env := burstCoordinator(t, have)
	epoch := c.epoch
	env.sent = nil
	for i := have; i < have+burst; i++ {
		burstJoin(c, i)
	}
	env.fire()
	var books, replies, lastBook, firstReply = 0, 0, -1, -1
	for k, m := range env.sent {
		switch m := m.(type) {
		case *transport.AddressBook:
			books++
			lastBook = k
			require.False(t, m.Full)
			require.Equal(t, epoch+1, m.Epoch, "one delta: the burst's")
			require.Len(t, m.Entries, 2*burst, "the delta carries every joiner's raylet and agent")
		case *transport.JoinReply:
			replies++
			if firstReply < 0 {
				firstReply = k
			}
			require.Empty(t, m.Err)
			require.Equal(t, epoch+1, m.Epoch, "every reply is the book as of the burst's delta")
			require.Len(t, m.Book, 2*(have+burst)+1, "and carries the whole book, the other joiners included")
		}
	}
	require.Equal(t, burst, replies)
	require.Equal(t, 2*have, books, "one delta to each endpoint in the book before the burst, none to the joiners")
	require.Less(t, lastBook, firstReply, "the endpoints are sent the joiners' entries before any joiner is answered")

	// The joiners follow on from their replies: the next change is one
	// delta from the burst's epoch, to every endpoint.
	env.sent = nil
	burstJoin(c, have+burst)
	env.fire()
	n := 0
	for _, m := range env.sent {
		if b, ok := m.(*transport.AddressBook); ok {
			n++
			require.Equal(t, epoch+2, b.Epoch)
		}
	}
	require.Equal(t, 2*(have+burst), n)
}

// TestBookBatchCoalesces: a join and the joiner's leave in one batch
// publish nothing (the delta is between the published book and the
// book); the joiner is still answered, with the book as published.
func TestBookBatchCoalesces(t *testing.T) {
	c, env := burstCoordinator(t, 3)
	epoch := c.epoch
	env.sent = nil
	burstJoin(c, 3)
	c.Handle(AgentBase+3, &transport.Leave{Node: c.answers[0].node})
	env.fire()
	require.Len(t, env.sent, 1)
	r, ok := env.sent[0].(*transport.JoinReply)
	require.True(t, ok)
	require.Equal(t, epoch, r.Epoch)
	require.Len(t, r.Book, 2*3+1)
	require.Equal(t, epoch, c.epoch)
}

// spacedEnv is a clockEnv that records the delay of each timer set and
// runs the callbacks when the test fires them.
type spacedEnv struct {
	clockEnv
	waits []time.Duration
	due   []func()
}

func (e *spacedEnv) After(d time.Duration, f func()) transport.Timer {
	e.waits, e.due = append(e.waits, d), append(e.due, f)
	return noTimer{}
}

func (e *spacedEnv) fire() {
	due := e.due
	e.due, e.waits = nil, nil
	for _, f := range due {
		f()
	}
}

// TestBookSpacing: a change in a quiet cluster is published at once (a
// timer of 0: after the messages queued); one that comes right after a
// publication waits the book's spacing (bookSpacing an endpoint, at most
// maxBookSpacing), so a burst spread over time still goes out in a few
// publications. A full book asked for meanwhile is the book as published,
// without the changes still to come.
func TestBookSpacing(t *testing.T) {
	h := listenCoordinatorHost(t)
	env := &spacedEnv{clockEnv: clockEnv{loopEnv: loopEnv{self: CoordinatorID}, now: time.Unix(1000, 0)}}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) },
		Book: []transport.BookEntry{{Node: CoordinatorID, Addr: h.Addr(), Agent: CoordinatorID}}})
	require.Equal(t, []time.Duration{c.sweepPeriod(), 0}, env.waits, "the first publication at once")
	env.fire()
	// waits are the publications' timers: the sweep's (a second here)
	// is not one.
	waits := func() []time.Duration {
		return slices.DeleteFunc(slices.Clone(env.waits), func(d time.Duration) bool { return d == c.sweepPeriod() })
	}

	env.now = env.now.Add(time.Hour)
	burstJoin(c, 0)
	require.Equal(t, []time.Duration{0}, waits(), "quiet: at once")
	burstJoin(c, 1)
	require.Len(t, waits(), 1, "one publication due for both")
	env.fire()
	require.Equal(t, uint64(2), c.epoch)

	env.now = env.now.Add(50 * time.Microsecond)
	burstJoin(c, 2)
	require.Equal(t, []time.Duration{7*bookSpacing - 50*time.Microsecond}, waits(), "right after a publication: its spacing, 7 endpoints")
	env.sent = nil
	c.Handle(AgentBase, &transport.BookRequest{Have: 1})
	require.Len(t, env.sent, 1)
	full := env.sent[0].(*transport.AddressBook)
	require.Equal(t, uint64(2), full.Epoch)
	require.Len(t, full.Entries, 5, "the book as published at its epoch, not the join to come")
	env.now = env.now.Add(time.Millisecond)
	env.fire()
	require.Equal(t, uint64(3), c.epoch)

	for i := 3; i < 600; i++ { // one burst, one publication
		burstJoin(c, i)
	}
	env.fire()
	burstJoin(c, 600) // 1201 endpoints
	require.Equal(t, []time.Duration{maxBookSpacing}, waits(), "at most maxBookSpacing")
}

// TestEndpointAppliesBatch: an endpoint applies a delta of many changes
// (joins, leaves, a raylet's entry replaced, an agent's) at once: its
// raylet list is what the whole book's would be, and a list handed out
// before is not changed.
func TestEndpointAppliesBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	e := &Endpoint{Handler: nopHandler{}, Layout: &gcs.Layout{}}
	book := map[transport.NodeID]transport.BookEntry{}
	entry := func(id transport.NodeID) transport.BookEntry {
		b := transport.BookEntry{Node: id, Addr: "h:1", Agent: AgentBase + id}
		if rng.IntN(3) > 0 {
			b.Role = transport.RoleNode
		}
		return b
	}
	for id := transport.NodeID(1); id <= 50; id++ {
		book[id] = entry(id)
	}
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 1, Full: true, Entries: sortedBook(book)})
	for epoch := uint64(2); epoch < 200; epoch++ {
		before := e.Layout.Raylets
		kept := slices.Clone(before)
		m := &transport.AddressBook{Epoch: epoch}
		for range rng.IntN(40) {
			id := transport.NodeID(1 + rng.IntN(80))
			if rng.IntN(2) == 0 {
				m.Removed = append(m.Removed, id)
				delete(book, id)
			}
		}
		for range rng.IntN(40) {
			b := entry(transport.NodeID(1 + rng.IntN(80)))
			m.Entries = append(m.Entries, b)
			book[b.Node] = b
		}
		e.Handle(CoordinatorID, m)
		var want []transport.NodeID
		for _, b := range sortedBook(book) {
			if isRaylet(b) {
				want = append(want, b.Node)
			}
		}
		require.Equal(t, want, e.Layout.Raylets, "epoch %d", epoch)
		require.Equal(t, kept, before, "epoch %d: a list handed out changed", epoch)
	}
}
