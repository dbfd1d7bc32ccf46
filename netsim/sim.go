package netsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// NodeID names a simulated node.
type NodeID uint32

// Handler receives payloads delivered to a node. It runs on the event loop.
type Handler interface {
	Deliver(from NodeID, payload any)
}

// Timer is a pending node timer.
type Timer interface {
	// Stop cancels the timer and reports whether it was still pending.
	Stop() bool
}

// Config configures a [Sim].
type Config struct {
	Seed int64
	// Link is the default model of every directed link (see SetLink).
	Link Link
	// OnEvent, if set, is called for every logged event, in order. The
	// *Event is only valid during the call: the hook must not retain it.
	OnEvent func(ev *Event)
	// OnDrop, if set, is called for every EvDrop event (before OnEvent, if
	// both are set), under the same rules. A component that only needs to
	// see losses (to retransmit, say) sets this one: the other events then
	// cost nothing beyond the digest.
	OnDrop func(ev *Event)
	// Epoch is the wall time that virtual time 0 maps to (Node.Now). The
	// zero value means 2026-01-01T00:00:00Z.
	Epoch time.Time
}

// DefaultEpoch is the wall time virtual 0 maps to when Config.Epoch is zero.
var DefaultEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Stats summarises a run.
type Stats struct {
	Events       uint64        // queue events executed
	Wall         time.Duration // wall time spent inside Run, RunUntil and RunWhile
	Virtual      time.Duration // virtual time reached (Now)
	EventsPerSec float64       // Events / Wall
	Speed        float64       // Virtual / Wall
}

// Sim is a deterministic discrete-event network simulator. It is not safe
// for concurrent use: everything (handlers, timers, coroutines, harness code)
// runs one at a time on the caller's goroutine or on a coroutine that has
// the baton.
type Sim struct {
	cfg     Config
	onEvent func(ev *Event)
	onDrop  func(ev *Event)
	epoch   time.Time
	rng     *rand.Rand // network decisions (loss, latency, ...)

	q      queue
	now    int64
	live   int // scheduled items not yet run, dropped or cancelled (excl. wakes)
	events uint64
	logged uint64
	digest uint64
	evBuf  Event

	nodes map[NodeID]*Node
	dense []*Node  // nodes by id, for ids < denseMax
	all   []*Node  // nodes by dense index (Node.idx): an item names its node so
	order []NodeID // sorted ids

	links   map[uint64]*linkState
	early   []*linkState // links made while an end was not a node yet
	parts   []partition  // each Partition call not healed yet, oldest first
	partSeq PartitionID  // the last Partition's id
	degSeq  DegradationID
	cuts    map[uint64]struct{}

	// tstate holds each pending timer's state, indexed by the slot kept in
	// its item (size field); tfree lists the free slots. Pointer-free and
	// reused LIFO, so the check on pop stays cheap.
	tstate []timerState
	tfree  []uint32

	cur     *coro   // coroutine that holds the baton, nil on the loop
	inItem  *Node   // the node whose handler or timer runs (see Restart)
	kills   []*coro // coroutines to stop, in order, once back on the loop
	coroSeq uint64

	stopped bool
	running bool
	wall    time.Duration
}

// New returns a simulator at virtual time 0 with no nodes.
func New(cfg Config) *Sim {
	s := &Sim{
		cfg:     cfg,
		onEvent: cfg.OnEvent,
		onDrop:  cfg.OnDrop,
		epoch:   cfg.Epoch,
		nodes:   make(map[NodeID]*Node),
		links:   make(map[uint64]*linkState),
		cuts:    make(map[uint64]struct{}),
		digest:  digestSeed,
	}
	if s.epoch.IsZero() {
		s.epoch = DefaultEpoch
	}
	s.q.init()
	seed := uint64(cfg.Seed)
	s.rng = rand.New(rand.NewPCG(splitmix(seed), splitmix(seed^0x6e657473696d)))
	return s
}

// splitmix is the SplitMix64 finaliser, used to derive seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Now is the virtual time since the start of the simulation.
func (s *Sim) Now() time.Duration { return time.Duration(s.now) }

// At schedules a harness event f at absolute virtual time t (a time in the
// past means now). Harness events are not tied to any node: crashes and
// pauses do not affect them.
func (s *Sim) At(t time.Duration, f func()) {
	it := s.q.add(max(int64(t), s.now))
	it.setKind(itemHarness)
	it.payload = f
	s.live++
}

// After schedules a harness event f at Now()+d.
func (s *Sim) After(d time.Duration, f func()) {
	s.At(time.Duration(later(s.now, max(int64(d), 0))), f)
}

// Pending is the number of scheduled events not yet run (stopped timers
// excluded).
func (s *Sim) Pending() int { return s.live }

// Digest is a rolling 64-bit hash over every logged event (kind, time, from,
// to, size, detail) in order: a run's identity.
func (s *Sim) Digest() uint64 { return s.digest }

// Logged is the number of events logged so far (those seen by OnEvent).
func (s *Sim) Logged() uint64 { return s.logged }

