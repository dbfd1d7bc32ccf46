package deploy

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// Local is what a process does when the coordinator or its agent tells it
// to. Every method is called on the agent's (or coordinator's) loop and
// must not block: long work goes to a goroutine.
type Local interface {
	// Book hands over the latest address book, as of epoch (the
	// coordinator's numbering of its publications): the process's
	// endpoints seed their copies from it (Endpoint.Seed).
	Book(epoch uint64, entries []transport.BookEntry)
	// Control kills, restarts or drains the process's raylet.
	Control(m *transport.NodeControl)
	// LinkFault applies (or clears) link faults on the process's hosts.
	LinkFault(m *transport.LinkFault)
	// Trace starts (or stops) streaming the process's events to sink.
	Trace(sink transport.NodeID, stop bool)
}

// CoordinatorConfig configures the head's coordinator.
type CoordinatorConfig struct {
	Host      *tcp.Host             // the coordinator's host (agents' addresses are set on it)
	Spec      transport.ClusterSpec // sent to every joiner
	Functions []string              // the head's function table
	Book      []transport.BookEntry // the head's own endpoints (coordinator, GCS, scheduler, head raylet)
	// RayletID names the i-th raylet; Next is the first index to assign.
	RayletID func(i int) transport.NodeID
	Next     int
	// Limit bounds raylet IDs (IDs from it up are the control plane's;
	// 0: AgentBase): a join that would need one is refused.
	Limit  transport.NodeID
	Dir    *Directory
	Local  Local        // the head process's own actions
	Logger *slog.Logger // nil: no log
	// SessionBase is the first session number less one: the coordinator
	// numbers each join SessionBase+1, SessionBase+2, … (JoinReply.Session),
	// and drivers salt their task, object and actor IDs with it. The
	// number is in memory only, while a head with --gcs-dir keeps its
	// tables across a restart: a head on TCP draws it at random at each
	// start, so that the drivers after a restart do not reuse the IDs of
	// those before it. 0 (tests, simulations) counts from 1.
	SessionBase uint64
	// DriverGrace is how long a driver's two signals of a dead process
	// must hold before it leaves the book (see sweep; 0: the node
	// timeout, at least minDriverGrace).
	DriverGrace time.Duration
}

// Coordinator is the head's admission and address-book endpoint (see the
// package doc). It runs on its host's loop like any component.
type Coordinator struct {
	env     transport.Env
	cfg     CoordinatorConfig
	book    map[transport.NodeID]transport.BookEntry
	next    int
	epoch   uint64
	session uint64
	sinks   map[transport.NodeID]bool
	// left remembers the ID and role of each named node that left (a
	// drain), so that it rejoins under its name with its ID, as one that
	// died does.
	left map[string]transport.BookEntry
	// auto are the raylets whose names the coordinator made up (joined
	// without one): no process rejoins under such a name, so their
	// leaving is not remembered in left (a driver a second would grow it
	// for good).
	auto map[transport.NodeID]bool
	// forgetAfter is forgetLater's delay (forgetDelay; tests shorten it).
	forgetAfter time.Duration
	// queries holds the agent address of each status query answered and
	// not forgotten yet (queries are not in the book): a join from its ID
	// at another address is ignored as one from a live agent's is.
	queries map[transport.NodeID]string
	// forgets counts each endpoint's pending forgetLater waits: only the
	// last one forgets it.
	forgets map[transport.NodeID]int
	// gone holds, by agent, since when a driver has shown both signals of
	// a dead process (see sweep); grace is how long they must last.
	gone  map[transport.NodeID]time.Time
	grace time.Duration
	// swept holds, by agent, the drivers sweep removed, for sweptKeep: a
	// driver only cut off (not crashed) that asks for the status again is
	// told it was removed (StatusReply.Removed), and its session ends,
	// instead of waiting for answers from a cluster that forgot it.
	swept map[transport.NodeID]sweptDriver
	// published is the book as last published: the next publication is
	// the delta from it (nil: none yet, the first is the full book).
	published map[transport.NodeID]transport.BookEntry
	// fullSent holds, by endpoint, the epoch of the full book last sent
	// to it on its request (BookRequest): one answer per epoch.
	fullSent map[transport.NodeID]uint64
	// killed holds, by raylet, the process whose control killed it and
	// that has not restarted it since: when that process's session ends
	// (it leaves, is removed as crashed, or is replaced under its name),
	// the coordinator restarts the raylet (see endKills).
	killed map[transport.NodeID]killer
	// due is the timer of the next publication, set when the book
	// changes (changed) and cleared when it fires (flush): nil, none is
	// due. lastFlush is when the last one went out. answers are the
	// joins admitted since then, answered right after it (flush), in the
	// order they came.
	due       transport.Timer
	lastFlush time.Time
	answers   []admitted
}

