package ray_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestDriverGetsFromGoroutinesTCP: a driver's Gets from several goroutines
// (one ctx) on TCP. Before the interrupt change a driver's Get touched no
// field of its Caller; now every Get, Wait and Compute writes
// Caller.interrupted on the loop (blocking) and reads it on the calling
// goroutine after Await: two goroutines sharing the driver race (go test
// -race).
func TestDriverGetsFromGoroutinesTCP(t *testing.T) {
	s := newSuite()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		refs := make([]ray.Ref[int], 8)
		for i := range refs {
			refs[i] = s.slow.Remote(ctx, 5*(i%3))
		}
		var wg sync.WaitGroup
		for i := range refs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					_, err := ray.GetTimeout(ctx, refs[i], 5*time.Second)
					require.NoError(t, err)
					_, _, err = ray.Wait(ctx, []ray.Ref[int]{refs[i]}, 1, 0)
					require.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		return nil
	}))
}
