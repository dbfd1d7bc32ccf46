package deploy

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// TestAgentIDsUseTheirWholeRange: agents drew only the low 24 bits of
// their ID (16.7 million IDs) though the whole range from AgentBase up is
// theirs (3·2^30): two processes of a cluster — a node's agent and a
// status query's, say — drew the same ID about one time in 3,400 with a
// hundred agents about. IDs now span the range.
func TestAgentIDsUseTheirWholeRange(t *testing.T) {
	high := 0
	for range 4096 {
		id := NewAgentID()
		require.GreaterOrEqual(t, id, AgentBase)
		require.LessOrEqual(t, uint64(id), uint64(math.MaxUint32))
		if id >= AgentBase+1<<24 {
			high++
		}
	}
	// (1<<24)/(3<<30) of the draws fall low: 0.5%; all of them did.
	require.Greater(t, high, 4000, "agent IDs use %d of 4096 draws above the low 24 bits", high)
}

// TestCollidingAgentIDLeavesLiveAgent: a join from an agent ID the book
// already holds for another agent (another address) was taken as that
// agent's: the coordinator pointed the ID at the newcomer's address (the
// live agent's book and controls then went to the newcomer once its
// connection broke) and overwrote its book entry. Such a join is now
// ignored: the newcomer times out, the live agent keeps its entry.
func TestCollidingAgentIDLeavesLiveAgent(t *testing.T) {
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	env := &loopEnv{self: CoordinatorID}
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
	const agent = AgentBase + 7
	c.Handle(agent, &transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"},
		Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
	c.flush() // the publication that answers the join (its timer does not fire here)
	require.Equal(t, "127.0.0.1:2", c.book[agent].Addr)

	for _, role := range []uint8{transport.RoleNode, transport.RoleQuery} {
		env.sent = nil
		c.Handle(agent, &transport.JoinRequest{Role: role, Name: "n2", Functions: []string{"f=func()"},
			Addr: "127.0.0.1:3", AgentAddr: "127.0.0.1:4"})
		require.Empty(t, env.sent, "role %d: a join from a live agent's ID at another address was answered", role)
		require.Equal(t, "127.0.0.1:2", c.book[agent].Addr, "role %d: the live agent's entry was overwritten", role)
		_, taken := c.raylet("n2", 0)
		require.False(t, taken, "role %d: the colliding join was admitted", role)
	}
}
