package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Cases from a review of the API's semantics against Ray's documentation.

func semanticsSim(t *testing.T, s *suite, body func(ctx context.Context, c *ray.Sim)) {
	t.Helper()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		body(ctx, c)
		return nil
	}))
}

// TestWaitRejectsDuplicateRefs: Ray's wait raises ValueError("Wait requires
// a list of unique object refs.") (python/ray/_private/worker.py; the
// ray.wait docs: "Note that these must be unique"). raysim accepted them and
// reported the one object twice as ready, so a Wait(refs, len(refs)) over a
// list with a duplicate returned before every distinct object was ready.
func TestWaitRejectsDuplicateRefs(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		r := s.double.Remote(ctx, 1)
		_, _, err := ray.Wait(ctx, []ray.Ref[int]{r, r}, 2, time.Second)
		assert.ErrorIs(t, err, ray.ErrBadWait, "duplicate refs in Wait")
	})
}

// TestHardAffinityToUnusableNodeFails: Ray's NodeAffinitySchedulingStrategy
// with soft=False: "If the node doesn't exist or is infeasible, the task or
// actor will fail" (TaskUnschedulableError). raysim held such a task for
// good (scheduler.Global.holdInfeasible): a Get without timeout hung. It
// fails with ErrUnschedulable now.
func TestHardAffinityToUnusableNodeFails(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		// A node that is not in the cluster.
		_, err := ray.GetTimeout(ctx, s.where.Options(ray.NodeAffinity(ray.RayletID(9), false)).Remote(ctx), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrUnschedulable, "hard affinity to an unknown node")
		// A node that can never run it (the head has no "special").
		_, err = ray.GetTimeout(ctx, s.where.Options(ray.Resource("special", 1), ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrUnschedulable, "hard affinity to an infeasible node")
		// An actor so pinned is dead for good: its calls fail rather
		// than wait for it (they waited forever).
		h := s.counter.Options(ray.NodeAffinity(ray.RayletID(9), false)).New(ctx, 1)
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied, "a call to an actor that can never be placed")
	})
}
