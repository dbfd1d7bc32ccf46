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
