package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestRestartStartingAtRejoinWithCreatorGone: an actor created by a
// driver on node w lives on x1 (hard affinity; its constructor takes 2s).
// w crashes for good. The actor's worker then crashes (kill_actor) and the
// GCS restarts it on x1, where its constructor runs; meanwhile x1 is cut
// off from the GCS and declared dead. The constructor ends while x1 is cut
// off; the news of the instance alive, from the dead incarnation, is
// refused (gcs.go actorUpdate). x1 rejoins and drops the instance
// (rejoin's dropActor loop, ft.go) telling nobody: the actor's shard
// hears nothing of a restart until it is alive, and its nodeDead restarts
// only actors it has alive on the node (a restarting one names no node).
// Only the creator reports a restart lost (restartLost), and it is gone,
// so the actor stays "restarting" for good and a call to it never
// returns. With w alive the test passes. The rejoining raylet should
// report the GCS restarts it drops (a GcsActorUpdate with Restart set, as
// Kill of an unannounced restart and a PlaceTask for a stale incarnation
// do; the shard ignores one no longer current), and the call return the
// constructor's value.
func TestRestartStartingAtRejoinWithCreatorGone(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, 2*time.Second)
	nodes := append(xNodes(), ray.NodeConfig{Name: "w", CPUs: 2})
	var h ray.ActorHandle[counter]
	faultSim(t, s, ray.Config{Nodes: nodes}, func(ctx context.Context, c *ray.Sim) error {
		x1, w := ray.RayletID(1), ray.RayletID(3)
		sim := c.Netsim()
		onNode(ctx, t, c, 3, func(ctx context.Context) error {
			h = slow.Options(ray.NodeAffinity(x1, false), ray.Resource("x", 1), ray.MaxRestarts(3), ray.Detached()).New(ctx, 7) // outlives its creator
			v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 5*time.Second)
			require.Equal(t, 7, v)
			return err
		})
		sim.Crash(netsim.NodeID(w)) // the actor's creator is gone
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		sim.After(0, func() { c.Raylet(1).Kill(h.ID(), "worker crashed") })
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the restart's constructor runs on x1
		require.Equal(t, 2, *made, "precondition: the restart started on x1")
		cutFromGCS(sim, x1)
		require.NoError(t, ray.Compute(ctx, 3*time.Second)) // x1 is declared dead
		require.NoError(t, healAndRejoin(ctx, c, 1))
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 20*time.Second)
		require.NoError(t, err, "the actor never came back: its restart was dropped at x1's rejoin and nobody reported it lost (constructor runs: %d)", *made)
		require.Equal(t, 7, v)
		return nil
	})
}
