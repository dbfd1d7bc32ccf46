package scheduler

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// emitEnv is a sendEnv that also keeps the events emitted.
type emitEnv struct {
	sendEnv
	events []transport.Event
}

func (e *emitEnv) Emit(ev *transport.Event) { e.events = append(e.events, *ev) }

func (e *emitEnv) infeasibleWarnings(task transport.TaskID) int {
	n := 0
	for _, ev := range e.events {
		if ev.Kind == transport.EvTaskInfeasible && ev.Task == task {
			n++
		}
	}
	return n
}

// TestSpreadIgnoresOtherPlacements: Spread is meant to spread
// a task's placements over the nodes. The global scheduler picks
// g.placed % len(cands), where g.placed counts every placement, not only
// spread ones: when spread tasks alternate with ordinary spills on a
// two-node cluster, every spread task lands on the same node.
func TestSpreadIgnoresOtherPlacements(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	cpu := transport.MakeResources(4, 0, nil)
	for _, n := range []transport.NodeID{1, 2} {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: cpu})
	}
	spreadOn := map[transport.NodeID]int{}
	for i := range 10 {
		g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: transport.TaskID(100 + 2*i), Func: "f", NumReturns: 1, Owner: 1}})
		g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: transport.TaskID(101 + 2*i), Func: "f", NumReturns: 1, Owner: 1,
			Strategy: transport.StrategySpread}})
		on := env.placedOn()
		spreadOn[on[len(on)-1]]++
	}
	require.Len(t, spreadOn, 2, "10 spread tasks over two idle nodes all went to one: %v", spreadOn)
}

// TestHardAffinityInfeasibleWarns: a task with hard affinity to a node
// that cannot run it (too small, or dead) was held with no infeasibility
// warning: holdInfeasible stayed quiet when any live node's total fit,
// ignoring that the hard affinity excludes every other node. A target too
// small fails the task now (ReasonUnschedulable to its owner, as Ray's
// TaskUnschedulableError), with the warning; a dead one holds it, warned,
// while DeadTargetGrace lasts (TestDeadTargetFails).
func TestHardAffinityInfeasibleWarns(t *testing.T) {
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	t.Run("target too small", func(t *testing.T) {
		env := &emitEnv{}
		g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: transport.MakeResources(2, 0, nil)})
		g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: transport.MakeResources(16, 0, nil)})
		spec := transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 1, Resources: transport.MakeResources(8, 0, nil),
			Strategy: transport.StrategyNodeHard, Target: 1}
		g.Handle(1, &transport.SpillTask{Spec: spec})
		require.Len(t, env.sent, 1)
		pt, ok := env.sent[0].(*transport.PlaceTask)
		require.True(t, ok)
		require.Equal(t, transport.NodeID(1), env.to[0], "to its owner")
		require.True(t, strings.HasPrefix(pt.Reason, ReasonUnschedulable), "reason %q", pt.Reason)
		require.Empty(t, g.Infeasible(), "held though it can never run")
		require.Equal(t, 1, env.infeasibleWarnings(100), "a task that can never be placed failed without a warning")
	})
	t.Run("target dead", func(t *testing.T) {
		env := &emitEnv{}
		g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l, DeadTargetGrace: time.Second})
		cpu := transport.MakeResources(4, 0, nil)
		g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: cpu})
		g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: cpu})
		g.Handle(50, &transport.NodeDead{Node: 1, Incarnation: 1})
		spec := transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 2, Resources: transport.MakeResources(1, 0, nil),
			Strategy: transport.StrategyNodeHard, Target: 1}
		g.Handle(2, &transport.SpillTask{Spec: spec})
		require.Empty(t, env.placedOn())
		require.Len(t, g.Infeasible(), 1)
		require.Equal(t, 1, env.infeasibleWarnings(100), "a task pinned to a dead node was held without a warning")
	})
}

// TestLocalityAwareBurstSpreads: before any task has finished every
// mean task time is zero, so every estimated wait is zero. minWait breaks
// that tie by queue per CPU (so a burst spreads); locality-aware's Pick
// breaks it by index only, so a burst without arguments piles onto the
// first candidate however long its queue.
func TestLocalityAwareBurstSpreads(t *testing.T) {
	p, err := NewPolicy("locality-aware")
	require.NoError(t, err)
	c := []Candidate{{Node: 1, Total: cpus(4)}, {Node: 2, Total: cpus(4)}, {Node: 3, Total: cpus(4)}}
	d := &Decision{Spec: &transport.TaskSpec{}, Bandwidth: 1e9}
	r := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		c[p.Pick(d, c, r)].QueueLen++
	}
	require.NotEqual(t, 30, c[0].QueueLen, "a 30-task burst all went to the first node: %d %d %d", c[0].QueueLen, c[1].QueueLen, c[2].QueueLen)
}

