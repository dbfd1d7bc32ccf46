package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// timerEnv is an emitEnv whose timers are kept, to be fired by the test.
type timerEnv struct {
	emitEnv
	timers []func()
}

func (e *timerEnv) After(_ time.Duration, f func()) transport.Timer {
	e.timers = append(e.timers, f)
	return noTimer{}
}

// fire runs the timers set so far.
func (e *timerEnv) fire() {
	ts := e.timers
	e.timers = nil
	for _, f := range ts {
		f()
	}
}

// unschedulable lists the tasks failed as unschedulable, with their texts.
func (e *timerEnv) unschedulable() map[transport.TaskID]string {
	out := map[transport.TaskID]string{}
	for _, m := range e.sent {
		if pt, ok := m.(*transport.PlaceTask); ok && strings.HasPrefix(pt.Reason, ReasonUnschedulable) {
			out[pt.Spec.ID] = pt.Reason
		}
	}
	return out
}

// TestDeadTargetFails: a task or actor creation pinned by hard affinity
// to a node declared dead fails (as Ray's TaskUnschedulableError), at once
// without a grace (TCP), after DeadTargetGrace with one (the simulator,
// whose nodes restart under their NodeID) unless the node registers
// again meanwhile; a held actor pinned there fails at the death. Before,
// both were held until the node came back, which a TCP node never does.
func TestDeadTargetFails(t *testing.T) {
	pol, err := NewPolicy("bottom-up")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	cpu := transport.MakeResources(4, 0, nil)
	pinned := func(id transport.TaskID) transport.TaskSpec {
		return transport.TaskSpec{ID: id, Func: "f", NumReturns: 1, Owner: 2, Resources: transport.MakeResources(1, 0, nil),
			Strategy: transport.StrategyNodeHard, Target: 1}
	}
	start := func(grace time.Duration) (*timerEnv, *Global) {
		env := &timerEnv{}
		g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l, DeadTargetGrace: grace})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: cpu})
		g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: cpu})
		return env, g
	}
	t.Run("no grace", func(t *testing.T) {
		env, g := start(0)
		// An actor held for node 1's free resources (all taken).
		creation := func(id transport.TaskID) transport.TaskSpec {
			return transport.TaskSpec{ID: id, Actor: id, Act: &transport.ActorSpec{Creation: true}, Func: "A", Owner: 2, Resources: cpu,
				Strategy: transport.StrategyNodeHard, Target: 1}
		}
		g.Handle(2, &transport.SpillTask{Spec: creation(199)})
		g.Handle(2, &transport.SpillTask{Spec: creation(200)})
		require.Len(t, g.Infeasible(), 1, "the second actor waits for node 1's resources")
		require.Len(t, env.unschedulable(), 0)
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 1})
		require.Contains(t, env.unschedulable(), transport.TaskID(200), "held at the death")
		g.Handle(2, &transport.SpillTask{Spec: pinned(100)})
		why := env.unschedulable()[100]
		require.Contains(t, why, "node 1 is dead", "submitted after the death")
		require.Empty(t, g.Infeasible())
	})
	t.Run("grace, node gone", func(t *testing.T) {
		env, g := start(time.Second)
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 1})
		g.Handle(2, &transport.SpillTask{Spec: pinned(100)})
		require.Len(t, g.Infeasible(), 1, "held within the grace")
		env.fire()
		require.Contains(t, env.unschedulable()[100], "not back within 1s")
		require.Empty(t, g.Infeasible())
		g.Handle(2, &transport.SpillTask{Spec: pinned(101)})
		require.Contains(t, env.unschedulable(), transport.TaskID(101), "submitted after the grace")
	})
	t.Run("grace, node back", func(t *testing.T) {
		env, g := start(time.Second)
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 1})
		g.Handle(2, &transport.SpillTask{Spec: pinned(100)})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 2, Total: cpu})
		env.fire() // the first death's grace ends with the node back
		require.Empty(t, env.unschedulable())
		require.Equal(t, []transport.NodeID{1}, env.placedOn(), "placed on the node come back")
	})
}
