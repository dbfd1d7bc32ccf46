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

// TestRejoinedOwnerDroppedPlacementRetried: the head (the driver's node,
// the owner of its tasks) is cut off from the node table past the node
// timeout, declared dead, and rejoins (incarnation + 1<<32). The global
// scheduler hears all of this late (the node table's link to it is slow).
// Meanwhile the driver submits spread tasks; one is placed on the head's
// old incarnation. The head's raylet drops that PlaceTask (meant for an
// earlier incarnation of itself) and, as the task's owner, hears
// TaskPlaced(head, old inc) — but it never records its own old
// incarnation as dead (onNodeDead returns early for self), so nothing
// retries the task: the Get hangs.
func TestRejoinedOwnerDroppedPlacementRetried(t *testing.T) {
	s := newSuite()
	rejoined := false
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvNodeAlive && ev.Detail == "rejoined after being declared dead" {
			rejoined = true
		}
	}
	faultSim(t, s, ray.Config{GCSShards: 2, OnEvent: onEvent}, func(ctx context.Context, c *ray.Sim) error {
		head := ray.RayletID(0)
		nt := c.Layout().NodeTable()
		sim := c.Netsim()
		sim.Degrade(netsim.NodeID(nt), netsim.NodeID(ray.SchedulerID), 4*time.Second, 0)
		sim.Cut(netsim.NodeID(head), netsim.NodeID(nt))
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond)) // declared dead
		sim.Heal()                                                  // its next heartbeat is answered: it rejoins
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		require.True(t, rejoined, "the head did not rejoin: the test no longer covers its case")
		var refs []ray.Ref[int]
		for i := range 3 {
			refs = append(refs, s.double.Options(ray.Spread()).Remote(ctx, i))
		}
		for i, r := range refs {
			v, err := ray.GetTimeout(ctx, r, 15*time.Second)
			require.NoError(t, err, "task %d: placed on the owner's own old incarnation, dropped, never retried", i)
			require.Equal(t, 2*i, v)
		}
		return nil
	})
}

// TestRejoinedCreatorRestartOnOldIncarnation: the driver creates an actor
// on the head (its own node). The head is cut off from the node table,
// declared dead, and rejoins; the global scheduler hears of it late. The
// actor's shard (not the node table) restarts the actor, and the stale
// scheduler places the restart on the head's old incarnation again. The
// head drops that PlaceTask; as the actor's creator it watches the
// restart (TaskPlaced with the restart bit) but never learns its own old
// incarnation is dead (no deadInc entry for itself), so it never reports
// the restart lost: the actor stays "restarting" and calls hang.
func TestRejoinedCreatorRestartOnOldIncarnation(t *testing.T) {
	s := newSuite()
	rejoined := false
	restarts := 0
	var lastRestart transport.EventKind
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvNodeAlive && ev.Detail == "rejoined after being declared dead" {
			rejoined = true
		}
		if ev.Kind == transport.EvActorRestarted || ev.Kind == transport.EvActorDied {
			restarts++
			lastRestart = ev.Kind
		}
	}
	faultSim(t, s, ray.Config{GCSShards: 2, OnEvent: onEvent}, func(ctx context.Context, c *ray.Sim) error {
		head, other := ray.RayletID(0), ray.RayletID(2)
		l := c.Layout()
		nt := l.NodeTable()
		sim := c.Netsim()
		var h ray.ActorHandle[counter]
		for {
			h = s.counter.Options(ray.NodeAffinity(head, true), ray.MaxRestarts(3), ray.Detached()).New(ctx, 10) // outlives its creator's death
			if l.ShardOfTask(h.ID()) != nt {
				break
			}
			require.NoError(t, ray.Kill(ctx, h))
			_, _ = ray.Get(ctx, s.double.Options(ray.NodeAffinity(other, true)).Remote(ctx, 1))
		}
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 11, v)
		sim.Degrade(netsim.NodeID(nt), netsim.NodeID(ray.SchedulerID), 4*time.Second, 0)
		sim.Cut(netsim.NodeID(head), netsim.NodeID(nt))
		require.NoError(t, ray.Compute(ctx, 1500*time.Millisecond)) // declared dead; the actor's shard restarts it
		sim.Heal()                                                  // its next heartbeat is answered: it rejoins
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		require.True(t, rejoined, "the head did not rejoin: the test no longer covers its case")
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 20*time.Second)
		t.Logf("restarts/deaths %d last %v", restarts, lastRestart)
		require.NoError(t, err, "the actor's restart, placed on its creator's old incarnation, was dropped and never reported lost")
		return nil
	})
}

// TestOrphanRestartDroppedByNewIncarnation: an actor's creator (a driver
// on node 2) is gone for good; the actor lives on node 1. Node 1 restarts
// (incarnation 2) and the global scheduler hears of it late (the node
// table's link to it is slow). The actor's shard restarts the actor; the
// stale scheduler places the restart on node 1 naming incarnation 1, and
// node 1's incarnation 2 drops the PlaceTask. Only the creator watches a
// GCS restart (TaskPlaced with the restart bit) and reports it lost: with
// the creator dead, nobody does, the actor stays "restarting" and calls
// to it hang. Before, incarnation 2 took the placement and the actor came
// up there.
func TestOrphanRestartDroppedByNewIncarnation(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, GCSShards: 2, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	n1, n2 := ray.RayletID(1), ray.RayletID(2)
	l := c.Layout()
	nt := l.NodeTable()
	sim := c.Netsim()
	var id transport.ActorID
	require.NoError(t, c.Go(2, func(ctx context.Context) error {
		for {
			h := s.counter.Options(ray.NodeAffinity(n1, true), ray.MaxRestarts(3), ray.Detached()).New(ctx, 10) // outlives its creator
			if _, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second); err != nil {
				return err
			}
			if l.ShardOfTask(h.ID()) != nt {
				id = h.ID()
				return nil
			}
			if err := ray.Kill(ctx, h); err != nil {
				return err
			}
		}
	}))
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for id == 0 {
			require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		}
		sim.Crash(netsim.NodeID(n2))                        // the creator is gone for good
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // and declared dead
		h := ray.ActorHandleOf[counter](id)
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 12, v)
		sim.Degrade(netsim.NodeID(nt), netsim.NodeID(ray.SchedulerID), 2*time.Second, 0)
		sim.Restart(netsim.NodeID(n1)) // incarnation 2 registers; the scheduler hears of it late
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 20*time.Second)
		require.NoError(t, err, "the GCS's restart, placed on node 1's old incarnation, was dropped and nobody re-placed it")
		return nil
	}))
}
