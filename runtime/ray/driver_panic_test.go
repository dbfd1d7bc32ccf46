package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestTCPDriverPanicRecoverable: a driver's panic on TCP unwinds into
// Run's caller, where a recover sees it, although the driver runs on a
// goroutine of its own (review32b #3: it ended the whole process); the
// cluster still serves the next driver.
func TestTCPDriverPanicRecoverable(t *testing.T) {
	reg := ray.NewRegistry()
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: withW(0), Seed: 1}, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	var got any
	func() {
		defer func() { got = recover() }()
		_ = c.Run(func(ctx context.Context) error { panic("driver bug") })
	}()
	require.Equal(t, "driver bug", got)
	require.NoError(t, c.Run(func(ctx context.Context) error { return nil }))
}

// TestSessionDriverPanicRecoverable: the same for a Connect session's Run.
func TestSessionDriverPanicRecoverable(t *testing.T) {
	tok := []byte("driver-panic-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := ray.NewRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	var got any
	func() {
		defer func() { got = recover() }()
		_ = s.Run(func(ctx context.Context) error { panic("session driver bug") })
	}()
	require.Equal(t, "session driver bug", got)
	require.NoError(t, s.Run(func(ctx context.Context) error { return nil }))
}
