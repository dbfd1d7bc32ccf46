package deploy

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// forceAgentIDs makes the next len(ids) agent ID draws return ids, in
// order (then random ones again) for the rest of the test.
func forceAgentIDs(t *testing.T, ids ...transport.NodeID) {
	t.Helper()
	var n atomic.Int64
	prev := newAgentID
	newAgentID = func() transport.NodeID {
		if k := n.Add(1) - 1; k < int64(len(ids)) {
			return ids[k]
		}
		return NewAgentID()
	}
	t.Cleanup(func() { newAgentID = prev })
}

// TestConcurrentStatusQueriesShareNoID: two status queries that drew the
// same agent ID at once collided at the coordinator: queries are not in
// the book, so the second join repointed the ID at its own address, its
// answer went down the live connection to the first query, and it timed
// out ("no answer"); the first query's forgetting then dropped the second's
// address. Now the coordinator holds a query's ID until it is forgotten
// and ignores a join from it at another address, and a query that hears
// nothing tries again under a fresh ID: both queries are answered.
func TestConcurrentStatusQueriesShareNoID(t *testing.T) {
	h, tok := startCoordinator(t)
	reviewJoin(t, h.Addr(), tok, "n1")
	const shared = AgentBase + 42
	forceAgentIDs(t, shared, shared)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	replies := make([]*transport.StatusReply, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = Status(context.Background(), QueryConfig{Address: h.Addr(), Token: tok, Timeout: 8 * time.Second})
		}()
	}
	wg.Wait()
	for i := range 2 {
		require.NoError(t, errs[i], "query %d (both drew agent ID %d)", i, shared)
		require.Len(t, replies[i].Nodes, 1, "query %d", i)
	}
}

// TestQueryIDHeldUntilForgotten: a status query's agent ID is not in the
// book, so a join from it at another address (another query, or a node's
// agent) was admitted over it: the ID pointed at the newcomer while the
// first query still waited for its answer. The coordinator now holds the
// ID for the query until it forgets it.
func TestQueryIDHeldUntilForgotten(t *testing.T) {
	h := listenCoordinatorHost(t)
	env := &loopEnv{self: CoordinatorID}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
	const agent = AgentBase + 9
	c.Handle(agent, &transport.JoinRequest{Role: transport.RoleQuery, AgentAddr: "127.0.0.1:2"})
	require.Len(t, env.sent, 1, "the query was not answered")
	for _, role := range []uint8{transport.RoleQuery, transport.RoleNode, transport.RoleDriver} {
		env.sent = nil
		c.Handle(agent, &transport.JoinRequest{Role: role, Name: "n2", Functions: []string{"f=func()"},
			Addr: "127.0.0.1:3", AgentAddr: "127.0.0.1:4"})
		require.Empty(t, env.sent, "role %d: a join from a waiting query's ID at another address was answered", role)
		_, taken := c.raylet("n2", 0)
		require.False(t, taken, "role %d: the colliding join was admitted", role)
	}
}

// listenCoordinatorHost binds a coordinator's host that nothing runs (for
// coordinators driven by loopEnv).
func listenCoordinatorHost(t testing.TB) *tcp.Host {
	t.Helper()
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}
