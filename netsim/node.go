package netsim

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"time"
)

// Node is one simulated node. The *Node is stable across incarnations: a
// crash drops the node's handler, timers and coroutines; Restart builds a
// fresh handler with the node's factory.
type Node struct {
	sim     *Sim
	id      NodeID
	factory func(n *Node) Handler
	handler Handler
	alive   bool
	inc     uint64
	rng     *rand.Rand
	skew    time.Duration

	// busyUntil: the node is busy (Charge) or stalled (Pause) until then.
	busyUntil int64
	// arrived: when the delivery being handled arrived (-1 outside one):
	// see Waited.
	arrived int64
	// dq holds node items that arrived while the node was busy, in arrival
	// order (a list of the queue's chunks, read from dqOff in the first);
	// order; one wake item at a time runs them.
	dq, dqTail  *chunk
	dqOff, dqN  int
	wakePending bool

	coros []*coro
	idx   int          // dense index: the order of AddNode
	out   []*linkState // outgoing link state by destination idx (< denseMax)
	// links: the state of every link from or to the node (in no
	// particular order: only used to reset them all at a crash).
	links []*linkState
	// died[i-1]: when incarnation i crashed (see Sim.unsent).
	died []int64
	// restarting: the node's own handler, timer or coroutine called
	// Restart; runNodeItem starts the new incarnation once it is done.
	restarting bool
	// why is the next restart event's detail (RestartAs).
	why string
}

// MaxNodes bounds a simulation's nodes: an item names its node by a 24-bit
// index.
const MaxNodes = 1 << 24

// AddNode adds node id and starts it now: factory builds its handler (and
// is called again, for fresh state, on every Restart). It panics if id is
// already in use, or past MaxNodes nodes.
func (s *Sim) AddNode(id NodeID, factory func(n *Node) Handler) *Node {
	if _, ok := s.nodes[id]; ok {
		panic(fmt.Sprintf("netsim: AddNode(%d): node exists", id))
	}
	if len(s.nodes) >= MaxNodes {
		panic(fmt.Sprintf("netsim: AddNode(%d): more than %d nodes", id, MaxNodes))
	}
	n := &Node{sim: s, id: id, factory: factory, idx: len(s.nodes), arrived: -1}
	s.nodes[id] = n
	s.all = append(s.all, n)
	if id < denseMax {
		if int(id) >= len(s.dense) {
			s.dense = append(s.dense, make([]*Node, int(id)+1-len(s.dense))...)
		}
		s.dense[id] = n
	}
	i, _ := slices.BinarySearch(s.order, id)
	s.order = slices.Insert(s.order, i, id)
	for _, ls := range s.early { // links set up before the node (SetLink, ...)
		if ls.from == id || ls.to == id {
			n.links = append(n.links, ls)
		}
	}
	n.start(false)
	return n
}

// start begins a new incarnation; the restart event is logged before the
// factory runs, so whatever the factory does comes after it in the log.
func (n *Node) start(restart bool) {
	n.inc++
	n.alive = true
	n.restarting = false
	seed := uint64(n.sim.cfg.Seed)
	n.rng = rand.New(rand.NewPCG(splitmix(seed^splitmix(uint64(n.id))), splitmix(n.inc^splitmix(seed+uint64(n.id)))))
	if restart {
		n.sim.emit(EvRestart, n.id, n.id, int64(n.inc), nil, n.why)
		n.why = ""
	}
	if n.factory != nil {
		n.handler = n.factory(n)
	}
}

// Node returns node id, or nil if unknown.
func (s *Sim) Node(id NodeID) *Node { return s.node(id) }

// Nodes returns every node id, sorted.
func (s *Sim) Nodes() []NodeID { return slices.Clone(s.order) }

// ID is the node's id.
func (n *Node) ID() NodeID { return n.id }

// Index is the node's dense index: 0 for the first node added, 1 for the
// next, and so on, for the Sim's whole life (restarts keep it). Tables
// indexed by it serve any node id without a map lookup.
func (n *Node) Index() int { return n.idx }

// Sim is the simulator the node belongs to.
func (n *Node) Sim() *Sim { return n.sim }

// Alive reports whether the node is up (not crashed).
func (n *Node) Alive() bool { return n.alive }

// Incarnation is 1 for the first start and grows by one on every Restart.
func (n *Node) Incarnation() uint64 { return n.inc }

