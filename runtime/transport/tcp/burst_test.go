package tcp

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestHandshakeBurstAllAdmitted: far more peers than there are proof
// slots (MaxPendingHandshakes: 2, and the default 64) connect at once,
// and every one gets in: the excess waits for a slot, in the order it
// spoke, instead of being closed mid-handshake. Before the thirty-second
// session, each connection past the budget closed the oldest pending
// one, whose dialer read EOF ("peer refused the handshake"): 300 drivers
// connecting to a live cluster at once lost dozens of joins (here,
// before: 297 of 300 failed with a budget of 2, 236 of 300 with the
// default 64).
func TestHandshakeBurstAllAdmitted(t *testing.T) {
	for _, tc := range []struct {
		peers, slots int // slots 0: the default (64)
	}{{300, 2}, {1000, 0}} {
		t.Run(fmt.Sprintf("%d peers, %d slots", tc.peers, cmp.Or(tc.slots, defaultMaxPendingHandshakes)), func(t *testing.T) {
			burstAllAdmitted(t, tc.peers, tc.slots)
		})
	}
}

// burstAllAdmitted connects peers at once to a host with slots proof
// slots (0: the default) and checks that every one gets in.
func burstAllAdmitted(t *testing.T, peers, slots int) {
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0", MaxPendingHandshakes: slots})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	require.LessOrEqual(t, peers, h.maxHello, "a burst past the hello stage's bound may lose connections")
	run(t, h, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	errs := make([]error, peers)
	conns := make([]net.Conn, peers)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			conns[i], errs[i] = handshakeWith(h.Addr(), transport.NodeID(100+i), 1)
		}()
	}
	close(start)
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if failed <= 3 {
				t.Errorf("peer %d: %v", 100+i, err)
			}
		}
	}
	assert.Zero(t, failed, "of %d peers connecting at once, %d failed their handshake", peers, failed)
	s := h.Stats()
	assert.Zero(t, s.Evicted, "%+v", s)
	assert.Zero(t, s.Refused, "%+v", s)
}

// handshakeWith dials addr and runs the client's handshake as node self,
// expecting node want there; it returns the authenticated connection.
// guard bounds it, a failure guard: the connection may wait its turn.
func handshakeWith(addr string, self, want transport.NodeID) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(guard))
	if err := clientHandshake(bufio.NewReader(c), c, cluster, token, self, want); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// TestSpokenHandshakeNotEvicted: a connection that has sent its hello
// is never closed to admit a newer one. With one proof slot (taken by a
// connection that stalls after its hello) and a hello stage of one
// (holding a second connection that has spoken and waits for the slot),
// a third connection is refused at once rather than closing the waiting
// one; once the stalled one hangs up, the waiting one gets the slot and
// gets in. Only silent connections give way to newer ones (see
// TestIdleHandshakesCannotLockOutPeers).
func TestSpokenHandshakeNotEvicted(t *testing.T) {
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0", MaxPendingHandshakes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	h.maxHello = 1
	h.handshakeTimeout = time.Hour
	h.proofWindow = time.Hour
	run(t, h, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	stalled := spokeAndStalled(t, h.Addr(), 7)
	got := make(chan error, 1)
	go func() {
		c, err := handshakeWith(h.Addr(), 8, 1)
		if c != nil {
			c.Close()
		}
		got <- err
	}()
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.waiting) == 1
	}, guard, time.Millisecond, "node 8 waits for the proof slot")

	third, err := net.Dial("tcp", h.Addr())
	require.NoError(t, err)
	defer third.Close()
	third.SetDeadline(time.Now().Add(guard))
	_, err = third.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the third connection is closed at once: the hello stage holds only a spoken one")

	stalled.Close()
	require.NoError(t, <-got, "the waiting connection gets the slot once the stalled one's handshake ends")
	// The stalled one is counted just after it hands over its slot.
	require.Eventually(t, func() bool { return h.Stats().Refused == 2 }, guard, time.Millisecond,
		"the third connection and the stalled one are refused: %+v", h.Stats())
	s := h.Stats()
	assert.Zero(t, s.Evicted, "a connection that sent its hello was evicted: %+v", s)
}

// TestStalledProofLosesItsSlot: a connection that sends a valid hello
// and then stalls (never sends its proof) holds its proof slot for the
// proof window (shortened here), not for its handshake deadline (an hour
// here): the connection waiting for the only slot then gets in. Before,
// it waited the whole handshake deadline (and a dialer gives up after
// 5 s).
func TestStalledProofLosesItsSlot(t *testing.T) {
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0", MaxPendingHandshakes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	h.handshakeTimeout = time.Hour
	h.proofWindow = 100 * time.Millisecond
	run(t, h, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	stalled := spokeAndStalled(t, h.Addr(), 7)
	defer stalled.Close()
	c, err := handshakeWith(h.Addr(), 8, 1)
	require.NoError(t, err, "the waiting connection gets the slot once the stalled one's proof window ends")
	c.Close()
	// The stalled one is counted just after it hands over its slot.
	require.Eventually(t, func() bool { return h.Stats().Refused == 1 }, guard, time.Millisecond,
		"the stalled one is refused at its proof window: %+v", h.Stats())
	assert.Zero(t, h.Stats().Evicted, "%+v", h.Stats())
}

// spokeAndStalled dials addr, sends a valid hello as node self and reads
// the host's, then sends nothing more: it holds a proof slot.
func spokeAndStalled(t *testing.T, addr string, self transport.NodeID) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	me, err := newHello(cluster, self)
	require.NoError(t, err)
	_, err = c.Write(me.append(nil))
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(guard))
	_, err = readHello(bufio.NewReader(c), cluster) // the host holds a proof slot for us
	require.NoError(t, err)
	return c
}
