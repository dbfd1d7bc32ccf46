package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestBurstOfLargeSpecs: a burst of submissions whose specs each fit in a
// frame but together exceed one goes to the GCS shard in batches that each
// fit. (One GcsAddTasks for the whole burst was dropped by the TCP writer as
// larger than a frame, losing the burst's lineage: a freed result could not
// be rebuilt. Found in review.)
func TestBurstOfLargeSpecs(t *testing.T) {
	reg := ray.NewRegistry()
	size := ray.Register1(reg, "size", func(ctx context.Context, b []byte) (int, error) { return len(b), nil })
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}}, Seed: 1}
	c, err := ray.NewTCP(context.Background(), cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		arg := make([]byte, 200<<10)
		var refs []ray.Ref[int]
		for i := 0; i < 200; i++ { // 40 MiB of specs
			refs = append(refs, size.Remote(ctx, arg))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		require.Equal(t, 200<<10, vs[0])
		require.Zero(t, c.Stats(ray.RayletID(0)).Dropped, "frames the raylet dropped")
		require.NoError(t, ray.Free(ctx, refs...))
		time.Sleep(200 * time.Millisecond)
		lost := 0
		for _, r := range refs {
			if _, err := ray.GetTimeout(ctx, r, 5*time.Second); err != nil {
				lost++
			}
		}
		require.Zero(t, lost, "freed results that could not be rebuilt from lineage")
		return nil
	}))
}
