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

// TestActorDroppedWhileRestoringEnds: a checkpointing actor restarts on
// w2, whose replies from the GCS are cut, so it waits for its checkpoint;
// its worker is then killed. The actor's coroutine must end (it waited
// forever: one parked coroutine leaked per such drop), and it must not be
// announced alive.
func TestActorDroppedWhileRestoringEnds(t *testing.T) {
	reg, cls, _ := echoActors()
	var id transport.ActorID
	alive := 0
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated && ev.Task == id && ev.Node == ray.RayletID(2) {
			alive++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: withW(2), Seed: 4, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	w1, w2 := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	c.Netsim().Cut(netsim.NodeID(ray.ShardID(0)), w2) // w2 never hears from the GCS
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Crash(w1) })
	var before int
	c.Netsim().At(1000*time.Millisecond, func() { before = c.Netsim().Node(w2).Coroutines() })
	c.Netsim().At(2000*time.Millisecond, func() { c.Raylet(2).Kill(id, "test kill") })
	var after int
	c.Netsim().At(2500*time.Millisecond, func() { after = c.Netsim().Node(w2).Coroutines() })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(2), ray.CheckpointEvery(1), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx)
		id = h.ID()
		return ray.Compute(ctx, 3*time.Second)
	}))
	require.Equal(t, before, after, "the dropped actor's coroutine is still there")
	require.Zero(t, alive, "an actor dropped while it restored was announced alive")
}
