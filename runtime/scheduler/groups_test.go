package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// groupScheduler is a scheduler over raylets 1, 2 and 3 (4 CPUs each),
// owner node 1 creating groups.
func groupScheduler(t *testing.T) (*Global, *sendEnv) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2, 3}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	cpu := transport.MakeResources(4, 0, nil)
	for _, n := range l.Raylets {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: cpu})
	}
	return g, env
}

// sentOf returns the messages of type T sent since mark, with receivers.
func sentOf[T transport.Message](env *sendEnv, mark int) (ms []T, to []transport.NodeID) {
	for i := mark; i < len(env.sent); i++ {
		if m, ok := env.sent[i].(T); ok {
			ms, to = append(ms, m), append(to, env.to[i])
		}
	}
	return ms, to
}

func bundles(n int, cpus float64) []transport.Resources {
	out := make([]transport.Resources, n)
	for i := range out {
		out[i] = transport.MakeResources(cpus, 0, nil)
	}
	return out
}

// answerAll answers every BundlePrepare sent since mark with ok.
func answerAll(g *Global, env *sendEnv, mark int, ok bool) {
	ps, to := sentOf[*transport.BundlePrepare](env, mark)
	for i, p := range ps {
		g.Handle(to[i], &transport.BundlePrepared{Group: p.Group, Round: p.Round, Incarnation: p.Incarnation, OK: ok})
	}
}

// TestGroupStrategiesPlace: STRICT_PACK prepares every bundle on one node,
// STRICT_SPREAD on distinct nodes, and a group is ready (its owner told)
// only once every node has prepared; an answer of another round, or from
// another node, commits nothing.
func TestGroupStrategiesPlace(t *testing.T) {
	for _, tc := range []struct {
		strategy uint8
		n        int
		cpus     float64
		nodes    int // distinct nodes used
	}{
		{transport.GroupStrictPack, 3, 1, 1},
		{transport.GroupPack, 3, 1, 1},
		{transport.GroupPack, 3, 2, 2},
		{transport.GroupStrictSpread, 3, 1, 3},
		{transport.GroupSpread, 3, 1, 3},
		{transport.GroupSpread, 4, 1, 3},
	} {
		g, env := groupScheduler(t)
		g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: tc.strategy, Bundles: bundles(tc.n, tc.cpus)})
		ps, to := sentOf[*transport.BundlePrepare](env, 0)
		require.Len(t, ps, tc.nodes, transport.GroupStrategyName(tc.strategy))
		got := 0
		for _, p := range ps {
			got += len(p.Bundles)
		}
		require.Equal(t, tc.n, got)
		// Stale and stranger answers do nothing.
		g.Handle(to[0], &transport.BundlePrepared{Group: 9, Round: ps[0].Round + 1, Incarnation: 1, OK: true})
		g.Handle(99, &transport.BundlePrepared{Group: 9, Round: ps[0].Round, Incarnation: 1, OK: true})
		states, _ := sentOf[*transport.GroupState](env, 0)
		require.Empty(t, states)
		answerAll(g, env, 0, true)
		commits, _ := sentOf[*transport.BundleCommit](env, 0)
		require.Len(t, commits, tc.nodes)
		states, sto := sentOf[*transport.GroupState](env, 0)
		require.Len(t, states, 1)
		require.Equal(t, transport.GroupReady, states[0].State)
		require.Equal(t, transport.NodeID(1), sto[0])
	}
}

