package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// slowPullCluster is two nodes over a link of bw bytes/s: objects are made
// on a and read on b.
func slowPullCluster(t *testing.T, bw float64, size int64, n int) (c *ray.Sim, run func(ctx context.Context) error) {
	t.Helper()
	reg := ray.NewRegistry()
	made := ray.Register1(reg, "slowMade", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: size, Sum: uint64(i)}, nil
	})
	used := ray.Register1(reg, "slowUsed", func(ctx context.Context, b ray.Blob) (uint64, error) {
		if b.Bytes != size {
			return 0, nil
		}
		return b.Sum, nil
	})
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "a", CPUs: 8}, {Name: "b", CPUs: 8}},
		Link: netsim.Link{Latency: netsim.Constant(time.Millisecond), Bandwidth: bw}}, reg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, func(ctx context.Context) error {
		var ins []ray.Ref[ray.Blob]
		for i := range n {
			ins = append(ins, made.Options(ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx, i+1))
		}
		// Every object exists on a before b asks for any.
		if _, err := ray.GetAll(ctx, ins, -1); err != nil {
			return err
		}
		var outs []ray.Ref[uint64]
		for _, in := range ins {
			outs = append(outs, used.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, in))
		}
		vs, err := ray.GetAll(ctx, outs, 10*time.Minute)
		if err != nil {
			return err
		}
		for i, v := range vs {
			require.Equal(t, uint64(i+1), v, "object %d read whole", i)
		}
		return nil
	}
}

// TestPullOverSlowLinkCompletes: over a link where one chunk takes longer
// than a pull's no-progress timeout (1 MiB at 400 KB/s: 2.6 s), a pull
// still finishes, without sending the object many times over.
func TestPullOverSlowLinkCompletes(t *testing.T) {
	const size = 8 << 20
	c, run := slowPullCluster(t, 400e3, size, 1)
	require.NoError(t, c.Run(run))
	out := c.Raylet(0).Stats.BytesOut
	t.Logf("a sent %d bytes, b started %d pulls", out, c.Raylet(1).Stats.PullsStarted)
	require.LessOrEqual(t, out, int64(size)*3/2, "bytes a sent for one %d-byte object", size)
}

// TestQueuedPullsAreNotResentWhole: pulls queued behind one another on one
// link wait their turn; one that has had no chunk yet is not asked for
// again whole, which would queue more behind it (and behind the others).
func TestQueuedPullsAreNotResentWhole(t *testing.T) {
	const size, n = 4 << 20, 8
	c, run := slowPullCluster(t, 10e6, size, n) // 32 MiB over 10 MB/s: 3.4 s
	require.NoError(t, c.Run(run))
	out := c.Raylet(0).Stats.BytesOut
	t.Logf("a sent %d bytes, b started %d pulls", out, c.Raylet(1).Stats.PullsStarted)
	require.LessOrEqual(t, out, int64(size*n)*3/2, "bytes a sent for %d objects of %d bytes", n, size)
}
