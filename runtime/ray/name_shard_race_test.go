package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestNameShardAliveAfterDelayedRestarting: a named actor whose name is
// kept by another GCS shard than its ID restarts after its node dies; the
// actor's shard's word of the restart to the name's shard is held up (a
// slow link between the shards), and the restart's host's "alive" reaches
// the name's shard first. The name's shard must end with the actor alive
// where it restarted: before, the late "restarting" overwrote it, and a
// lookup by name answered "restarting" while the actor was up.
func TestNameShardAliveAfterDelayedRestarting(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "n1", CPUs: 2, Resources: map[string]float64{"spot": 1}},
		{Name: "n2", CPUs: 2, Resources: map[string]float64{"spot": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, GCSShards: 2, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	l := c.Layout()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		// An actor whose name's shard is not its ID's (IDs are derived:
		// name candidates until one splits).
		var h ray.ActorHandle[counter]
		var q, name string
		for i := 0; ; i++ {
			require.Less(t, i, 32, "no name split from its actor's shard")
			name = fmt.Sprintf("racer-%d", i)
			h = s.counter.Options(ray.ActorName(name), ray.MaxRestarts(1), ray.Resource("spot", 1)).New(ctx, 1)
			require.NoError(t, h.Err())
			q = transport.QualifiedName(ray.Namespace(ctx), name)
			if l.ShardOfName(q) != l.ShardOfTask(h.ID()) {
				break
			}
			require.NoError(t, ray.Kill(ctx, h))
		}
		require.Equal(t, 1, count(t, ctx, s, h))
		home, names := l.ShardOfTask(h.ID()), l.ShardOfName(q)
		host := row(t, c, home, h.ID()).Node
		// The actor's shard's word to the name's shard takes 5 s from
		// now; the host dies.
		c.Netsim().SetLink(netsim.NodeID(home), netsim.NodeID(names), netsim.Link{Latency: netsim.Constant(5 * time.Second)})
		c.Netsim().Crash(netsim.NodeID(host))
		require.NoError(t, ray.Compute(ctx, 20*time.Second)) // the death noticed, the restart up, the held word in
		restarted := row(t, c, home, h.ID())
		require.Equal(t, transport.ActorAlive, restarted.State)
		require.NotEqual(t, host, restarted.Node)
		got := row(t, c, names, h.ID())
		require.Equal(t, transport.ActorAlive, got.State, "the name's shard took the late restarting over the restart's alive")
		require.Equal(t, restarted.Node, got.Node)
		found, err := ray.GetActor(ctx, s.counter, name)
		require.NoError(t, err)
		require.Equal(t, 1, count(t, ctx, s, found), "restarted (its constructor ran again)")
		return nil
	}))
}

// row is shard id's entry for an actor.
func row(t *testing.T, c *ray.Sim, id transport.NodeID, actor transport.ActorID) transport.ActorInfo {
	t.Helper()
	j, ok := c.Layout().ShardIndex(id)
	require.True(t, ok)
	for _, r := range c.Shard(j).ActorRows() {
		if r.Actor == actor {
			return r
		}
	}
	require.Fail(t, "no entry", "actor %s on shard %d", actor, j)
	return transport.ActorInfo{}
}
