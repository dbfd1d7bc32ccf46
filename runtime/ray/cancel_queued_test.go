package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestCancelRightAfterSubmit: a task cancelled while it still waits in its
// submitter's queue of submissions (not yet taken by the raylet) ends
// cancelled; it used to be tombstoned, then accepted by the drain and run.
func TestCancelRightAfterSubmit(t *testing.T) {
	s := newSuite()
	driver := func(t *testing.T) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			ref := s.slow.Remote(ctx, 500)
			require.NoError(t, ray.Cancel(ctx, ref))
			v, err := ray.Get(ctx, ref)
			assert.ErrorIs(t, err, ray.ErrCancelled, "got %v", v)
			return nil
		}
	}
	t.Run("sim", func(t *testing.T) {
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(driver(t)))
	})
	t.Run("tcp", func(t *testing.T) {
		c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(driver(t)))
	})
}
