// Package tcp runs one node of a raysim cluster over real TCP. A Host owns
// one transport.NodeID: it gives that node's component a transport.Env on
// the wall clock and runs the component on a single goroutine fed by a
// bounded inbox (the shape of etcd raft's node.go: a select over the inbox
// and the context), so the component code is exactly what runs in netsim.
//
// Wire: one outbound connection per peer (dialed lazily on the first Send,
// redialed once there is something to send, with capped, jittered
// exponential backoff) and any number of
// inbound ones. Every connection opens with an authenticated handshake
// (cluster ID, protocol version, NodeID, HMAC-SHA256 challenge-response on a
// shared token; see handshake.go), then carries length-prefixed frames (see
// transport.ReadFrame). A writer goroutine per peer coalesces every frame
// queued since its last write into one syscall. A peer that fails the
// handshake, or sends a malformed or oversized frame, loses its connection;
// the node keeps serving the others. Delivery is best effort and at most
// once, as the Env contract says: frames in a write that fails are dropped
// and counted, never resent.
package tcp

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"raysim/runtime/transport"
)

// Limits and timings. Each bounds something a slow or hostile peer could
// otherwise grow or hold.
const (
	defaultInboxSize      = 4096
	defaultSendQueueBytes = 32 << 20 // per peer; holds at least one max frame
	defaultSendPadBytes   = 64 << 20 // per peer; at least one max pad
	maxInboundConns       = 1024     // concurrent authenticated inbound connections
	maxLocalQueue         = 1 << 20  // self-sends waiting on the loop
	handshakeTimeout      = 5 * time.Second
	writeTimeout          = 10 * time.Second
	backoffMin            = 20 * time.Millisecond
	backoffMax            = 2 * time.Second
	readBufBytes          = 64 << 10
	maxReadBatch          = 64      // messages per inbox item from one connection
	keepBufBytes          = 1 << 20 // larger scratch buffers are released after use

	// An inbound connection's handshake has two stages (see acceptLoop).
	// In the first it is accepted at once, always, and waits for its
	// hello: at most maxHelloConns connections are in this stage (those
	// that have spoken and wait for a proof slot included), and when it
	// is full a newly accepted connection closes the oldest that has not
	// sent its hello, at once. A dialer sends its hello as soon as it has
	// connected, so a legitimate connection is silent for about a round
	// trip (and the host's scheduling delay): it is closed only if
	// maxHelloConns newer connections arrive within that. A flood of
	// silent (or slowly speaking) connections turns over behind it, not
	// in front of it, and the accept loop never stops. Each costs a
	// goroutine, a socket and a handshakeBufBytes buffer (with TLS, the
	// TLS state too): 1,000 idle ones took 6 MiB of heap and stacks.
	maxHelloConns     = 1024
	handshakeBufBytes = 512 // a hello (at most 297 bytes) and a proof (32)

	// defaultMaxPendingHandshakes bounds the second stage
	// (Config.MaxPendingHandshakes): the connections whose hello named
	// this cluster and protocol version, answered with the host's hello
	// and proof, whose own proof the host awaits. A spoken connection
	// past the bound waits for a slot, in the order they spoke, until its
	// handshake deadline: a burst of hundreds of dialers (300 drivers
	// connecting at once) is served in order, none closed mid-handshake.
	// The SSH MaxStartups-style early drop this replaced closed the
	// oldest pending connection whatever it was doing, and under such a
	// burst closed most of them before their first round trip.
	defaultMaxPendingHandshakes = 64

	// proofWindow is how long a connection holding a proof slot has to
	// send its proof (the dialer answers one round trip after the host's
	// hello) before it is closed, so a peer that stalls after a valid
	// hello holds a slot for this long, not for the handshake deadline.
	proofWindow = time.Second

	// A peer nobody has given the host an address for (a node ID from a
	// stale or hostile message, or a node the address book has not
	// reached yet) queues at most unaddressedQueueBytes (or one frame of
	// any size); at most
	// maxUnaddressed such peers exist at once, and a writer that has found
	// no address for unaddressedTTL ends and drops its frames. A message
	// naming made-up nodes costs bounded memory and goroutines.
	unaddressedQueueBytes = 2 << 20 // an object chunk (1 MiB) and more
	maxUnaddressed        = 32
	unaddressedTTL        = 30 * time.Second
)

