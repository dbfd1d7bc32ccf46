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

// TestCallAfterKillFromAnotherNodeSim: a call made on another node after
// ray.Kill returned fails saying the actor was killed, even when the
// killer's word to the actor table is slow (its link to the GCS delayed)
// and the table still says the actor lives when that node asks.
//
// Before, the caller's node was sent to the actor's old host, which no
// longer had it and bounced the call: it failed with "actor ... is not on
// node 1 (it ended there, ...)", the flake of TestSemanticsTCP's "a call
// after kill says killed" under load. Now the host that ended an actor for
// good fails a call that reaches it with the cause (killed by ray.Kill),
// and a raylet told of the kill (transport.KillActor) fails its own calls
// at once.
func TestCallAfterKillFromAnotherNodeSim(t *testing.T) {
	for _, tc := range []struct {
		name string
		host int   // the actor's node
		slow []int // raylets whose link from the killer (the head) is slowed, besides the GCS's
	}{
		{"hosted by the killer", 0, nil},
		// The kill reaches the host late: the caller's node must not take
		// the table's stale word and run the call there.
		{"hosted elsewhere, the kill slow to reach its host", 1, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSuite()
			c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Run(func(ctx context.Context) error {
				var h ray.ActorHandle[counter]
				if tc.host == 0 {
					h = s.counter.New(ctx, 1)
				} else {
					h = s.counter.Options(ray.Resource("special", 1)).New(ctx, 2)
				}
				where, err := ray.Get(ctx, s.here.Remote(ctx, h))
				require.NoError(t, err)
				require.Equal(t, uint64(ray.RayletID(tc.host)), where)
				head := netsim.NodeID(ray.RayletID(0))
				c.Netsim().Degrade(head, netsim.NodeID(ray.ShardID(0)), 300*time.Millisecond, 0)
				for _, n := range tc.slow {
					c.Netsim().Degrade(head, netsim.NodeID(ray.RayletID(n)), 300*time.Millisecond, 0)
				}
				require.NoError(t, ray.Kill(ctx, h))
				_, err = ray.GetTimeout(ctx, s.callGet.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, h), 10*time.Second)
				require.ErrorIs(t, err, ray.ErrTaskFailed)
				assert.Contains(t, err.Error(), "killed by ray.Kill")
				assert.NotContains(t, err.Error(), "not on node")
				return nil
			}))
		})
	}
}
