package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTCPBlobMovesItsDeclaredBytes: a Blob stands for its declared size
// (Bytes), which netsim charges on the wire; over real TCP the same
// transfer must move that many bytes, not the dozen that encode the Blob
// (qa29 #20: map-reduce at 1 KiB and 64 MiB partitions took the same
// time on TCP). A task on node a returns a Blob of a few MiB (not a whole
// number of chunks); the driver on the head, which has no CPUs, reads it,
// so the object is pulled from a: a's transport writes, and the head's
// reads, at least the Blob's size.
func TestTCPBlobMovesItsDeclaredBytes(t *testing.T) {
	const n = 5<<20 + 12345
	reg := ray.NewRegistry()
	blob := ray.Register1(reg, "blob", func(ctx context.Context, size int64) (ray.Blob, error) {
		return ray.Blob{Bytes: size, Sum: 7}, nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1,
		Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "a", CPUs: 1}}}, reg)
	require.NoError(t, err)
	defer c.Close()
	head, a := ray.RayletID(0), ray.RayletID(1)
	out0, in0 := c.Stats(a).BytesOut, c.Stats(head).BytesIn
	require.NoError(t, c.Run(func(ctx context.Context) error {
		b, err := ray.GetTimeout(ctx, blob.Remote(ctx, int64(n)), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, ray.Blob{Bytes: n, Sum: 7}, b)
		return nil
	}))
	// The reader counts a frame once it has read its payload, before the
	// Get can return; the writer counts its write after the call returns,
	// which may be a moment later.
	in := c.Stats(head).BytesIn - in0
	require.Eventually(t, func() bool { return c.Stats(a).BytesOut-out0 >= n }, 10*time.Second, time.Millisecond,
		"node a's writes: %d bytes for a Blob of %d", c.Stats(a).BytesOut-out0, n)
	t.Logf("node a wrote %d bytes, the head read %d, for a Blob of %d", c.Stats(a).BytesOut-out0, in, n)
	require.GreaterOrEqual(t, in, uint64(n), "the head's reads")
	require.Less(t, in, uint64(2*n), "the Blob crossed once")
}