// admitted is a join the coordinator admitted and answers with its next
// publication: its reply (Book and Epoch still to fill) and the joiner's
// agent and raylet.
type admitted struct {
	agent, node transport.NodeID
	reply       *transport.JoinReply
}

// bookSpacing is, per endpoint in the book, the least time between two
// publications, at most maxBookSpacing (see changed): a publication is one
// frame to each endpoint, so the book's traffic stays under about one
// frame per bookSpacing however fast processes join or leave.
const (
	bookSpacing    = 100 * time.Microsecond
	maxBookSpacing = 100 * time.Millisecond
)

// killer is the process that killed a raylet by control: its agent and
// its name.
type killer struct {
	agent transport.NodeID
	name  string
}

// sweptDriver is a driver sweep removed: its name and its agent's address.
type sweptDriver struct {
	name, addr string
	at         time.Time // when it was removed
}

// sweptKeep is how long the coordinator remembers a removed driver's
// agent (see Coordinator.swept): a cut-off driver's process asks for the
// status every second once its connection is back.
const sweptKeep = 10 * time.Minute

// minDriverGrace is DriverGrace's floor by default: well above the time a
// live driver's agent takes to redial a broken connection (its writer
// backs off to 2 s, a handshake may take 5 s) once it sends again (its
// session asks the head for its status every second).
const minDriverGrace = 10 * time.Second

// forgetDelay is how long the coordinator keeps a departed or refused
// endpoint's address after the last message it sent there: long enough for
// that message (a refusal, a status reply) to leave.
const forgetDelay = 2 * time.Second

// NewCoordinator builds the coordinator and publishes the initial book.
func NewCoordinator(env transport.Env, cfg CoordinatorConfig) *Coordinator {
	c := &Coordinator{env: env, cfg: cfg, book: make(map[transport.NodeID]transport.BookEntry),
		next: cfg.Next, session: cfg.SessionBase, sinks: make(map[transport.NodeID]bool), left: make(map[string]transport.BookEntry),
		auto: make(map[transport.NodeID]bool), forgetAfter: forgetDelay,
		queries: make(map[transport.NodeID]string), forgets: make(map[transport.NodeID]int),
		gone: make(map[transport.NodeID]time.Time), grace: cfg.DriverGrace,
		swept: make(map[transport.NodeID]sweptDriver), fullSent: make(map[transport.NodeID]uint64),
		killed: make(map[transport.NodeID]killer)}
	if c.cfg.Limit == 0 {
		c.cfg.Limit = AgentBase
	}
	if c.grace <= 0 {
		c.grace = max(cfg.Spec.NodeTimeout, minDriverGrace)
	}
	env.After(c.sweepPeriod(), c.sweep)
	for _, b := range cfg.Book {
		c.book[b.Node] = b
	}
	c.changed() // the first publication: the whole book
	return c
}

// entries lists the book in ID order.
func (c *Coordinator) entries() []transport.BookEntry { return sortedBook(c.book) }

// sortedBook lists book's entries in ID order.
func sortedBook(book map[transport.NodeID]transport.BookEntry) []transport.BookEntry {
	out := make([]transport.BookEntry, 0, len(book))
	for _, b := range book {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b transport.BookEntry) int { return int(a.Node) - int(b.Node) })
	return out
}

// changed notes that the book changed: its next publication (flush) is
// due once the loop has handled the messages queued before now (After(0)
// queues behind them), and no sooner than the spacing after the last
// (len(book)·bookSpacing, at most maxBookSpacing). The joins and leaves
// that come meanwhile go out together, as one delta to each endpoint: a
// burst of N joins cost N deltas to each of up to 2N endpoints (O(N²)
// frames: 108,000–129,000 deltas for 300 drivers connecting at once, up
// to 407,000 for 450 with their leaves, which starved the joins' answers
// of the head's CPU), and now costs a delta to each endpoint per
// publication, a few dozen publications for such a burst. A change in a quiet cluster goes out at once; in a large
// one that changes fast it waits at most maxBookSpacing.
func (c *Coordinator) changed() {
	if c.due != nil {
		return
	}
	wait := time.Duration(0)
	if !c.lastFlush.IsZero() {
		spacing := min(time.Duration(len(c.book))*bookSpacing, maxBookSpacing)
		wait = max(c.lastFlush.Add(spacing).Sub(c.env.Now()), 0)
	}
	c.due = c.env.After(wait, c.flush)
}

