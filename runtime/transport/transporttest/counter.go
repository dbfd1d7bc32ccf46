// Package transporttest holds conformance workloads for transport.Env
// implementations, in the spirit of net/http/httptest and testing/fstest:
// small components whose end state is known in advance, so the TCP host and
// the simulator can both be checked against the same expectations.
package transporttest

import (
	"fmt"
	"slices"
	"sync"

	"raysim/runtime/transport"
)

// CounterState is a Counter node's end state. Everything in it is
// determined by the peer list and n, whatever the order of delivery.
type CounterState struct {
	PingsIn      int   // pings received from other nodes
	PongsIn      int   // pongs received for this node's own pings
	PingBytesIn  int64 // payload bytes of the pings received
	BadPongs     int   // pongs with a Seq this node never sent, or duplicates
	BadPayloads  int   // pings whose payload is not the one their Seq implies
	UnknownKinds int   // messages of any other kind
}

// Counter is the ping/pong conformance workload for one node: on start it
// sends n pings to every other node of peers (payload sizes and bytes
// derived from the sender and Seq), answers every ping with a pong, and
// counts what it receives. It is done when it has every ping addressed to it
// and a pong for every ping it sent, on a loss-free network.
type Counter struct {
	peers []transport.NodeID
	n     int

	mu     sync.Mutex // State and Done are read from other goroutines on TCP
	state  CounterState
	want   CounterState
	acked  map[uint64]bool // Seq -> pong seen; loop-owned
	done   chan struct{}
	closed bool
}

// NewCounter returns the workload of one node of a cluster made of peers
// (the node itself included; its ID comes from Env.Self).
func NewCounter(peers []transport.NodeID, n int) *Counter {
	return &Counter{
		peers: slices.Clone(peers),
		n:     n,
		acked: make(map[uint64]bool),
		done:  make(chan struct{}),
	}
}

// Handler builds the component; pass it where a host or simulator wants a
// func(transport.Env) transport.Handler. It must be called on the node's
// loop, once.
func (c *Counter) Handler(env transport.Env) transport.Handler {
	self := env.Self()
	c.mu.Lock()
	c.want = Expect(c.peers, c.n)[self]
	c.mu.Unlock()
	c.check()
	env.After(0, func() {
		seq := uint64(0)
		for _, to := range c.peers {
			if to == self {
				continue
			}
			for range c.n {
				env.Send(to, &transport.Ping{Seq: seq, Payload: Payload(self, seq)})
				seq++
			}
		}
	})
	return &counterHandler{c: c, env: env}
}

// Done is closed when the node reaches its expected end state.
func (c *Counter) Done() <-chan struct{} { return c.done }

// State returns the counts so far; safe from any goroutine.
func (c *Counter) State() CounterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Counter) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && c.state == c.want {
		c.closed = true
		close(c.done)
	}
}

type counterHandler struct {
	c   *Counter
	env transport.Env
}

func (h *counterHandler) Handle(from transport.NodeID, m transport.Message) {
	c := h.c
	c.mu.Lock()
	switch m := m.(type) {
	case *transport.Ping:
		c.state.PingsIn++
		c.state.PingBytesIn += int64(len(m.Payload))
		if string(m.Payload) != string(Payload(from, m.Seq)) {
			c.state.BadPayloads++
		}
		c.mu.Unlock()
		h.env.Send(from, &transport.Pong{Seq: m.Seq})
		c.check()
		return
	case *transport.Pong:
		if m.Seq >= uint64(c.n*(len(c.peers)-1)) || c.acked[m.Seq] {
			c.state.BadPongs++
		} else {
			c.acked[m.Seq] = true
			c.state.PongsIn++
		}
	default:
		c.state.UnknownKinds++
	}
	c.mu.Unlock()
	c.check()
}

// Payload is the payload of ping seq from node from: 0..63 bytes, derived
// from both, so a receiver can check it and an expectation can sum it.
func Payload(from transport.NodeID, seq uint64) []byte {
	n := int((uint64(from)*31 + seq*7) % 64)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(uint64(from) + seq + uint64(i))
	}
	return b
}

// Expect is every node's end state for NewCounter(peers, n) on a loss-free
// network: each node gets n pings from every other node and n pongs per
// other node. peers must not repeat an ID.
func Expect(peers []transport.NodeID, n int) map[transport.NodeID]CounterState {
	out := make(map[transport.NodeID]CounterState, len(peers))
	others := len(peers) - 1
	for _, self := range peers {
		var bytes int64
		for _, from := range peers {
			if from == self {
				continue
			}
			// from numbers its pings 0.. across its peers in list order.
			seq := uint64(0)
			for _, to := range peers {
				if to == from {
					continue
				}
				for range n {
					if to == self {
						bytes += int64(len(Payload(from, seq)))
					}
					seq++
				}
			}
		}
		out[self] = CounterState{PingsIn: n * others, PongsIn: n * others, PingBytesIn: bytes}
	}
	return out
}

// String makes test failures readable.
func (s CounterState) String() string {
	return fmt.Sprintf("pings=%d pongs=%d bytes=%d badPongs=%d badPayloads=%d unknown=%d",
		s.PingsIn, s.PongsIn, s.PingBytesIn, s.BadPongs, s.BadPayloads, s.UnknownKinds)
}
