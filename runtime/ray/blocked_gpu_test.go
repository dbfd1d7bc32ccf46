package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNestedGPUTaskSpillsPastBlockedParent: a GPU task blocked in Get on
// its GPU child gives its CPU back but keeps its GPU (as in Ray). Its child,
// submitted on the parent's node, was queued there — the node has a GPU,
// and its queue was under the spill threshold — behind the very GPU its
// parent holds until the child ends: the tree deadlocked by itself while
// another node's GPUs sat idle. A task whose resources are held by tasks
// blocked here now goes to the global scheduler, queued or new. Each task
// of the tree needs a GPU: a tree as deep as the cluster has GPUs finishes;
// one deeper cannot, in Ray as here, and reports infeasible-for-now by
// timing out.
func TestNestedGPUTaskSpillsPastBlockedParent(t *testing.T) {
	reg := ray.NewRegistry()
	var nest *ray.Func[int]
	nest = ray.Register1(reg, "gpuNest", func(ctx context.Context, n int) (int, error) {
		if err := ray.Compute(ctx, time.Millisecond); err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		// Submitted before the parent blocks, the child is queued on a
		// node whose GPU is about to be held by a blocked task.
		ref := nest.Options(ray.GPUs(1)).Remote(ctx, n-1)
		if err := ray.Compute(ctx, time.Millisecond); err != nil {
			return 0, err
		}
		v, err := ray.Get(ctx, ref)
		return v + 1, err
	})
	for _, nodes := range []int{2, 3} {
		cfg := ray.Config{Seed: 1, MaxVirtual: time.Minute}
		for range nodes {
			cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{CPUs: 4, GPUs: 1})
		}
		c, err := ray.NewSim(cfg, reg)
		require.NoError(t, err)
		require.NoError(t, c.Run(func(ctx context.Context) error {
			v, err := ray.GetTimeout(ctx, nest.Options(ray.GPUs(1)).Remote(ctx, nodes-1), 10*time.Second)
			require.NoError(t, err, "%d nodes: a tree of %d GPU tasks", nodes, nodes)
			require.Equal(t, nodes-1, v)
			return nil
		}))
		c.Close()
	}
	// One GPU task more than GPUs: the last waits (in Ray too) — quietly,
	// not sent back and forth between busy nodes (a placed task stays).
	cfg := ray.Config{Seed: 1, MaxVirtual: time.Minute, Nodes: []ray.NodeConfig{{CPUs: 4, GPUs: 1}, {CPUs: 4, GPUs: 1}}}
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	var before uint64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		ref := nest.Options(ray.GPUs(1)).Remote(ctx, 2)
		require.NoError(t, ray.Compute(ctx, time.Second))
		before = c.Netsim().Stats().Events
		_, err := ray.GetTimeout(ctx, ref, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrTimeout)
		return nil
	}))
	t.Logf("%d events while the tree waited 10 s", c.Netsim().Stats().Events-before)
	// Heartbeats and the like: a few thousand events in 10 s, not a
	// placement loop's millions.
	require.Less(t, c.Netsim().Stats().Events-before, uint64(20000), "events while the tree waited")
}
