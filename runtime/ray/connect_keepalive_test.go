package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestSessionWithoutHeadTimeoutStillAsks: a session told never to give up
// on its head (a negative head timeout) stopped asking the head for its
// status altogether, so a driver whose connection to the head broke stayed
// without one while it had nothing else to send; the head counts a driver
// with no connection (and its raylet dead) as crashed. It now asks every
// second whatever its head timeout, and only the verdict is left out.
func TestSessionWithoutHeadTimeoutStillAsks(t *testing.T) {
	tok := []byte("keepalive-token")
	ctx := context.Background()
	reg, _ := deployRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithHeadTimeout(-1))
	require.NoError(t, err)
	defer s.Close()
	require.Eventually(t, func() bool {
		at, _ := s.LastHeard()
		return !at.IsZero()
	}, 10*time.Second, 20*time.Millisecond, "the session never asked the head for its status")
	require.NoError(t, s.Err(), "a session that never gives up on its head is not lost")
}
