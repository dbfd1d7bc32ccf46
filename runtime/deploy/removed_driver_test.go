package deploy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// clockEnv is a loopEnv whose clock the test moves.
type clockEnv struct {
	loopEnv
	now time.Time
}

func (e *clockEnv) Now() time.Time { return e.now }

// TestRemovedDriverIsTold: a driver the sweep removed (no connection, its
// raylet dead, for the grace period) but whose process was only cut off
// asks for the status again once its connection is back; it was answered
// as any query, and its session waited on a cluster that had dropped its
// raylet. The answer now says it was removed (StatusReply.Removed), which
// ends its session (ray.ErrRemoved); other askers are answered as before.
func TestRemovedDriverIsTold(t *testing.T) {
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	env := &clockEnv{loopEnv: loopEnv{self: CoordinatorID}, now: time.Unix(1000, 0)}
	dir := NewDirectory(0)
	const grace = time.Second
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: dir, DriverGrace: grace,
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
	const agent, other = AgentBase + 1, AgentBase + 2
	c.Handle(agent, &transport.JoinRequest{Role: transport.RoleDriver, Name: "d", Functions: []string{"f=func()"},
		Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
	c.flush() // the publication that answers the join (its timer does not fire here)
	var id transport.NodeID
	for _, m := range env.sent {
		if r, ok := m.(*transport.JoinReply); ok {
			require.Empty(t, r.Err)
			id = r.Node
		}
	}
	require.NotZero(t, id)
	dir.Tap(id, &transport.RegisterNode{Node: id, Incarnation: 1})
	dir.Event(&transport.Event{Kind: transport.EvNodeDead, Node: id})

	c.sweep() // both signals seen: the grace starts
	_, listed := c.raylet("d", 0)
	require.True(t, listed, "removed before its grace")
	env.now = env.now.Add(grace)
	c.sweep()
	_, listed = c.raylet("d", 0)
	require.False(t, listed, "the driver cut off past its grace is still listed")

	status := func(from transport.NodeID) *transport.StatusReply {
		env.sent = nil
		c.Handle(from, &transport.StatusRequest{})
		require.Len(t, env.sent, 1)
		r, ok := env.sent[0].(*transport.StatusReply)
		require.True(t, ok)
		return r
	}
	assert.Contains(t, status(agent).Removed, `removed driver "d"`, "the removed driver's process is told")
	assert.Empty(t, status(other).Removed, "another asker is not")

	// A process joining under the agent's ID is another: not told.
	c.Handle(agent, &transport.JoinRequest{Role: transport.RoleQuery, AgentAddr: "127.0.0.1:3"})
	assert.Empty(t, status(agent).Removed)
}
