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

// TestAcceptedWriteOfDeadHostAgreesWithCall: an actor (CheckpointEvery(1))
// on x1; a GCS of 3 shards, the actor's not the node table's. x1 is cut
// off from the node table and the scheduler, and the actor's shard can no
// longer answer x1 (one way: x1's writes still reach it). The 4th call
// runs on x1; its checkpoint is taken by the actor table (x1 not dead
// yet), its ActorWritten cut. In the "orphan" cases x1's worker then
// crashes (Raylet.Kill): the ended instance keeps the held result
// (orphanHeld). x1 is declared dead, the actor restarts on x2 from the
// checkpoint that has the 4th call's effect (n=4), and the owner retries
// the call there (or, with no retries, fails it); at x1's rejoin
// dropOrphans (or dropActor) bounces the held call, taking the write for
// "never answered now". The caller's answer and the state disagree: with
// no retries the call fails yet its effect is in the state (the next call
// returns 5, not 4); retried, it is applied twice (the retry returns 5,
// the next call 6). Found in review of the orphaned held results.
//
// Retried, it is applied once since QA30 finding 2: the checkpoint saves
// the results it covers that are still held, and the restarted actor
// answers the retry with call 4's result.
//
// Known, not fixed with no retries (docs/fault-tolerance.md, the twentieth
// session's Left): the owner decides a call's fate on its host's death
// without the actor table's word on whether the call's write was kept; the
// fix is a table-side verdict for actor calls, as askFailure is for tasks,
// with the result readable once kept. Remove the Skip with that fix.
func TestAcceptedWriteOfDeadHostAgreesWithCall(t *testing.T) {
	for _, kill := range []bool{true, false} {
		for _, retries := range []int{0, 1} {
			name := fmt.Sprintf("orphan=%v,retries=%d", kill, retries)
			t.Run(name, func(t *testing.T) {
				if retries == 0 {
					t.Skip("known: a kept write of a host declared dead, its call not retried; see the doc comment")
				}
				acceptedWriteOfDeadHost(t, kill, retries)
			})
		}
	}
}

func acceptedWriteOfDeadHost(t *testing.T, kill bool, retries int) {
	const shards = 3
	reg, cls, incr, _ := counterActor()
	c, err := ray.NewSim(ray.Config{Nodes: xNodes(), Seed: 1, WireCheck: true, GCSShards: shards, MaxVirtual: time.Minute}, reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	x1 := netsim.NodeID(ray.RayletID(1))
	var v4, after int64
	var err4 error
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		// Throwaway actors (no resources) until the next actor's shard is
		// not the node table's.
		me := ray.TaskID(ctx)
		for {
			hh := cls.New(ctx)
			k := uint64(0)
			for transport.ChildTaskID(me, k) != hh.ID() {
				k++
				require.Less(t, k, uint64(10000))
			}
			if c.Layout().ShardOfTask(transport.ChildTaskID(me, k+1)) != c.Layout().NodeTable() {
				break
			}
		}
		h := cls.Options(ray.Resource("x", 1), ray.NodeAffinity(ray.RayletID(1), false), ray.MaxRestarts(3), ray.CheckpointEvery(1)).New(ctx)
		callsInOrder(ctx, t, incr, h, 3)
		sa := c.Layout().ShardOfTask(h.ID())
		require.NotEqual(t, c.Layout().NodeTable(), sa)
		sim.Cut(netsim.NodeID(sa), x1) // the table's answers to x1 only
		for _, n := range []transport.NodeID{c.Layout().NodeTable(), ray.SchedulerID} {
			sim.Cut(x1, netsim.NodeID(n))
			sim.Cut(netsim.NodeID(n), x1)
		}
		ref := incr.Options(ray.MaxRetries(retries)).Remote(ctx, h)
		require.NoError(t, ray.Compute(ctx, 5*time.Millisecond)) // the call ran; its write is in the table
		if kill {
			sim.After(0, func() { c.Raylet(1).Kill(h.ID(), "test kill") })
		}
		require.NoError(t, ray.Compute(ctx, 2500*time.Millisecond)) // x1 declared dead; the actor restarts on x2
		sim.Heal()
		v4, err4 = ray.GetTimeout(ctx, ref, 20*time.Second)
		require.NoError(t, ray.Compute(ctx, 3*time.Second)) // x1 rejoins
		var err error
		after, err = ray.GetTimeout(ctx, incr.Options(ray.MaxRetries(3)).Remote(ctx, h), 20*time.Second)
		return err
	}))
	t.Logf("call 4: %v %v; next call: %v", v4, err4, after)
	if err4 == nil {
		require.Equal(t, int64(4), v4, "call 4 applied once")
		require.Equal(t, int64(5), after, "call 4 succeeded: its effect is in the state once")
	} else {
		require.Equal(t, int64(4), after, "call 4 failed to its caller but its effect is in the actor's state")
	}
}
