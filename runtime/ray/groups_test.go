package ray_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// The placement group cases join the semantic suite (semanticCases), so
// they run on netsim and on loopback TCP from the same bodies, and in
// TestProgramDeterminism's program. Nodes (testNodes): 1 "head" (2 CPUs,
// the driver's), 2 "special" (2 CPUs, special=1), 3 "gpu" (2 CPUs, 1 GPU).
func init() {
	semanticCases = append(semanticCases, placementCases...)
}

// readyIn is how long a group that fits may take to become ready: ample
// on TCP under the race detector, a bound in virtual time.
const readyIn = 10 * time.Second

// whereIn runs s.where in bundle i of pg and returns its node.
func whereIn(t *testing.T, ctx context.Context, s *suite, pg *ray.PlacementGroup, i int) uint64 {
	t.Helper()
	n, err := ray.GetTimeout(ctx, s.where.Options(ray.InPlacementGroup(pg, i), ray.CPUs(0.5)).Remote(ctx), readyIn)
	require.NoError(t, err)
	return n
}

var placementCases = []semanticCase{
	{"placement group STRICT_PACK puts every bundle on one node", func(t *testing.T, ctx context.Context, s *suite) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}}, ray.StrictPack, ray.GroupName("pack"))
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		a, b := whereIn(t, ctx, s, pg, 0), whereIn(t, ctx, s, pg, 1)
		assert.Equal(t, a, b)
		assert.Equal(t, a, whereIn(t, ctx, s, pg, -1))
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		assert.ErrorIs(t, pg.Wait(ctx, 0), ray.ErrPlacementGroupRemoved)
	}},
	{"placement group STRICT_SPREAD uses distinct nodes, or waits", func(t *testing.T, ctx context.Context, s *suite) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}, {CPU: 1}}, ray.StrictSpread)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		seen := map[uint64]bool{}
		for i := range 3 {
			seen[whereIn(t, ctx, s, pg, i)] = true
		}
		assert.Len(t, seen, 3, "three bundles, three nodes")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		// Four bundles on three nodes: pending, not an error.
		four, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}, {CPU: 1}, {CPU: 1}}, ray.StrictSpread)
		require.NoError(t, err)
		assert.ErrorIs(t, four.Wait(ctx, 200*time.Millisecond), ray.ErrTimeout)
		require.NoError(t, ray.RemovePlacementGroup(ctx, four))
	}},
	{"placement group PACK and SPREAD", func(t *testing.T, ctx context.Context, s *suite) {
		// Two bundles of 2 CPUs do not fit one 2-CPU node: PACK spills to
		// a second node (STRICT_PACK would wait).
		pack, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2}, {CPU: 2}}, ray.Pack)
		require.NoError(t, err)
		require.NoError(t, pack.Wait(ctx, readyIn))
		assert.NotEqual(t, whereIn(t, ctx, s, pack, 0), whereIn(t, ctx, s, pack, 1))
		require.NoError(t, ray.RemovePlacementGroup(ctx, pack))
		spread, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}, {CPU: 0.5}, {CPU: 0.5}}, ray.SpreadBundles)
		require.NoError(t, err)
		require.NoError(t, spread.Wait(ctx, readyIn))
		seen := map[uint64]bool{}
		for i := range 3 {
			seen[whereIn(t, ctx, s, spread, i)] = true
		}
		assert.Len(t, seen, 3)
		require.NoError(t, ray.RemovePlacementGroup(ctx, spread))
		strict, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2}, {CPU: 2}}, ray.StrictPack)
		require.NoError(t, err)
		assert.ErrorIs(t, strict.Wait(ctx, 200*time.Millisecond), ray.ErrTimeout)
		require.NoError(t, ray.RemovePlacementGroup(ctx, strict))
	}},
	{"placement group tasks run in their bundle within its resources", func(t *testing.T, ctx context.Context, s *suite) {
		// The bundle needs "special": only node 2 has it.
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		assert.Equal(t, uint64(ray.RayletID(1)), whereIn(t, ctx, s, pg, 0))
		// More than the bundle holds: refused at submission.
		big := s.slow.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(2)).Remote(ctx, 1)
		assert.ErrorIs(t, big.Err(), ray.ErrInvalidOption)
		assert.ErrorIs(t, big.Err(), ray.ErrInvalidPlacementGroup)
		assert.ErrorIs(t, s.gpu.Options(ray.InPlacementGroup(pg, 0), ray.GPUs(1)).Remote(ctx).Err(), ray.ErrInvalidPlacementGroup)
		// The bundle's one CPU runs its 1-CPU tasks one at a time.
		start := ray.Mono(ctx)
		refs := []ray.Ref[int]{
			s.slow.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 100),
			s.slow.Options(ray.InPlacementGroup(pg, -1)).Remote(ctx, 100),
		}
		_, err = ray.GetAll(ctx, refs, readyIn)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, ray.Mono(ctx).Sub(start), 200*time.Millisecond)
		// The reserved "special" is nobody else's: a task needing it waits.
		other := s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 1)
		_, err = ray.GetTimeout(ctx, other, 200*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		// Freed: it runs now.
		v, err := ray.GetTimeout(ctx, other, readyIn)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
	}},
	{"placement group removal ends its tasks and actors", func(t *testing.T, ctx context.Context, s *suite) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, GPU: 1}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		// The only GPU is reserved: a GPU task outside the group waits.
		outside := s.gpu.Options(ray.GPUs(1)).Remote(ctx)
		_, err = ray.GetTimeout(ctx, outside, 200*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
		inside, err := ray.GetTimeout(ctx, s.gpu.Options(ray.InPlacementGroup(pg, 0), ray.GPUs(1)).Remote(ctx), readyIn)
		require.NoError(t, err)
		assert.Equal(t, "gpu ok", inside)
		long := s.slow.Options(ray.InPlacementGroup(pg, 0), ray.GPUs(1)).Remote(ctx, 60000)
		h := s.counter.Options(ray.InPlacementGroup(pg, 0)).New(ctx, 5)
		v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), readyIn)
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{long}, 1, 100*time.Millisecond)
		require.NoError(t, err)
		require.Empty(t, ready)
		queued := s.slow.Options(ray.InPlacementGroup(pg, 0), ray.GPUs(1)).Remote(ctx, 1) // behind long, for the bundle's GPU
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{queued}, 1, 100*time.Millisecond)
		require.NoError(t, err)
		require.Empty(t, ready)
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		_, err = ray.GetTimeout(ctx, queued, readyIn)
		assert.ErrorIs(t, err, ray.ErrCancelled, "a queued task of the removed group")
		assert.ErrorIs(t, err, ray.ErrPlacementGroupRemoved, "a queued task of the removed group")
		_, err = ray.GetTimeout(ctx, long, readyIn)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		// Told apart from a Cancel (QA28b finding 13: Ray's
		// TaskPlacementGroupRemoved).
		assert.ErrorIs(t, err, ray.ErrPlacementGroupRemoved, "the running task's error names its group's removal")
		assert.NotErrorIs(t, err, ray.ErrWorkerCrashed)
		assert.Contains(t, err.Error(), "placement group was removed")
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), readyIn)
		assert.ErrorIs(t, err, ray.ErrActorDied)
		// A task of the removed group fails; the GPU is free for others.
		_, err = ray.GetTimeout(ctx, s.where.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx), readyIn)
		assert.ErrorIs(t, err, ray.ErrUnschedulable)
		got, err := ray.GetTimeout(ctx, outside, readyIn)
		require.NoError(t, err)
		assert.Equal(t, "gpu ok", got)
	}},
	{"placement group removed while pending fails its actor and tasks", func(t *testing.T, ctx context.Context, s *suite) {
		// Four STRICT_SPREAD bundles on three nodes: never placed.
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}, {CPU: 1}, {CPU: 1}}, ray.StrictSpread)
		require.NoError(t, err)
		h := s.counter.Options(ray.InPlacementGroup(pg, 0)).New(ctx, 5)
		call := s.get.Remote(ctx, h)
		task := s.double.Options(ray.InPlacementGroup(pg, 1)).Remote(ctx, 2)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{call, task}, 1, 100*time.Millisecond)
		require.NoError(t, err)
		require.Empty(t, ready, "they wait for the group")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		_, err = ray.GetTimeout(ctx, task, readyIn)
		assert.ErrorIs(t, err, ray.ErrUnschedulable)
		_, err = ray.GetTimeout(ctx, call, readyIn)
		assert.ErrorIs(t, err, ray.ErrActorDied, "an actor that can never be placed is dead, its calls fail")
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), readyIn)
		assert.ErrorIs(t, err, ray.ErrActorDied)
	}},
	// The handle travels: a task handed the group runs tasks in it, waits
	// for it and removes it.
	{"placement group handed to a task", func(t *testing.T, ctx context.Context, s *suite) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack)
		require.NoError(t, err)
		// The task waits for the group itself (not ready yet, maybe) and
		// runs a task in it: on node 2, the only one with "special".
		where, err := ray.GetTimeout(ctx, s.useGroup.Remote(ctx, pg, 0), readyIn)
		require.NoError(t, err)
		assert.Equal(t, uint64(ray.RayletID(1)), where)
		require.NoError(t, pg.Wait(ctx, 0), "ready")
		// A task removes it; its creator sees it removed.
		_, err = ray.GetTimeout(ctx, s.useGroup.Remote(ctx, pg, 1), readyIn)
		require.NoError(t, err)
		require.ErrorIs(t, pg.Wait(ctx, readyIn), ray.ErrPlacementGroupRemoved)
		// Its resources are free again.
		v, err := ray.GetTimeout(ctx, s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 3), readyIn)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
	}},
	// Capture (Ray's placement_group_capture_child_tasks): the bundle takes
	// all of node 2's CPUs, so a task runs there only in the group.
	{"placement group captures child tasks and grandchildren", func(t *testing.T, ctx context.Context, s *suite) {
		special := uint64(ray.RayletID(1))
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2, Resources: map[string]float64{"special": 1}}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		in := ray.InPlacementGroup(pg, 0, ray.CaptureChildTasks())
		nodes, err := ray.GetTimeout(ctx, s.tree.Options(in, ray.CPUs(0.5)).Remote(ctx, 2, 0), readyIn)
		require.NoError(t, err)
		assert.Equal(t, []uint64{special, special, special}, nodes, "the task, its child and its grandchild run in the group")
		// Without capture the child leaves the node: its CPUs are the
		// bundle's, which only the group's tasks use.
		nodes, err = ray.GetTimeout(ctx, s.tree.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(0.5)).Remote(ctx, 1, 0), readyIn)
		require.NoError(t, err)
		require.Len(t, nodes, 2)
		assert.Equal(t, special, nodes[0])
		assert.NotEqual(t, special, nodes[1], "not captured")
		// A child naming a strategy (Spread, DefaultScheduling) is not
		// captured, nor are its own children.
		for how := 1; how <= 2; how++ {
			nodes, err = ray.GetTimeout(ctx, s.tree.Options(in, ray.CPUs(0.5)).Remote(ctx, 2, how), readyIn)
			require.NoError(t, err)
			require.Len(t, nodes, 3)
			assert.Equal(t, special, nodes[0])
			assert.NotEqual(t, special, nodes[1], "how %d: the child escapes", how)
			assert.NotEqual(t, special, nodes[2], "how %d: and its child", how)
		}
		// An actor a capturing task creates runs in the group, and so do
		// the tasks its methods submit (the actor captures in turn).
		nodes, err = ray.GetTimeout(ctx, s.tree.Options(in, ray.CPUs(0.5)).Remote(ctx, 1, 3), readyIn)
		require.NoError(t, err)
		assert.Equal(t, []uint64{special, special, special}, nodes, "the task, its actor, the actor's method's task")
		// An actor placed with capture: its methods' tasks run in the group.
		h := s.counter.Options(in, ray.CPUs(0.5)).New(ctx, 0)
		here, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), readyIn)
		require.NoError(t, err)
		assert.Equal(t, special, here)
		sent, err := ray.GetTimeout(ctx, s.sendWhere.Remote(ctx, h), readyIn)
		require.NoError(t, err)
		assert.Equal(t, special, sent, "a method's task is captured")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
	{"placement group found by name", func(t *testing.T, ctx context.Context, s *suite) {
		_, err := ray.GetPlacementGroup(ctx, "nobody")
		assert.ErrorIs(t, err, ray.ErrPlacementGroupNotFound)
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack,
			ray.GroupName("named"), ray.GroupDetached())
		require.NoError(t, err)
		found, err := ray.GetPlacementGroup(ctx, "named") // pending or ready: found
		require.NoError(t, err)
		assert.Equal(t, pg.ID(), found.ID())
		assert.Equal(t, "named", found.Name())
		assert.Equal(t, ray.StrictPack, found.Strategy())
		assert.Equal(t, 1, found.BundleCount())
		require.NoError(t, found.Wait(ctx, readyIn))
		assert.Equal(t, uint64(ray.RayletID(1)), whereIn(t, ctx, s, found, 0))
		require.NoError(t, ray.RemovePlacementGroup(ctx, found))
		assert.ErrorIs(t, pg.Wait(ctx, readyIn), ray.ErrPlacementGroupRemoved)
		_, err = ray.GetPlacementGroup(ctx, "named")
		assert.ErrorIs(t, err, ray.ErrPlacementGroupNotFound, "removed: no longer found")
	}},
	{"placement group names are unique among live groups", func(t *testing.T, ctx context.Context, s *suite) {
		first, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("only"))
		require.NoError(t, err)
		require.NoError(t, first.Wait(ctx, readyIn))
		second, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("only"))
		require.NoError(t, err, "refused by the global scheduler, as Ray's GCS refuses it")
		err = second.Wait(ctx, readyIn)
		require.ErrorIs(t, err, ray.ErrInvalidPlacementGroup)
		assert.Contains(t, err.Error(), `name "only" is taken`)
		// Work submitted to the refused group fails saying so (QA: it
		// waited for good for bundles that never come).
		_, err = ray.GetTimeout(ctx, s.double.Options(ray.InPlacementGroup(second, 0)).Remote(ctx, 1), readyIn)
		require.ErrorIs(t, err, ray.ErrUnschedulable)
		assert.Contains(t, err.Error(), "placement group rejected")
		h := s.counter.Options(ray.InPlacementGroup(second, 0)).New(ctx, 1)
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), readyIn)
		require.Error(t, err, "an actor in the refused group never comes up")
		assert.NotErrorIs(t, err, ray.ErrTimeout)
		found, err := ray.GetPlacementGroup(ctx, "only")
		require.NoError(t, err)
		assert.Equal(t, first.ID(), found.ID())
		unnamed, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack)
		require.NoError(t, err)
		require.NoError(t, unnamed.Wait(ctx, readyIn), "unnamed groups are not checked")
		require.NoError(t, ray.RemovePlacementGroup(ctx, unnamed))
		require.NoError(t, ray.RemovePlacementGroup(ctx, first))
		third, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("only"))
		require.NoError(t, err)
		require.NoError(t, third.Wait(ctx, readyIn), "a removed group's name is free again")
		found, err = ray.GetPlacementGroup(ctx, "only")
		require.NoError(t, err)
		assert.Equal(t, third.ID(), found.ID())
		require.NoError(t, ray.RemovePlacementGroup(ctx, third))
	}},
	{"placement group input is checked", func(t *testing.T, ctx context.Context, s *suite) {
		for _, bad := range [][]ray.Bundle{nil, {{}}, {{CPU: -1}}, {{GPU: 1.5}}, {{Resources: map[string]float64{"CPU": 1}}}, {{CPU: 1}, {}}} {
			_, err := ray.NewPlacementGroup(ctx, bad, ray.Pack)
			assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup, "%v", bad)
		}
		_, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.PlacementStrategy(9))
		assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup)
		_, err = ray.ParsePlacementStrategy("TIGHT")
		assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup)
		st, err := ray.ParsePlacementStrategy("STRICT_SPREAD")
		require.NoError(t, err)
		assert.Equal(t, ray.StrictSpread, st)
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack)
		require.NoError(t, err)
		for _, i := range []int{1, -2} {
			ref := s.double.Options(ray.InPlacementGroup(pg, i)).Remote(ctx, 1)
			assert.ErrorIs(t, ref.Err(), ray.ErrInvalidOption, "index %d", i)
			assert.ErrorIs(t, ref.Err(), ray.ErrInvalidPlacementGroup, "index %d", i)
		}
		assert.ErrorIs(t, s.double.Options(ray.InPlacementGroup(nil, 0)).Remote(ctx, 1).Err(), ray.ErrInvalidPlacementGroup)
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
}

