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

// TestZombieCheckpointDoesNotOverwriteRestartedActor: an actor
// (CheckpointEvery(1)) on x1 runs a long call; x1 is cut off, declared dead,
// and the actor restarts on x2 from its checkpoint (n=2), where a call
// succeeds (n=3, checkpoint #3, result published). The zombie x1 then ends
// its long call (n=102 there) and saves its own checkpoint #3, which reaches
// the actor table after the heal: it carried no incarnation or restart
// count, and Calls >= the stored one, so it replaced x2's, and the next
// restart restored the zombie's state: the succeeded call's effect was
// lost and the failed call's was there. Writes now name their sender's
// incarnation, and the actor table refuses a dead one's. Found in review.
func TestZombieCheckpointDoesNotOverwriteRestartedActor(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "ZCounter", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *durableCounter) (int64, error) {
		c.n++
		return c.n, nil
	})
	slow := ray.Method0(cls, "slowIncr", func(ctx context.Context, c *durableCounter) (int64, error) {
		if err := ray.Compute(ctx, 3*time.Second); err != nil {
			return 0, err
		}
		c.n += 100
		return c.n, nil
	})
	var created []transport.NodeID
	c, err := ray.NewSim(ray.Config{Nodes: xNodes(), Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvActorCreated {
			created = append(created, ev.Node)
		}
	}}, reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	x1, x2 := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	var after int64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := cls.Options(ray.Resource("x", 1), ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRestarts(3), ray.CheckpointEvery(1)).New(ctx)
		for i := int64(1); i <= 2; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		sref := slow.Options(ray.MaxRetries(0)).Remote(ctx, h) // runs on x1 for 3s
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		for _, n := range sim.Nodes() {
			if n != x1 {
				sim.Cut(x1, n)
				sim.Cut(n, x1)
			}
		}
		require.NoError(t, ray.Compute(ctx, 2500*time.Millisecond)) // x1 declared dead; the actor restarts on x2
		v, err := ray.Get(ctx, incr.Remote(ctx, h))
		require.NoError(t, err)
		require.Equal(t, int64(3), v, "restarted from checkpoint #2")
		_, err = ray.Get(ctx, sref)
		require.Error(t, err, "the slow call died with x1's incarnation")
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond)) // the zombie's slow call ends, cut off
		sim.Heal()
		require.NoError(t, ray.Compute(ctx, 4*time.Second)) // its checkpoint reaches the table
		sim.Crash(x2)                                       // the actor restarts again, on x1's new incarnation
		require.NoError(t, ray.Compute(ctx, 4*time.Second))
		after, err = ray.Get(ctx, incr.Remote(ctx, h))
		return err
	}))
	t.Logf("actor created on %v", created)
	require.Equal(t, int64(4), after, "the second restart restored the state x2 checkpointed (n=3)")
}
