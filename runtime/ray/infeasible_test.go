package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// infeasibleCases: a task or actor no node of the cluster can run waits,
// as Ray's stays pending (its autoscaler may add a node), but its owner
// hears why, as Ray's driver prints "cannot be scheduled right now,
// requires {...}": a Get that times out says the task is infeasible, what
// it asked for and the largest node. It timed out with a bare "the
// timeout passed before the object was ready" (QA qa28b item 12).
var infeasibleCases = []semanticCase{
	{"an infeasible task's timeout says why", func(t *testing.T, ctx context.Context, s *suite) {
		ref := s.gpu.Options(ray.GPUs(8)).Remote(ctx)
		_, err := ray.GetTimeout(ctx, ref, time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout)
		for _, want := range []string{"is infeasible", "no node has CPU=1 GPU=8", "GPU: need 8, have 1", fmt.Sprintf("the largest node, %d, has CPU=2 GPU=1", ray.RayletID(2))} {
			assert.Contains(t, err.Error(), want)
		}
		// A poll says it too, and so does a Get of several refs.
		_, err = ray.GetTimeout(ctx, ref, 0)
		assert.ErrorContains(t, err, "is infeasible")
		_, err = ray.GetAll(ctx, []ray.Ref[string]{s.gpu.Remote(ctx), ref}, time.Second)
		assert.ErrorContains(t, err, "is infeasible")
		// A late task is only late.
		_, err = ray.GetTimeout(ctx, s.slow.Remote(ctx, 2000), 10*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		assert.NotContains(t, err.Error(), "infeasible")
		// A call on an actor that can never be placed says its actor is.
		h := s.counter.Options(ray.Resource("nowhere", 1)).New(ctx, 1)
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout)
		assert.ErrorContains(t, err, "is infeasible, its creation held")
		assert.ErrorContains(t, err, "nowhere: need 1, have 0")
		require.NoError(t, ray.Kill(ctx, h))
	}},
}

func init() { semanticCases = append(semanticCases, infeasibleCases...) }

// TestInfeasibleTaskRunsWhenANodeJoins: an infeasible task stays held, as
// Ray's stays pending: its owner is told once (one task.infeasible event,
// however many heartbeats and registrations go by), a Get that times out
// meanwhile says so, and once a node that fits joins the task runs there.
func TestInfeasibleTaskRunsWhenANodeJoins(t *testing.T) {
	reg := ray.NewRegistry()
	where := ray.Register0(reg, "where", func(ctx context.Context) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	nodes := []ray.NodeConfig{
		{Name: "head", CPUs: 1},
		{Name: "small", CPUs: 1, Start: 200 * time.Millisecond}, // a node joins that does not fit
		{Name: "big", CPUs: 8, Start: 2 * time.Second},
	}
	warned := map[transport.TaskID]int{}
	cfg := ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, MaxVirtual: time.Minute, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvTaskInfeasible {
			warned[ev.Task]++
		}
	}}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	var ran uint64
	var task transport.TaskID
	require.NoError(t, c.Run(func(ctx context.Context) error {
		ref := where.Options(ray.CPUs(4)).Remote(ctx)
		task = ref.ObjectID().Task
		_, err := ray.GetTimeout(ctx, ref, time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout)
		assert.ErrorContains(t, err, "is infeasible")
		assert.ErrorContains(t, err, "the largest node, 1, has CPU=1")
		ran, err = ray.Get(ctx, ref)
		return err
	}))
	assert.Equal(t, uint64(ray.RayletID(2)), ran, "it ran on the node that joined")
	assert.Equal(t, map[transport.TaskID]int{task: 1}, warned, "one warning for the task")
}
