package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestThousandNestedTasksOnOneCPU: a task blocked in Get gives its CPU back,
// so a chain of 1,000 nested tasks, each waiting for its child, completes on
// a node with a single CPU instead of deadlocking (as in Ray).
func TestThousandNestedTasksOnOneCPU(t *testing.T) {
	reg := ray.NewRegistry()
	var depth *ray.Func[int]
	depth = ray.Register1(reg, "depth", func(ctx context.Context, n int) (int, error) {
		if n == 0 {
			return 0, nil
		}
		v, err := ray.Get(ctx, depth.Remote(ctx, n-1))
		return v + 1, err
	})
	for _, transport := range []string{"sim", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "one", CPUs: 1}}, Seed: 1}
			driver := func(ctx context.Context) error {
				v, err := ray.Get(ctx, depth.Remote(ctx, 1000))
				require.NoError(t, err)
				require.Equal(t, 1000, v)
				return nil
			}
			if transport == "sim" {
				c, err := ray.NewSim(cfg, reg)
				require.NoError(t, err)
				defer c.Close()
				require.NoError(t, c.Run(driver))
				return
			}
			c, err := ray.NewTCP(context.Background(), cfg, reg)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Run(driver))
		})
	}
}

// TestObjectLargerThanStore: a result larger than the whole object store is
// a clear error on its ref, not a hang or a crash.
func TestObjectLargerThanStore(t *testing.T) {
	reg := ray.NewRegistry()
	big := ray.Register0(reg, "big", func(ctx context.Context) (ray.Blob, error) {
		return ray.Blob{Bytes: 2 << 20, Sum: 1}, nil
	})
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "small", CPUs: 1, ObjectStoreBytes: 1 << 20}}, Seed: 1}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.Get(ctx, big.Remote(ctx))
		require.ErrorIs(t, err, ray.ErrObjectTooLarge)
		require.Contains(t, err.Error(), "larger than the store")
		return nil
	}))
}
