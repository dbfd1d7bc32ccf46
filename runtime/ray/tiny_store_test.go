package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTooLargeErrorTooLargeForStore: on a store so small that even the
// "object too large" error value does not fit, storing a result fails
// twice. The raylet must not crash on it (putNotify handed wake the nil
// entry PutAt returns with an error); the driver, which never reads the
// result, finishes.
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
		big.Remote(ctx)
		return ray.Compute(ctx, 50*time.Millisecond)
	}))
}
