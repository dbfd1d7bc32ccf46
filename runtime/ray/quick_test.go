package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

func TestQuickSim(t *testing.T) {
	reg := ray.NewRegistry()
	double := ray.Register1(reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		var refs []ray.Ref[int]
		for i := 0; i < 100; i++ {
			refs = append(refs, double.Remote(ctx, i))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		for i, v := range vs {
			require.Equal(t, 2*i, v)
		}
		return nil
	})
	require.NoError(t, err)
	t.Logf("virtual %v, stats %+v", c.Netsim().Now(), c.Netsim().Stats())
}
