package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestLookupErrorsNameNamespace: GetActor's and GetPlacementGroup's
// not-found errors say which namespace was searched, also the caller's
// own (the anonymous one of a job that set none, the usual reason a name
// another driver made is not found), and how to look elsewhere. They
// said only the name unless InNamespace was given (qaapi #6b).
func TestLookupErrorsNameNamespace(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Looked", func(ctx context.Context) (*nilCtorState, error) { return &nilCtorState{}, nil })
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.GetActor(ctx, cls, "log")
		require.ErrorIs(t, err, ray.ErrActorNotFound)
		require.ErrorContains(t, err, `"log" in namespace "anonymous-`)
		require.ErrorContains(t, err, "this job's own anonymous namespace; SetNamespace, or InNamespace")
		_, err = ray.GetPlacementGroup(ctx, "keep")
		require.ErrorIs(t, err, ray.ErrPlacementGroupNotFound)
		require.ErrorContains(t, err, `"keep" in namespace "anonymous-`)

		require.NoError(t, ray.SetNamespace(ctx, "shared"))
		_, err = ray.GetActor(ctx, cls, "log")
		require.ErrorContains(t, err, `"log" in namespace "shared" (this caller's namespace;`)
		_, err = ray.GetActor(ctx, cls, "log", ray.InNamespace("other"))
		require.ErrorContains(t, err, `"log" in namespace "other"`)
		return nil
	}))
}
