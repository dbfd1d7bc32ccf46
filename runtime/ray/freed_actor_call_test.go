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

type slowEcho struct{}

// TestFreedRetriedActorCallRunsOnce: an actor call's run is recorded but its
// TaskDone dies with a GCS tail; the actor's node then dies, and the caller
// retries the call on the restarted actor. A free and a read of the result
// follow. The owner takes the GCS's ObjectLost (the first run's copy died
// with the node) for the end of the retry only for a plain task: for an
// actor call the retry may be running, and a rebuild ran the method a
// third time (found in review of f148fe7).
func TestFreedRetriedActorCallRunsOnce(t *testing.T) {
	delay := 1500 * time.Millisecond
	reg := ray.NewRegistry()
	runs := map[int]int{}
	cls := ray.RegisterActor0(reg, "SlowEcho", func(ctx context.Context) (*slowEcho, error) {
		return &slowEcho{}, nil
	})
	bump := ray.Method1(cls, "bump", func(ctx context.Context, _ *slowEcho, x int) (int, error) {
		runs[x]++
		if x == 7 {
			if err := ray.Compute(ctx, time.Second); err != nil {
				return 0, err
			}
		}
		return x, nil
	})
	where := ray.Method0(cls, "where", func(ctx context.Context, _ *slowEcho) (uint64, error) {
		return uint64(ray.NodeOf(ctx)), nil
	})
	cfg := ray.Config{Nodes: withW(2), GCSShards: 2, GCSReplicas: 3, Seed: 1, WireCheck: true}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		sim, l := c.Netsim(), c.Layout()
		head := ray.RayletID(0)
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		n, err := ray.GetTimeout(ctx, where.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		ref := bump.Options(ray.MaxRetries(3)).Remote(ctx, h, 7)
		j, ok := l.ShardIndex(l.ShardOfObject(ref.ObjectID()))
		require.True(t, ok)
		tail := ray.ReplicaID(j, 2)
		sim.Cut(netsim.NodeID(tail), netsim.NodeID(head))
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond)) // done on the actor, recorded
		sim.Crash(netsim.NodeID(tail))                              // with the TaskDone to the owner
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		sim.Crash(netsim.NodeID(transport.NodeID(n))) // the actor's node: the owner retries the call
		require.NoError(t, ray.Compute(ctx, delay))   // declared dead; actor restarted; the retry runs
		require.NoError(t, ray.Free(ctx, ref))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		v, err := ray.GetTimeout(ctx, ref, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, v)
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		return nil
	}))
	require.Equal(t, 2, runs[7], "runs of the call: once before the crash, once on the restarted actor")
}
