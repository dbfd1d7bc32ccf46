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

// TestLeaseOutlivesNewTailsVerdict: a node's lease counts from when the
// node table's tail took its heartbeat (HeartbeatAck.At); the replicas
// before the tail took the same heartbeats earlier, by the chain's lag
// (1.5s here). When the tail died, the middle replica took over deciding
// deaths from its own, earlier, times and declared x1 dead while x1's lease
// still ran: x1's dead incarnation started 22 tasks after its death. A
// replica that becomes the tail now restarts every live node's silence
// from the takeover (Shard.honourLeases). Found in review of the lease.
func TestLeaseOutlivesNewTailsVerdict(t *testing.T) {
	s := newSuite()
	var c *ray.Sim
	x1 := ray.RayletID(1)
	var deadAt time.Duration = -1
	var deadInc uint64
	var zombie []string
	onEvent := func(ev *transport.Event) {
		switch {
		case ev.Kind == transport.EvNodeDead && ev.Node == x1 && deadAt < 0:
			deadAt, deadInc = c.Netsim().Now(), c.Raylet(1).Incarnation()
		case ev.Kind == transport.EvTaskRunning && ev.Node == x1 && deadAt >= 0 && c.Raylet(1).Incarnation() == deadInc:
			zombie = append(zombie, (c.Netsim().Now() - deadAt).String())
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Nodes: xNodes(), Seed: 1, GCSReplicas: 3, WireCheck: true, OnEvent: onEvent}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	head, middle, tail := netsim.NodeID(ray.ReplicaID(0, 0)), netsim.NodeID(ray.ReplicaID(0, 1)), netsim.NodeID(ray.ReplicaID(0, 2))
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		require.NoError(t, c.Go(1, func(ctx context.Context) error {
			for range 200 { // 5s of work queued on x1
				s.slow.Options(ray.NodeAffinity(x1, false)).Remote(ctx, 50)
			}
			return nil
		}))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Degrade(middle, tail, 1500*time.Millisecond, 0) // the chain's last link lags
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		sim.Cut(netsim.NodeID(x1), head) // heartbeats stop entering the chain; acks still reach x1
		require.NoError(t, ray.Compute(ctx, 1300*time.Millisecond))
		sim.Crash(tail) // the middle, which heard x1 last at the cut, becomes the tail
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond))
		return nil
	}))
	require.GreaterOrEqual(t, deadAt, time.Duration(0), "x1 was never declared dead")
	require.Empty(t, zombie, "x1's dead incarnation started tasks after its death")
}
