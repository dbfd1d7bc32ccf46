// Package sim binds netsim to the transport seam: each component runs on a
// netsim node whose Env is virtual time, the node's seeded random source and
// the simulated network. netsim is generic (it carries any payload with a
// size); this adapter charges each message its encoded size plus its virtual
// payload, and in wire-check mode round-trips every message through the
// codec so that what runs here is exactly what can cross TCP.
package sim

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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
	// enc is shared: exactly one goroutine runs at a time in netsim.
	enc transport.Encoder
	// sent counts frame transmissions: which of two was sent first.
	sent uint64
}

// New wraps a simulator. The simulator's Config.OnDrop (or OnEvent) must
// call the returned Net's OnNetEvent (NewSim in runtime/ray wires it) so
// lost frames are retransmitted.
func New(s *netsim.Sim, opts Options) *Net { return &Net{Sim: s, opts: opts} }

// OnNetEvent must see every netsim event (it retransmits lost frames).
func (n *Net) OnNetEvent(ev *netsim.Event) { n.onNetEvent(ev) }

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
	out  []*outLink // connections to peers, by the peer's netsim.Node.Index
	in   []*inLink  // connections from peers, likewise
}

// peer returns the slot of links for the node with id, indexed by its dense
// index, or a fresh slot for an id with no node (nothing reaches it, so no
// connection state is worth keeping).
func peer[L any](links *[]*L, sim *netsim.Sim, id transport.NodeID) **L {
	n := sim.Node(netsim.NodeID(id))
	if n == nil {
		return new(*L)
	}
	i := n.Index()
	if i >= len(*links) {
		*links = append(*links, make([]*L, i+1-len(*links))...)
	}
	return &(*links)[i]
}

// Deliver receives a frame and hands its message, and any that were waiting
// behind it, to the component in the order they were sent.
func (e *env) Deliver(from netsim.NodeID, payload any) {
	f := payload.(*frame)
	if f.toInc != e.node.Incarnation() {
		return // meant for an earlier incarnation of this node
	}
	if f.datagram {
		e.h.Handle(transport.NodeID(from), f.msg)
		return
	}
	src := transport.NodeID(from)
	slot := peer(&e.in, e.net.Sim, src)
	in := *slot
	switch {
	case in == nil || f.fromInc > in.fromInc: // a new connection
		var prev *inLink
		if in != nil {
			prev = in
			prev.early, prev.prev = nil, nil
		}
		in = &inLink{fromInc: f.fromInc, prev: prev}
		*slot = in
	case f.fromInc < in.fromInc:
		// Sent by an incarnation that has since crashed, before it did: the
		// message was on the wire and arrives (its connection is gone, so
		// no ordering is owed), once: a copy of a frame the connection
		// handed over already, or handed over late, is dropped.
		if p := in.prev; p != nil && p.fromInc == f.fromInc {
			if _, seen := p.early[f.seq]; seen || f.seq < p.expect {
				return
			}
			if p.early == nil {
				p.early = make(map[uint64]transport.Message)
			}
			p.early[f.seq] = nil
		}
		e.h.Handle(src, f.msg)
		return
	}
	switch {
	case f.seq < in.expect:
		return // a duplicate
	case f.seq > in.expect: // ahead of a gap: wait for the retransmission
		if in.early == nil {
			in.early = make(map[uint64]transport.Message)
		}
		in.early[f.seq] = f.msg
		e.net.sack(f, in.expect)
		return
	}
	in.expect++
	e.h.Handle(src, f.msg)
	for len(in.early) > 0 {
		m, ok := in.early[in.expect]
		if !ok {
			break
		}
		delete(in.early, in.expect)
		in.expect++
		e.h.Handle(src, m)
	}
}

// frame is what the adapter sends through netsim: a message with its
// connection's sequence number. Connections are per (sender incarnation,
// receiver incarnation): a crash resets them, as it resets a TCP connection.
type frame struct {
	seq            uint64
	fromInc, toInc uint64
	size           int64
	msg            transport.Message
	sender         *env
	to             transport.NodeID
	datagram       bool // best effort: no sequence number, never resent

	// Retransmission state (see onNetEvent and sack). A frame is allocated
	// per message: the fields are sized and ordered to keep it in the 96-byte
	// size class.
	lost     bool          // the last transmission was lost; not resent yet
	byLoss   bool          // ... to link loss (not a partition)
	timeouts uint8         // retransmissions by RTO: each doubles the next RTO (capped)
	drops    uint32        // transmissions lost so far
	fastGen  uint32        // the drop a fast retransmission is scheduled for
	sentAt   time.Duration // virtual time of the last transmission
	sentNo   uint64        // the Net's transmission counter at the last one
}

