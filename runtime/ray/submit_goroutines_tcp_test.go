package ray_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestDriverSubmitsFromGoroutinesTCP: a driver's ctx may be used from
// several goroutines on TCP (NewDriver), but Submit derived each task's ID
// from a counter of the Caller bumped on the calling goroutine
// (Caller.children++), and an actor call's sequence number from a map of
// the Caller (Caller.seqs): two goroutines submitting at once could take
// one index, so two tasks got one ID (the second's ref read the first's
// value) and two calls one sequence number (the actor ran one of them, or
// waited for good on the number nobody took). go test -race reports it.
func TestDriverSubmitsFromGoroutinesTCP(t *testing.T) {
	s := newSuite()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := s.counter.New(ctx, 0)
		const goroutines, each = 8, 300
		var wrong atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				calls := make([]ray.Ref[int], 0, each)
				for i := range each {
					want := g*each + i
					r := s.double.Remote(ctx, want)
					calls = append(calls, s.incr.Remote(ctx, h, 1))
					if v, err := ray.Get(ctx, r); err != nil || v != 2*want {
						wrong.Add(1)
					}
				}
				_, err := ray.GetAll(ctx, calls, -1)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.Zero(t, wrong.Load(), "tasks whose ref read another task's value")
		n, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		assert.Equal(t, goroutines*each, n, "actor calls run")
		return nil
	}))
}