// TestPlacementGroupsSim runs the placement group cases alone (they are in
// the semantic suite too, on netsim and on loopback TCP), each on a fresh
// simulated cluster that must have no bundle left once it is done.
func TestPlacementGroupsSim(t *testing.T) {
	for _, tc := range placementCases {
		t.Run(tc.name, func(t *testing.T) { runSimCase(t, tc, requireNoBundlesLeft) })
	}
}

func requireNoBundlesLeft(t *testing.T, c *ray.Sim) {
	t.Helper()
	c.Netsim().RunUntil(c.Netsim().Now() + time.Second)
	for i, n := range testNodes {
		r := c.Raylet(i)
		want := transport.MakeResources(n.CPUs, n.GPUs, n.Resources)
		require.Equal(t, want, r.Total(), "node %s's total", n.Name)
		require.Equal(t, want, r.Available(), "node %s's free resources", n.Name)
	}
}

// TestPlacementGroupDeterminism: a program creating, using and removing
// placement groups gives the same digest twice under one seed.
func TestPlacementGroupDeterminism(t *testing.T) { checkDeterminism(t, placementCases, 3, 4) }

// TestPlacementGroupPendingUntilNodeReturns: a STRICT_SPREAD group of
// three bundles while one of the three nodes is down stays pending (a
// warning names it; Wait times out) and is ready once the node is back.
func TestPlacementGroupPendingUntilNodeReturns(t *testing.T) {
	s := newSuite()
	var warnings []string
	cfg := ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvWarning && strings.Contains(ev.Detail, "placement group") {
			warnings = append(warnings, ev.Detail)
		}
	}}
	c, err := ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	gpu := netsim.NodeID(ray.RayletID(2))
	c.Netsim().At(10*time.Millisecond, func() { c.Netsim().Crash(gpu) })
	c.Netsim().At(3*time.Second, func() { c.Netsim().Restart(gpu) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // the crash is declared
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}, {CPU: 1}}, ray.StrictSpread, ray.GroupName("trio"))
		require.NoError(t, err)
		require.ErrorIs(t, pg.Wait(ctx, 500*time.Millisecond), ray.ErrTimeout)
		require.NoError(t, pg.Wait(ctx, 10*time.Second))
		seen := map[uint64]bool{}
		for i := range 3 {
			seen[whereIn(t, ctx, s, pg, i)] = true
		}
		require.Len(t, seen, 3)
		return ray.RemovePlacementGroup(ctx, pg)
	}))
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], `"trio"`)
	require.Contains(t, warnings[0], "pending")
}