// Message is the message a frame carries (traces name frames by it).
func (f *frame) Message() transport.Message { return f.msg }

type outLink struct {
	toInc uint64
	next  uint64
	// lost holds the frames whose last transmission was lost to link loss
	// (not a partition: those wait for their RTO), by sequence number,
	// until they are resent: what a later frame's arrival can reveal (sack).
	lost map[uint64]*frame
}

type inLink struct {
	fromInc uint64
	expect  uint64
	early   map[uint64]transport.Message
	// prev is the connection of the sender's previous incarnation, once a
	// newer one has replaced it: its frames still on the wire are handed
	// over once each (netsim may duplicate them), in no order. Its early
	// then records the sequence numbers handed over late (nil values); the
	// frames it held behind a gap died with the connection.
	prev *inLink
}

// Retransmission: the adapter models what TCP gives the runtime. A frame
// lost on a link (loss, or a partition) is sent again, and the receiver
// holds the frames behind it until it arrives (head-of-line blocking), so
// components see every message once and in order — late, not lost — unless
// an end crashes. netsim tells the adapter of each drop, which stands in
// for TCP's acknowledgements. Two ways to resend, as in TCP:
//
//   - Fast retransmission (SACK/RACK): a frame sent after the lost
//     transmission arrives, so the receiver holds it behind a gap; the
//     sender learns of the gap one trip later (the trip of that frame,
//     again, for the acknowledgement) and resends the lost frame at once.
//     A lost retransmission is detected the same way by the next frame
//     sent after it. Only link loss is repaired this way: a frame lost in
//     a partition waits for its RTO (after a timeout TCP's window collapses
//     to one frame: the retransmission goes first).
//   - Retransmission timeout: a lost frame that nothing sent after it
//     reveals (the last frame of a burst, or a partition) is resent after
//     an RTO that starts at 200ms and doubles with each timeout of that
//     frame.
//
// Before fast retransmission every loss waited out a full RTO, holding up
// the whole connection; a lost retransmission waited 200ms + 400ms. On a
// replicated GCS, where a heartbeat crosses three ordered connections
// (raylet to head, head to middle, middle to tail), two such double losses
// in a row held heartbeats back for 1.2s under 1.9% loss, and the GCS
// declared every node dead (regression scenarios/check/testdata/
// chain-heartbeats-behind-lost-retransmissions.yaml).
const (
	rtoMin = 200 * time.Millisecond // Linux's minimum RTO
	rtoMax = 3200 * time.Millisecond
)

// onNetEvent watches netsim's drops and schedules retransmissions.
func (n *Net) onNetEvent(ev *netsim.Event) {
	if ev.Kind != netsim.EvDrop {
		return
	}
	f, ok := ev.Payload.(*frame)
	if !ok || f.datagram || (ev.Detail != netsim.DropLoss && ev.Detail != netsim.DropPartition) {
		return // a crashed end resets the connection: nothing to resend
	}
	f.drops++
	f.lost, f.byLoss = true, ev.Detail == netsim.DropLoss
	if out := f.link(); out != nil && f.byLoss {
		if out.lost == nil {
			out.lost = make(map[uint64]*frame)
		}
		out.lost[f.seq] = f
	}
	gen := f.drops
	rto := min(rtoMin<<min(f.timeouts, 8), rtoMax)
	n.Sim.After(rto, func() {
		if f.lost && f.drops == gen {
			f.timeouts = min(f.timeouts+1, 8)
			n.resend(f)
		}
	})
}

// link returns the sender's connection f belongs to, or nil if it is gone
// (an end crashed or restarted).
func (f *frame) link() *outLink {
	e := f.sender
	if !e.node.Alive() || e.node.Incarnation() != f.fromInc || e.node.Handler() != netsim.Handler(e) {
		return nil
	}
	out := *peer(&e.out, e.net.Sim, f.to)
	if out == nil || out.toInc != f.toInc {
		return nil
	}
	return out
}

// resend transmits lost frame f again, if its connection still exists.
func (n *Net) resend(f *frame) {
	out := f.link()
	if out == nil {
		return
	}
	if dst := n.Sim.Node(netsim.NodeID(f.to)); dst == nil || dst.Incarnation() != f.toInc {
		return
	}
	f.lost = false
	delete(out.lost, f.seq)
	f.sender.transmit(f)
}