// Config describes one node of a cluster.
type Config struct {
	ClusterID string           // peers from another cluster are refused
	Token     []byte           // shared secret, proven by HMAC; required
	Self      transport.NodeID // the node this host runs
	Listen    string           // address to bind, e.g. "127.0.0.1:0"
	Seed      int64            // seeds Env.Rand; 0 draws one from crypto/rand
	// InboxSize bounds the items waiting for the loop (default 4096): an
	// item is a callback or the messages one connection read in one go (at
	// most 64). Connection readers block when it is full, which pushes back
	// on the senders through TCP.
	InboxSize int
	// SendQueueBytes bounds the encoded frames queued for one peer while it
	// is slow or unreachable (default 32 MiB, at least MaxFrameBytes);
	// frames beyond it are dropped (Stats.Dropped) and logged.
	SendQueueBytes int
	// SendPadBytes bounds the object chunks' payloads (transport.PadBytes:
	// a Blob's declared bytes) queued for one peer at once (default 64
	// MiB, at least transport.MaxPadBytes): a chunk past it waits, with
	// the chunks after it, until the writer has written what is queued,
	// and the messages queued meanwhile go first. So a large object's
	// transfer holds a link's other traffic back for at most about twice
	// this many bytes' time on the wire, not the whole object's.
	SendPadBytes int64
	Logger       *slog.Logger           // nil discards
	OnEvent      func(*transport.Event) // Env.Emit hook, called on the loop; nil drops
	// MaxPendingHandshakes bounds the inbound connections that have sent
	// a hello for this cluster and protocol version and are proving they
	// hold the token, at once (default 64): more that have spoken wait
	// for a slot in the order they spoke, until their handshake
	// deadline (see defaultMaxPendingHandshakes). Connections that have
	// not yet sent their hello are bounded apart, and the oldest silent
	// one gives way to a new connection when they are too many (see
	// maxHelloConns).
	MaxPendingHandshakes int
	// Listener, if set, is used instead of binding Listen (a caller that
	// must know its address before it knows its NodeID binds first).
	Listener net.Listener
	// TLS, if set, wraps every connection in TLS (both directions) under
	// the token handshake; set ClientAuth in it for mutual authentication.
	TLS *tls.Config
	// OnDialError, if set, is told of every failed dial of a peer
	// (connection and handshake), on the peer's writer goroutine: it must
	// be safe for concurrent use and must not block. The writer redials
	// whatever the error; IsFinal tells the errors a redial cannot cure
	// (a caller that must reach one peer gives up on them).
	OnDialError func(peer transport.NodeID, err error)
}

// Stats counts a host's traffic and trouble since Listen.
type Stats struct {
	FramesIn, FramesOut uint64 // frames decoded / written to a socket
	BytesIn, BytesOut   uint64 // wire bytes of those frames, length prefixes included
	Refused             uint64 // inbound connections that failed the handshake or the connection limit
	Evicted             uint64 // inbound connections closed before their hello to admit a newer one: the oldest silent one while too many were waiting for their hello
	DecodeErrors        uint64 // inbound connections closed on a malformed or oversized frame
	Dropped             uint64 // outbound frames dropped: queue full, too large, or lost in a failed write
	Dials, DialFailures uint64 // outbound connection attempts and those that failed (handshake included)
	// Overtook counts the outbound frames queued while object chunks
	// queued before them were held past the pad budget (SendPadBytes):
	// they go out ahead of those chunks. A connection is FIFO for
	// everything else; the runtime takes either order, as it takes
	// netsim's reordering.
	Overtook uint64
}

