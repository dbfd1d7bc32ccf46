package tcp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnectedFromFollowsInboundConnection: a host could not tell whether
// a peer held a connection to it, so the head's coordinator could not see
// that a driver's process had gone (the kernel closes a dead process's
// connections at once). ConnectedFrom reports an authenticated inbound
// connection from the peer while one is open.
func TestConnectedFromFollowsInboundConnection(t *testing.T) {
	a, b, _ := connectedPair(t)
	require.True(t, b.ConnectedFrom(1), "b has a's connection")
	require.False(t, b.ConnectedFrom(3), "no node 3 ever connected")
	require.False(t, a.ConnectedFrom(2), "b never dialed a")
	require.NoError(t, a.Close()) // a's process exits
	require.Eventually(t, func() bool { return !b.ConnectedFrom(1) }, guard, time.Millisecond,
		"b still counts a connection from a, whose host closed")
}