// sack is the receiver's selective acknowledgement: g arrived ahead of a
// gap starting at expect. Every frame of the gap whose last transmission
// was lost to link loss before g was sent is resent once the news is back
// at the sender (a trip as long as g's).
func (n *Net) sack(g *frame, expect uint64) {
	out := g.link()
	if out == nil || len(out.lost) == 0 {
		return // (frames lost in a partition wait for their RTO)
	}
	back := max(n.Sim.Now()-g.sentAt, 0)
	for _, seq := range slices.Sorted(maps.Keys(out.lost)) {
		if seq >= g.seq {
			break
		}
		f := out.lost[seq]
		if seq < expect || f.sentNo > g.sentNo || f.fastGen == f.drops {
			continue
		}
		f.fastGen = f.drops
		gen := f.drops
		n.Sim.After(back, func() {
			if f.lost && f.drops == gen {
				n.resend(f)
			}
		})
	}
}

// transmit hands f to netsim (a first transmission or a retransmission).
func (e *env) transmit(f *frame) {
	n := e.net
	n.sent++
	f.sentAt, f.sentNo = n.Sim.Now(), n.sent
	e.node.Send(netsim.NodeID(f.to), f, f.size)
}

func (e *env) Self() transport.NodeID { return e.self }
func (e *env) Now() time.Time         { return e.node.Now() }

// Mono and Since implement transport.Monotonic: virtual time without the
// node's skew.
func (e *env) Mono() time.Time                 { return e.node.Mono() }
func (e *env) Since(t time.Time) time.Duration { return e.node.Mono().Sub(t) }

// Waited implements transport.Waiter.
func (e *env) Waited() time.Duration  { return e.node.Waited() }
func (e *env) Rand() *rand.Rand       { return e.node.Rand() }
func (e *env) Charge(d time.Duration) { e.node.Charge(d) }
func (e *env) Go(f func())            { e.node.Go(f) }

func (e *env) After(d time.Duration, f func()) transport.Timer { return e.node.After(d, f) }

func (e *env) Send(to transport.NodeID, m transport.Message) {
	n := e.net
	size, known := transport.KnownWireSize(m)
	if !known || n.opts.WireCheck {
		size = n.enc.WireSize(m)
	}
	if n.opts.WireCheck {
		back, err := transport.Unmarshal(n.enc.Bytes())
		if err != nil {
			panic(fmt.Sprintf("sim: wire check: %T does not survive the codec: %v", m, err))
		}
		m = back
	}
	if _, dgram := m.(transport.Datagram); dgram {
		// Best effort, outside the ordered stream: never resent, never
		// holding up (or held up by) the connection's other frames.
		dst := n.Sim.Node(netsim.NodeID(to))
		var toInc uint64
		if dst != nil {
			toInc = dst.Incarnation()
		}
		e.node.Send(netsim.NodeID(to), &frame{datagram: true, fromInc: e.node.Incarnation(), toInc: toInc, size: size, msg: m, sender: e}, size)
		return
	}
	dst := n.Sim.Node(netsim.NodeID(to))
	var toInc uint64
	if dst != nil {
		toInc = dst.Incarnation()
	}
	slot := peer(&e.out, n.Sim, to)
	out := *slot
	if out == nil || out.toInc != toInc { // a new connection
		out = &outLink{toInc: toInc}
		*slot = out
	}
	f := &frame{seq: out.next, fromInc: e.node.Incarnation(), toInc: toInc, to: to, size: size, msg: m, sender: e}
	out.next++
	e.transmit(f)
}

// Coroutine is the ID of this node's coroutine running now (0: none), the
// only place Await may be called from: a runtime API call made elsewhere,
// or in another coroutine than its caller's, is refused before it
// suspends (node.Caller.WrongCoroutine).
func (e *env) Coroutine() uint64 { return e.node.Coroutine() }

// Await runs register at once; only when it does not wake the caller
// synchronously, or when register left the node busy (service time charged),
// does the coroutine yield to the loop. A call that completes inside
// register on an idle node thus costs no event and no switch.
func (e *env) Await(register func(wake func())) {
	busy := e.node.BusyUntil()
	if !e.node.AwaitInline(register) {
		return
	}
	if after := e.node.BusyUntil(); after <= busy || after <= e.net.Sim.Now() {
		return
	}
	// register itself charged service time on the loop (a worker's result
	// stored, a Put): the caller goes on only when that work is done, or a
	// burst of work done in one turn would all happen at one virtual
	// instant.
	e.node.Yield()
}

// Post runs f at once: in netsim the calling coroutine holds the only
// running goroutine, so it is on the loop's turn already.
func (e *env) Post(f func()) { f() }

// PostsInline marks Post as running f at once (transport.InlinePoster).
func (e *env) PostsInline() {}

// TimersQueued marks After(0) as queued behind the node's items
// (transport.QueuedTimer).
func (e *env) TimersQueued() {}

// MetersWire marks Send as charging each message's encoded size
// (transport.WireMeter).
func (e *env) MetersWire() {}

func (e *env) Emit(ev *transport.Event) {
	if e.net.opts.OnEvent != nil {
		e.net.opts.OnEvent(ev)
	}
}
