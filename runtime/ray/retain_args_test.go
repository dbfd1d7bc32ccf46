package ray_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// After a task that read a large object finishes and the object is freed,
// nothing of the runtime keeps the object's bytes.
func TestFinishedTaskArgsNotRetained(t *testing.T) {
	reg := ray.NewRegistry()
	size := ray.Register1(reg, "size", func(ctx context.Context, b []byte) (int, error) { return len(b), nil })
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "one", CPUs: 1}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	var before, after runtime.MemStats
	require.NoError(t, c.Run(func(ctx context.Context) error {
		runtime.GC()
		runtime.ReadMemStats(&before)
		ref, err := ray.Put(ctx, make([]byte, 64<<20))
		require.NoError(t, err)
		n, err := ray.Get(ctx, size.Remote(ctx, ref))
		require.NoError(t, err)
		require.Equal(t, 64<<20, n)
		require.NoError(t, ray.Free(ctx, ref))
		ray.Compute(ctx, 1e9) // let the frees settle
		runtime.GC()
		runtime.ReadMemStats(&after)
		return nil
	}))
	t.Logf("heap before %d MiB, after %d MiB", before.HeapAlloc>>20, after.HeapAlloc>>20)
	require.Less(t, after.HeapAlloc, before.HeapAlloc+32<<20, "the freed 64 MiB argument is still reachable")
}
