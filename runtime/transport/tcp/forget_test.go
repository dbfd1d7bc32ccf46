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
	a, _, _ := connectedPair(t)
	require.Equal(t, 1, a.tracked(), "a's connection to b is tracked while b is a peer")
	require.True(t, a.Do(func() { a.ForgetPeer(2) }), "a's loop stopped")
	var left *peer
	require.True(t, a.Do(func() { left = a.peers[2] }))
	require.Nil(t, left, "ForgetPeer kept the peer's writer")
	// The writer ends on its own goroutine: wait for it, bounded by guard.
	require.Eventually(t, func() bool { return a.tracked() == 0 }, guard, time.Millisecond,
		"a forgotten peer's connection is still tracked by the host")
}

// TestIdlePeerNotRedialed: a writer whose connection closed redialed at
// once, with nothing to send. A peer that had gone for good (a `raysim
// status` query's agent, answered and exited) was redialed with backoff,
// each failure counted and the first logged as a warning, until the
// coordinator forgot it two seconds later: every status query left a
// "cannot reach peer" warning in the head's log. A writer now redials
// when it has something to send.
func TestIdlePeerNotRedialed(t *testing.T) {
	a, b, env := connectedPair(t)
	require.NoError(t, b.Close()) // b's process exits
	// a's writer sees the connection close (and lets go of it).
	require.Eventually(t, func() bool { return a.tracked() == 0 }, guard, time.Millisecond)
	// The old writer dialed within a millisecond of that; watch well past
	// it (a miss is a missed failure, never a false one).
	require.Never(t, func() bool { return a.Stats().Dials > 1 }, 300*time.Millisecond, time.Millisecond,
		"a redialed a peer it had nothing to send to (dial failures %d)", a.Stats().DialFailures)

	// Something to send: a dials again (and fails: b is gone).
	require.True(t, a.Do(func() { env.Send(2, &transport.Ping{Seq: 2}) }))
	require.Eventually(t, func() bool { return a.Stats().DialFailures > 0 }, guard, time.Millisecond,
		"a frame for the peer did not make its writer dial")
}

// connectedPair runs hosts a (1) and b (2) and returns once b has heard a
// ping from a, so a has a connection to b; env is a's.
func connectedPair(t *testing.T) (a, b *Host, env transport.Env) {
	t.Helper()
	a = listen(t, 1, "127.0.0.1:0", token)
	b = listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b)
	heard := make(chan struct{})
	var got bool
	run(t, b, func(transport.Env) transport.Handler {
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if !got && from == 1 {
				got = true
				close(heard)
			}
		})
	})
	run(t, a, func(e transport.Env) transport.Handler {
		env = e
		e.Send(2, &transport.Ping{Seq: 1})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "b hearing a", heard)
	return a, b, env
}

// tracked is how many connections the host tracks.
func (h *Host) tracked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}
