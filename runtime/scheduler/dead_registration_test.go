package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// TestRegistrationAfterDeathIsStale: news of a node's registration (or a
// heartbeat) that comes from the GCS after news of that incarnation's
// death, whether the scheduler knew the node then or not, is older news
// (a chain's joining tail and its predecessor publish at once, see
// Global.deadInc): the node stays dead in the scheduler's view, and gets
// no task. A later incarnation registers as before.
func TestRegistrationAfterDeathIsStale(t *testing.T) {
	pol, err := NewPolicy("bottom-up")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	cpu := transport.MakeResources(4, 0, nil)
	alive := func(g *Global, n transport.NodeID) bool {
		for _, v := range g.Loads() {
			if v.Node == n {
				return !v.Dead
			}
		}
		return false
	}
	t.Run("known", func(t *testing.T) {
		g := NewGlobal(&emitEnv{}, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: cpu})
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 1})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: cpu})
		require.False(t, alive(g, 1), "a registration of a dead incarnation revives nothing")
		g.Handle(50, &transport.Heartbeat{Node: 1, Incarnation: 1, Total: cpu})
		require.False(t, alive(g, 1), "nor does its heartbeat")
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 2, Total: cpu})
		require.True(t, alive(g, 1), "its next incarnation registers")
	})
	t.Run("unknown", func(t *testing.T) {
		env := &emitEnv{}
		g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 3}) // every incarnation up to 3
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 2, Total: cpu})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 3, Total: cpu})
		require.False(t, alive(g, 1), "the node left before its registration came")
		g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: cpu})
		g.Handle(2, &transport.SpillTask{Spec: transport.TaskSpec{ID: 9, Func: "f", NumReturns: 1, Owner: 2, Resources: transport.MakeResources(1, 0, nil)}})
		placed := 0
		for i, m := range env.sent {
			if _, ok := m.(*transport.PlaceTask); ok {
				placed++
				require.Equal(t, transport.NodeID(2), env.to[i], "no task goes to the dead node")
			}
		}
		require.Equal(t, 1, placed)
	})
}
