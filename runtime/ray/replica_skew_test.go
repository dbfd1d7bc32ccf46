package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestRestartedSkewedReplicaStillDeclaresDeaths: a chain replica's own GCS
// client (Epoch 0 in every incarnation) starts its sequence numbers at its
// wall clock (env.Now, which skew_clock moves), "so a restarted client
// never reuses one". The tail proposed x2's death; restarted with its
// clock set back 5s it rejoins as the tail, and its proposal of x1's death
// carries numbers below what the head remembers of its last incarnation:
// the head acknowledges it as a duplicate and drops it, so x1 is never
// declared dead.
func TestRestartedSkewedReplicaStillDeclaresDeaths(t *testing.T) {
	testSkewedReplica(t, -5*time.Second)
}
func TestRestartedReplicaNoSkewControl(t *testing.T) { testSkewedReplica(t, 0) }

func testSkewedReplica(t *testing.T, skew time.Duration) {
	s := newSuite()
	dead := map[transport.NodeID]time.Duration{}
	var c *ray.Sim
	cfg := ray.Config{Nodes: xNodes(), Seed: 1, WireCheck: true, GCSReplicas: 3, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvNodeDead {
			if _, ok := dead[ev.Node]; !ok {
				dead[ev.Node] = c.Netsim().Now()
			}
		}
	}}
	var err error
	c, err = ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	sim, tail := c.Netsim(), netsim.NodeID(ray.ReplicaID(0, 2))
	x1, x2 := ray.RayletID(1), ray.RayletID(2)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		sim.Crash(netsim.NodeID(x2)) // the tail proposes its death (a sequenced request)
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond))
		require.Contains(t, dead, x2)
		sim.SetSkew(tail, skew)
		sim.Restart(tail) // rejoins at the tail from a snapshot
		require.NoError(t, ray.Compute(ctx, time.Second))
		crashed := sim.Now()
		sim.Crash(netsim.NodeID(x1))
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		_, ok := dead[x1]
		require.True(t, ok, "x1, crashed at %v, was not declared dead by %v", crashed, sim.Now())
		return nil
	}))
}