// Handler is the current incarnation's handler (nil while crashed).
func (n *Node) Handler() Handler { return n.handler }

// Now is the node's clock: Epoch + virtual now + the node's skew.
func (n *Node) Now() time.Time {
	return n.sim.epoch.Add(time.Duration(n.sim.now) + n.skew)
}

// Mono is the node's monotonic clock: Epoch + virtual now. Skew moves a
// node's wall clock (Now), not the intervals it measures, as a stepped
// wall clock leaves a machine's monotonic clock alone.
func (n *Node) Mono() time.Time {
	return n.sim.epoch.Add(time.Duration(n.sim.now))
}

// Rand is the node's random stream, seeded from (Seed, id, incarnation).
func (n *Node) Rand() *rand.Rand { return n.rng }

// Charge declares service time: the node is busy for d more, counted from
// max(now, busy-until). Its deliveries, timers and coroutine resumes wait
// until it is free, and sends made after the Charge depart at the
// busy-until time.
func (n *Node) Charge(d time.Duration) {
	if d <= 0 || !n.alive {
		return
	}
	n.busyUntil = later(max(n.busyUntil, n.sim.now), int64(d)) // saturated: see later
}

// Waited is how long the message being delivered (inside Handler.Deliver)
// waited for the node after it arrived, the node busy (Charge) or paused
// meanwhile; 0 outside a delivery.
func (n *Node) Waited() time.Duration {
	if n.arrived < 0 {
		return 0
	}
	return time.Duration(n.sim.now - n.arrived)
}

// BusyUntil is the virtual time until which the node is busy or stalled.
func (n *Node) BusyUntil() time.Duration { return time.Duration(n.busyUntil) }

// Backlog is the number of the node's items (deliveries, timers,
// resumptions) that are due and wait for it to be free: a node whose
// service time cannot keep up with its load has a growing backlog.
func (n *Node) Backlog() int { return n.dqN }

func (n *Node) dqLen() int { return n.dqN }

func (n *Node) dqPush(it *item) {
	t := n.dqTail
	if t == nil || t.n == chunkN {
		c := n.sim.q.newChunk()
		if t == nil {
			n.dq = c
		} else {
			t.next = c
		}
		n.dqTail, t = c, c
	}
	t.items[t.n] = *it
	t.n++
	n.dqN++
}

func (n *Node) dqPop(out *item) {
	h := n.dq
	*out = h.items[n.dqOff]
	h.items[n.dqOff] = item{}
	n.dqOff++
	n.dqN--
	if n.dqN == 0 || n.dqOff == chunkN {
		n.dq = h.next
		if n.dq == nil {
			n.dqTail = nil
		}
		n.dqOff = 0
		n.sim.q.freeChunk(h)
	}
}

// ---- timers ----

// timerState is the state of a timer slot; gen is bumped when the timer
// leaves the queue (fired or dropped), so stale handles are detected.
type timerState struct {
	gen       uint32
	cancelled bool // stopped while pending
}

// timer is a Timer handle: a slot of Sim.tstate and its generation, and
// the callback, which the queued item reaches through the handle: Stop
// lets go of it at once, where the item stays queued (lazily dropped) until
// its time, perhaps an hour of virtual time away, and a callback held
// there would hold all it points to (a Get's values) as long.
type timer struct {
	s    *Sim
	f    func()
	slot uint32
	gen  uint32
}

func (t *timer) Stop() bool {
	st := &t.s.tstate[t.slot]
	if st.gen != t.gen || st.cancelled {
		return false
	}
	st.cancelled = true
	t.f = nil
	t.s.live--
	return true
}

type deadTimer struct{}

func (deadTimer) Stop() bool { return false }

// After runs f on the node's loop after d (virtual). A timer never fires
// after a crash of the incarnation that set it. Timers due at the same time
// fire in creation order.
func (n *Node) After(d time.Duration, f func()) Timer {
	if !n.alive {
		return deadTimer{}
	}
	s := n.sim
	var slot uint32
	if k := len(s.tfree); k > 0 {
		slot = s.tfree[k-1]
		s.tfree = s.tfree[:k-1]
	} else {
		s.tstate = append(s.tstate, timerState{})
		slot = uint32(len(s.tstate) - 1)
	}
	it := s.scheduleNode(later(s.now, max(int64(d), 0)), itemTimer, n)
	t := &timer{s: s, f: f, slot: slot, gen: s.tstate[slot].gen}
	it.payload = t
	it.size = int64(slot)
	return t
}

