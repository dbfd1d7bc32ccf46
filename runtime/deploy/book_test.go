package deploy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// TestBookPublishesDeltas: qa31 §2: every join and leave sent the whole
// address book to every endpoint (O(N²) bytes a change): 300 drivers
// joining at once queued ~450 MiB of books on the head and a third of
// them failed to connect. After the first, full, publication each change
// goes out as a delta of the entries it adds and the IDs it removes,
// numbered one after the other; the joiner's own endpoints get the whole
// book in the join reply instead, with its epoch.
func TestBookPublishesDeltas(t *testing.T) {
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	env := &loopEnv{self: CoordinatorID}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) },
		Book: []transport.BookEntry{{Node: CoordinatorID, Addr: h.Addr(), Agent: CoordinatorID}}})
	c.flush() // NewCoordinator's (its timer does not fire here)
	join := func(agent transport.NodeID, name string) *transport.JoinReply {
		env.sent = nil
		c.Handle(agent, &transport.JoinRequest{Role: transport.RoleDriver, Name: name, Functions: []string{"f=func()"},
			Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
		c.flush() // each join published on its own (see TestBookBatchesJoinBurst for a burst)
		for _, m := range env.sent {
			if r, ok := m.(*transport.JoinReply); ok {
				require.Empty(t, r.Err)
				return r
			}
		}
		t.Fatalf("no reply to %s", name)
		return nil
	}
	books := func() []*transport.AddressBook {
		var out []*transport.AddressBook
		for _, m := range env.sent {
			if b, ok := m.(*transport.AddressBook); ok {
				out = append(out, b)
			}
		}
		return out
	}
	for i := range 20 {
		join(AgentBase+transport.NodeID(i), "d"+string(rune('a'+i)))
	}
	epoch := c.epoch
	r := join(AgentBase+100, "last")
	require.Equal(t, epoch+1, r.Epoch, "the reply's book is the one published with the join")
	require.Len(t, r.Book, 2*21+1, "the reply carries the whole book")
	bs := books()
	require.Len(t, bs, 2*20, "one publication to each earlier endpoint (the joiner's are answered instead)")
	for _, b := range bs {
		require.False(t, b.Full)
		require.Equal(t, epoch+1, b.Epoch)
		require.ElementsMatch(t, []transport.NodeID{r.Node, AgentBase + 100}, []transport.NodeID{b.Entries[0].Node, b.Entries[1].Node})
		require.Len(t, b.Entries, 2, "a join publishes the joiner's two endpoints, not the whole book")
		require.Empty(t, b.Removed)
	}

	env.sent = nil
	c.Handle(AgentBase+100, &transport.Leave{Node: r.Node})
	c.flush()
	bs = books()
	require.NotEmpty(t, bs)
	for _, b := range bs {
		require.Equal(t, epoch+2, b.Epoch)
		require.Empty(t, b.Entries)
		require.Equal(t, []transport.NodeID{r.Node, AgentBase + 100}, b.Removed)
	}

	// A book member that missed a delta asks for the whole book: answered
	// once an epoch. A stranger is not answered.
	env.sent = nil
	c.Handle(AgentBase+1, &transport.BookRequest{Have: 3})
	c.Handle(AgentBase+1, &transport.BookRequest{Have: 3})
	c.Handle(AgentBase+999, &transport.BookRequest{})
	bs = books()
	require.Len(t, bs, 1)
	require.True(t, bs[0].Full)
	require.Equal(t, c.epoch, bs[0].Epoch)
	require.Len(t, bs[0].Entries, 2*20+1)
}

// TestEndpointFollowsDeltas: an endpoint applies deltas that follow on
// from its copy, ignores older ones, and asks for the whole book (once a
// second at most) when one does not follow on.
func TestEndpointFollowsDeltas(t *testing.T) {
	env := &clockEnv{loopEnv: loopEnv{self: 5}, now: time.Unix(1000, 0)}
	e := &Endpoint{Handler: nopHandler{}, Layout: &gcs.Layout{}, Env: env}
	node := func(id transport.NodeID) transport.BookEntry {
		return transport.BookEntry{Node: id, Role: transport.RoleNode}
	}
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 1, Full: true, Entries: []transport.BookEntry{node(1), node(2)}})
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 2, Entries: []transport.BookEntry{node(3)}, Removed: []transport.NodeID{1}})
	require.Equal(t, []transport.NodeID{2, 3}, e.Layout.Raylets)
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 2, Entries: []transport.BookEntry{node(9)}})
	require.Equal(t, []transport.NodeID{2, 3}, e.Layout.Raylets, "a repeat is older news")
	require.Empty(t, env.sent)

	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 4, Entries: []transport.BookEntry{node(4)}}) // 3 was lost
	require.Equal(t, []transport.NodeID{2, 3}, e.Layout.Raylets, "a delta that does not follow on is not applied")
	require.Equal(t, []transport.Message{&transport.BookRequest{Have: 2}}, env.sent)
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 5, Entries: []transport.BookEntry{node(5)}})
	require.Len(t, env.sent, 1, "asked again before the answer could come")
	env.now = env.now.Add(askAgain)
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 6, Entries: []transport.BookEntry{node(6)}})
	require.Len(t, env.sent, 2, "the answer may be lost: asked again a second on")

	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 6, Full: true, Entries: []transport.BookEntry{node(2), node(5), node(6)}})
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 7, Removed: []transport.NodeID{5}})
	require.Equal(t, []transport.NodeID{2, 6}, e.Layout.Raylets)
	e.Handle(7, &transport.AddressBook{Epoch: 8, Full: true, Entries: []transport.BookEntry{node(666)}})
	require.Equal(t, []transport.NodeID{2, 6}, e.Layout.Raylets, "only the coordinator's publications count")
}

