package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// bundleGPUCases: an actor in a placement group's bundle holds the GPUs
// it asks for out of the bundle's devices, and a task beside it in the
// bundle gets its own share (the gpu node's one device here, in halves).
var bundleGPUCases = []semanticCase{
	{"GPUIDs in a placement group's bundle: an actor and a task share its device", func(t *testing.T, ctx context.Context, s *suite) {
		f := s.gpuIDs
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, GPU: 1}}, ray.Pack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, 30*time.Second))
		h := f.holder.Options(ray.GPUs(0.5), ray.CPUs(0), ray.InPlacementGroup(pg, 0)).New(ctx)
		m, err := ray.GetTimeout(ctx, f.mine.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, [][]int{{0}, {0}}, m, "an actor's constructor and method see its share of the bundle's device")
		v, err := ray.GetTimeout(ctx, f.ids.Options(ray.GPUs(0.5), ray.InPlacementGroup(pg, 0)).Remote(ctx, 0), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0}, v, "a task beside it takes the other half")
		require.NoError(t, ray.Kill(ctx, h))
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
}

func init() { semanticCases = append(semanticCases, bundleGPUCases...) }