// flush publishes the book's changes since the last publication and then
// answers the joins admitted since then, each with the whole book as of
// the publication (and the trace sinks to stream to): every endpoint
// already in the book is sent the joiners' entries before any joiner is
// answered, so none hears from a joiner (its raylet registering, its
// driver submitting) before its delta was sent, as when each join was
// published on its own; the joiners of one publication learn of each
// other from their replies.
func (c *Coordinator) flush() {
	c.due, c.lastFlush = nil, c.env.Now()
	answers := c.answers
	c.answers = nil
	skip := make(map[transport.NodeID]bool, 2*len(answers))
	for _, a := range answers {
		skip[a.agent], skip[a.node] = true, true
	}
	es := c.publish(skip)
	for _, a := range answers {
		a.reply.Book, a.reply.Epoch = es, c.epoch // (shared: a message is not changed once sent)
		c.env.Send(a.agent, a.reply)
		for _, s := range sortedKeys(c.sinks) {
			c.env.Send(a.agent, &transport.TraceSubscribe{Sink: s})
		}
	}
}

// publish sends the book's changes since the last publication (the whole
// book the first time) to every endpoint but itself and those in skip
// (the joiners answered with this publication, whose replies carry the
// whole book), and returns the book, in ID order. Nothing changed:
// nothing is sent. Each delta is the entries added or changed and the
// IDs removed, so a publication costs O(N) small frames for N endpoints,
// not the O(N²) bytes of sending everyone the whole book (which let 300
// drivers joining at once queue ~450 MiB of books on the head).
func (c *Coordinator) publish(skip map[transport.NodeID]bool) []transport.BookEntry {
	var m *transport.AddressBook
	if c.published == nil {
		m = &transport.AddressBook{Full: true, Entries: c.entries()}
		c.published = make(map[transport.NodeID]transport.BookEntry, len(c.book))
		for _, b := range m.Entries {
			c.published[b.Node] = b
		}
	} else {
		m = bookDelta(0, c.published, c.book)
		if len(m.Entries) == 0 && len(m.Removed) == 0 {
			return c.entries()
		}
		for _, id := range m.Removed {
			delete(c.published, id)
		}
		for _, b := range m.Entries {
			c.published[b.Node] = b
		}
	}
	c.epoch++
	m.Epoch = c.epoch
	ApplyBook(c.cfg.Host, nil, m.Entries) // the departed are forgotten later (forgetLater)
	es := c.entries()
	for _, b := range es {
		if b.Node != c.env.Self() && !skip[b.Node] {
			c.env.Send(b.Node, m)
		}
	}
	c.cfg.Local.Book(c.epoch, es)
	return es
}

// sendBook answers an endpoint's BookRequest with the full book, once per
// epoch (a stranger, in no book, is not answered).
func (c *Coordinator) sendBook(from transport.NodeID) {
	if _, ok := c.book[from]; !ok || from == c.env.Self() || c.published == nil {
		return
	}
	if sent, ok := c.fullSent[from]; ok && sent == c.epoch {
		return
	}
	c.fullSent[from] = c.epoch
	if c.cfg.Logger != nil {
		c.cfg.Logger.Debug("deploy: the full address book sent on request", "to", uint32(from), "epoch", c.epoch)
	}
	// The book as published at c.epoch: the changes since are the next
	// delta's (applied on top of this book, they would be news twice).
	c.env.Send(from, &transport.AddressBook{Epoch: c.epoch, Full: true, Entries: sortedBook(c.published)})
}

// agents lists the agents of joined processes (not the head's own).
func (c *Coordinator) agents() []transport.NodeID {
	var out []transport.NodeID
	for _, b := range c.book {
		if b.Role == 0 && b.Node != c.env.Self() && b.Node >= AgentBase {
			out = append(out, b.Node)
		}
	}
	slices.Sort(out)
	return out
}

func (c *Coordinator) raylet(name string, id transport.NodeID) (transport.BookEntry, bool) {
	for _, b := range c.book {
		if (b.Role == transport.RoleNode || b.Role == transport.RoleDriver) && (id != 0 && b.Node == id || id == 0 && b.Name == name) {
			return b, true
		}
	}
	return transport.BookEntry{}, false
}

