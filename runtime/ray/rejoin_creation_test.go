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

// TestOneInstanceWhenLocalCreatorRejoinsBeforeCreationDone: the driver's
// node creates an actor on itself; the actor's shard (not the node table's)
// records it alive but is slow to send the TaskDone back; the node is then
// paused past the node timeout, so the shard restarts the actor elsewhere.
// The node resumes, learns it was declared dead and rejoins before the
// TaskDone arrives: it must not retry the creation itself (the shard
// already restarted it), or two instances live.
func TestOneInstanceWhenLocalCreatorRejoinsBeforeCreationDone(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(1)
	nodes[0].Resources = map[string]float64{"w": 1}
	var c *ray.Sim
	var id transport.ActorID
	created := map[transport.NodeID]int{}
	paused := false
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated && ev.Task == id {
			created[ev.Node]++
			if !paused && ev.Node == ray.RayletID(0) {
				paused = true
				shard := netsim.NodeID(c.Layout().ShardOfTask(id))
				head := netsim.NodeID(ray.RayletID(0))
				c.Netsim().Degrade(shard, head, 3*time.Second, 0)
				c.Netsim().After(time.Millisecond, func() { c.Netsim().Pause(head, 1500*time.Millisecond) })
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, GCSShards: 2, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for {
			h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3), ray.NodeAffinity(ray.RayletID(0), true), ray.Detached()).New(ctx) // outlives its creator's death
			if c.Layout().ShardOfTask(h.ID()) != ray.ShardID(0) {
				id = h.ID()
				require.NoError(t, ray.Compute(ctx, 6*time.Second))
				v, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 7), 10*time.Second)
				require.NoError(t, err)
				require.Equal(t, 7, v)
				return nil
			}
			require.NoError(t, ray.Kill(ctx, h))
		}
	}))
	hosts := 0
	for i := range c.Nodes() {
		for _, a := range c.Raylet(i).HostedActors() {
			if a.Actor == id {
				hosts++
			}
		}
	}
	t.Logf("created per node: %v", created)
	require.Equal(t, 1, hosts, "live instances of one actor (created per node: %v)", created)
}

// TestQueuedCreationDroppedAtRejoin: an actor's creation waits on x1 for
// its argument when x1 is cut off from the GCS; x1 is declared dead, and
// the creator, told by the actor table the actor was never seen alive,
// retries the creation. x1 kept the queued creation as it rejoined and
// ran it under its new incarnation, beside the retry: two instances of one
// actor. In the fault search's case (stale-creation-run-at-rejoin)
// the retry came to the same node, replaced the first instance there
// unseen, and a call that instance had run was replayed by the second with
// its result dropped: its caller waited for good. A rejoining node now
// drops other owners' queued creations, as it drops their tasks.
func TestQueuedCreationDroppedAtRejoin(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, 0)
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1, x2 := ray.RayletID(1), ray.RayletID(2)
		sim := c.Netsim()
		a := s.slow.Options(ray.NodeAffinity(x2, false), ray.Resource("x", 1)).Remote(ctx, 3000)
		h := slow.Options(ray.NodeAffinity(x1, false), ray.MaxRestarts(1)).New(ctx, a)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the creation waits on x1 for a
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // x1 is declared dead; a is done
		require.NoError(t, healAndRejoin(ctx, c, 1))
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 20*time.Second)
		require.NoError(t, err)
		require.Equal(t, 3000, v)
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		require.Equal(t, 1, *made, "constructor runs: the rejoined node ran its stale queued creation beside the creator's retry")
		return nil
	})
}
