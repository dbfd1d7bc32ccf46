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

// TestListNamedActorsSlowGCS: a GCS whose answers take longer than a
// lookup's first re-ask (1 s) is waited for: the listing takes the answer
// to any sending of a page's question (regression list-names-slow-gcs,
// review32 #12: each page was asked again under a new number and the
// answers to the old were dropped, so against a GCS 1.2 s away the listing
// never ended). On an unreplicated shard and on a chain (where the listing
// is a read of the tail that waits for the caller's writes).
func TestListNamedActorsSlowGCS(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, GCSShards: 1, GCSReplicas: replicas, MaxVirtual: time.Minute}, s.reg)
		require.NoError(t, err)
		l := c.Layout()
		require.NoError(t, c.Run(func(ctx context.Context) error {
			h := s.counter.Options(ray.ActorName("a"), ray.CPUs(0)).New(ctx, 1)
			require.NoError(t, h.Err())
			for i := range replicas {
				gcs := netsim.NodeID(ray.ReplicaID(0, i))
				for _, r := range l.Raylets {
					c.Netsim().SetLink(gcs, netsim.NodeID(r), netsim.Link{Latency: netsim.Constant(600 * time.Millisecond)})
					c.Netsim().SetLink(netsim.NodeID(r), gcs, netsim.Link{Latency: netsim.Constant(600 * time.Millisecond)})
				}
			}
			// Named after the links slowed: the listing must wait for
			// the creation's write too.
			h2 := s.counter.Options(ray.ActorName("b"), ray.CPUs(0)).New(ctx, 1)
			require.NoError(t, h2.Err())
			start := c.Netsim().Now()
			got, err := ray.ListNamedActors(ctx)
			t.Logf("%d replicas: listed %v after %v", replicas, got, c.Netsim().Now()-start)
			require.NoError(t, err, "a listing against a GCS 1.2 s away ends")
			require.Equal(t, []string{"a", "b"}, got, "a creation the caller submitted before is listed")
			return nil
		}))
		c.Close()
	}
}

// TestListNamedActorsBacksOff: while a shard's answers are lost, a page is
// asked again backing off (1 s, 2 s, then every 4 s), not every second,
// and the listing ends once an answer gets through.
func TestListNamedActorsBacksOff(t *testing.T) {
	s := newSuite()
	asks := 0
	var cut bool
	seen := map[any]bool{} // frames: the transport retransmits a frame the cut lost
	onNet := func(ev *netsim.Event) {
		f, ok := ev.Payload.(interface{ Message() transport.Message })
		if !ok || ev.Kind != netsim.EvSend || !cut || seen[f] {
			return
		}
		if _, ok := f.Message().(*transport.GcsListNames); ok {
			seen[f] = true
			asks++
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, GCSShards: 1, MaxVirtual: time.Minute, OnNetEvent: onNet}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	l := c.Layout()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := s.counter.Options(ray.ActorName("a"), ray.CPUs(0)).New(ctx, 1)
		require.NoError(t, h.Err())
		_, err := ray.GetActor(ctx, s.counter, "a")
		require.NoError(t, err)
		shard := netsim.NodeID(l.Shards[0])
		cut = true
		for _, r := range l.Raylets {
			c.Netsim().Cut(shard, netsim.NodeID(r))
		}
		c.Netsim().After(20*time.Second, func() { c.Netsim().Heal(); cut = false })
		got, err := ray.ListNamedActors(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"a"}, got)
		t.Logf("asked %d times in the 20 s without answers", asks)
		require.LessOrEqual(t, asks, 8, "asked at 0, 1, 3, 7, 11, 15 and 19 s (every second before: 20)")
		require.GreaterOrEqual(t, asks, 5, "asked again while unanswered")
		return nil
	}))
}
