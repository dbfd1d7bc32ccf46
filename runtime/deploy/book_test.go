package deploy

import (
	"slices"
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
	c.publish() // NewCoordinator's (its timer does not fire here)
	join := func(agent transport.NodeID, name string) *transport.JoinReply {
		env.sent = nil
		c.Handle(agent, &transport.JoinRequest{Role: transport.RoleDriver, Name: name, Functions: []string{"f=func()"},
			Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
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