type counters struct {
	framesIn, framesOut, bytesIn, bytesOut atomic.Uint64
	refused, decodeErrors, dropped         atomic.Uint64
	evicted                                atomic.Uint64
	dials, dialFailures                    atomic.Uint64
	overtook                               atomic.Uint64
}

// item is one unit of work for the loop: a callback (timer, Await
// registration) when f is set, else a message from a peer, or a batch of
// them that arrived together (one inbox slot for up to maxReadBatch).
type item struct {
	from  transport.NodeID
	m     transport.Message
	batch []transport.Message
	f     func()
	// reg, if set, is an Await's register, run on the loop with a wake
	// of aw (see Host.register).
	reg func(wake func())
	aw  *awaiter
	// stop ends Run (ctx done or the host closed).
	stop bool
	// at is when a message (or batch) was read, as time since the host was
	// made (0: not a message): see Waited.
	at time.Duration
}

// Host runs one node over TCP. Its exported methods are safe for concurrent
// use; the transport.Env it hands to the component is not (it belongs to the
// loop, as the Env contract says).
type Host struct {
	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	queueMax int
	padMax   int64 // Config.SendPadBytes
	// handshakeTimeout bounds dialing plus the handshake on every
	// connection (a constant; tests shorten it).
	handshakeTimeout time.Duration
	// maxPending is Config.MaxPendingHandshakes (the proof slots),
	// maxHello the bound of the connections waiting for their hello or
	// for a proof slot (maxHelloConns), proofWindow how long a proof
	// slot is held at most (proofWindow); the last two are constants
	// that tests change. See acceptLoop.
	maxPending  int
	maxHello    int
	proofWindow time.Duration
	// unaddressedTTL is how long a writer waits for its peer's first
	// address before it ends (a constant; tests shorten it).
	unaddressedTTL time.Duration
	inbox          chan item
	done           chan struct{} // closed by Close
	stopped        chan struct{} // closed when Run's loop has exited
	closeOnce      sync.Once
	running        atomic.Bool
	awaiters       sync.Pool      // *awaiter for Await, reused once its caller has received
	wg             sync.WaitGroup // accept loop, connection readers, peer writers
	stats          counters
	faults         faults // the link fault layer (fault.go)
	// quitting is set before the stop item is queued and by Close: an
	// Await that posted its item and then finds it unset knows the item
	// is ahead of the stop item, so the loop will register it (and wake
	// or release it).
	quitting atomic.Bool

	mu     sync.Mutex // guards the fields below
	closed bool
	addrs  map[transport.NodeID]string
	conns  map[net.Conn]struct{}
	// hello holds the inbound connections in the first stage of their
	// handshake, oldest first (at most maxHello): waiting for their
	// hello, or spoken and waiting for a proof slot (those are in
	// waiting too, in the order they spoke). proving counts the proof
	// slots taken (at most maxPending), inbound the authenticated
	// connections (at most maxInboundConns). See acceptLoop.
	hello   []*handshake
	waiting []*handshake
	proving int
	inbound int
	// inboundFrom counts the authenticated inbound connections by peer
	// (see ConnectedFrom).
	inboundFrom map[transport.NodeID]int

	// born: when the host was made; item.at counts from it.
	born time.Time
	// Owned by the loop goroutine.
	handling   time.Duration // the item.at of the message being handled (see Waited)
	rand       *rand.Rand
	peers      map[transport.NodeID]*peer
	local      []item // self-sends, run before the inbox; FIFO from localHead
	localHead  int
	localDrops uint64
	// unaddressedDrops counts messages dropped because maxUnaddressed
	// peers were waiting for an address (for the log's rate limit).
	unaddressedDrops uint64
	stopping         bool // a stop item was dispatched: Run returns
	// timers are the ones set and not yet fired or stopped: Run stops them
	// as it returns, so a closed host's pending callbacks (a lease, a
	// pull's stall timer, a Get's timeout) do not hold its component for
	// their duration.
	timers []*timer
	// awaiting are the Awaits registered and not yet woken: Run releases
	// them (false on their channel) as its loop ends.
	awaiting []*awaiter
}

