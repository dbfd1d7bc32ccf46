package tcp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestForgetPeerReleasesConnection: ForgetPeer ended the peer's writer,
// which closed its connection but left it in the host's tracked
// connections: every peer that left the cluster (a drained node, a status
// query's agent) kept an entry, and the closed connection with it, for the
// host's life. The writer now untracks its connection as it ends.
func TestForgetPeerReleasesConnection(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	b := listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b)
	heard := make(chan struct{})
	var got bool
	run(t, b, func(env transport.Env) transport.Handler {
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if !got && from == 1 {
				got = true
				close(heard)
			}
		})
	})
	run(t, a, func(e transport.Env) transport.Handler {
		e.Send(2, &transport.Ping{Seq: 1})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "b hearing a", heard)
	conns := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.conns)
	}
	require.Equal(t, 1, conns(), "a's connection to b is tracked while b is a peer")
	require.True(t, a.Do(func() { a.ForgetPeer(2) }), "a's loop stopped")
	var left *peer
	require.True(t, a.Do(func() { left = a.peers[2] }))
	require.Nil(t, left, "ForgetPeer kept the peer's writer")
	// The writer ends on its own goroutine: wait for it, bounded by guard.
	require.Eventually(t, func() bool { return conns() == 0 }, guard, time.Millisecond,
		"a forgotten peer's connection is still tracked by the host")
}
