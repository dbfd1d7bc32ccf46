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

// TestReplayedCallRunsNothingPastTheLeaseWhileItsArgumentComes: a replayed
// call (replayMethods) checked the lease before fetching its arguments and
// ran once they came, however late: a replayed call whose argument (1GiB
// Put on the head, over a 300MB/s link) took 3.6s to arrive ran its user
// code ~2.4s after its node was declared dead, on the dead incarnation's
// instance. It now checks the lease once its arguments are here. Found in
// review.
func TestReplayedCallRunsNothingPastTheLeaseWhileItsArgumentComes(t *testing.T) {
	s := newSuite()
	type stamp struct {
		c  *counter
		at time.Duration
	}
	var c *ray.Sim
	var insts, runs []stamp
	cls := ray.RegisterActor1(s.reg, "RefCounter", func(ctx context.Context, start int) (*counter, error) {
		cn := &counter{n: start}
		insts = append(insts, stamp{cn, c.Netsim().Now()})
		return cn, nil
	})
	work := ray.Method1(cls, "workRef", func(ctx context.Context, cn *counter, b ray.Blob) (int, error) {
		runs = append(runs, stamp{cn, c.Netsim().Now()})
		if err := ray.Compute(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
		cn.n++
		return cn.n, nil
	})
	w := ray.RayletID(1)
	restarted, replaying := false, false
	deadAt := time.Duration(-1)
	cfg := ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if !restarted || ev.Node != w {
			return
		}
		switch {
		case !replaying && ev.Kind == transport.EvTaskArg && ev.Detail == "fetch":
			replaying = true
			// the argument's pull from the head is slow from now on
			c.Netsim().SetLink(netsim.NodeID(ray.RayletID(0)), netsim.NodeID(w), netsim.Link{Latency: netsim.Constant(time.Millisecond), Bandwidth: 300e6})
		case ev.Kind == transport.EvNodeDead && deadAt < 0:
			deadAt = c.Netsim().Now()
		}
	}}
	var err error
	c, err = ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1), ray.ReplayMethods()).New(ctx, 0)
		arg, err := ray.Put(ctx, ray.Blob{Bytes: 1 << 30})
		require.NoError(t, err)
		var refs []ray.Ref[int]
		for range 5 {
			refs = append(refs, work.Remote(ctx, h, arg))
		}
		if _, err := ray.GetAll(ctx, refs, -1); err != nil {
			return err
		}
		c.Netsim().Crash(netsim.NodeID(w))
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		restarted = true
		c.Netsim().Restart(netsim.NodeID(w))
		for !replaying {
			require.NoError(t, ray.Compute(ctx, time.Millisecond))
		}
		require.NoError(t, ray.Compute(ctx, 200*time.Millisecond))
		c.Netsim().Cut(netsim.NodeID(w), netsim.NodeID(ray.ShardID(0))) // heartbeats stop
		return ray.Compute(ctx, 8*time.Second)
	}))
	require.True(t, replaying, "the replay never began")
	require.GreaterOrEqual(t, deadAt, time.Duration(0), "w was never declared dead")
	var zombie *counter // the instance of the incarnation declared dead: the last made before the death
	for _, in := range insts {
		if in.at < deadAt {
			zombie = in.c
		}
	}
	var late []string
	for _, r := range runs {
		if r.c == zombie && r.at > deadAt {
			late = append(late, fmt.Sprintf("%v after", r.at-deadAt))
		}
	}
	require.Empty(t, late, "the dead incarnation's actor ran %d replayed calls after the node's death", len(late))
}
