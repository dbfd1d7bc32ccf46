package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTooLargeErrorTooLargeForStore: on a store so small that even the
// "object too large" error value is larger, the error is admitted all the
// same (over capacity), so a reader gets ErrObjectTooLarge. Before, the
// raylet crashed (putNotify handed wake the nil entry of a failed put),
// and before that the reader waited forever.
func TestTooLargeErrorTooLargeForStore(t *testing.T) {
	reg := ray.NewRegistry()
	big := ray.Register0(reg, "big", func(ctx context.Context) (ray.Blob, error) {
		return ray.Blob{Bytes: 1 << 10, Sum: 1}, nil
	})
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "tiny", CPUs: 1, ObjectStoreBytes: 16}}, Seed: 1}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		big.Remote(ctx) // not read: nothing waits
		_, err := ray.GetTimeout(ctx, big.Remote(ctx), time.Second)
		require.ErrorIs(t, err, ray.ErrObjectTooLarge)
		return nil
	}))
}

// TestPutLargerThanStoreRefused: as Ray's put, a Put of a value larger
// than the whole store fails at once with ErrObjectTooLarge and makes no
// ref (before, Put returned a ref and no error, and only its Get failed);
// a value that fits is put as ever.
func TestPutLargerThanStoreRefused(t *testing.T) {
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "small", CPUs: 1, ObjectStoreBytes: 1 << 20}}, Seed: 1}
	c, err := ray.NewSim(cfg, ray.NewRegistry())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.Put(ctx, make([]byte, 2<<20))
		require.ErrorIs(t, err, ray.ErrObjectTooLarge)
		ref, err := ray.Put(ctx, make([]byte, 1<<10))
		require.NoError(t, err)
		b, err := ray.Get(ctx, ref)
		require.NoError(t, err)
		require.Len(t, b, 1<<10)
		return nil
	}))
}
