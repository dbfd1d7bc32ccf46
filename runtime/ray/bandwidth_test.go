package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestNodesMeasureTheirBandwidth: a node that pulls objects of a chunk or
// more heartbeats its mean pull bandwidth, and the global scheduler's view
// has it: over 1 Gbps links (125 MB/s), 8 MiB pulls measure close to that
// (a little under: the request's round trip is in each pull). A node that
// pulled nothing reports none.
func TestNodesMeasureTheirBandwidth(t *testing.T) {
	reg := ray.NewRegistry()
	made := ray.Register1(reg, "bwMade", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: 8 << 20, Sum: uint64(i)}, nil
	})
	used := ray.Register1(reg, "bwUsed", func(ctx context.Context, b ray.Blob) (uint64, error) { return b.Sum, nil })
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "a", CPUs: 1}, {Name: "b", CPUs: 1}},
		Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 125e6}}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for i := range 4 {
			in := made.Options(ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx, i)
			v, err := ray.Get(ctx, used.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, in))
			require.NoError(t, err)
			require.Equal(t, uint64(i), v)
		}
		return ray.Compute(ctx, 300*time.Millisecond) // heartbeats go out
	}))
	loads := c.Global().Loads()
	require.Len(t, loads, 2)
	require.Zero(t, loads[0].MeanBandwidth, "node a pulled nothing")
	bw := float64(loads[1].MeanBandwidth)
	require.InDelta(t, 125e6, bw, 125e6*0.05, "node b's mean pull bandwidth: %.0f B/s", bw)
}
