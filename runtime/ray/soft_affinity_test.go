package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestSoftAffinityWaitsForABusyTarget: as Ray's NodeAffinitySchedulingStrategy
// with soft=True, a task or actor pinned softly to a live node that can run
// it runs there only, waiting for the node's resources if they are busy;
// it goes elsewhere only when that node cannot (too small, or dead). An
// actor submitted on the target itself waited there, but one submitted
// elsewhere went through the global scheduler, which placed it on another
// node: the same program made its actor on different nodes depending on
// where it ran.
func TestSoftAffinityWaitsForABusyTarget(t *testing.T) {
	special := ray.RayletID(1)         // testNodes: 2 CPUs
	for _, from := range []int{0, 1} { // submitted elsewhere (the global scheduler), on the target
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
		require.NoError(t, err)
		hostOf := func(id transport.ActorID) transport.NodeID {
			for i := range c.Nodes() {
				for _, a := range c.Raylet(i).HostedActors() {
					if a.Actor == id {
						return ray.RayletID(i)
					}
				}
			}
			return 0
		}
		require.NoError(t, c.Go(from, func(ctx context.Context) error {
			busy := s.counter.Options(ray.CPUs(2), ray.NodeAffinity(special, false)).New(ctx, 0)
			_, err := ray.Get(ctx, s.get.Remote(ctx, busy))
			require.NoError(t, err)
			// Both CPUs of the target are held: the soft one waits for them.
			soft := s.counter.Options(ray.CPUs(2), ray.NodeAffinity(special, true)).New(ctx, 1)
			_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, soft), time.Second)
			require.ErrorIs(t, err, ray.ErrTimeout, "from node %d: the soft actor did not wait for its target", from)
			// A task too: it queues on the target.
			task := s.where.Options(ray.CPUs(2), ray.NodeAffinity(special, true)).Remote(ctx)
			require.NoError(t, ray.Kill(ctx, busy))
			v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, soft), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 1, v)
			assert.Equal(t, special, hostOf(soft.ID()), "from node %d", from)
			require.NoError(t, ray.Kill(ctx, soft))
			n, err := ray.GetTimeout(ctx, task, 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, uint64(special), n, "from node %d", from)
			// A target too small for it: elsewhere.
			n, err = ray.GetTimeout(ctx, s.where.Options(ray.CPUs(2), ray.GPUs(1), ray.NodeAffinity(special, true)).Remote(ctx), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, uint64(ray.RayletID(2)), n, "from node %d: the GPU node", from)
			return nil
		}))
		require.NoError(t, c.Run(nil))
		c.Close()
	}
}