// TestPlacementGroupNodeDeathReschedules: a node holding a bundle dies
// while a task runs in it; the bundle is placed again on the node left
// (STRICT_SPREAD: not beside the group's other bundle), and the task,
// retried as on any node's death, runs there.
func TestPlacementGroupNodeDeathReschedules(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "w1", CPUs: 2}, {Name: "w2", CPUs: 2}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}}, ray.StrictSpread)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		first := whereIn(t, ctx, s, pg, 1)
		other := whereIn(t, ctx, s, pg, 0)
		require.NotEqual(t, first, other)
		// The driver's node is not the one to crash.
		victim := 1
		if first == uint64(ray.RayletID(0)) {
			victim = 0
			first = other
		}
		long := s.slow.Options(ray.InPlacementGroup(pg, victim)).Remote(ctx, 2000)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(first))
		v, err := ray.GetTimeout(ctx, long, 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 2000, v)
		moved := whereIn(t, ctx, s, pg, victim)
		require.NotEqual(t, first, moved, "the bundle left the dead node")
		require.NotEqual(t, whereIn(t, ctx, s, pg, 1-victim), moved, "STRICT_SPREAD: apart from the other bundle")
		return ray.RemovePlacementGroup(ctx, pg)
	}))
}

// TestPlacementGroupActorRestartsInItsBundle: an actor in a bundle whose
// node dies is restarted (MaxRestarts) once the bundle is placed again,
// on the bundle's new node.
func TestPlacementGroupActorRestartsInItsBundle(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w1", CPUs: 2}, {Name: "w2", CPUs: 2}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		// 2 CPUs: only w1 or w2 can hold the bundle.
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		first := whereIn(t, ctx, s, pg, 0)
		h := s.counter.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(1), ray.MaxRestarts(1)).New(ctx, 7)
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), readyIn)
		require.NoError(t, err)
		require.Equal(t, 8, v)
		c.Netsim().Crash(netsim.NodeID(first))
		v, err = ray.GetTimeout(ctx, s.get.Options(ray.MaxRetries(3)).Remote(ctx, h), 30*time.Second) // a call in flight is retried
		require.NoError(t, err)
		require.Equal(t, 7, v, "restarted from its constructor")
		moved := whereIn(t, ctx, s, pg, 0)
		require.NotEqual(t, first, moved)
		require.NotEqual(t, uint64(ray.RayletID(0)), moved, "the head has 1 CPU")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), readyIn)
		require.ErrorIs(t, err, ray.ErrActorDied)
		return nil
	}))
}