// Stats reports counters and speed. Wall time is only accounted inside Run,
// RunUntil and RunWhile (not in bare Step calls).
func (s *Sim) Stats() Stats {
	st := Stats{Events: s.events, Wall: s.wall, Virtual: time.Duration(s.now)}
	if sec := s.wall.Seconds(); sec > 0 {
		st.EventsPerSec = float64(s.events) / sec
		st.Speed = float64(s.now) / float64(s.wall)
	}
	return st
}

// Stop makes the running Run, RunUntil or RunWhile return after the current
// event.
func (s *Sim) Stop() { s.stopped = true }

// InCoroutine reports whether the caller runs on a coroutine (a node's
// Go, a driver), where Run, RunUntil, RunWhile, Step and Close may not be
// called: the loop that runs them is the caller's own.
func (s *Sim) InCoroutine() bool { return s.cur != nil }

func (s *Sim) checkLoop(what string) {
	if s.cur != nil {
		panic("netsim: " + what + " called from a coroutine")
	}
}

// Step runs one event and reports whether there was one.
func (s *Sim) Step() bool {
	s.checkLoop("Step")
	s.inItem = nil // (left set by a handler that panicked)
	return s.step()
}

func (s *Sim) step() bool { return s.stepUntil(math.MaxInt64) }

// stepUntil runs the next event if it is due by lim (stopped timers ahead
// of it are skipped, but never one beyond lim) and reports whether it ran
// one.
func (s *Sim) stepUntil(lim int64) bool {
	var it item
	for s.q.len() > 0 {
		s.q.pop(&it)
		if s.cancelled(&it) {
			s.consume(&it)
			if lim != math.MaxInt64 { // (Step and Run skip the peek: stopped timers are many)
				if at, ok := s.q.peekAt(); ok && at > lim {
					return false
				}
			}
			continue
		}
		s.now = it.at
		s.events++
		s.dispatch(&it)
		if len(s.kills) > 0 {
			s.drainKills()
		}
		return true
	}
	return false
}

func (s *Sim) begin(what string) time.Time {
	s.checkLoop(what)
	if s.running {
		panic("netsim: " + what + " called re-entrantly from an event")
	}
	s.running = true
	s.stopped = false
	s.inItem = nil // (left set by a handler that panicked)
	return time.Now()
}

func (s *Sim) end(start time.Time) {
	s.wall += time.Since(start)
	s.running = false
}

// Run runs events until the queue is empty or Stop is called.
func (s *Sim) Run() {
	defer s.end(s.begin("Run"))
	for !s.stopped && s.step() {
	}
}

// RunUntil runs every event with time <= t (unless Stop is called), then
// advances Now to t.
func (s *Sim) RunUntil(t time.Duration) {
	defer s.end(s.begin("RunUntil"))
	lim := int64(t)
	for !s.stopped {
		at, ok := s.q.peekAt()
		if !ok || at > lim {
			break
		}
		s.stepUntil(lim)
	}
	if !s.stopped && lim > s.now {
		s.now = lim
	}
}

// RunUntilWhile runs every event with time <= t while cond() holds
// (checked before each event; unless Stop is called). If cond still holds
// and events remain, all of them after t, it then advances Now to t, as
// RunUntil does; with none left (nothing can happen any more) Now stays at
// the last event's time. So a caller stepping a run to t finds it at t
// (not at the first event past it), every event due by then run.
func (s *Sim) RunUntilWhile(t time.Duration, cond func() bool) {
	defer s.end(s.begin("RunUntilWhile"))
	lim := int64(t)
	for !s.stopped {
		at, ok := s.q.peekAt()
		if !ok || at > lim || !cond() {
			break
		}
		s.stepUntil(lim)
	}
	if !s.stopped && lim > s.now && s.live > 0 && cond() {
		s.now = lim
	}
}

// RunWhile runs events while cond() holds and events remain (cond is
// checked before each event).
func (s *Sim) RunWhile(cond func() bool) {
	defer s.end(s.begin("RunWhile"))
	for !s.stopped && s.q.len() > 0 && cond() {
		s.step()
	}
}

// Close stops every coroutine of every node (their Await never returns);
// no goroutine of the simulator outlives it. The Sim must not be run after.
func (s *Sim) Close() {
	s.checkLoop("Close")
	for _, id := range s.order {
		s.killCoros(s.nodes[id])
	}
	s.drainKills()
}

