package gcs

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// splitShards finds, on a layout of two shards, an actor ID kept by the
// first and a qualified name kept by the second: the actor table's news
// of the actor and the name's shard's then cross different links.
func splitShards(t *testing.T, l *Layout) (transport.ActorID, string) {
	t.Helper()
	var id transport.ActorID
	for i := 1; ; i++ {
		id = transport.ActorID(uint64(i) << 20)
		if l.ShardOfTask(id) == l.Shards[0] {
			break
		}
	}
	for i := 0; ; i++ {
		q := transport.QualifiedName("ns", fmt.Sprintf("a%d", i))
		if l.ShardOfName(q) == l.Shards[1] {
			return id, q
		}
	}
}

// nameRow is the name shard's entry for actor id.
func nameRow(t *testing.T, sh *Shard, id transport.ActorID) transport.ActorInfo {
	t.Helper()
	for _, r := range sh.ActorRows() {
		if r.Actor == id {
			return r
		}
	}
	t.Fatalf("no entry for actor %s", id)
	return transport.ActorInfo{}
}

// TestNameShardKeepsAliveOverLateRestarting: the actor's shard restarts
// a named actor whose name another shard keeps, and tells that shard
// "restarting"; the restart's host tells both shards "alive" directly.
// The two reach the name's shard by different links, in any order: the
// late "restarting" overwrote the newer "alive" there, so a lookup by
// name answered "restarting" (and its subscribers heard the actor go
// back to restarting) while the actor was up. Updates are ordered by the
// restart they speak of (the actor table's attempt): a "restarting" no
// newer than the instance last reported alive is older news. Reloaded
// from the store, the order holds. (Fails before: the entry ended
// "restarting".)
func TestNameShardKeepsAliveOverLateRestarting(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	id, q := splitShards(t, l)
	var sentHome, sentName []sentTo
	home := New(toEnv{fakeEnv{self: 10}, &sentHome}, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	nameStore := NewMemStore()
	names := New(toEnv{fakeEnv{self: 11}, &sentName}, Config{Layout: l, Store: nameStore, SyncEvery: -1})
	both := func(from transport.NodeID, m transport.Message) {
		home.Handle(from, m)
		names.Handle(from, m)
	}
	home.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: transport.TaskID(id), Actor: id, Func: "A", Owner: 1,
		Act: &transport.ActorSpec{Creation: true, MaxRestarts: 3, Name: q}}})
	both(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorPending, Name: q, Owner: 1, Incarnation: 1})
	both(2, &transport.GcsActorUpdate{Actor: id, Node: 2, State: transport.ActorAlive, Name: q, Incarnation: 1})
	require.Equal(t, transport.ActorAlive, nameRow(t, names, id).State)

	// Node 2 dies: the actor's shard restarts the actor and tells the
	// name's shard; that word is held up on its way.
	sentHome = nil
	home.Handle(10, &transport.NodeDead{Node: 2, Incarnation: 1})
	var forwarded []transport.Message
	for _, s := range sentHome {
		if up, ok := s.m.(*transport.GcsActorUpdate); ok && s.to == 11 {
			forwarded = append(forwarded, up)
		}
	}
	require.Len(t, forwarded, 1, "the name's shard is told of the restart")
	require.Equal(t, transport.ActorRestarting, forwarded[0].(*transport.GcsActorUpdate).State)
	// (The name's shard is not told of node 2's death yet either.)

	// The restart comes up on node 3, whose word reaches both first.
	attempt := transport.RestartAttempt(home.actors[id].attempt)
	both(3, &transport.GcsActorUpdate{Actor: id, Node: 3, State: transport.ActorAlive, Name: q, Incarnation: 1, Attempt: attempt})
	require.Equal(t, transport.ActorAlive, nameRow(t, home, id).State)
	require.Equal(t, transport.ActorAlive, nameRow(t, names, id).State)

	// Then the held "restarting" arrives: older news.
	sentName = nil
	names.Handle(10, forwarded[0])
	row := nameRow(t, names, id)
	require.Equal(t, transport.ActorAlive, row.State, "a late restarting overwrote the restart's alive on the name's shard")
	require.Equal(t, transport.NodeID(3), row.Node)
	for _, s := range sentName {
		if info, ok := s.m.(*transport.ActorInfo); ok {
			require.NotEqual(t, transport.ActorRestarting, info.State, "subscribers told the actor is restarting again")
		}
	}

	// A late copy of the "alive" of the instance before the restart (a
	// duplicated frame, node 2's death not known here yet) is older news
	// too.
	names.Handle(2, &transport.GcsActorUpdate{Actor: id, Node: 2, State: transport.ActorAlive, Name: q, Incarnation: 1})
	require.Equal(t, transport.NodeID(3), nameRow(t, names, id).Node, "the instance before the restart took the name's entry back")

	// Reloaded from the store: the order holds.
	names.Sync()
	names = New(toEnv{fakeEnv{self: 11}, &sentName}, Config{Layout: l, Store: nameStore, SyncEvery: -1})
	names.Handle(10, forwarded[0])
	require.Equal(t, transport.ActorAlive, nameRow(t, names, id).State, "reloaded: a late restarting overwrote alive")

	// The next restart's "restarting" is news: it applies.
	sentHome = nil
	home.Handle(10, &transport.NodeDead{Node: 3, Incarnation: 1})
	for _, s := range sentHome {
		if up, ok := s.m.(*transport.GcsActorUpdate); ok && s.to == 11 {
			names.Handle(10, up)
		}
	}
	require.Equal(t, transport.ActorRestarting, nameRow(t, names, id).State, "the next restart is news")
}