// TestUnknownMeanTaskTimeIsNotFree: a node that has not finished a task yet
// heartbeats MeanTaskTime 0, which would make its whole queue free: beside a
// node that has finished one short task, the node with a 50-deep queue of
// not-yet-finished work won the placement. The global scheduler estimates
// such a node at the known nodes' mean.
func TestUnknownMeanTaskTimeIsNotFree(t *testing.T) {
	for _, name := range []string{"bottom-up", "centralized", "locality-aware"} {
		t.Run(name, func(t *testing.T) {
			env := &sendEnv{}
			pol, err := NewPolicy(name)
			require.NoError(t, err)
			l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
			g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
			one := transport.MakeResources(1, 0, nil)
			for _, n := range []transport.NodeID{1, 2} {
				g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: one})
			}
			g.Handle(50, &transport.Heartbeat{Node: 1, Incarnation: 1, Total: one, QueueLen: 50})                                // nothing finished yet
			g.Handle(50, &transport.Heartbeat{Node: 2, Incarnation: 1, Total: one, QueueLen: 1, MeanTaskTime: time.Millisecond}) // one short task finished
			g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 1}})
			require.Equal(t, []transport.NodeID{2}, env.placedOn(),
				"the node with 50 queued tasks of unknown length was estimated to have no wait and picked")
		})
	}
}

// TestInfeasibleWarningNamesEveryGap: the warning compared the task with the
// first live node only, so in a mixed cluster it named CPUs as missing when
// what no node has is CPUs and a GPU together.
func TestInfeasibleWarningNamesEveryGap(t *testing.T) {
	env := &emitEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: transport.MakeResources(4, 1, nil)})
	g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: transport.MakeResources(16, 0, nil)})
	g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 1,
		Resources: transport.MakeResources(8, 1, nil)}})
	require.Len(t, env.events, 1)
	require.Contains(t, env.events[0].Detail, "node 1: CPU: need 8, have 4")
	require.Contains(t, env.events[0].Detail, "node 2: GPU: need 1, have 0")
}

// TestInfeasibleWarnedAgainAfterPlacement: a task warned about, placed once
// a node could run it, and held again on a retry (its node died, and no
// node left can run it) is warned about again.
func TestInfeasibleWarnedAgainAfterPlacement(t *testing.T) {
	env := &emitEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: transport.MakeResources(1, 0, nil)})
	spec := transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 1, Resources: transport.MakeResources(8, 0, nil)}
	g.Handle(1, &transport.SpillTask{Spec: spec})
	require.Equal(t, 1, env.infeasibleWarnings(100))
	g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: transport.MakeResources(8, 0, nil)})
	require.Equal(t, []transport.NodeID{2}, env.placedOn())
	g.Handle(50, &transport.NodeDead{Node: 2, Incarnation: 1})
	g.Handle(1, &transport.SpillTask{Spec: spec})
	require.Equal(t, 2, env.infeasibleWarnings(100))
}

// TestMeasuredBandwidthSteersPlacement: the wait estimate's fetch term
// divides the bytes a node lacks by that node's measured mean bandwidth
// (heartbeated), not by one configured figure for every node: of two idle
// nodes lacking a task's 100 MB input, the one whose pulls run at 1 GB/s
// gets it over the one at 1 MB/s. A node that has measured nothing counts
// at the others' mean.
func TestMeasuredBandwidthSteersPlacement(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2, 3, 4}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	one, two := transport.MakeResources(1, 0, nil), transport.MakeResources(2, 0, nil)
	for _, n := range []transport.NodeID{1, 2, 3} {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: two})
	}
	g.Handle(50, &transport.RegisterNode{Node: 4, Incarnation: 1, Total: transport.Resources{}}) // holds the input, runs nothing
	g.Handle(50, &transport.Heartbeat{Node: 1, Incarnation: 1, Total: two, Available: two, MeanBandwidth: 1e6})
	g.Handle(50, &transport.Heartbeat{Node: 2, Incarnation: 1, Total: two, Available: two, MeanBandwidth: 1e9})
	spill := func(id transport.TaskID) {
		g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: id, Func: "f", NumReturns: 1, Owner: 1, Resources: one,
			Args: []transport.Arg{{IsRef: true, Ref: transport.ObjectID{Task: 7}}}},
			Locs: []transport.ObjectLoc{{Object: transport.ObjectID{Task: 7}, Size: 100e6, Nodes: []transport.NodeID{4}}}})
	}
	spill(100)
	require.Equal(t, []transport.NodeID{2}, env.placedOn(), "placed on the node with the slower pulls")
	// Node 3 has measured nothing: at the mean of 1 MB/s and 1 GB/s it
	// is slower than node 2, which now has one task queued (0 mean task
	// time: queues cost nothing yet) and a CPU still free.
	spill(101)
	require.Equal(t, []transport.NodeID{2, 2}, env.placedOn())
}

// TestHardAffinityWarningNamesTheTarget: a hard affinity's node that is in
// the layout but has not registered (a node joining late) is told from one
// the cluster does not have.
func TestHardAffinityWarningNamesTheTarget(t *testing.T) {
	env := &emitEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2, 3}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: transport.MakeResources(4, 0, nil)})
	for i, target := range []transport.NodeID{3, 9} {
		g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: transport.TaskID(100 + i), Func: "f", NumReturns: 1, Owner: 1,
			Resources: transport.MakeResources(1, 0, nil), Strategy: transport.StrategyNodeHard, Target: target}})
	}
	require.Len(t, env.events, 2)
	require.Contains(t, env.events[0].Detail, "node 3 has not registered")
	require.Contains(t, env.events[1].Detail, "node 9 is not in the cluster")
}