// TestMembersFollowBookOverTCP: processes joining and leaving a head on
// loopback TCP all end with the head's book, built from deltas (and, for
// an endpoint that missed some, a full book on request).
func TestMembersFollowBookOverTCP(t *testing.T) {
	h, tok, _, _ := startLoggedCoordinator(t, 0)
	var locals []*chanLocal
	var members []*Member
	for _, name := range []string{"a", "b", "c", "d"} {
		l := newChanLocal()
		locals = append(locals, l)
		members = append(members, joinWith(t, h.Addr(), tok, transport.RoleNode, name, l, nil))
	}
	members[1].Leave(members[1].Reply.Node)
	var want []transport.NodeID // (this head's book lists no endpoint of its own)
	for i, m := range members {
		if i != 1 {
			want = append(want, m.Reply.Node, m.ID)
		}
	}
	slices.Sort(want)
	for i, l := range locals {
		if i == 1 {
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for !slices.Equal(l.ids(), want) {
			require.True(t, time.Now().Before(deadline), "member %d's book %v, want %v", i, l.ids(), want)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestEndpointSeedsFromItsProcess: a restarted raylet's endpoint (its
// copy empty) asked the head for the whole book on the first delta it
// saw, though its process's agent held the book. With Seed set it takes
// the process's book when a delta does not follow on from its copy, and
// follows on from it; it asks the head only when the process's book does
// not help either (older than the copy, or the delta still a gap).
func TestEndpointSeedsFromItsProcess(t *testing.T) {
	node := func(id transport.NodeID) transport.BookEntry {
		return transport.BookEntry{Node: id, Role: transport.RoleNode}
	}
	epoch, book := uint64(7), []transport.BookEntry{node(1), node(2), node(3)}
	seeded := 0
	env := &clockEnv{loopEnv: loopEnv{self: 2}, now: time.Unix(1000, 0)}
	e := &Endpoint{Handler: nopHandler{}, Layout: &gcs.Layout{}, Env: env,
		Seed: func() (uint64, []transport.BookEntry) { seeded++; return epoch, book }}

	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 8, Entries: []transport.BookEntry{node(4)}, Removed: []transport.NodeID{1}})
	require.Empty(t, env.sent, "asked the head though its process held the book")
	require.Equal(t, []transport.NodeID{2, 3, 4}, e.Layout.Raylets, "the delta applied to the process's book")
	require.Equal(t, 1, seeded)

	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 9, Entries: []transport.BookEntry{node(5)}})
	require.Equal(t, []transport.NodeID{2, 3, 4, 5}, e.Layout.Raylets)
	require.Equal(t, 1, seeded, "a delta that follows on needs no seed")

	// Epoch 10 lost; the process's book is older than the copy: asked.
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 11, Entries: []transport.BookEntry{node(6)}})
	require.Equal(t, []transport.Message{&transport.BookRequest{Have: 9}}, env.sent)
	require.Equal(t, []transport.NodeID{2, 3, 4, 5}, e.Layout.Raylets)

	// The process has caught up (its agent got 10 and 11): the next gap
	// seeds from it, and 12 follows on.
	env.sent = nil
	env.now = env.now.Add(askAgain)
	epoch, book = 11, []transport.BookEntry{node(2), node(6), node(7)}
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 13, Entries: []transport.BookEntry{node(9)}}) // 12 lost too
	require.Equal(t, []transport.Message{&transport.BookRequest{Have: 11}}, env.sent, "seeded to 11, 13 still a gap: asked")
	require.Equal(t, []transport.NodeID{2, 6, 7}, e.Layout.Raylets, "the seed's book replaced the copy")
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 12, Removed: []transport.NodeID{7}})
	require.Equal(t, []transport.NodeID{2, 6}, e.Layout.Raylets)
}