// Handle implements transport.Handler.
func (c *Coordinator) Handle(from transport.NodeID, m transport.Message) {
	delete(c.gone, from) // it spoke: its process is there
	switch m := m.(type) {
	case *transport.AddressBook:
		// Our own publication, looped back: nothing to do.
	case *transport.BookRequest:
		c.sendBook(from)
	case *transport.JoinRequest:
		c.join(from, m)
	case *transport.Leave:
		if b, ok := c.book[m.Node]; ok && b.Agent == from {
			c.leave(m.Node, "it left") // only from the process itself: one its name has passed to since is not it
		}
	case *transport.StatusRequest:
		r := c.status()
		if sw, ok := c.swept[from]; ok {
			if _, held := c.heldAt(from); !held {
				c.cfg.Host.SetPeer(from, sw.addr) // forgotten at its removal
			}
			r.Removed = fmt.Sprintf("the head removed driver %q from the cluster: its process had no connection to the head and its raylet was dead for %v", sw.name, c.grace)
		}
		c.env.Send(from, r)
		c.forgetLater(from)
	case *transport.StoreReport:
		if from == m.Node {
			c.cfg.Dir.Store(m) // a raylet speaks for itself alone
		}
	case *transport.NodeControl:
		c.control(from, m)
	case *transport.LinkFault:
		if c.joined(from, "link fault") {
			c.linkFault(m)
		}
	case *transport.TraceSubscribe:
		if !c.joined(from, "trace subscription") {
			return
		}
		if m.Stop {
			delete(c.sinks, m.Sink)
		} else {
			c.sinks[m.Sink] = true
		}
		for _, a := range c.agents() {
			c.env.Send(a, m)
		}
		c.cfg.Local.Trace(m.Sink, m.Stop)
	}
}

func (c *Coordinator) join(from transport.NodeID, m *transport.JoinRequest) {
	if from < AgentBase {
		return // only agents join
	}
	if addr, held := c.heldAt(from); held && addr != m.AgentAddr {
		// Another process drew the ID of a live agent, or of a query
		// still being answered. Its answer would go to the holder, its
		// address would replace the holder's: ignore it (it times out; a
		// query asks again under a new ID, see Join).
		return
	}
	c.cfg.Host.SetPeer(from, m.AgentAddr)
	delete(c.swept, from) // a process joining under the ID is another
	reply := &transport.JoinReply{Spec: c.cfg.Spec}
	switch m.Role {
	case transport.RoleQuery:
		c.queries[from] = m.AgentAddr
		c.env.Send(from, reply)
		c.forgetLater(from)
		return
	case transport.RoleNode, transport.RoleDriver:
	default:
		c.refuse(from, reply, fmt.Sprintf("unknown role %d", m.Role))
		return
	}
	if diff := FunctionDiff(c.cfg.Functions, m.Functions); diff != "" {
		c.refuse(from, reply, diff)
		return
	}
	if m.Addr == "" {
		c.refuse(from, reply, "no raylet address")
		return
	}
	var id transport.NodeID
	if old, ok := c.raylet(m.Name, 0); ok && m.Name != "" && old.Role == m.Role && old.Agent != c.env.Self() {
		if old.Agent != from && c.live(old) {
			// Another process that holds the name is alive: a second
			// process under the same name (a typo, a copied unit) would
			// evict it, and the evicted one would go on unlisted.
			c.refuse(from, reply, fmt.Sprintf("the name %q is taken by a live %s (ID %d, connected and heartbeating): "+
				"choose another --name, or stop that process first", m.Name, roleName(old.Role), old.Node))
			return
		}
		// A node rejoining under its name keeps its ID (a new incarnation).
		id = old.Node
		if old.Agent != from {
			// The old incarnation's agent is gone with its process:
			// forget it as leave does, or its writer redials forever.
			delete(c.book, old.Agent)
			delete(c.sinks, old.Agent)
			c.forgetLater(old.Agent)
			c.endKills(old.Agent, old.Name, "its process was replaced by a new one under its name")
		}
	} else if ok {
		c.refuse(from, reply, fmt.Sprintf("the name %q is taken", m.Name))
		return
	} else if gone, ok := c.left[m.Name]; ok && m.Name != "" && gone.Role == m.Role {
		id = gone.Node // it left (drained) and comes back: its ID again
		delete(c.left, m.Name)
	} else {
		id = c.cfg.RayletID(c.next)
		if _, taken := c.book[id]; taken || id >= c.cfg.Limit {
			c.refuse(from, reply, fmt.Sprintf("the head has given out every raylet ID (%d joins): restart the head", c.next))
			return
		}
		c.next++
	}
	name := m.Name
	if name == "" {
		name = c.autoName(m.Role, id)
		c.auto[id] = true
	}
	c.session++
	delete(c.killed, id) // a new process: its raylet runs
	c.cfg.Dir.SetRole(id, m.Role)
	c.book[id] = transport.BookEntry{Node: id, Addr: m.Addr, Name: name, Role: m.Role, Agent: from}
	c.book[from] = transport.BookEntry{Node: from, Addr: m.AgentAddr, Name: name, Agent: from}
	// Answered with the next publication, after it: the endpoints learn
	// the raylet's address before it registers (see flush).
	reply.Node, reply.Session = id, c.session
	c.answers = append(c.answers, admitted{agent: from, node: id, reply: reply})
	c.changed()
}

