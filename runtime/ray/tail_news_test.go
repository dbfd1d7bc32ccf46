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

// TestTaskDoneLostWithTailThenFreeRebuilds: a task the driver owns runs on
// node 1; its result's shard records the location, and its tail's TaskDone
// to the owner is held by a cut (tail -> driver's node) while the tail's
// ChainAck reaches the other members. The tail crashes: the TaskDone is gone
// for good, and the new tail has nothing left to release. The driver then
// frees the result and reads it again: the GCS answers ObjectLost (as for any
// freed object), but the owner still owns the task ("already being
// re-made") and never rebuilds it.
func TestTaskDoneLostWithTailThenFreeRebuilds(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{GCSShards: 2, GCSReplicas: 3}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		n1, head := ray.RayletID(1), ray.RayletID(0)
		sim := c.Netsim()
		p := s.slow.Options(ray.NodeAffinity(n1, false)).Remote(ctx, 200)
		j, ok := l.ShardIndex(l.ShardOfObject(p.ObjectID()))
		require.True(t, ok)
		tail := ray.ReplicaID(j, 2)
		sim.Cut(netsim.NodeID(tail), netsim.NodeID(head))
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // done on node 1, recorded by the chain
		sim.Crash(netsim.NodeID(tail))                             // with the TaskDone to the owner
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		require.NoError(t, ray.Free(ctx, p))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		v, err := ray.GetTimeout(ctx, p, 10*time.Second)
		require.NoError(t, err, "the owner never rebuilt a freed result whose TaskDone died with the tail")
		assert.Equal(t, 200, v)
		return nil
	})
}

// TestRetriedTaskDoneLostWithTailThenFreeRebuilds: as above, but the task
// was retried (its first node died mid-run) before the run whose TaskDone
// dies with the tail. To the owner "an earlier run's copy was lost and the
// retry still runs" looks like "the retry finished and its copy was
// freed"; it used to wait, and the read after the free timed out. An owner
// that freed the result itself now rebuilds.
func TestRetriedTaskDoneLostWithTailThenFreeRebuilds(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: xNodes(), GCSShards: 2, GCSReplicas: 3}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		n1, head := ray.RayletID(1), ray.RayletID(0)
		sim := c.Netsim()
		p := s.slow.Options(ray.NodeAffinity(n1, true), ray.Resource("x", 1), ray.MaxRetries(3)).Remote(ctx, 3000)
		j, ok := l.ShardIndex(l.ShardOfObject(p.ObjectID()))
		require.True(t, ok)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		sim.Crash(netsim.NodeID(n1))                                // mid-run: the owner retries it elsewhere once n1 is declared dead
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond)) // retried, running
		tail := ray.ReplicaID(j, 2)
		sim.Cut(netsim.NodeID(tail), netsim.NodeID(head))
		require.NoError(t, ray.Compute(ctx, 3500*time.Millisecond)) // done, recorded by the chain
		sim.Crash(netsim.NodeID(tail))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		require.NoError(t, ray.Free(ctx, p))
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		v, err := ray.GetTimeout(ctx, p, 10*time.Second)
		require.NoError(t, err, "the owner never rebuilt a freed result of a retried task whose TaskDone died with the tail")
		assert.Equal(t, 3000, v)
		return nil
	})
}

// TestNamedActorDeathLostWithTail: a named actor with no restarts dies with
// its node. Its shard buries it and forwards the death to the name's shard
// (restartActor); that forward, sent by the tail's own client, is held by a
// cut and lost when the tail crashes. The name's shard keeps the actor alive
// under its name for good: GetActor finds a dead actor.
func TestNamedActorDeathLostWithTail(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{GCSShards: 2, GCSReplicas: 3}, func(ctx context.Context, c *ray.Sim) error {
		l := c.Layout()
		n1 := ray.RayletID(1)
		sim := c.Netsim()
		var name string
		var j, k int
		for i := 0; ; i++ {
			name = "named-" + string(rune('a'+i))
			h := s.counter.Options(ray.ActorName(name), ray.NodeAffinity(n1, false), ray.CPUs(0)).New(ctx, 1)
			_, err := ray.Get(ctx, s.get.Remote(ctx, h))
			require.NoError(t, err)
			j, _ = l.ShardIndex(l.ShardOfTask(h.ID()))
			k, _ = l.ShardIndex(l.ShardOfName(name))
			if j != k {
				break
			}
		}
		tail := ray.ReplicaID(j, 2)
		for i := 0; i < 3; i++ {
			sim.Cut(netsim.NodeID(tail), netsim.NodeID(ray.ReplicaID(k, i)))
		}
		sim.Crash(netsim.NodeID(n1))
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // declared dead; the actor buried
		sim.Crash(netsim.NodeID(tail))                      // with the forward to the name's shard
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, time.Second))
		_, err := ray.GetActor(ctx, s.counter, name)
		assert.ErrorIs(t, err, ray.ErrActorNotFound, "the name's shard never heard its actor died")
		return nil
	})
}
