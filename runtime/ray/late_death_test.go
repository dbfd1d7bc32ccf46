package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestLateOldDeathKeepsCallerRoute: node 1 restarts; the news of its first
// incarnation's death reaches the driver's node (the caller) late. Meanwhile
// an actor is created on node 1's new incarnation and the caller calls it
// (its route now says: alive on node 1). When the old death arrives, the
// caller's route turns "restarting" although the actor is alive and its
// shard (rightly, since 672960a) does not restart it: no news ever comes,
// the route was looked up already, and every later call waits forever.
func TestLateOldDeathKeepsCallerRoute(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		sim, h := counterOnRestartedNode(ctx, t, s, c)
		sim.Heal() // the old incarnation's death reaches the caller now
		require.NoError(t, ray.Compute(ctx, time.Second))
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 10*time.Second)
		require.NoError(t, err, "a late death of an old incarnation stranded the calls to an actor of the new one")
		assert.Equal(t, 12, v)
		return nil
	})
}

// TestLateOldDeathSparesInFlightCall: as above, but the late death reaches
// the caller while a call to the actor on node 1's new incarnation runs. The
// caller retries the call as if the actor's node had died: an actor method
// has no retries by default, so the call fails with ErrActorDied although
// the actor is alive and the call completes on it.
func TestLateOldDeathSparesInFlightCall(t *testing.T) {
	s := newSuite()
	slowIncr := ray.Method1(s.counter, "slowIncr", func(ctx context.Context, c *counter, by int) (int, error) {
		if err := ray.Compute(ctx, time.Second); err != nil {
			return 0, err
		}
		c.n += by
		return c.n, nil
	})
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		sim, h := counterOnRestartedNode(ctx, t, s, c)
		r := slowIncr.Remote(ctx, h, 1)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // running on incarnation 2
		sim.Heal()                                                 // the old incarnation's death reaches the caller now
		v, err := ray.GetTimeout(ctx, r, 10*time.Second)
		require.NoError(t, err, "a late death of an old incarnation failed a call to an actor of the new one")
		assert.Equal(t, 12, v)
		return nil
	})
}

// TestStaleSchedulerPlacementCreatesOnce: the global scheduler hears of
// node 1's restart late (the node table's link to it is cut for a while:
// neither the new registration, nor the old incarnation's death, nor the
// new one's heartbeats reach it). It places an actor creation on node 1,
// naming incarnation 1 in its TaskPlaced; the PlaceTask, addressed by node
// ID, is taken and run by incarnation 2. The owner, who knows incarnation 1
// is dead, takes the creation for lost, the shard has not seen the actor
// alive yet, and the owner creates it again — on the same node, while the
// first instance is coming up.
func TestStaleSchedulerPlacementCreatesOnce(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, time.Second)
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		n1 := ray.RayletID(1)
		sim := c.Netsim()
		sim.Cut(netsim.NodeID(c.Layout().NodeTable()), netsim.NodeID(ray.SchedulerID))
		sim.Restart(netsim.NodeID(n1))                             // incarnation 2 registers; the scheduler hears nothing of it
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // registered; every raylet knows 1 is dead
		h := slow.Options(ray.NodeAffinity(n1, false), ray.MaxRestarts(1)).New(ctx, 7)
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
		sim.Heal()
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, 1, *made, "the actor was created again while its first instance was coming up")
		return nil
	})
}

// counterOnRestartedNode stages the late-death tests' start: node 1
// restarts while the node table's link to the driver's node (the caller)
// is cut, so incarnation 2 registers but the caller hears of incarnation
// 1's death only at the next heal; a counter at 10 is then created on
// node 1 (incarnation 2) and called once (11).
func counterOnRestartedNode(ctx context.Context, t *testing.T, s *suite, c *ray.Sim) (*netsim.Sim, ray.ActorHandle[counter]) {
	t.Helper()
	n1, head := ray.RayletID(1), ray.RayletID(0)
	sim := c.Netsim()
	sim.Cut(netsim.NodeID(c.Layout().NodeTable()), netsim.NodeID(head))
	sim.Restart(netsim.NodeID(n1))                             // incarnation 2 registers; the caller hears of 1's death late
	require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // registered
	h := s.counter.Options(ray.NodeAffinity(n1, false)).New(ctx, 10)
	v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, 11, v)
	return sim, h
}