// TestPlacementGroupOfARetriedTask: a task creates a group, uses it and
// dies with its node; its retry on another node creates the group again
// (the same derived ID) and finds it ready: the scheduler hands the group
// to the new run instead of ignoring its creation as a duplicate (its
// Wait hung), and the bundle the dead node held is placed again.
func TestPlacementGroupOfARetriedTask(t *testing.T) {
	s := newSuite()
	maker := ray.Register1(s.reg, "pgMaker", func(ctx context.Context, ms int) (uint64, error) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.StrictPack)
		if err != nil {
			return 0, err
		}
		if err := pg.Wait(ctx, readyIn); err != nil {
			return 0, err
		}
		where, err := ray.GetTimeout(ctx, s.where.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(0.5)).Remote(ctx), readyIn)
		if err != nil {
			return 0, err
		}
		if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return 0, err
		}
		return where, ray.RemovePlacementGroup(ctx, pg)
	})
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w1", CPUs: 2, Resources: map[string]float64{"w": 1}},
		{Name: "w2", CPUs: 2, Resources: map[string]float64{"w": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	w1 := ray.RayletID(1)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		ref := maker.Options(ray.Resource("w", 1), ray.CPUs(0), ray.NodeAffinity(w1, true)).Remote(ctx, 2000)
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(w1))
		where, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		require.NotEqual(t, uint64(w1), where, "the retry's group is not on the dead node")
		return nil
	}))
	for _, g := range c.Global().Groups() {
		require.True(t, g.Removed, "the retry removed its group")
	}
}

