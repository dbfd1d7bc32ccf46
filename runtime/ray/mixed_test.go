package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Refs of different types in one list, as Ray's wait and get of a mixed
// list: WaitObjects splits them as Wait does, GetObjects decodes each as
// its own type, and a type assertion gives the typed ref back.
func init() {
	semanticCases = append(semanticCases, semanticCase{"wait and get over refs of different types", func(t *testing.T, ctx context.Context, s *suite) {
		num := s.double.Remote(ctx, 21)
		word, err := ray.Put(ctx, "hello")
		require.NoError(t, err)
		list := s.makeRefs.Remote(ctx, 2)
		slow := s.slow.Remote(ctx, 2000)

		refs := []ray.ObjectRef{slow, num, word, list}
		ready, notReady, err := ray.WaitObjects(ctx, refs, 3, -1)
		require.NoError(t, err)
		assert.Equal(t, []ray.ObjectRef{num, word, list}, ready, "the ready ones, in the order given")
		assert.Equal(t, []ray.ObjectRef{slow}, notReady)
		back, ok := ready[1].(ray.Ref[string])
		require.True(t, ok, "the typed ref comes back by assertion")
		v, err := ray.Get(ctx, back)
		require.NoError(t, err)
		assert.Equal(t, "hello", v)

		vals, err := ray.GetObjects(ctx, ready, -1)
		require.NoError(t, err)
		require.Len(t, vals, 3)
		assert.Equal(t, 42, vals[0])
		assert.Equal(t, "hello", vals[1])
		inner, ok := vals[2].([]ray.Ref[int])
		require.True(t, ok, "a []Ref[int] value: got %T", vals[2])
		assert.Len(t, inner, 2)

		_, err = ray.GetObjects(ctx, []ray.ObjectRef{num, slow}, 10*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
		_, err = ray.GetObjects(ctx, []ray.ObjectRef{word, s.fail.Remote(ctx, 1)}, -1)
		assert.ErrorIs(t, err, ray.ErrTaskFailed, "a task's error is the get's")
		_, _, err = ray.WaitObjects(ctx, []ray.ObjectRef{num, word, num}, 1, -1)
		assert.ErrorIs(t, err, ray.ErrBadWait, "a ref twice")
		_, _, err = ray.WaitObjects(ctx, []ray.ObjectRef{num, nil}, 1, -1)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "a nil ObjectRef")
		_, err = ray.GetObjects(ctx, []ray.ObjectRef{ray.Ref[int]{}}, -1)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "a zero Ref")
		vals, err = ray.GetObjects(ctx, nil, -1)
		assert.NoError(t, err)
		assert.Empty(t, vals)
		require.NoError(t, ray.Cancel(ctx, slow))
	}})
}

// FetchLocal: Wait counts a ref ready once its object is in the caller's
// node's store (Ray's fetch_local=True) and fetches it meanwhile; without
// it, once the object exists anywhere. A poll fetches nothing.
func init() {
	semanticCases = append(semanticCases, semanticCase{"wait with FetchLocal waits for the object here", func(t *testing.T, ctx context.Context, s *suite) {
		there := s.double.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 21)
		refs := []ray.Ref[int]{there}
		ready, _, err := ray.Wait(ctx, refs, 1, -1)
		require.NoError(t, err)
		require.Equal(t, refs, ready, "made on node 1")
		ready, notReady, err := ray.Wait(ctx, refs, 1, 0, ray.FetchLocal())
		require.NoError(t, err)
		assert.Empty(t, ready, "not here yet: a Wait without FetchLocal fetched nothing")
		assert.Equal(t, refs, notReady)
		ready, notReady, err = ray.Wait(ctx, refs, 1, 0, ray.FetchLocal())
		require.NoError(t, err)
		assert.Empty(t, ready, "a poll fetched nothing either")
		assert.Equal(t, refs, notReady)
		ready, _, err = ray.Wait(ctx, refs, 1, 10*time.Second, ray.FetchLocal())
		require.NoError(t, err)
		assert.Equal(t, refs, ready, "fetched")
		ready, _, err = ray.Wait(ctx, refs, 1, 0, ray.FetchLocal())
		require.NoError(t, err)
		assert.Equal(t, refs, ready, "here now")

		// A task's ref and a failed task's, mixed: ready once here, the
		// error too (it is a value like any other).
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		bad := s.fail.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 1)
		ready2, notReady2, err := ray.WaitObjects(ctx, []ray.ObjectRef{never, bad}, 1, 10*time.Second, ray.FetchLocal())
		require.NoError(t, err)
		assert.Equal(t, []ray.ObjectRef{bad}, ready2)
		assert.Equal(t, []ray.ObjectRef{never}, notReady2)
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{never}, 1, 20*time.Millisecond, ray.FetchLocal())
		require.NoError(t, err)
		assert.Empty(t, ready, "timed out")
		require.NoError(t, ray.Cancel(ctx, never))
	}})
}

// TestWaitLocalTakesBackItsFetches: a Wait with FetchLocal that ends
// without an object (its timeout; enough others here) takes back its
// fetch, as a Get does (Ray cancels a wait's pulls when it returns), so
// Waits in a loop leave no readers behind.
func TestWaitLocalTakesBackItsFetches(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		done := s.double.Remote(ctx, 1)
		_, err := ray.Get(ctx, done)
		require.NoError(t, err)
		for range 50 {
			ready, _, err := ray.Wait(ctx, []ray.Ref[int]{never}, 1, time.Millisecond, ray.FetchLocal())
			require.NoError(t, err)
			require.Empty(t, ready)
			ready, _, err = ray.Wait(ctx, []ray.Ref[int]{done, never}, 1, -1, ray.FetchLocal()) // done is enough
			require.NoError(t, err)
			require.Equal(t, []ray.Ref[int]{done}, ready)
		}
		readers := 0
		for _, f := range c.Raylet(0).Fetches() { // netsim: this coroutine holds the loop
			readers += f.Readers
		}
		assert.Zero(t, readers, "readers left by ended Waits")
		return ray.Cancel(ctx, never)
	}))
}
