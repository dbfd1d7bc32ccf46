package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// reviewJoin joins the coordinator at h's address as a raylet named name
// ("" for an anonymous one) with a placeholder raylet address.
func reviewJoin(t *testing.T, addr string, tok []byte, name string) *Member {
	t.Helper()
	m, err := Join(context.Background(), JoinConfig{Address: addr, Token: tok, Timeout: 5 * time.Second,
		Request: transport.JoinRequest{Role: transport.RoleNode, Name: name, Functions: []string{"f=func()"}, Addr: "127.0.0.1:1"}})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// TestReviewAutoNameUnique: a node joining without --name is named
// "node-<ID>". That name can already be held by a node that chose it with
// --name, and then two raylets share a name: status shows both, scenario
// faults and control requests name one of them at random (map order), and a
// restart of either under its name takes whichever the coordinator finds
// first. Names must stay unique in the book.
func TestReviewAutoNameUnique(t *testing.T) {
	h, tok := startCoordinator(t)
	// RayletID(i) = i+1 and the coordinator starts at index 0: the first
	// joiner gets ID 1, the second ID 2, which would be auto-named "node-2".
	a := reviewJoin(t, h.Addr(), tok, "node-2")
	b := reviewJoin(t, h.Addr(), tok, "")
	require.NotEqual(t, a.Reply.Node, b.Reply.Node)
	st, err := Status(context.Background(), QueryConfig{Address: h.Addr(), Token: tok})
	require.NoError(t, err)
	names := map[string][]transport.NodeID{}
	for _, n := range st.Nodes {
		names[n.Name] = append(names[n.Name], n.Node)
	}
	for name, ids := range names {
		require.Len(t, ids, 1, "name %q is held by several raylets: %v", name, ids)
	}
}

// TestReviewStaleLeaveKeepsRejoinedNode: a node's process (agent A) is
// replaced under the same --name by a new process (agent B) while the old
// one is still up (hung, partitioned, or a systemd restart racing the old
// process's exit). The coordinator gives B the old ID. When the old process
// then closes, it sends Leave{its raylet ID} (Process.Close ->
// Member.Leave); the coordinator must not take that for the new
// incarnation's leave, but it deletes the live node B from the book.
// (The old one must be lost to the node table for B to take its name:
// see TestJoinRefusesALiveName.)
func TestReviewStaleLeaveKeepsRejoinedNode(t *testing.T) {
	h, tok, dir := startCoordinatorDir(t)
	old := reviewJoin(t, h.Addr(), tok, "n1")
	markLost(dir, old.Reply.Node)
	cur := reviewJoin(t, h.Addr(), tok, "n1")
	require.Equal(t, old.Reply.Node, cur.Reply.Node, "a rejoin under the name keeps the ID")
	st, err := Status(context.Background(), QueryConfig{Address: h.Addr(), Token: tok})
	require.NoError(t, err)
	require.Len(t, st.Nodes, 1, "n1 is in the book before the stale leave")
	old.Leave(old.Reply.Node) // the old process exits cleanly
	time.Sleep(200 * time.Millisecond)
	st, err = Status(context.Background(), QueryConfig{Address: h.Addr(), Token: tok})
	require.NoError(t, err)
	found := false
	for _, n := range st.Nodes {
		if n.Name == "n1" {
			found = true
		}
	}
	require.True(t, found, "the live node n1 (agent %d) was removed by the stale Leave of its old incarnation (agent %d): status %+v",
		cur.ID, old.ID, st.Nodes)
}

// TestJoinRefusesALiveName: a join under the name of a raylet whose
// process is alive (its agent connected, its raylet not lost) is refused,
// as a join under the head's name is; the live one keeps its name and ID.
// Before, the newcomer took the ID and the live process went on unlisted.
// Once the old raylet is lost (a hung or cut-off process), the name is
// free for a rejoin.
func TestJoinRefusesALiveName(t *testing.T) {
	h, tok, dir := startCoordinatorDir(t)
	old := reviewJoin(t, h.Addr(), tok, "n1")
	_, err := Join(context.Background(), JoinConfig{Address: h.Addr(), Token: tok, Timeout: 5 * time.Second,
		Request: transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"}, Addr: "127.0.0.1:1"}})
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, `the name "n1" is taken by a live node`)
	markLost(dir, old.Reply.Node)
	cur := reviewJoin(t, h.Addr(), tok, "n1")
	require.Equal(t, old.Reply.Node, cur.Reply.Node, "a rejoin under the name keeps the ID")
}