// live reports whether the process that holds a raylet's book entry is
// alive: its agent's connection to the coordinator is open (the kernel
// closes a process's connections however it ended) and its raylet has
// not been lost in the node table's eyes (it heartbeats, or it has just
// joined and not registered yet). A process restarted after a crash
// finds its predecessor's connection closed and rejoins under its name;
// one frozen or cut off past the node timeout is lost.
func (c *Coordinator) live(b transport.BookEntry) bool {
	if c.cfg.Host == nil || c.cfg.Dir == nil || !c.cfg.Host.ConnectedFrom(b.Agent) {
		return false
	}
	return !c.cfg.Dir.lost(b.Node, c.env.Now())
}

// roleName names a raylet's role in messages.
func roleName(role uint8) string {
	if role == transport.RoleDriver {
		return "driver"
	}
	return "node"
}

// autoName names a raylet that joined without a name: node-<ID> or
// driver-<ID>, with a suffix if a process chose that name itself (or one
// that left did, and may rejoin under it).
func (c *Coordinator) autoName(role uint8, id transport.NodeID) string {
	prefix := "node"
	if role == transport.RoleDriver {
		prefix = "driver"
	}
	name := fmt.Sprintf("%s-%d", prefix, id)
	for k := 2; ; k++ {
		_, held := c.raylet(name, 0)
		if _, gone := c.left[name]; !held && !gone {
			return name
		}
		name = fmt.Sprintf("%s-%d-%d", prefix, id, k)
	}
}

// leave removes a raylet (and its process's agent) or a lone endpoint
// from the book; why says why, for the log of any raylet its process had
// killed and is restarted (endKills).
func (c *Coordinator) leave(id transport.NodeID, why string) {
	b, ok := c.book[id]
	if !ok {
		return
	}
	delete(c.killed, id)
	if b.Role == transport.RoleNode || b.Role == transport.RoleDriver {
		delete(c.book, b.Agent)
		c.cfg.Dir.Remove(id)
		if c.auto[id] {
			delete(c.auto, id)
		} else {
			c.left[b.Name] = b
		}
	}
	delete(c.book, id)
	delete(c.sinks, b.Agent)
	c.changed()
	c.forgetLater(id)
	c.forgetLater(b.Agent)
	c.endKills(b.Agent, b.Name, why)
}

// endKills restarts the raylets that the process of agent (named name)
// killed by control and has not restarted: its session has ended (why),
// and no one else would restart them. A scenario's kill_node is paired
// with a restart_node; a driver killed between the two left the node's
// raylet dead for good inside a live process, silently.
func (c *Coordinator) endKills(agent transport.NodeID, name, why string) {
	var ids []transport.NodeID
	for id, k := range c.killed {
		if k.agent == agent {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		delete(c.killed, id)
		b, ok := c.book[id]
		if !ok {
			continue
		}
		by := fmt.Sprintf("the head: %q, which killed it, has ended its session (%s)", name, why)
		c.logInfo("deploy: restarting a raylet killed by a session that has ended",
			"node", b.Name, "id", uint32(b.Node), "killed_by", name, "why", why)
		c.forward(b, &transport.NodeControl{Op: transport.ControlRestart, Name: b.Name, Node: b.Node, By: by})
	}
}

// forward hands a control to the process that runs raylet b.
func (c *Coordinator) forward(b transport.BookEntry, m *transport.NodeControl) {
	if b.Agent == c.env.Self() {
		c.cfg.Local.Control(m)
	} else {
		c.env.Send(b.Agent, m)
	}
}

// logInfo and logWarn log to the coordinator's logger, if it has one.
func (c *Coordinator) logInfo(msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Info(msg, args...)
	}
}

func (c *Coordinator) logWarn(msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Warn(msg, args...)
	}
}

