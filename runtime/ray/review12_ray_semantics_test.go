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

// Found in a review of the API's semantics against Ray's documentation
// (review12). Each test fails today.

func review12Sim(t *testing.T, s *suite, body func(ctx context.Context, c *ray.Sim)) {
	t.Helper()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		body(ctx, c)
		return nil
	}))
}

// TestWaitRejectsDuplicateRefs: Ray's wait raises ValueError("Wait requires
// a list of unique object refs.") (python/ray/_private/worker.py; the
// ray.wait docs: "Note that these must be unique"). raysim accepts them and
// reports the one object twice as ready, so a Wait(refs, len(refs)) over a
// list with a duplicate returns before every distinct object is ready.
func TestWaitRejectsDuplicateRefs(t *testing.T) {
	s := newSuite()
	review12Sim(t, s, func(ctx context.Context, c *ray.Sim) {
		r := s.double.Remote(ctx, 1)
		_, _, err := ray.Wait(ctx, []ray.Ref[int]{r, r}, 2, time.Second)
		assert.ErrorIs(t, err, ray.ErrBadWait, "duplicate refs in Wait")
	})
}

// TestWaitReadyIsLocal: Ray's wait defaults to fetch_local=True: "wait for
// the object to be downloaded onto the local node before returning it as
// ready" (ray.wait docs). A ref Wait reports ready is then local, so a Get
// of it with timeout 0 succeeds. raysim's Wait reports an object ready once
// it exists anywhere (node.Caller.Wait: "It does not fetch"): Ray's
// fetch_local=False.
func TestWaitReadyIsLocal(t *testing.T) {
	s := newSuite()
	review12Sim(t, s, func(ctx context.Context, c *ray.Sim) {
		r := s.where.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx)
		ready, _, err := ray.Wait(ctx, []ray.Ref[uint64]{r}, 1, -1)
		require.NoError(t, err)
		require.Len(t, ready, 1)
		v, err := ray.GetTimeout(ctx, r, 0)
		require.NoError(t, err, "a ref Wait called ready is not here yet")
		assert.Equal(t, uint64(ray.RayletID(2)), v)
	})
}

// TestHardAffinityToUnusableNodeFails: Ray's NodeAffinitySchedulingStrategy
// with soft=False: "If the node doesn't exist or is infeasible, the task or
// actor will fail" (TaskUnschedulableError). raysim holds such a task for
// good (scheduler.Global.holdInfeasible): a Get without timeout hangs.
func TestHardAffinityToUnusableNodeFails(t *testing.T) {
	s := newSuite()
	review12Sim(t, s, func(ctx context.Context, c *ray.Sim) {
		// A node that is not in the cluster.
		_, err := ray.GetTimeout(ctx, s.where.Options(ray.NodeAffinity(ray.RayletID(9), false)).Remote(ctx), 10*time.Second)
		assert.Error(t, err)
		assert.NotErrorIs(t, err, ray.ErrTimeout, "hard affinity to an unknown node is held, not failed")
		// A node that can never run it (the head has no "special").
		_, err = ray.GetTimeout(ctx, s.where.Options(ray.Resource("special", 1), ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx), 10*time.Second)
		assert.Error(t, err)
		assert.NotErrorIs(t, err, ray.ErrTimeout, "hard affinity to an infeasible node is held, not failed")
	})
}

// TestActorFateSharesWithOwner: Ray's actor fault tolerance docs: "Actors
// can fail if the actor process dies, or if the owner of the actor dies"
// (only detached actors outlive their owner). A task on node "special"
// creates an actor on the gpu node; the task's node dies. In Ray the actor
// dies with its owner (ActorDiedError) and its GPU is free again. raysim
// keeps it alive for good: nothing ends an actor with its owner (the GCS
// acts on a node's death only for the actors it hosts, gcs.Shard.nodeDead).
func TestActorFateSharesWithOwner(t *testing.T) {
	s := newSuite()
	mk := ray.Register0(s.reg, "mkActor", func(ctx context.Context) (uint64, error) {
		h := s.counter.Options(ray.GPUs(1)).New(ctx, 3)
		if _, err := ray.Get(ctx, s.get.Remote(ctx, h)); err != nil {
			return 0, err
		}
		return uint64(h.ID()), nil
	})
	review12Sim(t, s, func(ctx context.Context, c *ray.Sim) {
		id, err := ray.Get(ctx, mk.Options(ray.Resource("special", 1), ray.MaxRetries(0)).Remote(ctx))
		require.NoError(t, err)
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(1))) // the owner's node
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		h := ray.ActorHandleOf[counter](ray.TaskIDOf(id))
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied, "the actor outlived its owner")
		_, err = ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(1)).Remote(ctx), 5*time.Second)
		assert.NoError(t, err, "the orphaned actor still holds the GPU")
	})
}

// TestRefOutlivingItsOwnerFails: Ray's OwnerDiedError: "the owner of the
// object has died while there is still a reference to the object" (Ray's
// fault tolerance docs: avoid letting an ObjectRef outlive its owner). A
// task on node "special" submits a child on the gpu node and returns the
// child's ref; the task's node dies; the child's value still sits on the
// gpu node. Ray: ray.get of the ref raises OwnerDiedError (an
// ObjectLostError). raysim returns the value (lineage and locations live in
// the GCS, not with the owner). Lower stakes than the actor case: raysim is
// more available than Ray here.
func TestRefOutlivingItsOwnerFails(t *testing.T) {
	s := newSuite()
	mk := ray.Register0(s.reg, "mkRef", func(ctx context.Context) ([]ray.Ref[int], error) {
		r := s.double.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, 21)
		if _, err := ray.Get(ctx, r); err != nil {
			return nil, err
		}
		return []ray.Ref[int]{r}, nil
	})
	review12Sim(t, s, func(ctx context.Context, c *ray.Sim) {
		refs, err := ray.Get(ctx, mk.Options(ray.Resource("special", 1), ray.MaxRetries(0)).Remote(ctx))
		require.NoError(t, err)
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(1))) // the owner's node
		require.NoError(t, ray.Compute(ctx, 3*time.Second))
		_, err = ray.GetTimeout(ctx, refs[0], 5*time.Second)
		assert.ErrorIs(t, err, ray.ErrObjectLost, "a ref outlived its owner")
	})
}
