package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// actorCPUSpecifiedCases: Ray's python/ray/actor.py gives an actor that
// names resources (num_gpus, resources) but not num_cpus 1 CPU for its
// life (DEFAULT_ACTOR_CREATION_CPU_SPECIFIED: "If any resources are
// specified ..., then all resources are acquired for the actor's
// lifetime"); only an actor that names none holds 0. raysim's held 0 CPU
// whatever else it named, so a node ran a task of all its CPUs beside it.
var actorCPUSpecifiedCases = []semanticCase{
	{"an actor that names GPUs or a resource but no CPUs holds 1 CPU", func(t *testing.T, ctx context.Context, s *suite) {
		for _, tc := range []struct {
			what string
			opt  ray.Option
			node int
		}{
			{"GPUs(1)", ray.GPUs(1), 2},
			{`Resource("special", 1)`, ray.Resource("special", 1), 1},
		} {
			at := ray.RayletID(tc.node)
			h := s.counter.Options(tc.opt).New(ctx, 1)
			got, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 30*time.Second)
			require.NoError(t, err, tc.what)
			require.Equal(t, uint64(at), got, tc.what)
			// The node has 2 CPUs: a task of both waits while the actor
			// holds one, and runs once it is gone.
			all := s.where.Options(ray.CPUs(2), ray.NodeAffinity(at, false)).Remote(ctx)
			ready, _, err := ray.Wait(ctx, []ray.Ref[uint64]{all}, 1, 500*time.Millisecond)
			require.NoError(t, err)
			assert.Empty(t, ready, "%s: a task of all the node's CPUs ran beside an actor that holds one", tc.what)
			require.NoError(t, ray.Kill(ctx, h))
			got, err = ray.GetTimeout(ctx, all, 30*time.Second)
			require.NoError(t, err, "%s: the task runs once the actor's CPU is back", tc.what)
			assert.Equal(t, uint64(at), got)
		}
		// CPUs(0) beside GPUs: it holds only its GPU (Ray's num_cpus=0).
		h := s.counter.Options(ray.GPUs(1), ray.CPUs(0)).New(ctx, 1)
		_, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		got, err := ray.GetTimeout(ctx, s.where.Options(ray.CPUs(2), ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx), 30*time.Second)
		require.NoError(t, err, "a task of both CPUs beside an actor of CPUs(0) and GPUs(1)")
		assert.Equal(t, uint64(ray.RayletID(2)), got)
		require.NoError(t, ray.Kill(ctx, h))
	}},
}

func init() { semanticCases = append(semanticCases, actorCPUSpecifiedCases...) }