// member returns the name of the joined process whose agent is id (a node
// or a driver in the book), and whether there is one.
func (c *Coordinator) member(id transport.NodeID) (string, bool) {
	b, ok := c.book[id]
	if !ok || b.Role != 0 || b.Agent != id || id < AgentBase {
		return "", false
	}
	return b.Name, true
}

// joined reports whether from is a joined process (see member), and logs
// a request of what kind from any other token holder, which is ignored:
// a stranger's link fault could cut the cluster, its trace subscription
// would stream every node's events to it, and no one would know who.
func (c *Coordinator) joined(from transport.NodeID, what string) bool {
	if _, ok := c.member(from); ok {
		return true
	}
	c.logWarn("deploy: a "+what+" from a process not in the cluster (never joined, or left): ignored", "from", uint32(from))
	return false
}

// opName names a control operation in logs and errors.
func opName(op uint8) string {
	switch op {
	case transport.ControlKill:
		return "kill"
	case transport.ControlRestart:
		return "restart"
	case transport.ControlDrain:
		return "drain"
	case transport.ControlTaskErrors:
		return "task_errors"
	}
	return fmt.Sprintf("op %d", op)
}

// refuse answers a join with why it is refused and forgets the joiner
// later: a refused process gives up and exits, and an agent the
// coordinator's host still has an address for would be redialed forever.
func (c *Coordinator) refuse(from transport.NodeID, reply *transport.JoinReply, why string) {
	reply.Err = why
	c.env.Send(from, reply)
	c.forgetLater(from)
}

// heldAt returns the agent address an agent ID is held at: a joined
// process's agent (in the book) or a status query being answered.
func (c *Coordinator) heldAt(id transport.NodeID) (string, bool) {
	if b, ok := c.book[id]; ok {
		return b.Addr, true
	}
	addr, ok := c.queries[id]
	return addr, ok
}

// forgetLater drops a departed endpoint (or an answered query) from the
// coordinator's host once what was sent to it has had time to leave
// (unless it is in the book again by then). Each call waits its own
// forgetAfter: the last one forgets.
func (c *Coordinator) forgetLater(id transport.NodeID) {
	c.forgets[id]++
	c.env.After(c.forgetAfter, func() {
		if c.forgets[id]--; c.forgets[id] > 0 {
			return // something was sent to it since: that waits too
		}
		delete(c.forgets, id)
		delete(c.queries, id)
		if _, ok := c.book[id]; !ok {
			delete(c.fullSent, id)
			c.cfg.Host.ForgetPeer(id)
		}
	})
}

// sweepPeriod is how often sweep looks at the drivers.
func (c *Coordinator) sweepPeriod() time.Duration {
	return min(max(c.grace/4, 10*time.Millisecond), time.Second)
}

// sweep removes from the book the drivers whose process has died without
// a Leave (a crash, SIGKILL, a lost machine), as if they had left. Two
// independent signals must both hold, without a break, for the grace
// period (DriverGrace):
//
//   - the driver's agent has no connection to the coordinator (ConnectedFrom),
//     and has sent nothing since the period began: the kernel closes a
//     dead process's connections at once (a lost machine's fail TCP
//     keepalive), while a live one keeps its agent's connection, or redials
//     within seconds when it broke, since its session asks the head for
//     its status every second; and
//   - the GCS holds the driver's raylet dead: declared dead, silent past
//     the node timeout, or never registered.
//
// A live driver on a slow link keeps its connection (slowness closes no
// TCP connection) however late its heartbeats are, so the GCS's dead
// verdict alone, which a slow link can bring, never removes it; nor does
// a broken connection alone while its raylet heartbeats. Only a driver
// cut off entirely (no connection and no heartbeat) for the whole grace
// period is removed, as a crashed one is, after at most the node timeout
// plus the grace period plus a sweep period.
func (c *Coordinator) sweep() {
	now := c.env.Now()
	gone := make(map[transport.NodeID]time.Time) // (drivers that left drop out)
	for _, b := range c.entries() {
		if b.Role != transport.RoleDriver || b.Agent == c.env.Self() ||
			c.cfg.Host.ConnectedFrom(b.Agent) || !c.cfg.Dir.down(b.Node, now) {
			continue
		}
		since, ok := c.gone[b.Agent]
		if !ok {
			gone[b.Agent] = now
			continue
		}
		if now.Sub(since) < c.grace {
			gone[b.Agent] = since
			continue
		}
		if c.cfg.Logger != nil {
			c.cfg.Logger.Warn("deploy: a driver's process is gone (no connection from it, its raylet dead): removed",
				"driver", b.Name, "node", uint32(b.Node), "for", now.Sub(since).Round(time.Millisecond))
		}
		agent := b.Agent
		sw := sweptDriver{name: b.Name, addr: c.book[agent].Addr, at: now}
		c.swept[agent] = sw
		c.env.After(sweptKeep, func() {
			if c.swept[agent] == sw { // not a later removal's
				delete(c.swept, agent)
			}
		})
		c.leave(b.Node, fmt.Sprintf("removed: its process had no connection to the head and its raylet was dead for %v", c.grace))
	}
	c.gone = gone
	c.env.After(c.sweepPeriod(), c.sweep)
}

