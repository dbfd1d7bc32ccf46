package ray_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestGetTimeoutTimerEndsWithTheGetTCP: timers outlived the calls that
// set them and held their values. A Get or Wait with a timeout set a timer
// nothing stopped when the call ended first, whose callback held the Get's
// state (its values) until the timeout passed; and a pull's stall timer
// (watchPull) held its fetch, which lives inside the Get, up to 30 s after
// the pull was done. On TCP a driver looping on GetTimeout(ref, time.Hour)
// over large objects it frees kept every value: 40 Gets of 4 MiB values
// left 210 MB live (either holder alone kept them all). The call's end now
// stops its timer, and the stall timer finds its fetch by ID.
func TestGetTimeoutTimerEndsWithTheGetTCP(t *testing.T) {
	const size, n = 4 << 20, 40
	reg := ray.NewRegistry()
	big := ray.Register1(reg, "big", func(ctx context.Context, i int) ([]byte, error) {
		b := make([]byte, size)
		b[0] = byte(i)
		return b, nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	live := func() int64 { // after a GC: what is reachable (other tests' leftovers too)
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	require.NoError(t, c.Run(func(ctx context.Context) error {
		before := live()
		for i := range n {
			r := big.Options(ray.Resource("special", 1)).Remote(ctx, i) // away from the driver: the Get fetches, and blocks
			_, _, err := ray.Wait(ctx, []ray.Ref[[]byte]{r}, 1, time.Hour)
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, r, time.Hour)
			require.NoError(t, err)
			require.Len(t, v, size)
			require.NoError(t, ray.Free(ctx, r))
		}
		// Free does not wait for its drops, nor a pull's chunks in flight
		// for their buffers: look again until they land (a few values
		// in flight measured 4-85 MB after a fixed 100 ms). The timers
		// held every value for an hour: no wait brought the heap down.
		var growth int64
		assert.Eventually(t, func() bool {
			growth = live() - before
			return growth < int64(n*size/4)
		}, 10*time.Second, 50*time.Millisecond, "heap growth after %d freed values read with GetTimeout(time.Hour)", n)
		t.Logf("heap growth after %d freed 4 MiB values: %d MB", n, growth>>20)
		return nil
	}))
}
