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
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Echo", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	echo := ray.Method1(cls, "echo", func(ctx context.Context, c *durableCounter, i int) (int, error) {
		return i, nil
	})
	nodes := []ray.NodeConfig{
		{Name: "head", CPUs: 1},
		{Name: "w1", CPUs: 1, Resources: map[string]float64{"w": 1}},
		{Name: "w2", CPUs: 1, Resources: map[string]float64{"w": 1}},
		{Name: "w3", CPUs: 1, Resources: map[string]float64{"w": 1}},
	}
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
