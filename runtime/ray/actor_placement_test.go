package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// zeroCPUHead is Ray's standard way to keep work off the head: `ray start
// --head --num-cpus=0`, and two workers of 2 CPUs.
var zeroCPUHead = []ray.NodeConfig{
	{Name: "head", CPUs: 0},
	{Name: "w1", CPUs: 2},
	{Name: "w2", CPUs: 2},
}

// actorPlacementCases: Ray's actor resource requirements ("By default,
// actors require 1 CPU for scheduling and 0 CPU for running. This means
// they cannot get scheduled on a zero-cpu node, but an infinite number of
// them can run on any non-zero cpu node. If resources are specified
// explicitly, they are required for both scheduling and running."). A
// default actor needed no CPU here, and every one of them landed on a
// 0-CPU head (QA qa28b finding 4).
var actorPlacementCases = []semanticCase{
	{"default actors stay off a 0-CPU head", func(t *testing.T, ctx context.Context, s *suite) {
		head := uint64(ray.RayletID(0))
		var hs []ray.ActorHandle[counter]
		for i := range 4 {
			hs = append(hs, s.counter.New(ctx, i))
		}
		for i, h := range hs {
			at, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 10*time.Second)
			require.NoError(t, err, "actor %d", i)
			assert.NotEqual(t, head, at, "default actor %d runs on the 0-CPU head", i)
		}
		// They hold no CPU while they live: each worker still runs a task
		// of both its CPUs.
		for i := 1; i <= 2; i++ {
			at, err := ray.GetTimeout(ctx, s.where.Options(ray.CPUs(2), ray.NodeAffinity(ray.RayletID(i), false)).Remote(ctx), 10*time.Second)
			require.NoError(t, err, "a 2-CPU task on worker %d beside default actors", i)
			assert.Equal(t, uint64(ray.RayletID(i)), at)
		}
	}},
	{"an actor of explicit CPUs(0) may run on a 0-CPU head", func(t *testing.T, ctx context.Context, s *suite) {
		head := ray.RayletID(0)
		// Ray's num_cpus=0 asks for nothing, to schedule or to run: the
		// head can take it.
		h := s.counter.Options(ray.CPUs(0), ray.NodeAffinity(head, false)).New(ctx, 1)
		at, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, uint64(head), at)
		// A default actor pinned there can never be placed: it needs a
		// CPU to be scheduled (Ray's NodeAffinity with soft=False to an
		// infeasible node fails the actor).
		d := s.counter.Options(ray.NodeAffinity(head, false)).New(ctx, 1)
		_, err = ray.GetTimeout(ctx, s.here.Remote(ctx, d), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), "needs 1 CPU to be placed")
		// Soft, it goes to a worker instead.
		d = s.counter.Options(ray.NodeAffinity(head, true)).New(ctx, 1)
		at, err = ray.GetTimeout(ctx, s.here.Remote(ctx, d), 10*time.Second)
		require.NoError(t, err)
		assert.NotEqual(t, uint64(head), at)
	}},
	{"a default actor restarts off a 0-CPU head", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		// Its restart is placed as its creation was: w1 dies, the head
		// has no CPU, so it comes back on w2.
		h := s.counter.Options(ray.MaxRestarts(1), ray.MaxRetries(2), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx, 7)
		at, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(1)), at)
		s.crash(1)
		at, err = ray.GetTimeout(ctx, s.here.Remote(ctx, h), 60*time.Second)
		require.NoError(t, err, "the call is retried on the restarted actor")
		assert.Equal(t, uint64(ray.RayletID(2)), at, "restarted on the other worker, not the 0-CPU head")
	}},
}

func init() {
	for _, tc := range actorPlacementCases {
		caseNodes[tc.name] = zeroCPUHead
	}
	semanticCases = append(semanticCases, actorPlacementCases...)
}
