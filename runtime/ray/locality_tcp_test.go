package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTCPLocalityAwareReplicatedGCS: a locality-aware cluster on
// loopback TCP with a 3-replica GCS chain: a driver node without CPUs
// submits producers of 8 MiB inputs and, at once, their consumers (each
// spill waits for its input to exist), and an actor method and a task
// given a failed task's ref fail with its error. Run under -race.
func TestTCPLocalityAwareReplicatedGCS(t *testing.T) {
	s := newSuite()
	run := bigObjects(s)
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1, Policy: "locality-aware", GCSReplicas: 3,
		Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		run(t, ctx)
		h := s.counter.New(ctx, 0)
		_, err = ray.GetTimeout(ctx, s.double.Remote(ctx, s.fail.Remote(ctx, 3)), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		require.Contains(t, err.Error(), "bad input 3")
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, s.fail.Remote(ctx, 4)), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		require.Contains(t, err.Error(), "bad input 4")
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 2), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 2, v)
		return nil
	}))
	for i := range 3 {
		t.Logf("raylet %d: %+v", i, c.Stats(ray.RayletID(i)))
	}
}
