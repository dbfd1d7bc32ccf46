package ray_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestHeldChunksOvertakenTCP: over loopback TCP with the smallest pad
// budget (SendPadBytes 8 MiB), the pulls of objects of 40 MiB hold most
// of their chunks in their source's send queue while the messages queued
// after them go first (tcp.Stats.Overtook): the source's own pull
// requests to the puller (a task there reads the driver's objects one by
// one), the answer to a pull of an object freed meanwhile, whatever else
// it sends the puller. Every read gets its value: the objects pulled
// whole (Blobs, and values of real bytes over several chunks, read once
// more after a free, which rebuilds them), the reads of the driver's
// objects; no Get waits for good.
func TestHeldChunksOvertakenTCP(t *testing.T) {
	s := newSuite()
	const blob = 40 << 20
	big := ray.Register1(s.reg, "heldBig", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: blob, Sum: uint64(i)}, nil
	})
	real := ray.Register1(s.reg, "heldReal", func(ctx context.Context, i int) ([]byte, error) {
		return bytes.Repeat([]byte{byte(i)}, 3<<20+5), nil
	})
	sum := ray.Register1(s.reg, "heldSum", func(ctx context.Context, b ray.Blob) (uint64, error) {
		if b.Bytes != blob {
			return 0, fmt.Errorf("a blob of %d bytes, not %d", b.Bytes, blob)
		}
		return b.Sum, nil
	})
	// fetch reads the objects one by one: a pull of each from where it
	// is, the driver's node, while that node pulls from here.
	fetch := ray.Register1(s.reg, "heldFetch", func(ctx context.Context, refs []ray.Ref[ray.Blob]) (uint64, error) {
		var n uint64
		for _, r := range refs {
			b, err := ray.GetTimeout(ctx, r, time.Minute)
			if err != nil {
				return 0, err
			}
			n += b.Sum
		}
		return n, nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1, SendPadBytes: 8 << 20,
		Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	a, b := ray.RayletID(1), ray.RayletID(2)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for round := range 3 {
			x := big.Options(ray.NodeAffinity(a, false)).Remote(ctx, round)
			y := real.Options(ray.NodeAffinity(a, false)).Remote(ctx, round)
			if _, _, err := ray.Wait(ctx, []ray.Ref[ray.Blob]{x}, 1, time.Minute); err != nil {
				return err
			}
			if _, _, err := ray.Wait(ctx, []ray.Ref[[]byte]{y}, 1, time.Minute); err != nil {
				return err
			}
			var ps []ray.Ref[ray.Blob]
			var want uint64
			for k := range 40 {
				p, err := ray.Put(ctx, ray.Blob{Bytes: 1<<20 + int64(k), Sum: uint64(k)})
				require.NoError(t, err)
				ps = append(ps, p)
				want += uint64(k)
			}
			w := fetch.Options(ray.NodeAffinity(a, false)).Remote(ctx, ps)
			onB := sum.Options(ray.NodeAffinity(b, false)).Remote(ctx, x)
			got, err := ray.GetTimeout(ctx, x, time.Minute)
			require.NoError(t, err, "round %d: the driver's read of x", round)
			assert.Equal(t, ray.Blob{Bytes: blob, Sum: uint64(round)}, got)
			v, err := ray.GetTimeout(ctx, onB, time.Minute)
			require.NoError(t, err, "round %d: b's read of x", round)
			assert.Equal(t, uint64(round), v)
			ys, err := ray.GetTimeout(ctx, y, time.Minute)
			require.NoError(t, err, "round %d: the driver's read of y", round)
			assert.Equal(t, bytes.Repeat([]byte{byte(round)}, 3<<20+5), ys)
			n, err := ray.GetTimeout(ctx, w, time.Minute)
			require.NoError(t, err, "round %d: a's reads of the driver's objects", round)
			assert.Equal(t, want, n)
			// Freed under a new pull by b, then read again: rebuilt.
			again := sum.Options(ray.NodeAffinity(b, false)).Remote(ctx, x)
			require.NoError(t, ray.Free(ctx, x))
			require.NoError(t, ray.Free(ctx, y))
			v, err = ray.GetTimeout(ctx, again, time.Minute)
			require.NoError(t, err, "round %d: b's read of x as it is freed", round)
			assert.Equal(t, uint64(round), v)
			ys, err = ray.GetTimeout(ctx, y, time.Minute)
			require.NoError(t, err, "round %d: the driver's read of y after its free", round)
			assert.Equal(t, bytes.Repeat([]byte{byte(round)}, 3<<20+5), ys)
		}
		return nil
	}))
	st := c.Stats(a)
	t.Logf("a: %d frames overtook held chunks, %d dropped", st.Overtook, st.Dropped)
	assert.Zero(t, st.Dropped)
	if st.Overtook == 0 {
		// Whether chunks are held depends on how fast the loopback drains
		// (timing; never asserted): the values above were checked anyway.
		t.Log("no message overtook a held chunk this run: the order case went untested")
	}
}