// awaiter is an Env.Await's rendezvous with the loop. The caller blocks on
// a plain receive from ch, which costs a fraction of a select over ch and
// the host's done (a select locks both channels; it was ~8% of the async
// task benchmark's CPU, a worker parking once per task): the loop sends
// true when wake is called, or false when it ends with the Await still
// registered (Run's release), so the caller never waits on done. gen and
// pos belong to the loop: gen numbers the awaiter's uses, so that a wake
// of an earlier use (a second call, or a late one) is ignored, and pos is
// its place in Host.awaiting while registered and not woken (-1 else).
type awaiter struct {
	ch  chan bool // buffer 1: the one send of a use never blocks
	gen uint64
	pos int
}

// register runs an Await's register on the loop with a wake for this use
// of aw, and lists aw as waiting until that wake comes.
func (h *Host) register(it item) {
	a := it.aw
	a.gen++
	g := a.gen
	a.pos = len(h.awaiting)
	h.awaiting = append(h.awaiting, a)
	it.reg(func() { h.wakeAwait(a, g) })
}

// wakeAwait is the wake of use g of a, on the loop: the first call sends
// true to the waiting caller; later calls, and calls of an earlier use, do
// nothing.
func (h *Host) wakeAwait(a *awaiter, g uint64) {
	if a.gen != g || a.pos < 0 {
		return
	}
	last := len(h.awaiting) - 1
	h.awaiting[a.pos] = h.awaiting[last]
	h.awaiting[a.pos].pos = a.pos
	h.awaiting[last] = nil
	h.awaiting = h.awaiting[:last]
	a.pos = -1
	a.ch <- true
}

// releaseAwaits tells every Await still registered that the loop has
// ended (false on its channel): its caller waits for stopped and exits.
func (h *Host) releaseAwaits() {
	for i, a := range h.awaiting {
		a.pos = -1
		a.ch <- false
		h.awaiting[i] = nil
	}
	h.awaiting = h.awaiting[:0]
}

// Listen validates cfg and binds its address. Nothing runs until Run.
func Listen(cfg Config) (*Host, error) {
	if len(cfg.Token) == 0 {
		return nil, errors.New("tcp: config: a token is required")
	}
	if len(cfg.ClusterID) > maxClusterIDLen {
		return nil, fmt.Errorf("tcp: config: cluster ID longer than %d bytes", maxClusterIDLen)
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = defaultInboxSize
	}
	if cfg.SendQueueBytes <= 0 {
		cfg.SendQueueBytes = defaultSendQueueBytes
	}
	cfg.SendQueueBytes = max(cfg.SendQueueBytes, transport.MaxFrameBytes)
	if cfg.MaxPendingHandshakes <= 0 {
		cfg.MaxPendingHandshakes = defaultMaxPendingHandshakes
	}
	if cfg.SendPadBytes <= 0 {
		cfg.SendPadBytes = defaultSendPadBytes
	}
	cfg.SendPadBytes = max(cfg.SendPadBytes, transport.MaxPadBytes)
	seed := uint64(cfg.Seed)
	if seed == 0 {
		var b [8]byte
		if _, err := crand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("tcp: seed: %w", err)
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("tcp: listen: %w", err)
		}
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	return &Host{
		cfg:              cfg,
		log:              log.With("node", uint32(cfg.Self)),
		ln:               ln,
		queueMax:         cfg.SendQueueBytes,
		padMax:           cfg.SendPadBytes,
		handshakeTimeout: handshakeTimeout,
		maxPending:       cfg.MaxPendingHandshakes,
		maxHello:         maxHelloConns,
		proofWindow:      proofWindow,
		unaddressedTTL:   unaddressedTTL,
		inbox:            make(chan item, cfg.InboxSize),
		done:             make(chan struct{}),
		stopped:          make(chan struct{}),
		addrs:            make(map[transport.NodeID]string),
		conns:            make(map[net.Conn]struct{}),
		inboundFrom:      make(map[transport.NodeID]int),
		rand:             rand.New(rand.NewPCG(seed, uint64(cfg.Self))),
		peers:            make(map[transport.NodeID]*peer),
		born:             time.Now(),
	}, nil
}