// ---- messages ----

// Send hands payload (size bytes on the wire) to the network for delivery
// to node to. The path, in order: partition check, destination check
// (a crashed destination drops at once), bandwidth queue (departure at
// max(now, sender busy-until, link free)), loss, latency + degradation +
// jitter, reordering or the FIFO clamp, duplication.
func (n *Node) Send(to NodeID, payload any, size int64) {
	s := n.sim
	if !n.alive {
		s.emit(EvDrop, n.id, to, size, payload, DropSender)
		return
	}
	s.emit(EvSend, n.id, to, size, payload, "")
	dst := s.node(to)
	if dst == nil {
		s.emit(EvDrop, n.id, to, size, payload, DropUnknown)
		return
	}
	if s.blocked(n.id, to) {
		s.emit(EvDrop, n.id, to, size, payload, DropPartition)
		return
	}
	if !dst.alive {
		s.emit(EvDrop, n.id, to, size, payload, DropCrashed)
		return
	}
	ls := s.linkOf(n, dst)
	l := &s.cfg.Link
	if ls.hasLink {
		l = &ls.override
	}
	d := &ls.deg
	dep := max(s.now, n.busyUntil)
	at := dep
	bw := l.Bandwidth
	capped := d.Bandwidth > 0 && (bw == 0 || d.Bandwidth < bw)
	if capped {
		bw = d.Bandwidth
	}
	start := at
	if bw > 0 && size > 0 {
		start = max(at, ls.txFree)
		at = later(start, txTime(float64(size), bw))
		ls.txFree = at
	}
	left := at
	// While a degradation caps the link's bandwidth, its messages are
	// recorded, so that the end of the cap can re-time those still queued
	// or being transmitted (see retime).
	var rec *txRec
	if capped || len(ls.tx) > 0 {
		ls.pruneTx(s.now)
		if capped || len(ls.tx) > 0 {
			ls.tx = append(ls.tx, txRec{size: size, bytes: float64(max(size, 0)), dep: dep, start: start, end: left, prevLast: ls.lastAt})
			rec = &ls.tx[len(ls.tx)-1]
		}
	}
	if loss := l.Loss + d.Loss; loss > 0 && s.rng.Float64() < loss {
		s.emit(EvDrop, n.id, to, size, payload, DropLoss)
		return // (a record with no message: it held the link all the same)
	}
	lat := int64(l.Latency.Sample(s.rng))
	at = later(later(at, lat), max(int64(d.Extra), 0))
	if j := l.Jitter + d.Jitter; j > 0 {
		at = later(at, s.rng.Int64N(int64(j)))
	}
	delay := at - left
	reordered := false
	if r := l.Reorder + d.Reorder; r > 0 && s.rng.Float64() < r {
		at = later(at, s.rng.Int64N(2*max(lat, int64(time.Millisecond))))
		delay, reordered = at-left, true
	} else {
		at = max(at, ls.lastAt)
		ls.lastAt = at
	}
	it := s.scheduleDeliver(at, left, dst, n, payload, size)
	if rec != nil {
		rec.msg, rec.at, rec.delay, rec.reordered = s.wrapTx(it), at, delay, reordered
	}
	if dup := l.Duplicate + d.Duplicate; dup > 0 && s.rng.Float64() < dup {
		s.emit(EvDuplicate, n.id, to, size, payload, "")
		at2 := later(at, s.rng.Int64N(max(lat, int64(time.Millisecond))))
		gap := at2 - at
		if !reordered { // a reordered message's copy, as the message, holds up nothing
			at2 = max(at2, ls.lastAt)
			ls.lastAt = at2
		}
		it := s.scheduleDeliver(at2, left, dst, n, payload, size)
		if rec != nil {
			rec.dup, rec.at2, rec.dupGap = s.wrapTx(it), at2, gap
		}
	}
}

// txTime is how long size bytes take to transmit at bw bytes per second
// (0: infinite).
func txTime(size, bw float64) int64 {
	if bw <= 0 || size <= 0 {
		return 0
	}
	if t := size / bw * 1e9; t < never {
		return int64(t)
	}
	return never
}

