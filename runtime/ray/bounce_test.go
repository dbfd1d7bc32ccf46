package ray_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestCallToRestartedNodeIsRetried: calls sent to an actor's node after it
// crashed and came back, but before the caller heard of it, reach the
// node's next incarnation, which hosts no such actor. They are bounced to
// the caller and retried on the restarted actor, as calls lost in flight
// to the dead incarnation are, instead of failing with ActorDied (seen on a
// live TCP cluster in TestDeployQuickstart).
func TestCallToRestartedNodeIsRetried(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(1)
	bounced := 0
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvTaskRetried && strings.Contains(ev.Detail, "is not on node") {
			bounced++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 5, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	w := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Crash(w) })
	c.Netsim().At(100*time.Millisecond+100*time.Microsecond, func() { c.Netsim().Restart(w) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		_, err := ray.Get(ctx, echo.Remote(ctx, h, -1))
		require.NoError(t, err)
		require.NoError(t, ray.Compute(ctx, 99*time.Millisecond-ray.Now(ctx).Sub(netsim.DefaultEpoch)))
		var refs []ray.Ref[int]
		for i := range 400 { // one call every 50µs across the crash and restart
			refs = append(refs, echo.Options(ray.MaxRetries(1)).Remote(ctx, h, i))
			require.NoError(t, ray.Compute(ctx, 50*time.Microsecond))
		}
		for i, ref := range refs {
			v, err := ray.Get(ctx, ref)
			require.NoError(t, err, "call %d", i)
			require.Equal(t, i, v)
		}
		return nil
	}))
	require.Positive(t, bounced, "no call was bounced: the test no longer crosses the restart")
}

// echoActors registers an actor class Echo (a durableCounter) whose method
// echo returns its argument: the actor the fault tests below call.
func echoActors() (*ray.Registry, *ray.ActorClass[durableCounter], *ray.ActorMethod[durableCounter, int]) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Echo", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	echo := ray.Method1(cls, "echo", func(ctx context.Context, c *durableCounter, i int) (int, error) {
		return i, nil
	})
	return reg, cls, echo
}

// withW is a head node and n nodes with one unit of resource "w" each
// (named w, or w1..wn when n > 1), where tests pin their actors.
func withW(n int) []ray.NodeConfig {
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}}
	for i := 1; i <= n; i++ {
		name := "w"
		if n > 1 {
			name = fmt.Sprintf("w%d", i)
		}
		nodes = append(nodes, ray.NodeConfig{Name: name, CPUs: 1, Resources: map[string]float64{"w": 1}})
	}
	return nodes
}
