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

// TestRejoinOneActorInstance: an actor's creation is placed on n1, and n1
// is paused past the node timeout; the owner retries the creation on
// another node (a slow constructor); n1 resumes, rejoins and drops the
// actor while the GCS still has it pending. Exactly one instance must live
// (a rejoin used to report the dropped actor to the GCS, which restarted
// it a second time). Found in review.
func TestRejoinOneActorInstance(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "C", func(ctx context.Context) (*durableCounter, error) { return &durableCounter{}, nil })
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *durableCounter) (int64, error) { c.n++; return c.n, nil })
	nodes := []ray.NodeConfig{
		{Name: "head", CPUs: 1},
		{Name: "w1", CPUs: 1, Resources: map[string]float64{"w": 1}},
		{Name: "w2", CPUs: 1, Resources: map[string]float64{"w": 1}},
		{Name: "w3", CPUs: 1, Resources: map[string]float64{"w": 1}},
	}
	var c *ray.Sim
	var err error
	created := map[transport.NodeID]int{}
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated {
			created[ev.Node]++
		}
	}
	c, err = ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := ray.RayletID(1)
	c.Netsim().At(50*time.Millisecond, func() { c.Netsim().Pause(netsim.NodeID(n1), 1500*time.Millisecond) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(2), ray.Duration(time.Second), ray.NodeAffinity(n1, true)).New(ctx)
		require.NoError(t, ray.Compute(ctx, 5*time.Second))
		v, err := ray.Get(ctx, incr.Remote(ctx, h))
		require.NoError(t, err)
		require.Positive(t, v)
		return nil
	}))
	hosts := 0
	for i := range c.Nodes() {
		hosts += len(c.Raylet(i).HostedActors())
	}
	require.Equal(t, 1, hosts, "live instances of one actor (created per node: %v)", created)
}

// TestRestartAfterRejoinRegisters: a node paused past the node timeout
// rejoins under a new incarnation; later it crashes and restarts. The
// restart's incarnation must be above the rejoin's, or the GCS takes its
// registration for a stale one and the node never comes back: a rejoin
// added 1<<32 to its incarnation while a restart took netsim's next (2),
// and a task only that node could run waited forever. Found in review.
func TestRestartAfterRejoinRegisters(t *testing.T) {
	reg := ray.NewRegistry()
	f := ray.Register1(reg, "f", func(ctx context.Context, i int) (int, error) { return i + 1, nil })
	rejoined := false
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvNodeAlive && ev.Detail == "rejoined after being declared dead" {
			rejoined = true
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(50*time.Millisecond, func() { c.Netsim().Pause(n1, 1500*time.Millisecond) })
	c.Netsim().At(3*time.Second, func() { c.Netsim().Crash(n1) })
	c.Netsim().At(3100*time.Millisecond, func() { c.Netsim().Restart(n1) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 6*time.Second))
		v, err := ray.GetTimeout(ctx, f.Options(ray.Resource("w", 1)).Remote(ctx, 1), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 2, v)
		return nil
	}))
	require.True(t, rejoined, "the node did not rejoin: the test no longer covers a restart after a rejoin")
}