// dispatch runs the item popped at s.now.
func (s *Sim) dispatch(it *item) {
	switch it.kind() {
	case itemHarness:
		s.live--
		it.payload.(func())()
	case itemWake:
		n := s.all[it.node()]
		if n.alive && uint16(n.inc) == it.dinc() {
			n.wakePending = false
			s.runDeferred(n)
		}
	default:
		if it.kind() == itemDeliverTx {
			w := it.payload.(*txMsg)
			if w.dead {
				return // re-timed: a later item carries it (uncounted already)
			}
			w.done = true
			it.setKind(itemDeliver)
			it.payload = w.payload
		}
		n := s.all[it.node()]
		if !n.alive || uint16(n.inc) != it.dinc() {
			s.dropStale(it)
			return
		}
		if it.kind() == itemDeliver {
			from := s.all[it.src]
			if s.unsent(from, it) {
				s.emit(EvDrop, from.id, n.id, it.size, it.payload, DropUnsent)
				s.consume(it)
				return
			}
			if s.blocked(from.id, n.id) {
				// Checked on arrival, not when the node gets round to the
				// message: one that reached a paused or busy host before a
				// partition began is in its receive queue and is not lost,
				// and one that arrived during a partition is gone even if
				// the partition heals before the host is free.
				s.emit(EvDrop, from.id, n.id, it.size, it.payload, DropPartition)
				s.consume(it)
				return
			}
		}
		if n.busyUntil > s.now || n.dqLen() > 0 {
			// Busy or stalled node: queue behind what is already waiting,
			// so per-node order (and per-link FIFO) is kept.
			n.dqPush(it)
			s.ensureWake(n)
			return
		}
		s.runNodeItem(it)
	}
}

// cancelled reports whether the item is a stopped timer.
// cancelled reports whether it is no event: a stopped timer, or a
// delivery a bandwidth change re-timed (a later item carries it). Neither
// moves virtual time nor counts.
func (s *Sim) cancelled(it *item) bool {
	switch it.kind() {
	case itemTimer:
		return s.tstate[it.size].cancelled
	case itemDeliverTx:
		return it.payload.(*txMsg).dead
	}
	return false
}

// consume accounts for a node item leaving the queue (run or dropped); a
// timer's state slot is released (its handle goes stale).
func (s *Sim) consume(it *item) {
	if it.kind() == itemDeliverTx && it.payload.(*txMsg).dead {
		return // uncounted when it was re-timed (moveTx)
	}
	if it.kind() == itemTimer {
		st := &s.tstate[it.size]
		was := st.cancelled
		st.gen++
		st.cancelled = false
		s.tfree = append(s.tfree, uint32(it.size))
		if was {
			return // already uncounted by Stop
		}
	}
	s.live--
}

// dropStale discards a node item whose incarnation is gone.
func (s *Sim) dropStale(it *item) {
	if it.kind() == itemDeliver {
		s.emit(EvDrop, s.all[it.src].id, s.all[it.node()].id, it.size, it.payload, DropCrashed)
	}
	s.consume(it)
}

// unsent reports whether delivery it never finished leaving its sender
// from: the incarnation that sent it crashed before it.left (it was waiting
// for the sender's busy-until, or its bytes were still being transmitted).
func (s *Sim) unsent(from *Node, it *item) bool {
	if from.alive && uint16(from.inc) == it.sinc() {
		return false // the sending incarnation is still up
	}
	// The sending incarnation: the latest one (at most from.inc) equal to
	// it.sinc mod 2^16; its crash time is in from.died.
	inc := from.inc - uint64(uint16(from.inc)-it.sinc())
	return inc >= 1 && inc <= uint64(len(from.died)) && from.died[inc-1] < it.left()
}

func (s *Sim) ensureWake(n *Node) {
	if n.wakePending {
		return
	}
	n.wakePending = true
	it := s.q.add(max(s.now, n.busyUntil))
	it.set(itemWake, n.idx)
	it.incs = uint32(uint16(n.inc))
}

// runDeferred runs the next deferred item of n if n is free.
func (s *Sim) runDeferred(n *Node) {
	for n.dqLen() > 0 {
		if n.busyUntil > s.now {
			s.ensureWake(n)
			return
		}
		var it item
		n.dqPop(&it)
		if s.cancelled(&it) {
			s.consume(&it)
			continue
		}
		s.runNodeItem(&it)
		if n.dqLen() > 0 && n.alive {
			s.ensureWake(n) // one item per event: at max(now, busyUntil)
		}
		return
	}
}

// runNodeItem runs a node item on its (alive, free) node.
func (s *Sim) runNodeItem(it *item) {
	n := s.all[it.node()]
	s.consume(it)
	switch it.kind() {
	case itemDeliver:
		from := s.all[it.src].id
		s.emit(EvDeliver, from, n.id, it.size, it.payload, "")
		if n.handler != nil {
			n.arrived = it.at
			s.inItem = n
			n.handler.Deliver(from, it.payload)
			s.inItem = nil
			n.arrived = -1
		}
	case itemTimer:
		s.emit(EvTimer, n.id, n.id, 0, nil, "")
		s.inItem = n
		it.payload.(*timer).f()
		s.inItem = nil
	case itemResume:
		s.resume(it.payload.(*coro))
	}
	if n.restarting { // it called Restart on its own node: see there
		n.restarting = false
		s.drainKills() // the old incarnation's coroutines unwind first
		if !n.alive {
			n.start(true)
		}
	}
}

// scheduleNode schedules a node item for n's current incarnation.
func (s *Sim) scheduleNode(at int64, kind itemKind, n *Node) *item {
	it := s.q.add(at)
	it.set(kind, n.idx)
	it.incs = uint32(uint16(n.inc))
	s.live++
	return it
}