// Addr is the bound listen address (with the real port when Listen asked
// for port 0).
func (h *Host) Addr() string { return h.ln.Addr().String() }

// SetPeer records where node id listens. The next dial to id uses it; a
// live connection is kept until it fails.
func (h *Host) SetPeer(id transport.NodeID, addr string) {
	h.mu.Lock()
	h.addrs[id] = addr
	h.mu.Unlock()
}

func (h *Host) peerAddr(id transport.NodeID) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addrs[id]
}

// Stats returns a snapshot of the counters.
func (h *Host) Stats() Stats {
	c := &h.stats
	return Stats{
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		Refused: c.refused.Load(), Evicted: c.evicted.Load(), DecodeErrors: c.decodeErrors.Load(),
		Dropped: c.dropped.Load(), Dials: c.dials.Load(), DialFailures: c.dialFailures.Load(),
		Overtook: c.overtook.Load(),
	}
}

// Run is the node loop. It builds the component with newHandler (on the
// loop) and feeds it messages, timer callbacks and Await registrations, one
// at a time, until ctx is done (it returns ctx.Err()) or Close is called (it
// returns nil). The host is closed when Run returns. Run may be called once.
func (h *Host) Run(ctx context.Context, newHandler func(env transport.Env) transport.Handler) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("tcp: Run called twice")
	}
	defer close(h.stopped)
	defer h.Close()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go h.acceptLoop()

	handler := newHandler(&nodeEnv{h: h})
	// The loop parks on its inbox alone, a receive that costs a fraction of
	// a select over the inbox, ctx and Close; those two reach it as an
	// item, behind what is already queued.
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		select {
		case <-ctx.Done():
		case <-h.done:
		case <-ended:
			return
		}
		h.quitting.Store(true)
		select {
		case h.inbox <- item{stop: true}:
		case <-ended:
		}
	}()
	defer h.stopTimers()
	for !h.stopping {
		h.runLocal(handler)
		// What is in the inbox already is taken without blocking, a
		// bounded run at a time.
		if n := h.drainInbox(handler, inboxRun); n > 0 {
			continue
		}
		h.dispatch(handler, <-h.inbox)
	}
	h.releaseAwaits()
	return ctx.Err()
}

// runLocal dispatches the work the loop queued for itself (pushLocal).
func (h *Host) runLocal(handler transport.Handler) {
	for h.localHead < len(h.local) {
		it := h.local[h.localHead]
		h.local[h.localHead] = item{}
		h.localHead++
		h.dispatch(handler, it)
	}
	h.local, h.localHead = h.local[:0], 0
}

// inboxRun bounds the items Run takes from the inbox between two looks at
// its context and at Close.
const inboxRun = 256

// drainInbox dispatches up to max items already in the inbox (and what
// they queue locally), without blocking, and returns how many it took.
func (h *Host) drainInbox(handler transport.Handler, max int) int {
	for n := 0; n < max; n++ {
		select {
		case it := <-h.inbox:
			h.dispatch(handler, it)
			if h.stopping {
				return n + 1
			}
			h.runLocal(handler)
		default:
			return n
		}
	}
	return max
}

func (h *Host) dispatch(handler transport.Handler, it item) {
	if it.stop {
		h.stopping = true
		return
	}
	if it.reg != nil {
		h.register(it)
		return
	}
	if it.f != nil {
		it.f()
		return
	}
	h.handling = it.at
	if it.batch != nil {
		for _, m := range it.batch {
			handler.Handle(it.from, m)
		}
	} else {
		handler.Handle(it.from, it.m)
	}
	h.handling = 0
}

