package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestUnregisteredIncarnationCopyDiesWithIt: node 1 restarts cut off from
// the node table (its registration never lands) but not from the shard of
// an object; the global scheduler, which has not heard of the old
// incarnation's death yet, places a task there; the new incarnation runs it
// and then dies for good. The node table declares only the last incarnation
// it knew (1) dead. A Get of the result must rebuild it (the owner retries
// the task), not chase a copy of incarnation 2 that nobody will ever
// unlist (it retried its pull every second, forever).
func TestUnregisteredIncarnationCopyDiesWithIt(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		n1, head := ray.RayletID(1), ray.RayletID(0)
		sim := c.Netsim()
		// Warm up on the head until the driver's next task lands in
		// shard 1's block (consecutive children share a shard).
		for {
			r := s.double.Options(ray.NodeAffinity(head, false)).Remote(ctx, 1)
			_, err := ray.Get(ctx, r)
			require.NoError(t, err)
			if l.ShardOfObject(r.ObjectID()) == l.Shards[1] && r.ObjectID().Task%transport.TaskBlock != transport.TaskBlock-1 {
				break
			}
		}
		sim.Cut(netsim.NodeID(n1), netsim.NodeID(l.NodeTable()))
		sim.Restart(netsim.NodeID(n1)) // incarnation 2: never registers
		p := s.double.Options(ray.NodeAffinity(n1, true)).Remote(ctx, 21)
		require.Equal(t, l.Shards[1], l.ShardOfObject(p.ObjectID()))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // it runs on incarnation 2
		sim.Crash(netsim.NodeID(n1))                               // for good
		v, err := ray.GetTimeout(ctx, p, 10*time.Second)
		require.NoError(t, err, "the copy of a never-registered incarnation stayed listed")
		assert.Equal(t, 42, v)
		return nil
	})
}

// TestUnregisteredIncarnationActorIsNotRecorded: as above, but node 1's new
// incarnation hosts an actor (placed there by soft affinity; its
// constructor runs 2s). Incarnation 1 is declared dead at ~1.3s; the owner,
// told by the actor's shard that it never saw the actor alive, creates it
// again on the head. The copy on incarnation 2 comes up at ~2.3s: its
// shard must not record it alive there (that incarnation never registers,
// and dies at 2.8s without a death anyone declares). It did, calls went to
// node 1, and a call with no retries failed with ErrActorDied.
func TestUnregisteredIncarnationActorIsNotRecorded(t *testing.T) {
	s := newSuite()
	slow, get, _ := slowCounter(s, 2*time.Second)
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		n1 := ray.RayletID(1)
		sim := c.Netsim()
		sim.Cut(netsim.NodeID(n1), netsim.NodeID(c.Layout().NodeTable()))
		sim.Restart(netsim.NodeID(n1)) // incarnation 2: never registers
		h := slow.Options(ray.NodeAffinity(n1, true), ray.MaxRestarts(1)).New(ctx, 41)
		require.NoError(t, ray.Compute(ctx, 2500*time.Millisecond)) // up on incarnation 2 at ~2.3s
		sim.Crash(netsim.NodeID(n1))                                // for good
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err, "calls were sent to the never-registered incarnation's copy")
		assert.Equal(t, 41, v)
		return nil
	})
}

// TestLateOldDeathSparesNewIncarnationActor: node 1 restarts; the node
// table declares its first incarnation dead, but that news reaches the
// actor's shard late (the link between the two shards is cut for a while).
// Meanwhile an actor with no restarts is created on node 1's new, healthy
// incarnation, and its shard records it alive there. When the old death
// finally arrives, it concerns an incarnation that hosted no actor: the
// actor must live on. Before the fix the shard restarted every actor it had
// on node 1 (it kept no incarnation), so this one was declared dead.
func TestLateOldDeathSparesNewIncarnationActor(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		n1, head := ray.RayletID(1), ray.RayletID(0)
		table := l.NodeTable()
		other := l.Shards[0]
		if other == table {
			other = l.Shards[1]
		}
		sim := c.Netsim()
		// Warm up on the head until the driver's next task (the actor's
		// creation) lands in the other shard's block.
		for {
			r := s.double.Options(ray.NodeAffinity(head, false)).Remote(ctx, 1)
			_, err := ray.Get(ctx, r)
			require.NoError(t, err)
			if l.ShardOfObject(r.ObjectID()) == other && r.ObjectID().Task%transport.TaskBlock != transport.TaskBlock-1 {
				break
			}
		}
		sim.Cut(netsim.NodeID(table), netsim.NodeID(other))
		sim.Restart(netsim.NodeID(n1))                             // incarnation 2 registers; incarnation 1's death is held
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // registered
		h := s.counter.Options(ray.NodeAffinity(n1, true)).New(ctx, 10)
		require.Equal(t, other, l.ShardOfTask(h.ID()))
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 11, v)
		sim.Heal() // the old incarnation's death reaches the actor's shard now
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		v, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second)
		require.NoError(t, err, "a late death of an old incarnation killed an actor of the new one")
		assert.Equal(t, 12, v)
		return nil
	})
}

// TestLateOldDeathSparesNewIncarnationCreation: as above, but the late news
// of node 1's first incarnation's death reaches the actor's owner (the
// driver's node) while the actor's constructor runs on the second. The
// owner must not take its creation for lost: the shard has not seen the
// actor alive yet, so it would create it again, and two instances would
// live.
func TestLateOldDeathSparesNewIncarnationCreation(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, time.Second)
	faultSim(t, s, ray.Config{GCSShards: 2}, func(ctx context.Context, c *ray.Sim) error {
		n1, head := ray.RayletID(1), ray.RayletID(0)
		sim := c.Netsim()
		sim.Cut(netsim.NodeID(c.Layout().NodeTable()), netsim.NodeID(head))
		sim.Restart(netsim.NodeID(n1))                             // incarnation 2 registers; the owner hears of 1's death late
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond)) // registered
		h := slow.Options(ray.NodeAffinity(n1, false), ray.MaxRestarts(1)).New(ctx, 7)
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond)) // placed on incarnation 2, constructing
		sim.Heal()
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, 1, *made, "the actor was created again while its first instance was coming up")
		return nil
	})
}

// faultSim runs body as a driver on a new simulated cluster of cfg (seed 1,
// every message round-tripped through the codec, testNodes unless cfg
// names nodes), once every node has registered and been heard from: the
// start of the tests that stage a fault by hand.
func faultSim(t *testing.T, s *suite, cfg ray.Config, body func(ctx context.Context, c *ray.Sim) error) {
	t.Helper()
	if cfg.Nodes == nil {
		cfg.Nodes = testNodes
	}
	cfg.Seed, cfg.WireCheck = 1, true
	c, err := ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		return body(ctx, c)
	}))
}

// slowCounter registers a counter actor whose constructor takes d of
// virtual time (a window for a fault to land in while it comes up), and
// its get method; *made counts the constructor's runs.
func slowCounter(s *suite, d time.Duration) (*ray.ActorClass[counter], *ray.ActorMethod[counter, int], *int) {
	made := new(int)
	slow := ray.RegisterActor1(s.reg, "SlowCounter", func(ctx context.Context, start int) (*counter, error) {
		*made++
		if err := ray.Compute(ctx, d); err != nil {
			return nil, err
		}
		return &counter{n: start}, nil
	})
	get := ray.Method0(slow, "get", func(ctx context.Context, c *counter) (int, error) { return c.n, nil })
	return slow, get, made
}