// TestGroupPendingThenPlaced: a STRICT_SPREAD group of 4 bundles on 3
// nodes stays pending (a warning, no prepare) until a fourth node joins;
// a refusal aborts the round (the others release) and the group is tried
// again on the next heartbeat.
func TestGroupPendingThenPlaced(t *testing.T) {
	g, env := groupScheduler(t)
	var warned []string
	g.env = &warnEnv{sendEnv: env, emitted: &warned}
	g.Handle(1, &transport.GroupCreate{Group: 9, Name: "four", Strategy: transport.GroupStrictSpread, Bundles: bundles(4, 1)})
	ps, _ := sentOf[*transport.BundlePrepare](env, 0)
	require.Empty(t, ps)
	require.Len(t, warned, 1)
	require.Contains(t, warned[0], `"four"`)
	cpu := transport.MakeResources(4, 0, nil)
	g.Handle(50, &transport.RegisterNode{Node: 4, Incarnation: 1, Total: cpu})
	ps, to := sentOf[*transport.BundlePrepare](env, 0)
	require.Len(t, ps, 4)
	// Node 4 refuses: the other three release, nothing is committed.
	mark := len(env.sent)
	for i, p := range ps {
		g.Handle(to[i], &transport.BundlePrepared{Group: 9, Round: p.Round, Incarnation: 1, OK: to[i] != 4})
	}
	rels, _ := sentOf[*transport.BundleRelease](env, mark)
	require.Len(t, rels, 4)
	commits, _ := sentOf[*transport.BundleCommit](env, 0)
	require.Empty(t, commits)
	// The next heartbeat tries again; all accept.
	mark = len(env.sent)
	g.Handle(50, &transport.Heartbeat{Node: 4, Incarnation: 1, Total: cpu, Available: cpu})
	answerAll(g, env, mark, true)
	commits, _ = sentOf[*transport.BundleCommit](env, mark)
	require.Len(t, commits, 4)
	require.True(t, g.Groups()[0].Ready)
}

// TestGroupNodeDeathReschedules: a committed bundle's node dies; the
// bundle is prepared again on another node (STRICT_SPREAD: not one of the
// group's), and a prepare answer from the dead node's round is ignored.
// Removal then releases every bundle and fails the group's held tasks.
func TestGroupNodeDeathReschedules(t *testing.T) {
	g, env := groupScheduler(t)
	cpu := transport.MakeResources(4, 0, nil)
	g.Handle(50, &transport.RegisterNode{Node: 4, Incarnation: 1, Total: cpu})
	g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: transport.GroupStrictSpread, Bundles: bundles(2, 1)})
	answerAll(g, env, 0, true)
	nodes := g.Groups()[0].Nodes
	require.Equal(t, []transport.NodeID{1, 2}, nodes)
	mark := len(env.sent)
	g.Handle(50, &transport.NodeDead{Node: 2, Incarnation: 1})
	ps, to := sentOf[*transport.BundlePrepare](env, mark)
	require.Len(t, ps, 1)
	require.Equal(t, transport.NodeID(3), to[0], "not node 1: it holds the group's other bundle")
	answerAll(g, env, mark, true)
	require.Equal(t, []transport.NodeID{1, 3}, g.Groups()[0].Nodes)
	// A task of the group held (it asks for more than the bundle has).
	spec := transport.TaskSpec{ID: 77, Func: "f", Owner: 1, NumReturns: 1, Resources: transport.InBundle(9, 0, transport.MakeResources(3, 0, nil))}
	g.Handle(1, &transport.SpillTask{Spec: spec})
	require.Len(t, g.Infeasible(), 1)
	mark = len(env.sent)
	g.Handle(4, &transport.GroupWatch{Group: 9}) // a node handed the group waits for it: ready, told at once
	states, sto := sentOf[*transport.GroupState](env, mark)
	require.Len(t, states, 1)
	require.Equal(t, transport.GroupReady, states[0].State)
	require.Equal(t, transport.NodeID(4), sto[0])
	mark = len(env.sent)
	// Any node may remove it (as any holder of a Ray group's handle): the
	// owner and the remover are told.
	g.Handle(2, &transport.GroupRemove{Group: 9})
	require.True(t, g.Groups()[0].Removed)
	states, sto = sentOf[*transport.GroupState](env, mark)
	require.Equal(t, []transport.NodeID{1, 2}, sto)
	for _, st := range states {
		require.Equal(t, transport.GroupRemoved, st.State)
	}
	g.Handle(1, &transport.GroupRemove{Group: 9}) // again: answered, nothing more released
	rels, rto := sentOf[*transport.BundleRelease](env, mark)
	require.Len(t, rels, 2)
	require.Equal(t, []transport.NodeID{1, 3}, rto)
	places, _ := sentOf[*transport.PlaceTask](env, mark)
	require.Len(t, places, 1)
	require.Contains(t, places[0].Reason, ReasonUnschedulable)
	require.Empty(t, g.Infeasible())
	// A task of the removed group spilled later fails at once.
	g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: 78, Func: "f", Owner: 1, NumReturns: 1, Resources: transport.InBundle(9, -1, transport.MakeResources(1, 0, nil))}})
	places, _ = sentOf[*transport.PlaceTask](env, mark)
	require.Len(t, places, 2)
	require.Contains(t, places[1].Reason, "placement group removed")
}