// TestListNamesPages: a shard lists the names it keeps whose actors are
// not dead (pending, alive, restarting), of one namespace or of all, in
// order, a page of at most MaxListedNames at a time after the asker's
// last; a dead actor's name, and another namespace's, are not listed.
func TestListNamesPages(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	var sent []sentTo
	sh := New(toEnv{fakeEnv{self: 10}, &sent}, Config{Layout: l, Store: NewMemStore(), SyncEvery: -1})
	n := transport.MaxListedNames + 5
	var want []string
	for i := range n {
		id := transport.ActorID(uint64(i+1) << 20)
		q := transport.QualifiedName("ns", fmt.Sprintf("a%05d", i))
		sh.Handle(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorPending, Name: q})
		switch i % 3 {
		case 1:
			sh.Handle(2, &transport.GcsActorUpdate{Actor: id, Node: 2, State: transport.ActorAlive, Name: q, Incarnation: 1})
		case 2:
			sh.Handle(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorDead, Name: q})
			continue
		}
		want = append(want, q)
	}
	other := transport.QualifiedName("other", "b")
	sh.Handle(1, &transport.GcsActorUpdate{Actor: 1 << 50, State: transport.ActorPending, Name: other})
	list := func(ns, after string) *transport.NamedActors {
		t.Helper()
		sent = nil
		sh.Handle(5, &transport.GcsListNames{Seq: 7, Namespace: ns, After: after})
		require.Len(t, sent, 1)
		require.Equal(t, transport.NodeID(5), sent[0].to)
		ans, ok := sent[0].m.(*transport.NamedActors)
		require.True(t, ok)
		require.Equal(t, uint64(7), ans.Seq)
		return ans
	}
	first := list("ns", "")
	require.False(t, first.More, "fewer than a page of live names")
	require.Equal(t, want, first.Names)
	half := list("ns", want[len(want)/2-1])
	require.Equal(t, want[len(want)/2:], half.Names, "after the asker's last")
	all := list("", "")
	require.Equal(t, append(slices.Clone(want), other), all.Names, "every namespace")

	// More than a page: the rest after the page's last.
	for i := range n {
		id := transport.ActorID(uint64(n+i+1) << 20)
		q := transport.QualifiedName("ns", fmt.Sprintf("b%05d", i))
		sh.Handle(1, &transport.GcsActorUpdate{Actor: id, State: transport.ActorPending, Name: q})
		want = append(want, q)
	}
	var got []string
	after := ""
	for range 4 {
		page := list("ns", after)
		require.LessOrEqual(t, len(page.Names), transport.MaxListedNames)
		got = append(got, page.Names...)
		if !page.More {
			break
		}
		after = page.Names[len(page.Names)-1]
	}
	require.Equal(t, want, got)
}
