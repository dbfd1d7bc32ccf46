package ray_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestSucceededCallsLogWriteSurvivesHostDeath: an actor
// (ReplayMethods) on x1, the only node with resource x; a GCS of 3 shards.
// x1 is cut off from the node table's shard and the actor's shard, not from
// the driver nor from the shard of the call's task. A call made at once runs
// inside x1's lease; its result's location reaches its own shard and the
// driver reads n=3: a success. Its method-log write (#3), sent before x1 was
// declared dead, is held by the cut and reaches the actor table after the
// heal, after the death. The actor restarts on x1's new incarnation (after
// its rejoin) and replays its log: the call that succeeded must be in it,
// so the next call returns 4. Refusing every write of an incarnation known
// dead (a first fix for zombies' writes) dropped it; the actor table now
// refuses only a dead incarnation's writes sent past its lease. Found in
// review.
func TestSucceededCallsLogWriteSurvivesHostDeath(t *testing.T) {
	succeededWriteSurvives(t, ray.ReplayMethods())
}

// TestSucceededCallsCheckpointSurvivesHostDeath: the same with
// CheckpointEvery(1): the checkpoint #3 is the write held (and was dropped).
func TestSucceededCallsCheckpointSurvivesHostDeath(t *testing.T) {
	succeededWriteSurvives(t, ray.CheckpointEvery(1))
}

func succeededWriteSurvives(t *testing.T, durable ray.Option) {
	const shards = 3
	shardOf := func(id transport.TaskID) transport.NodeID {
		return ray.ShardID(int(transport.TaskBlockKey(id) % shards))
	}
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "LateCounter", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *durableCounter) (int64, error) {
		c.n++
		return c.n, nil
	})
	peek := ray.Method0(cls, "peek", func(ctx context.Context, c *durableCounter) (int64, error) {
		return c.n, nil
	})
	var events []string
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "x1", CPUs: 2, Resources: map[string]float64{"x": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, GCSShards: shards, OnEvent: func(ev *transport.Event) {
		switch ev.Kind {
		case transport.EvNodeDead, transport.EvNodeAlive, transport.EvActorCreated:
			events = append(events, fmt.Sprintf("%s %d %s", ev.Kind, ev.Node, ev.Detail))
		}
	}}, reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	x1 := netsim.NodeID(ray.RayletID(1))
	var third, after int64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := cls.Options(ray.Resource("x", 1), ray.MaxRestarts(3), durable).New(ctx)
		cut := []transport.NodeID{ray.SchedulerID, ray.ShardID(0), shardOf(h.ID())}
		for i := int64(1); i <= 2; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		// Calls that change nothing, until the next call's task is on a
		// shard x1 still reaches.
		me := ray.TaskID(ctx)
		for {
			ref := peek.Remote(ctx, h)
			_, err := ray.Get(ctx, ref)
			require.NoError(t, err)
			k := uint64(0)
			for transport.ChildTaskID(me, k) != ref.ObjectID().Task {
				k++
				require.Less(t, k, uint64(10000))
			}
			if !slices.Contains(cut, shardOf(transport.ChildTaskID(me, k+1))) {
				break
			}
		}
		for _, n := range cut {
			sim.Cut(x1, netsim.NodeID(n))
			sim.Cut(netsim.NodeID(n), x1)
		}
		ref := incr.Remote(ctx, h) // runs at once, inside x1's lease
		require.False(t, slices.Contains(cut, shardOf(ref.ObjectID().Task)))
		var err error
		third, err = ray.Get(ctx, ref)
		if err != nil {
			return err
		}
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // x1 declared dead
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 8*time.Second)) // x1 rejoins, the actor restarts there and replays
		after, err = ray.Get(ctx, incr.Remote(ctx, h))
		return err
	}))
	t.Logf("events: %q", events)
	require.Equal(t, int64(3), third, "the third call succeeded")
	require.Equal(t, int64(4), after, "the replay includes the call that succeeded")
}
