package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestEvictionWhileWaking: an object two readers wait for arrives in a
// nearly full store; the first reader, a task with a failed argument,
// finishes at once and stores its error result, which must not evict the
// object from under the second reader (a Get). It did, and the Get's
// callback dereferenced a missing entry: the node's loop panicked. The
// capacities bracket what the three objects take.
func TestEvictionWhileWaking(t *testing.T) {
	for _, capacity := range []int64{1004, 1005, 1006, 1007, 1008} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			reg := ray.NewRegistry()
			big := ray.Register1(reg, "big", func(ctx context.Context, n int) ([]byte, error) { return make([]byte, n), nil })
			fail := ray.Register1(reg, "fail", func(ctx context.Context, x int) (int, error) { return 0, fmt.Errorf("no %d", x) })
			use := ray.Register2(reg, "use", func(ctx context.Context, b []byte, x int) (int, error) { return len(b) + x, nil })
			cfg := ray.Config{Seed: 1, Nodes: []ray.NodeConfig{
				{Name: "a", CPUs: 2, ObjectStoreBytes: capacity},
				{Name: "b", CPUs: 2},
			}}
			c, err := ray.NewSim(cfg, reg)
			require.NoError(t, err)
			defer c.Close()
			onA, onB := ray.NodeAffinity(ray.RayletID(0), false), ray.NodeAffinity(ray.RayletID(1), false)
			require.NoError(t, c.Run(func(ctx context.Context) error {
				e := fail.Options(onA).Remote(ctx, 1)
				_, err := ray.Get(ctx, e)
				require.Error(t, err)
				x := big.Options(onB, ray.Duration(time.Millisecond)).Remote(ctx, 1000)
				u := use.Options(onA).Remote(ctx, x, e) // waits for x first
				require.NoError(t, ray.Compute(ctx, 100*time.Microsecond))
				b, err := ray.Get(ctx, x) // the second reader
				require.NoError(t, err)
				require.Len(t, b, 1000)
				_, err = ray.Get(ctx, u)
				require.Error(t, err, "a task with a failed argument fails")
				return nil
			}))
		})
	}
}