func (c *Coordinator) status() *transport.StatusReply {
	r := &transport.StatusReply{}
	now := time.Now()
	for _, b := range c.entries() {
		if b.Role != transport.RoleNode && b.Role != transport.RoleDriver {
			continue
		}
		s := transport.NodeStatus{Node: b.Node, Name: b.Name, Role: b.Role, Addr: b.Addr}
		c.cfg.Dir.status(&s, now)
		r.Nodes = append(r.Nodes, s)
	}
	return r
}

// control acts on a process's control request: only a joined process (a
// node's or a driver's agent in the book) may ask, and every kill, restart
// and drain forwarded is logged with who asked.
func (c *Coordinator) control(from transport.NodeID, m *transport.NodeControl) {
	if m.Done {
		return // an acknowledgement is the coordinator's to send, not to take
	}
	who, ok := c.member(from)
	if !ok {
		// A token holder that has not joined (a status query, a stray
		// process): it could kill any raylet, the head's own included,
		// and no one would know who did.
		c.logWarn("deploy: a node control from a process not in the cluster (never joined, or left): ignored",
			"from", uint32(from), "op", opName(m.Op), "node", m.Name, "id", uint32(m.Node))
		if m.Ack {
			c.env.Send(from, &transport.NodeControl{Op: m.Op, Name: m.Name, Node: m.Node, Done: true, Seq: m.Seq,
				Err: "the head takes node controls only from a process that has joined the cluster (a node or a driver)"})
			c.forgetLater(from)
		}
		return
	}
	b, ok := c.raylet(m.Name, m.Node)
	if !ok {
		if m.Ack {
			c.env.Send(from, &transport.NodeControl{Op: m.Op, Name: m.Name, Node: m.Node, Done: true, Seq: m.Seq,
				Err: fmt.Sprintf("no node named %q", m.Name)})
		}
		return
	}
	if m.Name == "" && b.Agent != from {
		// A process drains its own raylet by ID (Process.Shutdown); one
		// whose name another process has taken since is not that raylet's
		// any more, and must not drain the newcomer (nor mark it draining:
		// the scheduler would see it with no resources for good).
		return
	}
	if m.Op == transport.ControlTaskErrors && !transport.ValidRate(m.Rate) {
		if m.Ack {
			c.env.Send(from, &transport.NodeControl{Op: m.Op, Name: b.Name, Node: b.Node, Done: true, Seq: m.Seq,
				Err: fmt.Sprintf("task error rate %v for %q: want a probability in [0, 1]", m.Rate, b.Name)})
		}
		return
	}
	if m.Op == transport.ControlDrain {
		c.cfg.Dir.SetDraining(b.Node)
	}
	by := fmt.Sprintf("%q (agent %d)", who, uint32(from))
	switch m.Op {
	case transport.ControlKill:
		c.killed[b.Node] = killer{agent: from, name: who}
	case transport.ControlRestart:
		delete(c.killed, b.Node)
	}
	if m.Op == transport.ControlKill || m.Op == transport.ControlRestart || m.Op == transport.ControlDrain && b.Agent != from {
		// (A process draining its own raylet as it closes is not news.)
		c.logInfo("deploy: node control", "op", opName(m.Op), "node", b.Name, "id", uint32(b.Node), "by", by)
	}
	fwd := &transport.NodeControl{Op: m.Op, Name: b.Name, Node: b.Node, Rate: m.Rate, By: by}
	if b.Agent == c.env.Self() || b.Agent != from {
		c.forward(b, fwd)
	}
	if m.Ack {
		c.env.Send(from, &transport.NodeControl{Op: m.Op, Name: b.Name, Node: b.Node, Done: true, Seq: m.Seq})
	}
}

