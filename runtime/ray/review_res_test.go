package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Cases from a review of 11c2cf6 (promised resources of queued creations,
// per-device GPUs). Each fails on the code as reviewed.

// TestPromisedWholeGPUIsNotTakenByAFraction: a creation accepted by a
// raylet and waiting for its argument promises its resources
// (Raylet.promised) so that no later actor is accepted on them and strands
// it; but the promise is checked on the sum of the node's GPUs, while
// GPUs are now handed out per device (gpus.go). Node g has 3 GPUs; actors
// a1 and a2 take 0.7 GPU each (devices 0 and 1, 0.3 left on each); actor
// x, asking a whole GPU, is placed on g and waits 500ms for its argument:
// device 2 is the only one it can have. Actor y, asking 0.5 GPU, passes
// both checks (GPUs free less promised: 3-1.4-1 = 0.6; a device has 0.5
// free) and takes device 2. When x's argument comes no device is whole:
// x waits in g's queue for as long as a1 and a2 live — here for good.
// Ray keeps unit-instance resources per instance throughout; y should
// have been refused (spilled: held until a GPU frees) and x started.
func TestPromisedWholeGPUIsNotTakenByAFraction(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "g", CPUs: 4, GPUs: 3}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for i := range 2 {
			a := s.counter.Options(ray.GPUs(0.7), ray.CPUs(0)).New(ctx, i)
			_, err := ray.GetTimeout(ctx, s.get.Remote(ctx, a), 10*time.Second)
			require.NoError(t, err)
		}
		arg := s.slow.Options(ray.CPUs(0)).Remote(ctx, 500)
		x := s.counter.Options(ray.GPUs(1), ray.CPUs(0)).New(ctx, arg)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // x waits on g for its argument
		y := s.counter.Options(ray.GPUs(0.5), ray.CPUs(0)).New(ctx, 7)
		_ = y
		v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, x), 20*time.Second)
		require.NoError(t, err, "actor x, promised a whole GPU, never started (node g: tasks %v, available %v, actors %v)",
			c.Raylet(1).Tasks(), c.Raylet(1).Available(), c.Raylet(1).HostedActors())
		require.Equal(t, 500, v)
		return nil
	}))
}
