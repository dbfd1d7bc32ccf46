package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestLocatingLeaves: a raylet asks the GCS where an object is while a
// reader here waits for it (node.Raylet.subscribe, relocate), and keeps
// the object's fetch when every reader left (node.Raylet.unneed: a driver
// polling with a timeout finds it pulled then). Rounds of jobs whose
// readers stop waiting — a Get or a Wait that times out, a task waiting
// for an argument that is cancelled — and that end, free their objects,
// or both, leave nothing being located or fetched once their objects are
// made or gone, nor their locations.
func TestLocatingLeaves(t *testing.T) {
	reg := ray.NewRegistry()
	slow := ray.Register0(reg, "slow", func(ctx context.Context) (int, error) {
		return 1, ray.Compute(ctx, time.Second)
	})
	use := ray.Register1(reg, "use", func(ctx context.Context, x int) (int, error) { return x + 1, nil })
	c, err := ray.NewSim(ray.Config{
		Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "w1", CPUs: 2, Resources: map[string]float64{"w": 1}},
			{Name: "w2", CPUs: 2}},
		Seed:       1,
		MaxVirtual: 1000 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	count := func() (locating, fetches int) {
		for i := range c.Nodes() {
			if r := c.Raylet(i); r != nil {
				locating += r.Locating()
				fetches += len(r.Fetches())
			}
		}
		return locating, fetches
	}
	const rounds = 200
	for k := range rounds {
		require.NoError(t, c.Run(func(ctx context.Context) error {
			r := slow.Options(ray.Resource("w", 1)).Remote(ctx)
			if _, err := ray.GetTimeout(ctx, r, 10*time.Millisecond); !errors.Is(err, ray.ErrTimeout) {
				return err
			}
			if _, _, err := ray.Wait(ctx, []ray.Ref[int]{r}, 1, 10*time.Millisecond); err != nil {
				return err
			}
			u := use.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, r)
			if _, err := ray.GetTimeout(ctx, u, 10*time.Millisecond); !errors.Is(err, ray.ErrTimeout) {
				return err
			}
			switch k % 3 {
			case 1:
				ray.Cancel(ctx, u)
			case 2:
				return ray.Free(ctx, r, u)
			}
			return nil
		}), "round %d", k)
		if k%50 == 49 {
			l, f := count()
			t.Logf("after %d rounds: %d objects being located, %d fetched", k+1, l, f)
			// The round in flight's, and those whose relocate timer has
			// not come yet (the first is a second away).
			require.LessOrEqual(t, f, 6, "after %d rounds: fetches nobody reads stay", k+1)
			require.LessOrEqual(t, l, 150, "after %d rounds", k+1)
		}
	}
	// Time for every slow task (1s each, one at a time) and for relocate's
	// timers (at most locateRetryMax, 30s, apart).
	require.NoError(t, c.Run(func(ctx context.Context) error { return ray.Compute(ctx, time.Hour) }))
	l, f := count()
	t.Logf("an hour after %d rounds: %d objects being located, %d fetched", rounds, l, f)
	for i := range c.Nodes() {
		r := c.Raylet(i)
		// The locations heard of the objects gone with their jobs
		// (onObjectJobEnded): 600 stayed before.
		require.Zero(t, r.LocationsKnown(), "node %d: locations of objects gone for good", i)
		if fs := r.Fetches(); len(fs) > 0 {
			t.Logf("node %d: %d fetches, the first %+v", i, len(fs), fs[0])
		}
	}
	require.Zero(t, l)
	require.Zero(t, f)
}