// TestGroupCreateRejectsBadInput: the wire's bad groups are rejected.
func TestGroupCreateRejectsBadInput(t *testing.T) {
	g, env := groupScheduler(t)
	g.Handle(1, &transport.GroupCreate{Group: 9})
	g.Handle(1, &transport.GroupCreate{Group: 10, Bundles: []transport.Resources{{}}})
	states, _ := sentOf[*transport.GroupState](env, 0)
	require.Len(t, states, 2)
	for _, s := range states {
		require.Equal(t, transport.GroupRejected, s.State)
	}
}

type warnEnv struct {
	*sendEnv
	emitted *[]string
}

func (e *warnEnv) Emit(ev *transport.Event) {
	if ev.Kind == transport.EvWarning {
		*e.emitted = append(*e.emitted, ev.Detail)
	}
}

// TestGroupLargestBundleFirst: STRICT_SPREAD of a 1-CPU and a 4-CPU
// bundle over nodes of 4 and 1 free CPUs fits only with the large bundle
// seated first (a first-fit in bundle order put the small one on the big
// node and left the group pending).
func TestGroupLargestBundleFirst(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 1, Incarnation: 1, Total: transport.MakeResources(4, 0, nil)})
	g.Handle(50, &transport.RegisterNode{Node: 2, Incarnation: 1, Total: transport.MakeResources(1, 0, nil)})
	g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: transport.GroupStrictSpread,
		Bundles: []transport.Resources{transport.MakeResources(1, 0, nil), transport.MakeResources(4, 0, nil)}})
	answerAll(g, env, 0, true)
	require.Equal(t, []transport.NodeID{2, 1}, g.Groups()[0].Nodes)
}

// TestGroupWatchOfUnknownGroupUnanswered: a watch of a group the
// scheduler has not heard of (its creation still on its way) is not
// answered (the asker asks again); once the group is ready it is.
func TestGroupWatchOfUnknownGroupUnanswered(t *testing.T) {
	g, env := groupScheduler(t)
	g.Handle(2, &transport.GroupWatch{Group: 9})
	require.Empty(t, env.sent)
	g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: transport.GroupPack, Bundles: bundles(1, 1)})
	g.Handle(2, &transport.GroupWatch{Group: 9}) // pending: a watcher now
	answerAll(g, env, 0, true)
	states, to := sentOf[*transport.GroupState](env, 0)
	require.Equal(t, []transport.NodeID{1, 2}, to, "the owner and the watcher are told")
	for _, st := range states {
		require.Equal(t, transport.GroupReady, st.State)
	}
}

// kindEnv records the kinds and details of the events emitted.
type kindEnv struct {
	*sendEnv
	events *[]transport.Event
}

func (e *kindEnv) Emit(ev *transport.Event) { *e.events = append(*e.events, *ev) }

