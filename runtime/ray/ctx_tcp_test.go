package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestContextEndsBlockingCallsTCP: on TCP a Get, GetAll or Wait returns
// once its context is done (an error wrapping ctx.Err()), as a Go call
// that takes a context should; before, the caller dropped the context and
// blocked until the object came (here: never, its resource exists nowhere).
func TestContextEndsBlockingCallsTCP(t *testing.T) {
	s := newSuite()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		calls := map[string]func(context.Context) error{
			"Get": func(ctx context.Context) error { _, err := ray.Get(ctx, never); return err },
			"GetAll": func(ctx context.Context) error {
				_, err := ray.GetAll(ctx, []ray.Ref[int]{s.double.Remote(ctx, 1), never}, -1)
				return err
			},
			"Wait": func(ctx context.Context) error {
				_, _, err := ray.Wait(ctx, []ray.Ref[int]{never}, 1, -1)
				return err
			},
		}
		for _, name := range []string{"Get", "GetAll", "Wait"} {
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			done := make(chan error, 1)
			go func() { done <- calls[name](cctx) }()
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.DeadlineExceeded, name)
			case <-time.After(20 * time.Second):
				t.Errorf("%s still blocked 20s after its context's 100ms deadline", name)
			}
			cancel()
			// A context done before the call ends it at once; a caller that
			// was stopped this way still works.
			dead, stop := context.WithCancel(ctx)
			stop()
			assert.True(t, errors.Is(calls[name](dead), context.Canceled), name)
		}
		v, err := ray.Get(ctx, s.double.Remote(ctx, 21))
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		return ray.Cancel(ctx, never)
	}))
}

// TestKillRightBehindACallTCP: an actor killed while its coroutine is
// being woken for a call ends cleanly (the coroutine read the actor's dead
// flag off the loop while Kill wrote it: a data race under -race).
func TestKillRightBehindACallTCP(t *testing.T) {
	s := newSuite()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for i := range 30 {
			h := s.counter.New(ctx, i)
			v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
			require.NoError(t, err)
			require.Equal(t, i, v)
			_ = s.incr.Remote(ctx, h, 1)
			require.NoError(t, ray.Kill(ctx, h))
		}
		return nil
	}))
}
