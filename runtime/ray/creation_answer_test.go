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

// TestLateAnswerToEarlierCreationQuestion: the actor's shard is slow to
// answer its creator (2.5s one way), so the creator asks again whether it
// saw the actor alive on a node that died before the constructor finished
// (the first question). The first answer (not seen) makes it retry; the
// retry comes up on another node, which dies too, and the creator asks
// about that one. A late answer to the first question (not seen) must not
// be taken for the answer to the second (seen: the shard restarts the
// actor), or the creator retries as well and two instances live.
func TestLateAnswerToEarlierCreationQuestion(t *testing.T) {
	reg, cls, echo := echoActors()
	var c *ray.Sim
	var id transport.ActorID
	created := map[transport.NodeID]int{}
	crashedRunning, crashedCreated := false, false
	crash := func(n transport.NodeID) {
		c.Netsim().After(time.Millisecond, func() { c.Netsim().Crash(netsim.NodeID(n)) })
		c.Netsim().After(2*time.Millisecond, func() { c.Netsim().Restart(netsim.NodeID(n)) })
	}
	onEvent := func(ev *transport.Event) {
		if id == 0 || ev.Task != id {
			return
		}
		switch ev.Kind {
		case transport.EvTaskRunning:
			if !crashedRunning {
				crashedRunning = true
				crash(ev.Node) // before the constructor finishes: never seen alive
			}
		case transport.EvActorCreated:
			created[ev.Node]++
			if crashedRunning && !crashedCreated {
				crashedCreated = true
				crash(ev.Node) // the retry comes up, then its node dies
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: withW(3), Seed: 3, GCSShards: 2, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for {
			h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(3), ray.Duration(200*time.Millisecond)).New(ctx)
			if c.Layout().ShardOfTask(h.ID()) != ray.ShardID(0) {
				c.Netsim().Degrade(netsim.NodeID(c.Layout().ShardOfTask(h.ID())), netsim.NodeID(ray.RayletID(0)), 2500*time.Millisecond, 0)
				id = h.ID()
				require.NoError(t, ray.Compute(ctx, 15*time.Second))
				v, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 7), 20*time.Second)
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