// TestCapturedTaskPlacedOnFreeBundles: a task of a group that captures
// child tasks goes only to a node whose bundles of the group have room now
// (its blocked ancestors keep theirs), held until a heartbeat shows one;
// one that no node's bundles of the group can hold is warned infeasible.
func TestCapturedTaskPlacedOnFreeBundles(t *testing.T) {
	g, env := groupScheduler(t)
	var events []transport.Event
	g.env = &kindEnv{sendEnv: env, events: &events}
	g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: transport.GroupStrictSpread, Bundles: bundles(2, 1)})
	answerAll(g, env, 0, true)
	captured := func(id transport.TaskID, cpus float64) *transport.SpillTask {
		return &transport.SpillTask{Spec: transport.TaskSpec{ID: id, Func: "f", NumReturns: 1, Owner: 1, CaptureChildTasks: true,
			Resources: transport.InBundle(9, -1, transport.MakeResources(cpus, 0, nil))}}
	}
	const spiller = 50 // spilled through the GCS here: no raylet is kept out (see TestCapturedTaskNotPlacedBackOnItsSpiller)
	mark := len(env.sent)
	g.Handle(spiller, captured(100, 1))
	g.Handle(spiller, captured(101, 1))
	placed, to := sentOf[*transport.PlaceTask](env, mark)
	require.Len(t, placed, 2)
	require.NotEqual(t, to[0], to[1], "one per bundle's node")
	// Both bundles are taken in the view: a third waits at the scheduler.
	mark = len(env.sent)
	g.Handle(spiller, captured(102, 1))
	placed, _ = sentOf[*transport.PlaceTask](env, mark)
	require.Empty(t, placed, "held, not queued behind a busy bundle")
	require.Len(t, g.Infeasible(), 1)
	// The first bundle's node says its bundle is free again: it goes there.
	node := to[0]
	total := g.index[node].total // its CPUs, and its bundle's renamed
	require.NotEmpty(t, total.Custom)
	// (It has had every placement: Placed; one still on its way would
	// keep its resources taken in the view.)
	g.Handle(50, &transport.Heartbeat{Node: node, Incarnation: 1, Total: total, Available: total, Placed: g.Placed()})
	placed, to2 := sentOf[*transport.PlaceTask](env, mark)
	require.Len(t, placed, 1)
	require.Equal(t, node, to2[0])
	require.Empty(t, g.Infeasible())
	// Two CPUs: no node holds two of the group's (a bundle of one each).
	mark = len(env.sent)
	g.Handle(spiller, captured(103, 2))
	placed, _ = sentOf[*transport.PlaceTask](env, mark)
	require.Empty(t, placed)
	infeasible := 0
	for _, ev := range events {
		if ev.Kind == transport.EvTaskInfeasible && ev.Task == 103 {
			infeasible++
		}
	}
	require.Equal(t, 1, infeasible, "warned: it would wait for good")
}

// TestCapturedTaskNotPlacedBackOnItsSpiller: a captured task a raylet
// spilled is not placed back there, even when the view shows its bundle
// free: the raylet spilled it because its blocked ancestors hold the
// bundle, and told so in a heartbeat the spill can overtake (the fault
// search's captured-child-placed-back-on-stale-view). It goes to another
// node with room.
func TestCapturedTaskNotPlacedBackOnItsSpiller(t *testing.T) {
	g, env := groupScheduler(t)
	g.Handle(1, &transport.GroupCreate{Group: 9, Strategy: transport.GroupSpread, Bundles: bundles(3, 1)})
	answerAll(g, env, 0, true)
	spill := func(from transport.NodeID, id transport.TaskID) []transport.NodeID {
		mark := len(env.sent)
		g.Handle(from, &transport.SpillTask{Spec: transport.TaskSpec{ID: id, Func: "f", NumReturns: 1, Owner: from,
			CaptureChildTasks: true, Resources: transport.InBundle(9, -1, transport.MakeResources(1, 0, nil))}})
		_, to := sentOf[*transport.PlaceTask](env, mark)
		return to
	}
	for id := transport.TaskID(100); id < 102; id++ {
		to := spill(1, id)
		require.Len(t, to, 1)
		require.NotEqual(t, transport.NodeID(1), to[0], "placed back on the node that spilled it")
	}
	require.Empty(t, spill(1, 102), "only the spiller's bundle has room: held")
	require.Len(t, g.Infeasible(), 1)
	require.Equal(t, []transport.NodeID{1}, spill(2, 103), "another node's spill may go there")
}

// TestRejectedGroupsBounded (review): refused creations are kept (so their
// tasks fail saying why), but at most maxRemoved: a node sending refused
// creations without end cannot grow the scheduler's map for good.
func TestRejectedGroupsBounded(t *testing.T) {
	g, _ := groupScheduler(t)
	for i := range maxRemoved + 10 {
		g.Handle(1, &transport.GroupCreate{Group: transport.GroupID(1000 + i), Strategy: transport.GroupPack})
	}
	if n := len(g.groups); n != maxRemoved {
		t.Fatalf("%d refused groups kept, want %d", n, maxRemoved)
	}
	if g.groups[1000] != nil || g.groups[transport.GroupID(1000+maxRemoved+9)] == nil {
		t.Fatal("not the oldest forgotten")
	}
}