// post hands it to the loop from another goroutine, blocking while the
// inbox is full; it reports false once the host is closed.
func (h *Host) post(it item) bool {
	select { // room in the inbox: a non-blocking send, cheaper than the select below
	case h.inbox <- it:
		return true
	default:
	}
	select {
	case h.inbox <- it:
		return true
	case <-h.done:
		return false
	}
}

// pushLocal queues work from the loop for the loop (it must not block on
// its own inbox).
func (h *Host) pushLocal(it item) {
	if len(h.local)-h.localHead >= maxLocalQueue {
		h.localDrops++
		if h.localDrops == 1 || h.localDrops%1024 == 0 {
			h.log.Warn("tcp: self-send queue full, dropping", "dropped", h.localDrops)
		}
		return
	}
	h.local = append(h.local, it)
}

// Close stops the host: the listener, every connection and every goroutine
// it started (not those started through Env.Go), and makes Run return. It
// waits for them and is safe to call more than once.
func (h *Host) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.quitting.Store(true) // before done closes: see Host.quitting
		h.mu.Lock()
		h.closed = true
		conns := make([]net.Conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		close(h.done)
		err = h.ln.Close()
		for _, c := range conns {
			c.Close()
		}
		h.wg.Wait()
	})
	return err
}

// track registers a connection so Close can cut it; false once closed.
func (h *Host) track(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Host) untrack(c net.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// goTracked starts f as a host goroutine unless the host is closed (Close
// waits for every one of them).
func (h *Host) goTracked(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
	return true
}

// nodeEnv is the transport.Env a Host gives its component.
type nodeEnv struct{ h *Host }

func (e *nodeEnv) Self() transport.NodeID { return e.h.cfg.Self }
func (e *nodeEnv) Now() time.Time         { return time.Now() }

// Mono and Since implement transport.Monotonic: time.Now's monotonic
// reading is what Sub and Since use, and time.Since reads only it.
func (e *nodeEnv) Mono() time.Time                 { return time.Now() }
func (e *nodeEnv) Since(t time.Time) time.Duration { return time.Since(t) }
func (e *nodeEnv) Rand() *rand.Rand                { return e.h.rand }

// Waited implements transport.Waiter: the time since the message being
// handled was read from its connection (or left its fault lane), which
// is no earlier than it arrived.
func (e *nodeEnv) Waited() time.Duration {
	if e.h.handling == 0 {
		return 0
	}
	return max(time.Since(e.h.born)-e.h.handling, 0)
}
func (e *nodeEnv) Charge(time.Duration) {}
func (e *nodeEnv) Go(f func())          { go f() }

func (e *nodeEnv) Emit(ev *transport.Event) {
	if e.h.cfg.OnEvent != nil {
		e.h.cfg.OnEvent(ev)
	}
}

// Send loops a message to Self back through the loop without TCP (the
// receiver gets the same value: messages are immutable once sent) and
// queues any other for its peer's writer.
func (e *nodeEnv) Send(to transport.NodeID, m transport.Message) {
	h := e.h
	if to == h.cfg.Self {
		h.pushLocal(item{from: to, m: m})
		return
	}
	p := h.peers[to]
	if p == nil {
		if h.peerAddr(to) == "" && h.unaddressedPeers() >= maxUnaddressed {
			h.stats.dropped.Add(1)
			if h.unaddressedDrops++; h.unaddressedDrops == 1 || h.unaddressedDrops%1024 == 0 {
				h.log.Warn("tcp: too many peers without an address, dropping", "peer", uint32(to), "kind", m.Kind(), "dropped", h.unaddressedDrops)
			}
			return
		}
		p = newPeer(h, to)
		if !h.goTracked(p.run) {
			return // closing
		}
		h.peers[to] = p
	}
	p.enqueue(m)
}

// unaddressedPeers counts the writers that have not yet found an address
// for their peer. On the loop; only a Send to a peer without a writer
// calls it, so a cluster's steady traffic never does.
func (h *Host) unaddressedPeers() int {
	n := 0
	for _, p := range h.peers { // a count: the order does not matter
		if !p.addressed.Load() {
			n++
		}
	}
	return n
}

// timer states, owned by the loop.
const (
	timerPending uint8 = iota
	timerStopped
	timerFired
)

type timer struct {
	t     *time.Timer
	h     *Host
	pos   int // its index in h.timers while pending
	state uint8
}

// Stop is called on the loop, like every Env use; it reports whether the
// callback had not run yet (and now never will).
func (t *timer) Stop() bool {
	if t.state != timerPending {
		return false
	}
	t.state = timerStopped
	t.t.Stop()
	t.h.untime(t)
	return true
}

func (e *nodeEnv) After(d time.Duration, f func()) transport.Timer {
	h := e.h
	t := &timer{h: h, pos: len(h.timers)}
	h.timers = append(h.timers, t)
	run := func() {
		if t.state == timerPending {
			t.state = timerFired
			h.untime(t)
			f()
		}
	}
	t.t = time.AfterFunc(d, func() { h.post(item{f: run}) })
	return t
}

// untime takes a timer that fired or was stopped out of h.timers (on the
// loop).
func (h *Host) untime(t *timer) {
	last := len(h.timers) - 1
	h.timers[t.pos] = h.timers[last]
	h.timers[t.pos].pos = t.pos
	h.timers[last] = nil
	h.timers = h.timers[:last]
}

// stopTimers stops every pending timer as the loop ends: their callbacks
// would find the host closed, and until then they hold the component.
func (h *Host) stopTimers() {
	for _, t := range h.timers {
		t.state = timerStopped
		t.t.Stop()
	}
	h.timers = nil
}

// Do runs f on the loop and waits for it, from any goroutine but the
// loop's. It reports false, f not run or its end not seen, if the host
// stops first: unlike Await, it never ends the calling goroutine, so a
// caller outside the runtime (a session's Status after Close) gets an
// error, not a silent Goexit. f must not share with the caller what it
// may still write when Do returns false.
func (h *Host) Do(f func()) bool {
	done := make(chan struct{})
	if !h.post(item{f: func() { f(); close(done) }}) {
		return false
	}
	select {
	case <-done:
		return true
	case <-h.done:
	}
	<-h.stopped
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Post queues f for the loop and returns (blocking only while the inbox is
// full: backpressure). After Close it does nothing.
func (e *nodeEnv) Post(f func()) { e.h.post(item{f: f}) }

// Await runs register on the loop and blocks until wake is called. wake is
// safe to call more than once (on the loop, as the Env contract says). If
// the host closes first, Await never returns (as in netsim, where a crashed
// node's coroutines unwind): once the loop has stopped it ends the calling
// goroutine with runtime.Goexit, running its deferred calls. Returning
// without wake would hand the caller state the loop may still be writing,
// or never wrote. The caller waits on its awaiter alone (see awaiter).
func (e *nodeEnv) Await(register func(wake func())) {
	h := e.h
	a, _ := h.awaiters.Get().(*awaiter)
	if a == nil {
		a = &awaiter{ch: make(chan bool, 1), pos: -1}
	}
	// Once the item is in the inbox with quitting unset, it is ahead of
	// the stop item: the loop registers it and then wakes or releases it.
	if h.post(item{reg: register, aw: a}) && !h.quitting.Load() {
		if <-a.ch {
			h.awaiters.Put(a)
			return
		}
	}
	<-h.stopped // the loop no longer touches what register shares with us
	select {
	case woken := <-a.ch: // woken (or released) before the loop stopped
		if woken {
			return
		}
	default:
	}
	runtime.Goexit()
}

// ConnectedFrom reports whether an authenticated inbound connection from
// node id is open: a peer's process that exits closes its connections (the
// kernel does, however it ended), a live one keeps its writer's connection
// while it has sent something since it last broke.
func (h *Host) ConnectedFrom(id transport.NodeID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inboundFrom[id] > 0
}
