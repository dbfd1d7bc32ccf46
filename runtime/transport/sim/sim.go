// Package sim binds netsim to the transport seam: each component runs on a
// netsim node whose Env is virtual time, the node's seeded random source and
// the simulated network. netsim is generic (it carries any payload with a
// size); this adapter charges each message its encoded size plus its virtual
// payload, and in wire-check mode round-trips every message through the
// codec so that what runs here is exactly what can cross TCP.
package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// Options configures the adapter.
type Options struct {
	// WireCheck encodes and decodes every message sent (tests turn it on).
	WireCheck bool
	// OnEvent receives the components' trace events (nil: dropped).
	OnEvent func(*transport.Event)
}

// Net is a set of components on one netsim.Sim.
type Net struct {
	Sim  *netsim.Sim
	opts Options
	// scratch is shared: exactly one goroutine runs at a time in netsim.
	scratch []byte
}

// New wraps a simulator.
func New(s *netsim.Sim, opts Options) *Net { return &Net{Sim: s, opts: opts} }

// Add starts a component on node id; newHandler runs again on every restart
// of the node, for fresh state.
func (n *Net) Add(id transport.NodeID, newHandler func(env transport.Env) transport.Handler) {
	n.Sim.AddNode(netsim.NodeID(id), func(node *netsim.Node) netsim.Handler {
		e := &env{net: n, node: node, self: id}
		e.h = newHandler(e)
		return e
	})
}

// Handler returns the component running on node id now (nil if crashed).
func (n *Net) Handler(id transport.NodeID) transport.Handler {
	node := n.Sim.Node(netsim.NodeID(id))
	if node == nil || !node.Alive() {
		return nil
	}
	if e, ok := node.Handler().(*env); ok {
		return e.h
	}
	return nil
}

// Env returns the Env of node id (nil if unknown or crashed), so a harness
// can start drivers on it.
func (n *Net) Env(id transport.NodeID) transport.Env {
	node := n.Sim.Node(netsim.NodeID(id))
	if node == nil || !node.Alive() {
		return nil
	}
	e, _ := node.Handler().(*env)
	return e
}

type env struct {
	net  *Net
	node *netsim.Node
	self transport.NodeID
	h    transport.Handler
}

func (e *env) Deliver(from netsim.NodeID, payload any) {
	e.h.Handle(transport.NodeID(from), payload.(transport.Message))
}

func (e *env) Self() transport.NodeID { return e.self }
func (e *env) Now() time.Time         { return e.node.Now() }
func (e *env) Rand() *rand.Rand       { return e.node.Rand() }
func (e *env) Charge(d time.Duration) { e.node.Charge(d) }
func (e *env) Go(f func())            { e.node.Go(f) }

func (e *env) After(d time.Duration, f func()) transport.Timer { return e.node.After(d, f) }

func (e *env) Send(to transport.NodeID, m transport.Message) {
	n := e.net
	var size int64
	size, n.scratch = transport.WireSize(n.scratch, m)
	if n.opts.WireCheck {
		back, err := transport.Unmarshal(n.scratch[:len(n.scratch)])
		if err != nil {
			panic(fmt.Sprintf("sim: wire check: %T does not survive the codec: %v", m, err))
		}
		m = back
	}
	e.node.Send(netsim.NodeID(to), m, size)
}

// Await runs register at once; only when it does not wake the caller
// synchronously does the coroutine yield to the loop. A call that completes
// inside register (a submit, a put) thus costs no event and no switch.
func (e *env) Await(register func(wake func())) {
	var parked func()
	woken, inside := false, true
	register(func() {
		if woken {
			return
		}
		woken = true
		if !inside {
			parked()
		}
	})
	inside = false
	if woken {
		return
	}
	e.node.Await(func(wake func()) { parked = wake })
}

func (e *env) Emit(ev *transport.Event) {
	if e.net.opts.OnEvent != nil {
		e.net.opts.OnEvent(ev)
	}
}
