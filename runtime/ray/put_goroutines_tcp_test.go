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

// TestDriverPutsFromGoroutinesTCP: a driver's ctx may be used from several
// goroutines on TCP (NewDriver; TestDriverGetsFromGoroutinesTCP), but Put
// numbered its objects with a counter of the Caller bumped on the calling
// goroutine (Caller.puts++): two goroutines putting at once could take the
// same index, so two Puts made one object ID, the store kept the first
// value (objects are immutable) and the second Put's ref read the other
// goroutine's value. The race is not deterministic: 16 goroutines of 1000
// Puts saw a few wrong values in every run tried, and go test -race
// reports it.
func TestDriverPutsFromGoroutinesTCP(t *testing.T) {
	s := newSuite()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var wrong atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 1000 {
					want := g*1000 + i
					r, err := ray.Put(ctx, want)
					if !assert.NoError(t, err) {
						return
					}
					if v, err := ray.Get(ctx, r); err != nil || v != want {
						wrong.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, wrong.Load(), "Puts whose ref read another Put's value")
		return nil
	}))
}
