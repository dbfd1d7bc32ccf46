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

// TestChainLagDoesNotBuryLiveNodes: a 3-replica GCS chain whose first link
// (head to middle) slows down by 1.5s for a while. On a chain a heartbeat
// is a write: the tail, which judges liveness, sees no heartbeat for
// longer than the node timeout and proposes the nodes dead. The proposal
// is appended to the chain after the heartbeats stuck on that link, so by
// the time it is applied the nodes have been heard from again: the verdict
// is stale and must not bury live nodes.
func TestChainLagDoesNotBuryLiveNodes(t *testing.T) {
	reg, _, _ := echoActors()
	dead := 0
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvNodeDead {
			dead++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 9, GCSReplicas: 3, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	head, middle := netsim.NodeID(ray.ReplicaID(0, 0)), netsim.NodeID(ray.ReplicaID(0, 1))
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Degrade(head, middle, 1500*time.Millisecond, 0) })
	c.Netsim().At(1100*time.Millisecond, func() { c.Netsim().Restore(head, middle) })
	require.NoError(t, c.Run(func(ctx context.Context) error {
		return ray.Compute(ctx, 5*time.Second)
	}))
	require.Zero(t, dead, "a live node was declared dead on a stale verdict")
}
