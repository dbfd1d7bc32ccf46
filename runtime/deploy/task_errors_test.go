package deploy

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// TestTaskErrorsControl: the head forwards a task_errors rate to the named
// node's agent with its rate, and refuses one that is not a probability
// (NaN, negative, above 1: hostile or broken requesters) with an answer
// saying so, forwarding nothing.
func TestTaskErrorsControl(t *testing.T) {
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	env := &loopEnv{self: CoordinatorID}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
	const agent, driver = AgentBase + 1, AgentBase + 2
	c.Handle(agent, &transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"},
		Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
	// Only a joined process's controls are taken.
	c.Handle(driver, &transport.JoinRequest{Role: transport.RoleDriver, Name: "d1", Functions: []string{"f=func()"},
		Addr: "127.0.0.1:3", AgentAddr: "127.0.0.1:4"})
	c.flush() // the publication that answers the joins (its timer does not fire here)

	env.sent = nil
	c.Handle(driver, &transport.NodeControl{Op: transport.ControlTaskErrors, Name: "n1", Rate: 0.25, Ack: true, Seq: 7})
	require.Len(t, env.sent, 2)
	fwd, ok := env.sent[0].(*transport.NodeControl)
	require.True(t, ok)
	assert.Equal(t, transport.ControlTaskErrors, fwd.Op)
	assert.Equal(t, 0.25, fwd.Rate, "the rate reaches the node's agent")
	ack := env.sent[1].(*transport.NodeControl)
	assert.True(t, ack.Done)
	assert.Empty(t, ack.Err)
	assert.Equal(t, uint64(7), ack.Seq)

	for _, bad := range []float64{math.NaN(), -0.5, 1.5, math.Inf(1)} {
		env.sent = nil
		c.Handle(driver, &transport.NodeControl{Op: transport.ControlTaskErrors, Name: "n1", Rate: bad, Ack: true, Seq: 8})
		require.Len(t, env.sent, 1, "rate %v", bad)
		ack := env.sent[0].(*transport.NodeControl)
		assert.Contains(t, ack.Err, "want a probability in [0, 1]", "rate %v", bad)
	}
}
