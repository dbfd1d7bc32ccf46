package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestRestartWatchedAfterOwnerRetriedCreation: the creator retried its
// actor's creation once (attempt 1: the first node died before the actor
// came up). Attempt 1 comes up and its worker is killed at once; the GCS's
// first restart is placed on a node that crashes before the actor is up
// there, and the scheduler's TaskPlaced for that restart reaches the
// creator before the GCS's TaskDone for attempt 1 (the GCS's news is 50ms
// late). The creator must watch the restart and report it lost once that
// node is declared dead. The GCS numbered its restarts 1, 2... like the
// creator's own attempts, so the creator took restart 1 for news of its
// attempt 1, the TaskDone then ended its ownership, nobody watched the
// restart, and the actor stayed "restarting" forever.
func TestRestartWatchedAfterOwnerRetriedCreation(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(3)
	var c *ray.Sim
	var id transport.ActorID
	killed := false
	var restartOn netsim.NodeID
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated && ev.Task == id && !killed {
			killed = true // attempt 1 is up: kill its worker once the GCS has it alive
			n := int(ev.Node) - 1
			c.Netsim().After(time.Millisecond, func() { c.Raylet(n).Kill(id, "test kill") })
		}
	}
	onNet := func(ev *netsim.Event) {
		if ev.Kind != netsim.EvDeliver || !killed || restartOn != 0 {
			return
		}
		if f, ok := ev.Payload.(interface{ Message() transport.Message }); ok {
			if p, ok := f.Message().(*transport.PlaceTask); ok && p.Spec.ID == id {
				restartOn = ev.To // the GCS's first restart: crash its node before the actor is up
				c.Netsim().Crash(ev.To)
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, WireCheck: true, OnEvent: onEvent, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	w1 := ray.RayletID(1)
	c.Netsim().Degrade(netsim.NodeID(ray.ShardID(0)), netsim.NodeID(ray.RayletID(0)), 50*time.Millisecond, 0)
	c.Netsim().At(20*time.Millisecond, func() { c.Netsim().Crash(netsim.NodeID(w1)) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		// Placed on w1 (which crashes at 20ms) with a 50ms constructor.
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3), ray.Duration(50*time.Millisecond), ray.NodeAffinity(w1, true)).New(ctx)
		id = h.ID()
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		v, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 7), 10*time.Second)
		require.NoError(t, err, "the GCS's first restart was placed on node %d", restartOn)
		require.Equal(t, 7, v)
		return nil
	}))
	require.NotZero(t, restartOn, "the test no longer crashes the restart's node")
}

// TestLateOwnPlacementIsNotARestart: the creator retried its actor's
// creation once (attempt 1), and the scheduler's TaskPlaced for attempt 1
// reaches it only after the actor is up (the GCS's TaskDone came first).
// When the actor's node later dies, the GCS restarts the actor once: the
// creator must not report that late placement as a restart lost with the
// node (when the GCS numbered its restarts like the creator's attempts,
// the creator watched it as restart 1 and its report matched the GCS's
// own restart 1, which the GCS then took for lost and placed again: two
// restarts, and two creation tasks, for one death).
func TestLateOwnPlacementIsNotARestart(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(4)
	var c *ray.Sim
	var id transport.ActorID
	created := map[transport.NodeID]int{}
	restarts := 0
	var firstUp transport.NodeID
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorRestarted && ev.Task == id {
			restarts++
		}
		if ev.Kind == transport.EvActorCreated && ev.Task == id {
			created[ev.Node]++
			if firstUp == 0 {
				firstUp = ev.Node // attempt 1: its node dies a second later
				n := netsim.NodeID(ev.Node)
				c.Netsim().After(time.Second, func() { c.Netsim().Crash(n) })
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	w1 := ray.RayletID(1)
	ns := c.Netsim()
	ns.At(20*time.Millisecond, func() { ns.Crash(netsim.NodeID(w1)) })
	// Attempt 1's placement reaches the creator 200ms late.
	ns.At(time.Second, func() {
		ns.Degrade(netsim.NodeID(ray.SchedulerID), netsim.NodeID(ray.RayletID(0)), 200*time.Millisecond, 0)
	})
	ns.At(1500*time.Millisecond, func() { ns.Restore(netsim.NodeID(ray.SchedulerID), netsim.NodeID(ray.RayletID(0))) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3), ray.Duration(50*time.Millisecond), ray.NodeAffinity(w1, true)).New(ctx)
		id = h.ID()
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		v, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 7), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, v)
		return nil
	}))
	require.NotZero(t, firstUp)
	require.Equal(t, 1, restarts, "restarts of the actor after one death of its node")
	hosts := 0
	for i := range c.Nodes() {
		if r := c.Raylet(i); r != nil { // nil: crashed
			for _, a := range r.HostedActors() {
				if a.Actor == id {
					hosts++
				}
			}
		}
	}
	require.Equal(t, 1, hosts, "live instances of one actor (created per node: %v)", created)
}

// TestRestartOnSameNodeWatchedPastLateTaskDone: an actor on w (the only
// node with resource w) has its worker killed as soon as it is up, so the
// GCS's restart is placed on w again; the GCS's TaskDone for the first
// instance reaches the creator 50ms late, after the restart's placement.
// w then crashes before the restart is up and comes back later. The
// creator must still be watching the restart when w's death is announced,
// so that the GCS places it again: TaskDone named only a node, and the
// first instance's, from w, ended the watch of the restart on w; the
// actor stayed "restarting" forever.
func TestRestartOnSameNodeWatchedPastLateTaskDone(t *testing.T) {
	reg, cls, echo := echoActors()
	var c *ray.Sim
	var id transport.ActorID
	killed := false
	w := netsim.NodeID(ray.RayletID(1))
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated && ev.Task == id && !killed {
			killed = true
			c.Netsim().After(time.Millisecond, func() { c.Raylet(1).Kill(id, "test kill") })
			// The restart's constructor takes 50ms: crash w before it is up.
			c.Netsim().After(20*time.Millisecond, func() { c.Netsim().Crash(w) })
			c.Netsim().After(1500*time.Millisecond, func() { c.Netsim().Restart(w) })
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: withW(1), Seed: 3, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	c.Netsim().Degrade(netsim.NodeID(ray.ShardID(0)), netsim.NodeID(ray.RayletID(0)), 50*time.Millisecond, 0)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3), ray.Duration(50*time.Millisecond)).New(ctx)
		id = h.ID()
		require.NoError(t, ray.Compute(ctx, 4*time.Second))
		v, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 7), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, v)
		return nil
	}))
	require.True(t, killed)
}