// TestPlacementGroupEndsWithItsDriversNode: a group a driver created is
// removed when the driver's node dies, as Ray removes a driver's groups
// when it ends: its reserved resources go back to the others.
func TestPlacementGroupEndsWithItsDriversNode(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "n1", CPUs: 1}, {Name: "n2", CPUs: 2, Resources: map[string]float64{"special": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := ray.RayletID(1)
	require.NoError(t, c.Go(1, func(ctx context.Context) error {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		return ray.Compute(ctx, time.Hour) // until its node dies
	}))
	c.Netsim().At(time.Second, func() { c.Netsim().Crash(netsim.NodeID(n1)) })
	requireDriverNodeDied(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
		special := s.where.Options(ray.Resource("special", 1)).Remote(ctx)
		_, err := ray.GetTimeout(ctx, special, 200*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout, "the group holds the only special")
		where, err := ray.GetTimeout(ctx, special, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(2)), where)
		return nil
	}))
	groups := c.Global().Groups()
	require.Len(t, groups, 1)
	require.True(t, groups[0].Removed)
}

// TestDetachedPlacementGroupOutlivesItsDriversNode: a detached group (Ray's
// lifetime="detached") is not removed when its driver's node dies: it
// keeps its resources, another driver finds it by name, runs a task in it
// and removes it. (The drivers share a namespace: group names are per
// namespace, as Ray's.)
func TestDetachedPlacementGroupOutlivesItsDriversNode(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "n1", CPUs: 1}, {Name: "n2", CPUs: 2, Resources: map[string]float64{"special": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, Namespace: "keepers"}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := ray.RayletID(1)
	require.NoError(t, c.Go(1, func(ctx context.Context) error {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack,
			ray.GroupName("keep"), ray.GroupDetached())
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn))
		return ray.Compute(ctx, time.Hour) // until its node dies
	}))
	c.Netsim().At(time.Second, func() { c.Netsim().Crash(netsim.NodeID(n1)) })
	requireDriverNodeDied(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // the death is known by now
		special := s.where.Options(ray.Resource("special", 1)).Remote(ctx)
		_, err := ray.GetTimeout(ctx, special, 2*time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout, "the detached group still holds the only special")
		pg, err := ray.GetPlacementGroup(ctx, "keep")
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, readyIn), "ready (its node is alive)")
		where, err := ray.GetTimeout(ctx, s.where.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(0.5)).Remote(ctx), readyIn)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(2)), where)
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		where, err = ray.GetTimeout(ctx, special, readyIn)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(2)), where)
		return nil
	}))
	groups := c.Global().Groups()
	require.Len(t, groups, 1)
	require.True(t, groups[0].Detached)
	require.True(t, groups[0].Removed, "removed by the other driver")
}

// TestPlacementGroupShortWaitsLeaveNoWaiters: a loop of short Waits on a
// pending group does not pile up waiters on the node (each ended one is
// dropped at the next registration).
func TestPlacementGroupShortWaitsLeaveNoWaiters(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}, {CPU: 1}, {CPU: 1}}, ray.StrictSpread)
		require.NoError(t, err)
		for range 50 {
			require.ErrorIs(t, pg.Wait(ctx, time.Millisecond), ray.ErrTimeout)
		}
		assert.LessOrEqual(t, c.Raylet(0).GroupWaiters(pg.ID()), 1) // netsim: this coroutine holds the loop
		return ray.RemovePlacementGroup(ctx, pg)
	}))
}