// scheduleDeliver schedules a message from src to dst, arriving at at; it
// has left src at left (departed, and its last byte transmitted): if src's
// incarnation crashes before then, it is dropped on arrival (DropUnsent).
func (s *Sim) scheduleDeliver(at, left int64, dst, src *Node, payload any, size int64) *item {
	it := s.scheduleNode(at, itemDeliver, dst)
	it.src = uint32(src.idx)
	it.incs = uint32(it.dinc()) | uint32(uint16(src.inc))<<16
	it.setLeft(left)
	it.payload = payload
	it.size = size
	return it
}

// ---- coroutines ----

// coro is a cooperative coroutine built on iter.Pull: exactly one goroutine
// (the loop or one coroutine) runs at a time.
type coro struct {
	node   *Node
	inc    uint64
	id     uint64
	next   func() (struct{}, bool)
	stop   func()
	yield  func(struct{}) bool
	killed bool
	done   bool
	pos    int // index in node.coros
	// awaits counts the Awaits begun; woken is the last one whose wake was
	// called. A coroutine only leaves Await k through its wake, so by the
	// time Await k+1 begins every older wake has been called: a wake is
	// live exactly when its number is awaits and not yet woken.
	awaits, woken uint64
	// inside is set while AwaitInline runs register: a wake then only
	// marks the suspension woken, for the coroutine is running.
	inside bool
}

// wake is the body of the wake func of Await number g: it schedules the
// resumption on its first call while that Await is the current one, and
// ignores every other call.
func (c *coro) wake(g uint64) {
	if g != c.awaits || g == c.woken {
		return
	}
	c.woken = g
	if c.inside {
		return // AwaitInline's register woke it: it goes on without suspending
	}
	if !c.killed && !c.done {
		c.node.sim.scheduleResume(c)
	}
}

// stopSignal unwinds a stopped coroutine; recovered at the coroutine's top.
type stopSignal struct{}

// CoroutinePanic is what a panic inside a coroutine is re-raised as on the
// loop goroutine (the original value and the coroutine's stack).
type CoroutinePanic struct {
	Node  NodeID
	Value any
	Stack []byte
}

func (p *CoroutinePanic) Error() string {
	return fmt.Sprintf("netsim: panic in coroutine of node %d: %v\n%s", p.Node, p.Value, p.Stack)
}

// Unwrap returns the original value if it is an error.
func (p *CoroutinePanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Go starts a cooperative coroutine running f on the node. f starts as a
// node event at the current virtual time (so it waits while the node is
// busy) and may block in Await. If the node crashes, the coroutine is
// stopped: its Await never returns and its deferred calls run. Go on a
// crashed node does nothing.
func (n *Node) Go(f func()) {
	if !n.alive {
		return
	}
	s := n.sim
	s.coroSeq++
	c := &coro{node: n, inc: n.inc, id: s.coroSeq}
	c.next, c.stop = iter.Pull(func(yield func(struct{}) bool) {
		c.yield = yield
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopSignal); ok {
					return
				}
				if _, ok := r.(*CoroutinePanic); ok {
					panic(r)
				}
				panic(&CoroutinePanic{Node: n.id, Value: r, Stack: debug.Stack()})
			}
		}()
		f()
	})
	c.pos = len(n.coros)
	n.coros = append(n.coros, c)
	s.scheduleResume(c)
}

// Await suspends the calling coroutine until wake is called. It must be
// called only from inside a coroutine of this node (see Go). register(wake)
// runs synchronously first; wake may be called from anywhere on the loop
// (a handler, a timer, another node, a harness event) or inside register
// itself; it schedules the coroutine's resumption at the then-current
// virtual time on this node. Calls after the first are ignored. If the node
// crashes meanwhile, Await never returns (the coroutine unwinds).
func (n *Node) Await(register func(wake func())) {
	c := n.suspending("Await")
	g := c.awaits
	register(func() { c.wake(g) }) // captures two words: one allocation
	c.suspend()
}

// AwaitInline is Await for a register that often calls wake at once: then
// the coroutine does not suspend, and AwaitInline returns true without a
// switch (the caller may Yield if it must let the node's loop run first).
// It returns false once a wake called after register resumed it.
func (n *Node) AwaitInline(register func(wake func())) (inline bool) {
	c := n.suspending("Await")
	g := c.awaits
	c.inside = true
	register(func() { c.wake(g) }) // captures two words: one allocation
	c.inside = false
	if c.woken == g {
		return true
	}
	c.suspend()
	return false
}