// TestRemovedGroupsBounded (QA31 finding 5c): removed groups are kept (a
// task of one fails, a Wait answers), but at most maxRemoved, the oldest
// removal forgotten first: a group per job created and removed no longer
// grows the scheduler's map for good. A group removed, created again by
// a retry of its creator and removed again is kept for its later removal.
func TestRemovedGroupsBounded(t *testing.T) {
	g, env := groupScheduler(t)
	create := func(id transport.GroupID) {
		mark := len(env.sent)
		g.Handle(1, &transport.GroupCreate{Group: id, Strategy: transport.GroupPack, Bundles: bundles(1, 1)})
		answerAll(g, env, mark, true)
	}
	create(999)
	g.Handle(1, &transport.GroupRemove{Group: 999})
	create(999) // its creator's retry: live again
	for i := range maxRemoved + 10 {
		id := transport.GroupID(1000 + i)
		create(id)
		g.Handle(1, &transport.GroupRemove{Group: id})
		if i == 20 {
			g.Handle(1, &transport.GroupRemove{Group: 999})
		}
	}
	require.Len(t, g.groups, maxRemoved)
	require.Nil(t, g.groups[1000], "the oldest removal is forgotten")
	require.NotNil(t, g.groups[999], "removed again later: kept for that removal")
	require.True(t, g.groups[transport.GroupID(1000+maxRemoved+9)].removed)
	// A task of a removed group still known fails at once.
	mark := len(env.sent)
	g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: 77, Func: "f", NumReturns: 1, Owner: 1,
		Resources: transport.InBundle(transport.GroupID(1000+maxRemoved+9), -1, transport.MakeResources(1, 0, nil))}})
	ps, _ := sentOf[*transport.PlaceTask](env, mark)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Reason, "placement group removed")
}

// TestDriverGroupsEndWithUnregisteredDriverNode: on a live cluster a
// driver's raylet never registers with the scheduler (its reports are
// kept from it, deploy.Directory.Filter), so the groups its driver
// created name no incarnation of their owner. When the node table
// declares that node dead (the driver's process ended without a goodbye)
// its driver's groups that are not detached are removed, freeing their
// bundles; a detached one, and one a task created there, stay. This is
// the live cluster's crash path of TestDriverExitEndsItsPlacementGroups
// (runtime/ray), whose wait for a real node timeout it spares.
func TestDriverGroupsEndWithUnregisteredDriverNode(t *testing.T) {
	g, env := groupScheduler(t)
	const driver = transport.NodeID(7) // not registered
	g.Handle(driver, &transport.GroupCreate{Group: 9, Name: "owned", Strategy: transport.GroupPack, ByDriver: true, Bundles: bundles(1, 1)})
	g.Handle(driver, &transport.GroupCreate{Group: 10, Name: "kept", Strategy: transport.GroupPack, ByDriver: true, Detached: true, Bundles: bundles(1, 1)})
	g.Handle(driver, &transport.GroupCreate{Group: 11, Name: "a task's", Strategy: transport.GroupPack, Bundles: bundles(1, 1)})
	answerAll(g, env, 0, true)
	for _, gr := range g.Groups() {
		require.True(t, gr.Ready, gr.Name)
	}
	mark := len(env.sent)
	g.Handle(50, &transport.NodeDead{Node: driver, Incarnation: 1, JobsEnd: true})
	removed := map[string]bool{}
	for _, gr := range g.Groups() {
		removed[gr.Name] = gr.Removed
	}
	require.Equal(t, map[string]bool{"owned": true, "kept": false, "a task's": false}, removed)
	rels, _ := sentOf[*transport.BundleRelease](env, mark)
	require.Len(t, rels, 1, "the removed group's bundle is released")
	require.Equal(t, transport.GroupID(9), rels[0].Group)
}
