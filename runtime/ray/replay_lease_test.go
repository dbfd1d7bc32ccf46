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

// TestReplayStartsNothingPastTheLease: a restarted actor replays its logged
// methods (ReplayMethods) on node w. w is cut off from the node table as
// the replay begins: it is declared dead 1s later, and its lease ran out
// before that, but replayMethods starts each logged call (task.running,
// detail "replay") without asking the lease (leaseOut), so w's dead
// incarnation goes on running actor calls as a zombie.
func TestReplayStartsNothingPastTheLease(t *testing.T) {
	s := newSuite()
	work := ray.Method1(s.counter, "work50", func(ctx context.Context, c *counter, by int) (int, error) {
		if err := ray.Compute(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
		c.n += by
		return c.n, nil
	})
	var c *ray.Sim
	w := ray.RayletID(1)
	restarted, cut := false, false
	deadAt, deadInc := time.Duration(-1), uint64(0)
	var starts []string
	cfg := ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if ev.Node != w || !restarted {
			return
		}
		switch {
		case !cut && ev.Kind == transport.EvTaskRunning && ev.Detail == "replay":
			cut = true
			c.Netsim().Cut(netsim.NodeID(w), netsim.NodeID(ray.ShardID(0))) // heartbeats stop; the replay goes on
		case cut && ev.Kind == transport.EvNodeDead && deadAt < 0:
			deadAt, deadInc = c.Netsim().Now(), c.Raylet(1).Incarnation()
		case deadAt >= 0 && ev.Kind == transport.EvTaskRunning && c.Raylet(1).Incarnation() == deadInc:
			starts = append(starts, fmt.Sprintf("%v after (%s)", c.Netsim().Now()-deadAt, ev.Detail))
		}
	}}
	var err error
	c, err = ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := s.counter.Options(ray.Resource("w", 1), ray.MaxRestarts(1), ray.ReplayMethods()).New(ctx, 0)
		var refs []ray.Ref[int]
		for range 60 { // 3s of logged calls to replay
			refs = append(refs, work.Remote(ctx, h, 1))
		}
		if _, err := ray.GetAll(ctx, refs, -1); err != nil {
			return err
		}
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		restarted = true
		c.Netsim().Restart(netsim.NodeID(w))
		return ray.Compute(ctx, 6*time.Second)
	}))
	require.True(t, cut, "the replay never began")
	require.GreaterOrEqual(t, deadAt, time.Duration(0), "w was never declared dead")
	require.Empty(t, starts, "w's dead incarnation started %d actor calls after its death", len(starts))
}
