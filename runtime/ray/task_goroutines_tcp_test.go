package ray_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTaskGoroutinesBlockAtOnceTCP: on TCP a task's code may start
// goroutines that Compute, Put and Get with the task's ctx (as a Ray task's
// threads call ray.get). The Caller kept one Compute's verdict (slept), one
// Get and one Wait for a cancel to end: each goroutine's block overwrote
// the others', and the verdict was read off the loop while another
// goroutine's Compute wrote it on the loop. go test -race reports it.
func TestTaskGoroutinesBlockAtOnceTCP(t *testing.T) {
	reg := ray.NewRegistry()
	const goroutines, rounds = 4, 40
	fanout := ray.Register1(reg, "fanout", func(ctx context.Context, n int) (int, error) {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		sums := make([]int, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					if err := ray.Compute(ctx, 50*time.Microsecond); err != nil {
						errs <- err
						return
					}
					ref, err := ray.Put(ctx, n+i)
					if err != nil {
						errs <- err
						return
					}
					v, err := ray.Get(ctx, ref)
					if err != nil {
						errs <- err
						return
					}
					sums[g] += v
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return 0, err
		}
		total := 0
		for _, s := range sums {
			total += s
		}
		return total, nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, fanout.Remote(ctx, 1))
		require.NoError(t, err)
		want := goroutines * (rounds*1 + rounds*(rounds-1)/2)
		assert.Equal(t, want, v)
		return nil
	}))
}

// TestCancelEndsEveryGoroutinesBlockTCP: a cancel of a running task ends
// the block of each of its goroutines (Compute, Get and Wait at once), not
// only the one that blocked last; before, the others blocked for good (the
// Compute for its hour).
func TestCancelEndsEveryGoroutinesBlockTCP(t *testing.T) {
	reg := ray.NewRegistry()
	started := make(chan struct{})
	ended := make(chan error, 3)
	never := ray.Register0(reg, "never", func(ctx context.Context) (int, error) { return 0, nil })
	// The ref blocked on is the driver's (a ref nested in an argument is
	// not resolved first): a task's own children are cancelled with it,
	// and Wait reports a cancelled child ready.
	blocker := ray.Register1(reg, "blocker", func(ctx context.Context, refs []ray.Ref[int]) (int, error) {
		nowhere := refs[0]
		var wg sync.WaitGroup
		for _, block := range []func() error{
			func() error { return ray.Compute(ctx, time.Hour) },
			func() error { _, err := ray.Get(ctx, nowhere); return err },
			func() error { _, _, err := ray.Wait(ctx, []ray.Ref[int]{nowhere}, 1, -1); return err },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ended <- block()
			}()
		}
		close(started)
		wg.Wait()
		return 1, nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		ref := blocker.Remote(ctx, []ray.Ref[int]{never.Options(ray.Resource("nowhere", 1)).Remote(ctx)})
		<-started
		require.NoError(t, ray.Cancel(ctx, ref))
		for range 3 {
			select {
			case err := <-ended:
				assert.ErrorIs(t, err, ray.ErrCancelled)
			case <-time.After(time.Minute): // a liveness bound, not a timing: before the fix this blocked for good
				t.Fatal("a goroutine of the cancelled task is still blocked")
			}
		}
		_, err := ray.Get(ctx, ref)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		return nil
	}))
}
