package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// QA28b finding 13: Ray's pg.ready() is a ref that can be mixed into
// ray.wait with others; raysim had the blocking pg.Wait only.
var readyCases = []semanticCase{
	{"placement group Ready: a ref, in Wait with others", func(t *testing.T, ctx context.Context, s *suite) {
		// The gpu node's only GPU is held 500ms: a group that needs it
		// waits for it.
		hold := s.slow.Options(ray.GPUs(1)).Remote(ctx, 500)
		_, err := ray.GetTimeout(ctx, hold, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{GPU: 1}}, ray.Pack)
		require.NoError(t, err)
		ready := pg.Ready(ctx)
		require.NoError(t, ready.Err())
		got, notReady, err := ray.WaitObjects(ctx, []ray.ObjectRef{ready, hold}, 1, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, []ray.ObjectRef{hold}, got, "the group cannot be placed before the GPU is free")
		require.Equal(t, []ray.ObjectRef{ready}, notReady)
		rs, _, err := ray.Wait(ctx, []ray.Ref[bool]{ready}, 1, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		v, err := ray.Get(ctx, ready)
		require.NoError(t, err)
		assert.True(t, v)
		require.NoError(t, pg.Wait(ctx, 10*time.Second), "Ready says the group is placed (its creator may hear it a moment later)")
		// Of a group that can never be placed, it stays not ready; the
		// group's removal fails it.
		never, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{Resources: map[string]float64{"nowhere": 1}}}, ray.Pack)
		require.NoError(t, err)
		nr := never.Ready(ctx)
		_, err = ray.GetTimeout(ctx, nr, 300*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.RemovePlacementGroup(ctx, never))
		_, err = ray.GetTimeout(ctx, nr, 10*time.Second)
		assert.Error(t, err)
		assert.NotErrorIs(t, err, ray.ErrTimeout, "the removed group's Ready still waits")
		assert.ErrorIs(t, err, ray.ErrUnschedulable, "as any task submitted to a removed group")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		var zero *ray.PlacementGroup
		assert.ErrorIs(t, zero.Ready(ctx).Err(), ray.ErrInvalidPlacementGroup)
	}},
}

func init() { semanticCases = append(semanticCases, readyCases...) }
