package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestGCSChainFailover: a stream of tasks over a 2-replica GCS chain whose
// tail (then, in a second run, head) dies mid-stream. Every result is
// right, and the longest client-observed GCS delay — a request's first
// send to its acknowledgement — stays under the paper's 30ms (figure 10a).
func TestGCSChainFailover(t *testing.T) {
	for _, victim := range []int{1, 0} {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Seed: 5, GCSReplicas: 2, WireCheck: true,
			Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}}, s.reg)
		require.NoError(t, err)
		c.Netsim().At(150*time.Millisecond, func() { c.Netsim().Crash(netsim.NodeID(ray.ReplicaID(0, victim))) })
		err = c.Run(func(ctx context.Context) error {
			var refs []ray.Ref[int]
			for i := range 300 {
				refs = append(refs, s.double.Remote(ctx, i))
				if err := ray.Compute(ctx, time.Millisecond); err != nil {
					return err
				}
			}
			for i, r := range refs {
				v, err := ray.Get(ctx, r)
				if err != nil {
					return err
				}
				if v != 2*i {
					t.Errorf("double(%d) = %d", i, v)
				}
			}
			return nil
		})
		require.NoError(t, err)
		// The driver's return ends its job, which frees its objects: the
		// object table's writes for that are sent as the run ends.
		c.Netsim().RunUntil(c.Netsim().Now() + time.Second)
		var worst time.Duration
		for i := range 2 {
			cl := c.Raylet(i).GCSClient()
			require.Zero(t, cl.Pending(), "every GCS write acknowledged")
			worst = max(worst, cl.Stats.MaxDelay)
		}
		t.Logf("victim replica %d: client-observed max GCS delay %v", victim, worst)
		require.Less(t, worst, 30*time.Millisecond)
		require.NotNil(t, c.Shard(0))
		c.Close()
	}
}
