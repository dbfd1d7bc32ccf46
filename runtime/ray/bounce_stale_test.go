package ray_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestBounceNotStuckOnStaleNameShardNews: a named actor on node w, its
// caller subscribed to both the actor's shard and its name shard (which
// reports restarts 0), the name shard's link to the caller 10ms slow. The
// actor is killed twice and restarted on w each time. The name shard's
// late "alive" of the first restart reaches the caller after the actor
// shard's "restarting" of the second, so the calls waiting go to w before
// the second restart is up there, and bounce. The caller must then take
// the actor shard's "alive" of the second restart (restarts 2) as newer
// than the instance that bounced them: it took the route's restart count
// from the "restarting" (2), ignored every "alive" of restart 2 as older
// than the bounce, and the calls waited forever.
func TestBounceNotStuckOnStaleNameShardNews(t *testing.T) {
	reg, cls, echo := echoActors()
	nodes := withW(1)
	bounced := 0
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvTaskRetried && strings.Contains(ev.Detail, "is not on node") {
			bounced++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 5, GCSShards: 2, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	const name = "echo-a"
	nameShard := c.Layout().ShardOfName(name)
	ns := c.Netsim()
	ns.Degrade(netsim.NodeID(nameShard), netsim.NodeID(ray.RayletID(0)), 10*time.Millisecond, 0)
	ns.Degrade(netsim.NodeID(ray.SchedulerID), netsim.NodeID(ray.RayletID(1)), 20*time.Millisecond, 0) // restarts take 20ms
	var id transport.ActorID
	ns.At(99500*time.Microsecond, func() { c.Raylet(1).Kill(id, "kill 1") })  // restart 1 up on w at ~120ms
	ns.At(125500*time.Microsecond, func() { c.Raylet(1).Kill(id, "kill 2") }) // restart 2 up on w at ~146ms
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(5), ray.ActorName(name)).New(ctx)
		id = h.ID()
		require.NotEqual(t, nameShard, c.Layout().ShardOfTask(id), "the name shard must differ from the actor's")
		_, err := ray.Get(ctx, echo.Remote(ctx, h, -1))
		require.NoError(t, err)
		_, err = ray.GetActor(ctx, cls, name) // subscribes to the name shard too
		require.NoError(t, err)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond-ray.Now(ctx).Sub(netsim.DefaultEpoch)))
		var refs []ray.Ref[int]
		for i := range 100 { // one call every ms from 100ms to 200ms
			refs = append(refs, echo.Options(ray.MaxRetries(3)).Remote(ctx, h, i))
			require.NoError(t, ray.Compute(ctx, time.Millisecond))
		}
		for i, ref := range refs {
			v, err := ray.GetTimeout(ctx, ref, 10*time.Second)
			require.NoError(t, err, "call %d (bounced calls: %d)", i, bounced)
			require.Equal(t, i, v)
		}
		return nil
	}))
	require.Positive(t, bounced, "no call was bounced: the test no longer sends calls on stale news")
}
