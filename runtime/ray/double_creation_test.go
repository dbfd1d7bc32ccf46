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

// TestOneInstanceWhenDeathOvertakesCreationDone: the actor's shard (not the
// node table's) is slow to tell the creator that its actor is up; the
// actor's node dies right after the shard recorded it alive, and the node
// table's NodeDead reaches the creator before that TaskDone. Only one
// instance of the actor may live afterwards.
//
// Known failure (found in review, present before 18d5791): the creator,
// still owning the creation, retries it on the NodeDead while the shard
// restarts the actor too, and two instances live (created per node:
// map[2:2 3:1]). Remove the Skip to reproduce.
func TestOneInstanceWhenDeathOvertakesCreationDone(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(3)
	var c *ray.Sim
	var id transport.ActorID
	created := map[transport.NodeID]int{}
	crashed := false
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated && ev.Task == id {
			created[ev.Node]++
			if !crashed {
				crashed = true
				n := netsim.NodeID(ev.Node)
				c.Netsim().After(time.Millisecond, func() { c.Netsim().Crash(n) })
				c.Netsim().After(2*time.Millisecond, func() { c.Netsim().Restart(n) })
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, GCSShards: 2, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		// Find an actor on shard 1 (the node table is shard 0).
		for {
			h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3)).New(ctx)
			if c.Layout().ShardOfTask(h.ID()) != ray.ShardID(0) {
				id = h.ID()
				c.Netsim().Degrade(netsim.NodeID(c.Layout().ShardOfTask(id)), netsim.NodeID(ray.RayletID(0)), 50*time.Millisecond, 0)
				require.NoError(t, ray.Compute(ctx, 3*time.Second))
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
	require.Equal(t, 1, hosts, "live instances of one actor (created per node: %v)", created)
}
