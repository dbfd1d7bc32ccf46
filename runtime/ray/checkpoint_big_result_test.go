package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestCheckpointBigResultLostWithItsNode: a checkpointing actor
// (CheckpointEvery(1)) on x1 runs a call whose checkpoint reaches the
// actor table while the table's answer does not (x1 cut from the shard one
// way): the result stays held, unpublished, and x1 crashes. The actor
// restarts from the checkpoint, which covers the call; the caller's retry
// is answered from it, never run again. A small result is saved with the
// checkpoint and read by the retry; one over the checkpoint's budget
// (12 MiB: the checkpoint must fit a TCP frame, TestCheckpointBigResultTCP)
// was saved as an ErrObjectLost, which the retry reads. Either way the
// call is in the state once: the next call returns 2.
func TestCheckpointBigResultLostWithItsNode(t *testing.T) {
	for _, size := range []int{10, 12 << 20} {
		reg := ray.NewRegistry()
		cls := ray.RegisterActor0(reg, "BigCkpt", func(ctx context.Context) (*bigCkpt, error) { return &bigCkpt{}, nil })
		get := ray.Method1(cls, "get", func(ctx context.Context, c *bigCkpt, n int) ([]byte, error) {
			c.n++
			return make([]byte, n), nil
		})
		count := ray.Method0(cls, "count", func(ctx context.Context, c *bigCkpt) (int64, error) {
			c.n++
			return c.n, nil
		})
		nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "x1", CPUs: 1, Resources: map[string]float64{"x": 1}}}
		c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1}, reg)
		require.NoError(t, err)
		sim := c.Netsim()
		x1, shard := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.ShardID(0))
		var got []byte
		var gerr error
		var next int64
		require.NoError(t, c.Run(func(ctx context.Context) error {
			h := cls.Options(ray.Resource("x", 1), ray.MaxRestarts(1), ray.MaxRetries(3), ray.CheckpointEvery(1)).New(ctx)
			require.NoError(t, h.Err())
			_, err := ray.Get(ctx, count.Remote(ctx, h)) // created, and a call in: the instance is up
			require.NoError(t, err)
			sim.Cut(shard, x1) // the table's answers to x1 are lost
			ref := get.Remote(ctx, h, size)
			require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // it ran; its write is in the table
			sim.Crash(x1)
			sim.Heal()
			require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
			sim.Restart(x1)
			got, gerr = ray.GetTimeout(ctx, ref, 20*time.Second)
			next, err = ray.GetTimeout(ctx, count.Remote(ctx, h), 20*time.Second)
			return err
		}))
		c.Close()
		t.Logf("%d bytes: got %d, err %v; next %d", size, len(got), gerr, next)
		assert.Equal(t, int64(3), next, "the call is in the state once (count, get, count)")
		if size > 1<<20 {
			require.ErrorIs(t, gerr, ray.ErrObjectLost)
			assert.ErrorContains(t, gerr, "too large to save with the checkpoint")
		} else {
			require.NoError(t, gerr)
			assert.Len(t, got, size)
		}
	}
}