// TestAgentTellsBookEpoch: the agent hands its process the book with its
// epoch (deploy.Local.Book), the seed of the process's endpoints: at
// once for the join reply's, and for deltas once the messages queued
// with them are handled (one hand-over for a burst of deltas).
func TestAgentTellsBookEpoch(t *testing.T) {
	l := &recLocal{}
	env := &afterEnv{loopEnv: loopEnv{self: AgentBase}}
	a := NewAgent(env, AgentConfig{Local: l})
	es := []transport.BookEntry{{Node: 1, Role: transport.RoleNode}}
	a.Handle(CoordinatorID, &transport.JoinReply{Node: 1, Epoch: 4, Book: es})
	require.Equal(t, uint64(4), l.epoch)
	require.Equal(t, 1, l.books)
	for id := range transport.NodeID(3) {
		a.Handle(CoordinatorID, &transport.AddressBook{Epoch: uint64(5 + id), Entries: []transport.BookEntry{{Node: 2 + id, Role: transport.RoleNode}}})
	}
	require.Equal(t, 1, l.books, "told before the queued deltas were handled")
	env.fire()
	require.Equal(t, 2, l.books, "one hand-over for the three deltas")
	require.Equal(t, uint64(7), l.epoch)
	require.Len(t, l.book, 4)
}

// seedLocal is a process's Local that keeps its agent's book and epoch,
// as ray.Process does, for its endpoints' Seed.
type seedLocal struct {
	nopLocal
	mu    sync.Mutex
	epoch uint64
	book  []transport.BookEntry
}

func (l *seedLocal) Book(epoch uint64, es []transport.BookEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch, l.book = epoch, es
}

func (l *seedLocal) seed() (uint64, []transport.BookEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch, l.book
}

// TestRestartedEndpointSeedsFromAgentTCP: a process's raylet endpoint
// restarted in a live process (after a kill_node), on loopback TCP,
// follows the next delta from its agent's book: the head sends it no
// full book. Before, its empty copy took no delta, and it asked the
// head for the whole book (a BookRequest, answered with every entry).
func TestRestartedEndpointSeedsFromAgentTCP(t *testing.T) {
	head, tok, _, log := startLoggedCoordinator(t, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	local := &seedLocal{}
	m, err := Join(context.Background(), JoinConfig{Address: head.Addr(), Token: tok, Timeout: 5 * time.Second, Local: local,
		Request: transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"}, Addr: addr}})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	self := m.Reply.Node

	// The raylet's endpoint, as ray.Process.startRaylet starts it: its
	// host pointed at the process's book, its copy empty (a restart).
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: self, Listener: ln})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	epoch, book := local.seed()
	require.NotZero(t, epoch)
	l := &gcs.Layout{}
	ApplyBook(h, l, book)
	h.SetPeer(CoordinatorID, head.Addr()) // (a head's book lists it; this one's lists no endpoint of the head)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.Run(ctx, func(env transport.Env) transport.Handler {
		return &Endpoint{Host: h, Layout: l, Env: env, Seed: local.seed, Handler: nopHandler{}}
	})

	other := joinWith(t, head.Addr(), tok, transport.RoleNode, "n2", nil, nil) // a delta to every endpoint
	want := []transport.NodeID{self, other.Reply.Node}
	slices.Sort(want)
	var raylets []transport.NodeID
	require.Eventually(t, func() bool {
		require.True(t, h.Do(func() { raylets = slices.Clone(l.Raylets) }))
		return slices.Equal(raylets, want)
	}, 20*time.Second, 5*time.Millisecond, "the restarted endpoint's raylets never became %v", want)
	require.NotContains(t, log.String(), fmt.Sprintf("full address book sent on request\" to=%d ", self),
		"the restarted endpoint asked the head for the whole book")
}

// TestBookRayletsKeptByChanges: the raylet list a copy keeps change by
// change (not rebuilt from the book) matches the book's raylets after
// every delta, whatever it adds, removes or changes the role of, and a
// list handed out as Layout.Raylets never changes afterwards.
func TestBookRayletsKeptByChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	roles := []uint8{0, transport.RoleNode, transport.RoleDriver}
	var b bookCopy
	l := &gcs.Layout{}
	b.apply(nil, l, &transport.AddressBook{Epoch: 1, Full: true}, time.Time{})
	type handed struct{ list, want []transport.NodeID }
	var out []handed
	for epoch := uint64(2); epoch < 500; epoch++ {
		m := &transport.AddressBook{Epoch: epoch}
		for range r.IntN(4) {
			m.Entries = append(m.Entries, transport.BookEntry{Node: transport.NodeID(r.IntN(40)), Role: roles[r.IntN(3)]})
		}
		for range r.IntN(3) {
			m.Removed = append(m.Removed, transport.NodeID(r.IntN(40)))
		}
		changed, ask := b.apply(nil, l, m, time.Time{})
		require.True(t, changed)
		require.False(t, ask)
		require.True(t, slices.Equal(b.raylets(), l.Raylets), "epoch %d: kept %v, book %v", epoch, l.Raylets, b.raylets())
		out = append(out, handed{l.Raylets, slices.Clone(l.Raylets)})
	}
	for i, h := range out {
		require.Equal(t, h.want, h.list, "the list handed out at delta %d changed since", i)
	}
}
