package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestEmptyNamesRefused: ActorName("") and GroupName("") are refused
// (ErrInvalidOption, ErrInvalidPlacementGroup), as their docs say and as
// Ray refuses an empty name. They were taken as "no name": an anonymous
// actor or group nobody could find, and with GetIfExists, ActorNamespace
// or GroupNamespace an error saying the name was missing (qaapi #8).
func TestEmptyNamesRefused(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "EmptyName", func(ctx context.Context) (*nilCtorState, error) { return &nilCtorState{}, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for _, opts := range [][]ray.Option{
			{ray.ActorName("")},
			{ray.ActorName(""), ray.GetIfExists()},
			{ray.ActorName(""), ray.ActorNamespace("x")},
		} {
			h := cls.Options(opts...).New(ctx)
			require.ErrorIs(t, h.Err(), ray.ErrInvalidOption)
			require.ErrorContains(t, h.Err(), `ActorName(""): an empty name`)
		}
		names, err := ray.ListNamedActors(ctx)
		require.NoError(t, err)
		require.Empty(t, names)
		// A later ActorName replaces it, as options do.
		h := cls.Options(ray.ActorName(""), ray.ActorName("ok")).New(ctx)
		require.NoError(t, h.Err())

		for _, opts := range [][]ray.GroupOption{
			{ray.GroupName("")},
			{ray.GroupName(""), ray.GroupNamespace("x")},
		} {
			_, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, opts...)
			require.ErrorIs(t, err, ray.ErrInvalidPlacementGroup)
			require.ErrorContains(t, err, `GroupName(""): an empty name`)
		}
		return nil
	}))
}
