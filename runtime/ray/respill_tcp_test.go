package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTCPQueuedTasksRespill: on loopback TCP, a burst the head keeps (a
// spill threshold above it) queues behind its one CPU while a 4-CPU node
// idles; the head's raylet re-spills queued tasks there once the
// scheduler's answer to its heartbeat shows the room (ClusterRoom,
// RespillTask over the wire). Every result is right. Run under -race.
func TestTCPQueuedTasksRespill(t *testing.T) {
	reg := ray.NewRegistry()
	where := ray.Register1(reg, "respill.tcp", func(ctx context.Context, i int) (uint64, error) {
		if err := ray.Compute(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
		return uint64(ray.NodeOf(ctx))*1000 + uint64(i), nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1, SpillThreshold: 1000,
		Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w", CPUs: 4}}}, reg)
	require.NoError(t, err)
	defer c.Close()
	const n = 24
	ran := map[uint64]int{}
	require.NoError(t, c.Run(func(ctx context.Context) error {
		refs := make([]ray.Ref[uint64], n)
		for i := range refs {
			refs[i] = where.Remote(ctx, i)
		}
		got, err := ray.GetAll(ctx, refs, time.Minute)
		if err != nil {
			return err
		}
		for i, v := range got {
			assert.Equal(t, uint64(i), v%1000, "result %d", i)
			ran[v/1000]++
		}
		return nil
	}))
	assert.Positive(t, ran[uint64(ray.RayletID(1))], "the idle node took queued tasks: %v", ran)
}
