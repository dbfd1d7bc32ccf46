package ray_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestWrongContextIsAnError: QA28b finding 11. In the simulator a task
// that used a ctx captured from the driver, on another node than the
// driver's, crashed the whole process ("netsim: Await called outside a
// coroutine of this node"), and on the driver's node it silently acted as
// the driver. The API returns ErrWrongContext instead, before anything
// suspends, on either node.
func TestWrongContextIsAnError(t *testing.T) {
	reg := ray.NewRegistry()
	var driverCtx context.Context
	double := ray.Register1(reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	misuse := ray.Register0(reg, "misuse", func(ctx context.Context) ([]string, error) {
		var got []string
		note := func(what string, err error) {
			if errors.Is(err, ray.ErrWrongContext) {
				got = append(got, what)
			}
		}
		_, err := ray.Get(driverCtx, double.Remote(ctx, 1))
		note("Get", err)
		note("Remote", double.Remote(driverCtx, 2).Err())
		_, err = ray.Put(driverCtx, 3)
		note("Put", err)
		note("Compute", ray.Compute(driverCtx, 1))
		_, _, err = ray.Wait(driverCtx, []ray.Ref[int]{double.Remote(ctx, 4)}, 1, -1)
		note("Wait", err)
		// Its own ctx still works.
		v, err := ray.Get(ctx, double.Remote(ctx, 5))
		if err != nil || v != 10 {
			return nil, errors.Join(errors.New("own ctx"), err)
		}
		return got, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		driverCtx = ctx
		for _, node := range []int{2, 0} { // another node, the driver's
			got, err := ray.Get(ctx, misuse.Options(ray.NodeAffinity(ray.RayletID(node), false)).Remote(ctx))
			require.NoError(t, err)
			assert.Equal(t, []string{"Get", "Remote", "Put", "Compute", "Wait"}, got, "a task on node index %d", node)
		}
		// The driver's own calls still work.
		v, err := ray.Get(ctx, double.Remote(ctx, 6))
		require.NoError(t, err)
		assert.Equal(t, 12, v)
		return nil
	}))
}
