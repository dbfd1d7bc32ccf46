package ray

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestRestartDuringCloseStartsNothing: a Restart that reached a killed
// raylet's process as it closed (the head's restart of a node while the
// node shuts down) started a new raylet after Close had stopped
// everything: a host listening, a raylet running and registering, with
// nothing left to stop them. A Restart at or after Close now starts
// nothing, and Close waits for a restart under way.
func TestRestartDuringCloseStartsNothing(t *testing.T) {
	t.Run("after", func(t *testing.T) {
		p := startControlHead(t)
		p.Control(&transport.NodeControl{Op: transport.ControlKill, Node: p.self})
		require.Eventually(t, func() bool {
			_, killed := p.rayletState()
			return killed
		}, controlGuard, time.Millisecond)
		old, _ := p.rayletState()
		require.NoError(t, p.Close())
		p.Control(&transport.NodeControl{Op: transport.ControlRestart, Node: p.self})
		// A restart's raylet is made within milliseconds of the request;
		// watch well past that for one (a miss here is a missed failure,
		// never a false one).
		require.Never(t, func() bool {
			r, _ := p.rayletState()
			return r != old
		}, 500*time.Millisecond, time.Millisecond, "a Restart after Close started a raylet")
		requireNotListening(t, p.rayAddr)
	})
	t.Run("racing", func(t *testing.T) {
		for round := range 5 {
			p := startControlHead(t)
			p.Control(&transport.NodeControl{Op: transport.ControlKill, Node: p.self})
			p.Control(&transport.NodeControl{Op: transport.ControlRestart, Node: p.self})
			require.NoError(t, p.Close())
			r, _ := p.rayletState()
			require.Never(t, func() bool {
				now, _ := p.rayletState()
				return now != r
			}, 200*time.Millisecond, time.Millisecond, "round %d: a raylet started after Close returned", round)
			requireNotListening(t, p.rayAddr)
		}
	})
}

// requireNotListening fails if something accepts connections at addr (a
// raylet host left running).
func requireNotListening(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, controlGuard)
	if err == nil {
		c.Close()
		t.Fatalf("a raylet host still listens at %s after Close", addr)
	}
}
