package tcp

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestIdlePileThenPeer: a pile of 1,000 connections that never send a
// byte (no token, no cluster ID needed), then a legitimate handshake,
// with the host's production settings (64 proof slots, 5 s handshake
// deadline). The peer gets in at once: the silent connections wait for
// their hello apart from it, and none of them was closed to admit it
// (the hello stage holds 1,024). Before (review32 finding 1), the accept
// loop stopped accepting while the 64 slots were full and freed a slot
// held by a silent connection only after its 2 s hello grace, so the
// peer's connection waited behind the pile in the listen backlog for
// about 1000/64 × 2 s = 31 s and its handshake timed out.
func TestIdlePileThenPeer(t *testing.T) {
	const pile = 1000
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	require.Greater(t, h.maxHello, pile, "the pile fits the hello stage")
	run(t, h, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	idle := make([]net.Conn, 0, pile)
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for range pile {
		c, err := net.Dial("tcp", h.Addr())
		require.NoError(t, err)
		idle = append(idle, c)
	}
	c, err := handshakeWith(h.Addr(), 100, 1)
	require.NoError(t, err, "a legitimate peer behind %d silent connections: %+v", pile, h.Stats())
	c.Close()
	s := h.Stats()
	assert.Zero(t, s.Evicted, "%+v", s)
}

// TestSilentFloodCannotLockOutPeers: a continuous flood of connections
// that never send their hello — some silent, some sending a few bytes of
// one and stalling (a slow hello) — runs while a legitimate peer
// connects, with the host's production settings. The flood is well past
// the hello stage's bound when the peer dials, so each new connection
// closes the oldest silent one. The peer gets in (redialing like a
// peer's writer if a try fails) while the flood is still running: before
// it has dialed its last connection. Before (review32 finding 1), the
// accept loop stopped while the 64 slots were full, the flood queued in
// the listen backlog ahead of the peer, and the peer timed out behind it
// until the flood ended. The goroutines the flood leaves stay bounded by
// the hello stage.
func TestSilentFloodCannotLockOutPeers(t *testing.T) {
	const flood = 3500 // connections the flood dials at most
	base := runtime.NumGoroutine()
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	run(t, h, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	require.Less(t, h.maxHello+256, flood)

	var dialed atomic.Int64
	var ended atomic.Bool // the flood has dialed its last connection
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var conns []net.Conn // the flood's; closed at the end
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer ended.Store(true)
		for i := range flood {
			select {
			case <-stop:
				return
			default:
			}
			c, err := net.Dial("tcp", h.Addr())
			if err != nil {
				continue
			}
			if i%2 == 1 {
				c.Write([]byte(magic)) // a hello's first bytes, then nothing
			}
			conns = append(conns, c)
			dialed.Add(1)
		}
	}()
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	var stopOnce sync.Once
	stopFlood := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	t.Cleanup(stopFlood) // runs first: a failed require stops the flood too
	require.Eventually(t, func() bool { return dialed.Load() >= int64(h.maxHello+256) }, guard, time.Millisecond,
		"the flood fills the hello stage")

	// The peer tries like a peer's writer, with the dialer's handshake
	// deadline, for as long as the flood runs.
	var tries int
	var last error
	at := int64(-1) // connections the flood had dialed when the peer got in
	for !ended.Load() {
		tries++
		c, err := net.Dial("tcp", h.Addr())
		if err == nil {
			c.SetDeadline(time.Now().Add(handshakeTimeout))
			err = clientHandshake(bufio.NewReader(c), c, cluster, token, 100, 1)
			c.Close()
		}
		if err == nil {
			at = dialed.Load()
			break
		}
		last = err
	}
	stopFlood()
	s := h.Stats()
	require.GreaterOrEqual(t, at, int64(0), "the peer did not get in while %d connections flooded (tries %d, last error %v): %+v", flood, tries, last, s)
	t.Logf("the peer got in after %d tries, with the flood at %d of %d connections; host %+v", tries, at, flood, s)
	assert.Positive(t, s.Evicted, "the flood filled the hello stage: %+v", s)
	// What the flood holds on the host is bounded by the hello stage.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+h.maxHello+h.maxPending+64 }, guard, 10*time.Millisecond,
		"goroutines: %d, before the host: %d", runtime.NumGoroutine(), base)
}