// Waker resumes one suspension of a coroutine (see Node.Suspend); calls
// after the first, and calls once that suspension is over, are ignored.
// It is a value: handing one out allocates nothing, where Await's wake
// closure costs an allocation per suspension.
type Waker struct {
	c *coro
	g uint64
}

// Wake schedules the suspended coroutine's resumption at the then-current
// virtual time on its node (see Await).
func (w Waker) Wake() {
	if w.c != nil {
		w.c.wake(w.g)
	}
}

// Suspend is Await in two steps: it gives *w the Waker of the calling
// coroutine's next suspension, calls register (synchronously, if not nil;
// it may call w.Wake), then suspends the coroutine until w.Wake is called.
// It must be called only from inside a coroutine of this node.
func (n *Node) Suspend(w *Waker, register func()) {
	c := n.suspending("Suspend")
	*w = Waker{c: c, g: c.awaits}
	if register != nil {
		register()
	}
	c.suspend()
}

// Yield suspends the calling coroutine and schedules its resumption at once
// (at the then-current virtual time on its node: after the service time
// the node is charged for, see Await). It must be called only from inside
// a coroutine of this node.
func (n *Node) Yield() {
	c := n.suspending("Yield")
	c.wake(c.awaits)
	c.suspend()
}

// suspending returns the calling coroutine, numbering its next suspension
// (a stopped one unwinds instead).
func (n *Node) suspending(op string) *coro {
	c := n.sim.cur
	if c == nil || c.node != n {
		panic("netsim: " + op + " called outside a coroutine of this node")
	}
	if c.killed {
		panic(stopSignal{})
	}
	c.inside = false // an AwaitInline whose register panicked (and was recovered) left it set
	c.awaits++
	return c
}

// suspend hands the baton back to the loop until the coroutine is resumed
// (a coroutine stopped meanwhile unwinds).
func (c *coro) suspend() {
	if !c.yield(struct{}{}) || c.killed {
		panic(stopSignal{})
	}
}

// Coroutines is the number of n's coroutines that have not returned
// (running or suspended): a count that only grows points at a leak.
func (n *Node) Coroutines() int { return len(n.coros) }

// Coroutine is the ID of n's coroutine running now, 0 when none of n's
// runs (the loop, another node's coroutine). IDs are unique over the run:
// a caller bound to one coroutine tells it from another of the same node.
func (n *Node) Coroutine() uint64 {
	c := n.sim.cur
	if c == nil || c.node != n {
		return 0
	}
	return c.id
}

// InCoroutine reports whether the caller runs inside one of n's coroutines.
func (n *Node) InCoroutine() bool {
	c := n.sim.cur
	return c != nil && c.node == n
}

func (s *Sim) scheduleResume(c *coro) {
	it := s.scheduleNode(s.now, itemResume, c.node)
	it.payload = c
	it.incs = uint32(uint16(c.inc))
}

// resume hands the baton to c until it awaits or returns.
func (s *Sim) resume(c *coro) {
	if c.killed || c.done {
		return
	}
	s.cur = c
	defer func() { s.cur = nil }() // also on a re-raised coroutine panic
	_, ok := c.next()
	if !ok {
		c.done = true
		c.node.removeCoro(c)
	}
}

func (n *Node) removeCoro(c *coro) {
	i := c.pos
	if i >= len(n.coros) || n.coros[i] != c {
		return
	}
	last := len(n.coros) - 1
	n.coros[i] = n.coros[last]
	n.coros[i].pos = i
	n.coros[last] = nil
	n.coros = n.coros[:last]
}

// killCoros marks every coroutine of n as killed and queues them, in
// creation order, to be stopped once control is back on the loop.
func (s *Sim) killCoros(n *Node) {
	if len(n.coros) == 0 {
		return
	}
	cs := n.coros
	n.coros = nil
	slices.SortFunc(cs, func(a, b *coro) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	for _, c := range cs {
		c.killed = true
		s.kills = append(s.kills, c)
	}
}

// drainKills stops queued coroutines (runs their unwinding) from the loop.
func (s *Sim) drainKills() {
	for len(s.kills) > 0 {
		c := s.kills[0]
		s.kills[0] = nil
		s.kills = s.kills[1:]
		if c.done {
			continue
		}
		c.done = true
		s.stopCoro(c)
	}
	s.kills = nil
}

func (s *Sim) stopCoro(c *coro) {
	prev := s.cur // a coroutine of another node that calls Restart (see there)
	s.cur = c
	defer func() { s.cur = prev }()
	c.stop()
}
