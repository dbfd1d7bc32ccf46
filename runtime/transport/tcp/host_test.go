package tcp

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/transporttest"
)

// guard bounds every wait: a failure guard, never a performance claim.
const guard = 10 * time.Second

const cluster = "test-cluster"

var token = []byte("s3cret-token")

type handlerFunc func(from transport.NodeID, m transport.Message)

func (f handlerFunc) Handle(from transport.NodeID, m transport.Message) { f(from, m) }

func listen(t testing.TB, self transport.NodeID, addr string, tok []byte) *Host {
	t.Helper()
	h, err := Listen(Config{ClusterID: cluster, Token: tok, Self: self, Listen: addr, Seed: int64(self) + 1})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// run starts h's loop and returns a channel that gets Run's result.
func run(t testing.TB, h *Host, newHandler func(transport.Env) transport.Handler) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, newHandler) }()
	return errc
}

func meshed(t testing.TB, hosts ...*Host) {
	for _, a := range hosts {
		for _, b := range hosts {
			a.SetPeer(b.cfg.Self, b.Addr())
		}
	}
}

func waitDone(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestListenNeedsToken(t *testing.T) {
	_, err := Listen(Config{ClusterID: cluster, Self: 1, Listen: "127.0.0.1:0"})
	require.Error(t, err)
}

// TestCounterConformance drives the transporttest workload over three hosts
// on loopback and checks every node's end state.
func TestCounterConformance(t *testing.T) {
	ids := []transport.NodeID{1, 2, 3}
	const n = 200
	var hosts []*Host
	counters := map[transport.NodeID]*transporttest.Counter{}
	for _, id := range ids {
		hosts = append(hosts, listen(t, id, "127.0.0.1:0", token))
		counters[id] = transporttest.NewCounter(ids, n)
	}
	meshed(t, hosts...)
	for _, h := range hosts {
		run(t, h, counters[h.cfg.Self].Handler)
	}
	for _, id := range ids {
		waitDone(t, "counter", counters[id].Done())
	}
	got := map[transport.NodeID]transporttest.CounterState{}
	for _, id := range ids {
		got[id] = counters[id].State()
	}
	if d := cmp.Diff(transporttest.Expect(ids, n), got); d != "" {
		t.Fatalf("end state (-want +got):\n%s", d)
	}
	// Writers count a frame after its write returns, readers after they
	// decode it: the counters settle a moment after the end state does.
	for _, h := range hosts {
		require.Eventually(t, func() bool {
			s := h.Stats()
			return s.FramesOut == uint64(2*n*2) && s.FramesIn == s.FramesOut
		}, 10*time.Second, time.Millisecond, "node %d: frame counters %+v", h.cfg.Self, h.Stats())
		s := h.Stats()
		assert.Zero(t, s.Refused+s.DecodeErrors+s.Dropped, "node %d: %+v", h.cfg.Self, s)
	}
}

// TestRefusesBadPeers: a wrong token, a wrong cluster, random bytes and an
// oversized frame each lose their connection while a good peer is served.
func TestRefusesBadPeers(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	b := listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b)

	// A host with the wrong token keeps trying to reach a.
	evil := listen(t, 3, "127.0.0.1:0", []byte("wrong"))
	evil.SetPeer(1, a.Addr())
	run(t, evil, func(env transport.Env) transport.Handler {
		env.After(0, func() { env.Send(1, &transport.Ping{Seq: 99}) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	// One from another cluster.
	other, err := Listen(Config{ClusterID: "other", Token: token, Self: 4, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	other.SetPeer(1, a.Addr())
	run(t, other, func(env transport.Env) transport.Handler {
		env.After(0, func() { env.Send(1, &transport.Ping{Seq: 98}) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})

	var foreign atomic.Int64 // messages a got from anyone but b
	ca, cb := transporttest.NewCounter([]transport.NodeID{1, 2}, 50), transporttest.NewCounter([]transport.NodeID{1, 2}, 50)
	run(t, a, func(env transport.Env) transport.Handler {
		inner := ca.Handler(env)
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if from != 2 {
				foreign.Add(1)
				return
			}
			inner.Handle(from, m)
		})
	})

	// Random bytes.
	junk := make([]byte, 256)
	rand.Read(junk)
	assertClosedAfter(t, a.Addr(), func(c net.Conn, _ *bufio.Reader) { c.Write(junk) })
	// A good handshake, then a frame header announcing too much.
	assertClosedAfter(t, a.Addr(), func(c net.Conn, r *bufio.Reader) {
		require.NoError(t, clientHandshake(r, c, cluster, token, 5, 1))
		c.Write(binary.LittleEndian.AppendUint32(nil, transport.MaxBodyBytes+1))
	})
	// A good handshake, then a frame that does not decode.
	assertClosedAfter(t, a.Addr(), func(c net.Conn, r *bufio.Reader) {
		require.NoError(t, clientHandshake(r, c, cluster, token, 5, 1))
		c.Write(transport.AppendFrame(nil, []byte{transport.ProtocolVersion, 0xff, 0x03}))
	})

	run(t, b, cb.Handler)
	waitDone(t, "a's counter", ca.Done())
	waitDone(t, "b's counter", cb.Done())
	require.Eventually(t, func() bool { return a.Stats().Refused >= 3 }, guard, time.Millisecond,
		"wrong token, wrong cluster and junk refused: %+v", a.Stats())
	assert.Equal(t, uint64(2), a.Stats().DecodeErrors)
	assert.Zero(t, foreign.Load())
	// The refused dialers count their failure when they see the refusal,
	// which may be a moment after a counts it.
	require.Eventually(t, func() bool { return evil.Stats().DialFailures > 0 }, guard, time.Millisecond,
		"the wrong token's dials fail: %+v", evil.Stats())
	require.Eventually(t, func() bool { return other.Stats().DialFailures > 0 }, guard, time.Millisecond,
		"the other cluster's dials fail: %+v", other.Stats())
}

// assertClosedAfter dials addr, runs act, and checks the server closes the
// connection (reading yields an error rather than hanging).
func assertClosedAfter(t *testing.T, addr string, act func(c net.Conn, r *bufio.Reader)) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(guard))
	r := bufio.NewReader(c)
	act(c, r)
	_, err = io.Copy(io.Discard, r)
	// io.Copy returns nil on EOF; a reset is fine too; a timeout is not.
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server did not close the connection")
	}
}

// TestReconnect: the sender keeps sending while its peer restarts on the
// same address; the new incarnation hears from it.
func TestReconnect(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	b1 := listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b1)
	run(t, a, func(env transport.Env) transport.Handler {
		var seq uint64
		var tick func()
		tick = func() {
			seq++
			env.Send(2, &transport.Ping{Seq: seq})
			env.After(5*time.Millisecond, tick)
		}
		env.After(0, tick)
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	heard := func(h *Host) <-chan struct{} {
		ch := make(chan struct{})
		var closed bool
		run(t, h, func(env transport.Env) transport.Handler {
			return handlerFunc(func(from transport.NodeID, m transport.Message) {
				if !closed && from == 1 {
					closed = true
					close(ch)
				}
			})
		})
		return ch
	}
	waitDone(t, "first incarnation", heard(b1))
	addr := b1.Addr()
	require.NoError(t, b1.Close())
	b2 := listen(t, 2, addr, token)
	waitDone(t, "second incarnation", heard(b2))
	assert.GreaterOrEqual(t, a.Stats().Dials, uint64(2))
}

// TestEnvLoop covers the loop side of Env: self-sends, timers and their
// Stop, Await from a Go goroutine, Emit, and Run's return on ctx.
func TestEnvLoop(t *testing.T) {
	var events atomic.Int64
	h, err := Listen(Config{ClusterID: cluster, Token: token, Self: 7, Listen: "127.0.0.1:0",
		OnEvent: func(*transport.Event) { events.Add(1) }})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	errc := make(chan error, 1)
	var stoppedRan atomic.Bool
	go func() {
		errc <- h.Run(ctx, func(env transport.Env) transport.Handler {
			var wake func()
			stopped := env.After(time.Millisecond, func() { stoppedRan.Store(true) })
			assert.True(t, stopped.Stop())
			assert.False(t, stopped.Stop())
			env.Go(func() {
				env.Await(func(w func()) { wake = w; env.Send(env.Self(), &transport.Pong{Seq: 1}) })
				close(done)
			})
			return handlerFunc(func(from transport.NodeID, m transport.Message) {
				assert.Equal(t, env.Self(), from)
				env.Emit(&transport.Event{Kind: transport.EvWarning})
				env.After(time.Millisecond, func() { wake(); wake() })
			})
		})
	}()
	waitDone(t, "await", done)
	assert.Equal(t, int64(1), events.Load())
	assert.False(t, stoppedRan.Load())
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(guard):
		t.Fatal("Run did not return")
	}
	require.NoError(t, h.Close())
}

// TestSilentPeerTimesOut: a connection that never completes its handshake
// is dropped at the handshake deadline (shortened here) and counted.
func TestSilentPeerTimesOut(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	a.handshakeTimeout = 50 * time.Millisecond
	run(t, a, func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	assertClosedAfter(t, a.Addr(), func(net.Conn, *bufio.Reader) {})
	assertClosedAfter(t, a.Addr(), func(c net.Conn, _ *bufio.Reader) { io.WriteString(c, magic) })
	require.Eventually(t, func() bool { return a.Stats().Refused == 2 }, guard, time.Millisecond)
}

// TestIdleHandshakesCannotLockOutPeers: more TCP connections that never
// send a byte (no token needed) than the hello stage holds
// (maxHelloConns) must not lock legitimate peers out. Connections
// waiting for their hello have their own bound, and a new connection
// closes the oldest silent one at once when it is full, so a peer gets in
// although the idle connections would hold their places for the whole
// handshake timeout (an hour here: before the early drop the peer waited
// that long). See also TestSilentFloodCannotLockOutPeers.
func TestIdleHandshakesCannotLockOutPeers(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	a.handshakeTimeout = time.Hour
	const extra = 64 // idle connections past the hello stage's bound
	b := listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b)
	var got atomic.Int64
	run(t, a, func(env transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) { got.Add(1) })
	})
	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for i := 0; i < a.maxHello+extra; i++ {
		c, err := net.Dial("tcp", a.Addr())
		require.NoError(t, err)
		idle = append(idle, c)
	}
	// Once a has accepted them all, the oldest extra were evicted to
	// admit newer ones.
	require.Eventually(t, func() bool { return a.Stats().Evicted == extra },
		guard, time.Millisecond, "evicted: %+v", a.Stats())
	run(t, b, func(env transport.Env) transport.Handler {
		env.After(0, func() { env.Send(1, &transport.Ping{Seq: 1}) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	require.Eventually(t, func() bool { return got.Load() > 0 }, guard, time.Millisecond,
		"legitimate peer locked out by %d idle unauthenticated connections: a=%+v b=%+v", len(idle), a.Stats(), b.Stats())
	s := a.Stats()
	assert.Equal(t, uint64(extra+1), s.Evicted, "b's connection evicted one more idle one")
	assert.Zero(t, s.Refused, "an evicted connection is not counted as refused")
}

// TestSendQueueBound: frames for an unreachable peer queue up to the bound;
// the rest are dropped and counted, and the loop never blocks.
func TestSendQueueBound(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	a.SetPeer(2, refusingAddr(t)) // node 2 has an address but is down
	const frames = 20
	payload := make([]byte, 1<<20)
	sent := make(chan struct{})
	run(t, a, func(env transport.Env) transport.Handler {
		env.After(0, func() {
			for i := range frames {
				env.Send(2, &transport.Ping{Seq: uint64(i), Payload: payload})
			}
			env.Send(2, &transport.Ping{Payload: make([]byte, transport.MaxFrameBytes)}) // never fits a frame
			close(sent)
		})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "sends", sent)
	// 32 MiB of queue holds 31 one-MiB frames: none of the 20 is dropped
	// but the oversized one is.
	assert.Equal(t, uint64(1), a.Stats().Dropped)

	b := listen(t, 1, "127.0.0.1:0", token)
	b.SetPeer(2, refusingAddr(t))
	b.queueMax = transport.MaxFrameBytes // the smallest allowed bound
	sent2 := make(chan struct{})
	run(t, b, func(env transport.Env) transport.Handler {
		env.After(0, func() {
			for i := range frames {
				env.Send(2, &transport.Ping{Seq: uint64(i), Payload: payload})
			}
			close(sent2)
		})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "sends", sent2)
	assert.Equal(t, uint64(frames-7), b.Stats().Dropped, "7 one-MiB frames fit in 8 MiB")
	assert.Zero(t, b.Stats().FramesOut)
}

// refusingAddr is a loopback address nothing listens on.
func refusingAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestUnaddressedPeersBounded: messages to node IDs nobody gave the host an
// address for (a hostile message can name any) cost bounded memory and
// goroutines: at most maxUnaddressed such peers, unaddressedQueueBytes
// each, and a writer that finds no address in time ends and drops its
// frames. A peer whose address arrives in time gets what was queued.
func TestUnaddressedPeersBounded(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	a.unaddressedTTL = time.Second // long enough for node 2's address to come first, under load too
	b := listen(t, 2, "127.0.0.1:0", token)
	heard := make(chan uint64, 16)
	run(t, b, func(transport.Env) transport.Handler {
		return handlerFunc(func(_ transport.NodeID, m transport.Message) { heard <- m.(*transport.Ping).Seq })
	})
	const madeUp = 1000
	chunk := make([]byte, 1<<20)
	sent := make(chan struct{})
	var peers int
	run(t, a, func(env transport.Env) transport.Handler {
		env.After(0, func() {
			env.Send(2, &transport.Ping{Seq: 1}) // node 2's address comes later
			for i := range madeUp {
				env.Send(transport.NodeID(100+i), &transport.Ping{Seq: uint64(i)})
			}
			for i := range 3 { // the second and third one-MiB frames pass the bound
				env.Send(100, &transport.Ping{Seq: uint64(i), Payload: chunk})
			}
			peers = len(a.peers)
			close(sent)
		})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "sends", sent)
	assert.Equal(t, maxUnaddressed, peers)
	assert.Equal(t, uint64(madeUp-(maxUnaddressed-1)+2), a.Stats().Dropped,
		"one peer slot is node 2's; a made-up peer queues one one-MiB frame, not two")

	a.SetPeer(2, b.Addr())
	select {
	case seq := <-heard:
		assert.Equal(t, uint64(1), seq)
	case <-time.After(guard):
		t.Fatal("node 2 never got the message queued before its address")
	}
	// The made-up peers' writers give up: their frames are dropped, their
	// goroutines end and the loop forgets them.
	want := uint64(madeUp + 3) // and the 31 writers' 32 frames
	require.Eventually(t, func() bool { return a.Stats().Dropped == want }, guard, 10*time.Millisecond)
	emptied := make(chan int, 1)
	require.Eventually(t, func() bool {
		a.post(item{f: func() { emptied <- len(a.peers) }})
		return <-emptied == 1
	}, guard, 10*time.Millisecond)
}

// TestLargeFrameBeforeAddress: a frame over the address-less queue's bound
// (any legal frame, up to 8 MiB) waits for its peer's address when the
// queue is empty, as the full queue's bound lets one frame of any size in
// (found in review: it was dropped at once).
func TestLargeFrameBeforeAddress(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	b := listen(t, 2, "127.0.0.1:0", token)
	heard := make(chan int, 4)
	run(t, b, func(transport.Env) transport.Handler {
		return handlerFunc(func(_ transport.NodeID, m transport.Message) { heard <- len(m.(*transport.Ping).Payload) })
	})
	sent := make(chan struct{})
	run(t, a, func(env transport.Env) transport.Handler {
		env.After(0, func() {
			env.Send(2, &transport.Ping{Seq: 1, Payload: make([]byte, 3<<20)})
			close(sent)
		})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "send", sent) // queued (or dropped) by now: the address comes after
	a.SetPeer(2, b.Addr())
	select {
	case n := <-heard:
		assert.Equal(t, 3<<20, n)
	case <-time.After(guard):
		t.Fatalf("the 3 MiB frame never arrived; dropped=%d", a.Stats().Dropped)
	}
}

func TestRunTwiceAndCloseTwice(t *testing.T) {
	h := listen(t, 1, "127.0.0.1:0", token)
	require.NoError(t, h.Close())
	noop := func(transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	}
	assert.NoError(t, h.Run(context.Background(), noop), "Run after Close returns at once")
	assert.Error(t, h.Run(context.Background(), noop))
	h.Close()
}

// TestCloseEndsRun: Close reaches a loop parked on its empty inbox (as an
// item: the loop waits on the inbox alone), and Run returns nil; the work
// queued before it still runs.
func TestCloseEndsRun(t *testing.T) {
	h := listen(t, 1, "127.0.0.1:0", token)
	ready := make(chan struct{})
	errc := run(t, h, func(transport.Env) transport.Handler {
		close(ready)
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "Run", ready)
	ran := make(chan struct{})
	h.post(item{f: func() { close(ran) }})
	waitDone(t, "posted work", ran)
	require.NoError(t, h.Close())
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(guard):
		t.Fatal("Run did not return after Close")
	}
}
