package deploy

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// loopEnv is a coordinator's Env driven by the test itself: Handle is
// called directly, sends are recorded, timers never fire.
type loopEnv struct {
	self transport.NodeID
	sent []transport.Message
}

type noTimer struct{}

func (noTimer) Stop() bool { return true }

func (e *loopEnv) Self() transport.NodeID                       { return e.self }
func (e *loopEnv) Now() time.Time                               { return time.Time{} }
func (e *loopEnv) After(time.Duration, func()) transport.Timer  { return noTimer{} }
func (e *loopEnv) Rand() *rand.Rand                             { return rand.New(rand.NewPCG(1, 2)) }
func (e *loopEnv) Send(_ transport.NodeID, m transport.Message) { e.sent = append(e.sent, m) }
func (e *loopEnv) Charge(time.Duration)                         {}
func (e *loopEnv) Go(f func())                                  { f() }
func (e *loopEnv) Await(register func(wake func()))             { register(func() {}) }
func (e *loopEnv) Post(f func())                                { f() }
func (e *loopEnv) Emit(*transport.Event)                        {}

// TestStaleDrainLeavesRejoinedNodeSchedulable: a node process (agent A)
// is replaced under its name by a new one (agent B), which the head admits
// as the node's rejoin under the same raylet ID. The old process's
// shutdown then asks to drain that ID. The coordinator saw that the
// request was stale (its agent no longer holds the raylet) and did not
// forward it, but it had already marked the raylet draining: the live node
// B showed the scheduler no resources, and no task was placed on it again.
// The drain is now checked as current before it marks anything.
func TestStaleDrainLeavesRejoinedNodeSchedulable(t *testing.T) {
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	env := &loopEnv{self: CoordinatorID}
	dir := NewDirectory(0)
	c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: dir,
		Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
	const agentA, agentB = AgentBase + 1, AgentBase + 2
	join := func(agent transport.NodeID) transport.NodeID {
		env.sent = nil
		c.Handle(agent, &transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"},
			Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
		c.flush() // the publication that answers the join (its timer does not fire here)
		for _, m := range env.sent {
			if r, ok := m.(*transport.JoinReply); ok {
				require.Empty(t, r.Err)
				return r.Node
			}
		}
		t.Fatalf("no join reply to agent %d", agent)
		return 0
	}
	id := join(agentA)
	require.Equal(t, id, join(agentB), "the rejoin under n1 keeps its ID")

	env.sent = nil
	c.Handle(agentA, &transport.NodeControl{Op: transport.ControlDrain, Node: id}) // A's Shutdown
	require.Empty(t, env.sent, "the stale drain was forwarded to the rejoined node")

	cpus := transport.MakeResources(2, 0, nil)
	m, keep := dir.Filter(&transport.Heartbeat{Node: id, Total: cpus, Available: cpus})
	require.True(t, keep)
	hb := m.(*transport.Heartbeat)
	require.Equal(t, cpus, hb.Total, "the rejoined node shows the scheduler no resources: a stale drain marked it draining")
	require.Equal(t, cpus, hb.Available)

	// The current process's own drain still marks it.
	c.Handle(agentB, &transport.NodeControl{Op: transport.ControlDrain, Node: id})
	m, _ = dir.Filter(&transport.Heartbeat{Node: id, Total: cpus, Available: cpus})
	require.Equal(t, transport.Resources{}, m.(*transport.Heartbeat).Total, "the current process's drain is applied")
}