func (c *Coordinator) linkFault(m *transport.LinkFault) {
	resolve := func(names []string) []transport.NodeID {
		var out []transport.NodeID
		for _, n := range names {
			if b, ok := c.raylet(n, 0); ok {
				out = append(out, b.Node)
			}
		}
		return out
	}
	fwd := *m
	fwd.FromNodes, fwd.ToNodes = resolve(m.From), resolve(m.To)
	for _, a := range c.agents() {
		c.env.Send(a, &fwd)
	}
	c.cfg.Local.LinkFault(&fwd)
}

func sortedKeys(m map[transport.NodeID]bool) []transport.NodeID {
	out := make([]transport.NodeID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// AgentConfig configures a process's agent.
type AgentConfig struct {
	Host    *tcp.Host
	Request *transport.JoinRequest // sent to the coordinator at start (nil: none)
	Local   Local
	// OnReply receives the JoinReply, OnStatus status replies, OnControl
	// acknowledgements of control requests this process made (on the loop;
	// must not block).
	OnReply   func(*transport.JoinReply)
	OnStatus  func(*transport.StatusReply)
	OnControl func(*transport.NodeControl)
	// OnTrace receives event batches when this agent is a trace sink.
	OnTrace func(*transport.TraceBatch)
}

// Agent is a process's endpoint toward the coordinator (see the package
// doc).
type Agent struct {
	env  transport.Env
	cfg  AgentConfig
	book bookCopy
	// telling: a tellBook is due once the messages queued before it are
	// handled (tellSoon).
	telling bool
}

// NewAgent builds the agent; it sends the join request at once.
func NewAgent(env transport.Env, cfg AgentConfig) *Agent {
	a := &Agent{env: env, cfg: cfg}
	if cfg.Request != nil {
		env.Send(CoordinatorID, cfg.Request)
	}
	return a
}

// Env is the agent's environment (Send from other goroutines through
// Env.Await).
func (a *Agent) Env() transport.Env { return a.env }

// Handle implements transport.Handler.
func (a *Agent) Handle(from transport.NodeID, m transport.Message) {
	if _, batch := m.(*transport.TraceBatch); !batch && from != CoordinatorID {
		// Trace batches come from the processes a sink subscribed to;
		// everything else only from the coordinator (a peer's NodeControl
		// would kill this process's raylet, its address book with a huge
		// epoch freeze this process's addresses).
		return
	}
	switch m := m.(type) {
	case *transport.TraceBatch:
		if a.cfg.OnTrace != nil {
			a.cfg.OnTrace(m)
		}
	case *transport.JoinReply:
		if a.cfg.OnReply != nil {
			a.cfg.OnReply(m)
		}
		if m.Err == "" && len(m.Book) > 0 && (a.book.entries == nil || m.Epoch > a.book.epoch) {
			a.book.replace(a.cfg.Host, m.Epoch, m.Book)
			a.tellBook()
		}
	case *transport.AddressBook:
		if a.book.follow(a.env, a.cfg.Host, nil, m, nil) {
			a.tellSoon()
		}
	case *transport.StatusReply:
		if a.cfg.OnStatus != nil {
			a.cfg.OnStatus(m)
		}
	case *transport.NodeControl:
		if m.Done {
			if a.cfg.OnControl != nil {
				a.cfg.OnControl(m)
			}
		} else if a.cfg.Local != nil {
			a.cfg.Local.Control(m)
		}
	case *transport.LinkFault:
		if a.cfg.Local != nil {
			a.cfg.Local.LinkFault(m)
		}
	case *transport.TraceSubscribe:
		if a.cfg.Local != nil {
			a.cfg.Local.Trace(m.Sink, m.Stop)
		}
	}
}

// tellSoon hands the process the agent's book once the messages queued
// for the agent before now are handled (env.After(0) queues behind
// them): a burst of N joins sends the agent N deltas, often in one read,
// and handing over the whole book (sorted, and indexed by the process)
// after each cost O(N log N) a delta, most of the CPU of a burst of 300
// drivers. The process's book may lag the agent's by those messages:
// an endpoint that seeds from it and is still behind asks the head
// (bookCopy.follow).
func (a *Agent) tellSoon() {
	if a.env == nil {
		a.tellBook()
		return
	}
	if a.telling {
		return
	}
	a.telling = true
	a.env.After(0, func() {
		a.telling = false
		a.tellBook()
	})
}

// tellBook hands the process the agent's current book.
func (a *Agent) tellBook() {
	if a.cfg.Local != nil {
		a.cfg.Local.Book(a.book.epoch, a.book.list())
	}
}
