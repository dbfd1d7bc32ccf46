package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestEvictionByLostObjectIsAnnounced: node b's store (1 MiB + 64 bytes)
// holds a pulled copy of x (1 MiB, made on the head). A task on b then
// reads a Put object whose only copy died with its node: b stores
// ErrObjectLost for it (loseObject), and that put evicts x. loseObject
// (and failedTask) call store.PutAt directly and drop its evicted list, so
// unlike putNotify they send no GcsRemoveObject: the object table still
// lists b as a holder of x. A later reader on b subscribes, the table
// prefers the copy on the subscriber and answers b, onLocated takes that
// for stale and subscribes again a millisecond later — and gets b again,
// forever (nothing ever corrects the location: only servePull, which a
// reader on b never asks). The read hangs, with a subscription every 1ms.
// It should pull x from the head. Fix: report the evictions of those puts
// as putNotify does (or route them through one helper), and/or have a
// reader that is told its own node holds an object it does not hold send
// GcsRemoveObject for itself.
func TestEvictionByLostObjectIsAnnounced(t *testing.T) {
	s := newSuite()
	reg := s.reg
	made := ray.Register1(reg, "evictMade", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: 1 << 20, Sum: uint64(i)}, nil
	})
	used := ray.Register1(reg, "evictUsed", func(ctx context.Context, b ray.Blob) (uint64, error) { return b.Sum, nil })
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "putter", CPUs: 1}, {Name: "b", CPUs: 1, ObjectStoreBytes: 1<<20 + 64}}
	faultSim(t, s, ray.Config{Nodes: nodes}, func(ctx context.Context, c *ray.Sim) error {
		head, putter, b := ray.RayletID(0), ray.RayletID(1), ray.RayletID(2)
		x := made.Options(ray.NodeAffinity(head, false)).Remote(ctx, 7)
		v, err := ray.Get(ctx, used.Options(ray.NodeAffinity(b, false)).Remote(ctx, x)) // b pulls a copy of x
		require.NoError(t, err)
		require.Equal(t, uint64(7), v)

		var p ray.Ref[int]
		onNode(ctx, t, c, 1, func(ctx context.Context) error { // a driver on putter
			p, err = ray.Put(ctx, 5)
			return err
		})
		c.Netsim().Crash(netsim.NodeID(putter)) // p's only copy is gone
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		_, err = ray.GetTimeout(ctx, s.add.Options(ray.NodeAffinity(b, false)).Remote(ctx, p, 1), 5*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost) // b stored ErrObjectLost for p, evicting x
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))

		v, err = ray.GetTimeout(ctx, used.Options(ray.NodeAffinity(b, false)).Remote(ctx, x), 10*time.Second)
		require.NoError(t, err, "a reader on b of x (its primary copy alive on the head): the object table still lists b's evicted copy")
		require.Equal(t, uint64(7), v)
		return nil
	})
}
