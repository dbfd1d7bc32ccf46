package ray_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestAbandonedWaitAnsweredLocally: once a driver's raylet is abandoned
// (its session lost the head), a Wait this node can answer alone — k of
// the objects are in its store or located — returns them, as a Get of
// objects in the store does; only a Wait that would have to block fails
// with the abandonment's error.
func TestAbandonedWaitAnsweredLocally(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	lost := errors.New("lost the cluster (test)")
	require.NoError(t, c.Run(func(ctx context.Context) error {
		p, err := ray.Put(ctx, 7)
		require.NoError(t, err)
		done := s.double.Remote(ctx, 4)
		v, err := ray.Get(ctx, done)
		require.NoError(t, err)
		require.Equal(t, 8, v)
		c.Raylet(0).Abandon(lost) // netsim: this coroutine holds the loop

		v, err = ray.Get(ctx, p)
		require.NoError(t, err, "a Get answered from the store")
		assert.Equal(t, 7, v)
		ready, notReady, err := ray.Wait(ctx, []ray.Ref[int]{p, done}, 2, -1)
		require.NoError(t, err, "a Wait answered from this node alone")
		assert.Len(t, ready, 2)
		assert.Empty(t, notReady)

		pending := s.double.Options(ray.Resource("nowhere", 1)).Remote(ctx, 5)
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{p, pending}, 1, -1)
		require.NoError(t, err, "one of two is enough")
		assert.Len(t, ready, 1)
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{p, pending}, 2, 0)
		require.NoError(t, err, "a poll (timeout 0) is answered from this node")
		assert.Len(t, ready, 1)
		_, _, err = ray.Wait(ctx, []ray.Ref[int]{p, pending}, 2, -1)
		assert.ErrorIs(t, err, lost, "a Wait that would block fails at once")
		_, err = ray.Get(ctx, pending)
		assert.ErrorIs(t, err, lost)
		return nil
	}))
}
