package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRunAfterCloseIsErrClosed: Run on a closed TCP cluster never
// returned (the driver's first call ended its goroutine), and a closed
// simulator ran the driver as if open. Both now refuse with ErrClosed.
func TestRunAfterCloseIsErrClosed(t *testing.T) {
	reg := ray.NewRegistry()
	dbl := ray.Register1(reg, "dbl", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	driver := func(ctx context.Context) error { _, err := ray.Get(ctx, dbl.Remote(ctx, 1)); return err }

	s, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	s.Close()
	require.ErrorIs(t, s.Run(driver), ray.ErrClosed)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, reg)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	done := make(chan error, 1)
	go func() { done <- c.Run(driver) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ray.ErrClosed)
	case <-time.After(30 * time.Second):
		t.Fatal("Run on a closed TCP cluster did not return")
	}
	require.ErrorIs(t, c.Go(0, driver), ray.ErrClosed)
}

// TestLeakedSimDriverContext: a simulated driver's ctx kept past the
// driver's return (by a closure, a goroutine) made a later Get panic
// ("Await called outside a coroutine"); it now carries no caller, and
// every call says so (ErrNotInRay).
func TestLeakedSimDriverContext(t *testing.T) {
	reg := ray.NewRegistry()
	dbl := ray.Register1(reg, "dbl", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	s, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1}, reg)
	require.NoError(t, err)
	defer s.Close()
	var leaked context.Context
	require.NoError(t, s.Run(func(ctx context.Context) error {
		leaked = ctx
		_, err := ray.Get(ctx, dbl.Remote(ctx, 1))
		return err
	}))
	ref := dbl.Remote(leaked, 2)
	require.ErrorIs(t, ref.Err(), ray.ErrNotInRay)
	_, err = ray.Get(leaked, ref)
	require.ErrorIs(t, err, ray.ErrNotInRay)
	_, err = ray.Put(leaked, 3)
	require.ErrorIs(t, err, ray.ErrNotInRay)
}
