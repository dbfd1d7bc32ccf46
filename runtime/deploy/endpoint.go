package deploy

import (
	"slices"
	"sync"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// Endpoint wraps a component so that it follows the address book on its own
// loop: an AddressBook message points its host at the endpoints it adds
// and makes it forget those it removes, refreshes its layout's raylet list
// (its own copy), and is not passed on. When a delta does not follow on
// from its copy, it takes Seed's book, if set and newer (the process's
// agent's: a restarted raylet's endpoint starts from it), and otherwise
// asks the coordinator for the full book through Env, if set (nil: it
// waits for the next full book); see bookCopy.follow. Tap, if set, sees
// every message first; Filter, if set, may rewrite or drop one (false)
// before the component sees it.
type Endpoint struct {
	transport.Handler
	Host   *tcp.Host
	Layout *gcs.Layout
	Env    transport.Env
	Seed   BookSource
	Tap    func(from transport.NodeID, m transport.Message)
	Filter func(m transport.Message) (transport.Message, bool)
	book   bookCopy
}

// Handle implements transport.Handler.
func (e *Endpoint) Handle(from transport.NodeID, m transport.Message) {
	if b, ok := m.(*transport.AddressBook); ok {
		// Only the coordinator keeps the book: taken from any peer, one
		// with epoch 2^64-1 would freeze this endpoint's addresses.
		if from == CoordinatorID {
			e.book.follow(e.Env, e.Host, e.Layout, b, e.Seed)
		}
		return
	}
	if e.Tap != nil {
		e.Tap(from, m)
	}
	if e.Filter != nil {
		var keep bool
		if m, keep = e.Filter(m); !keep {
			return
		}
	}
	e.Handler.Handle(from, m)
}

// ApplyBook points h at every endpoint of the book and sets l.Raylets (if l
// is not nil) to the book's raylets, in ID order.
func ApplyBook(h *tcp.Host, l *gcs.Layout, book []transport.BookEntry) {
	var raylets []transport.NodeID
	for _, b := range book {
		if h != nil && b.Addr != "" {
			h.SetPeer(b.Node, b.Addr)
		}
		if b.Role == transport.RoleNode || b.Role == transport.RoleDriver {
			raylets = append(raylets, b.Node)
		}
	}
	if l != nil {
		slices.Sort(raylets)
		l.Raylets = raylets
	}
}

// CloneLayout copies a layout (each endpoint owns its copy).
func CloneLayout(l *gcs.Layout) *gcs.Layout {
	c := *l
	c.Shards = slices.Clone(l.Shards)
	c.Raylets = slices.Clone(l.Raylets)
	c.Chains = make([][]transport.NodeID, len(l.Chains))
	for i, ch := range l.Chains {
		c.Chains[i] = slices.Clone(ch)
	}
	return &c
}

// Directory is the head's view of the raylets, shared by the coordinator,
// the node-table shard's tap and the scheduler's filter (any goroutine).
type Directory struct {
	NodeTimeout time.Duration
	mu          sync.Mutex
	nodes       map[transport.NodeID]*dirEntry
}

type dirEntry struct {
	role        uint8
	draining    bool
	seen, alive bool
	inc         uint64
	total       transport.Resources
	avail       transport.Resources
	queue       uint32
	meanTask    time.Duration
	meanBW      uint64
	store       transport.StoreUsage // its last StoreReport's
	last        time.Time
	joined      time.Time // when its process last joined (SetRole)
}

// NewDirectory returns an empty directory.
func NewDirectory(nodeTimeout time.Duration) *Directory {
	return &Directory{NodeTimeout: nodeTimeout, nodes: make(map[transport.NodeID]*dirEntry)}
}

func (d *Directory) entry(id transport.NodeID) *dirEntry { // mu held
	e := d.nodes[id]
	if e == nil {
		e = &dirEntry{}
		d.nodes[id] = e
	}
	return e
}

// SetRole records a raylet's role (drivers are hidden from the scheduler).
func (d *Directory) SetRole(id transport.NodeID, role uint8) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entry(id)
	e.role, e.draining, e.joined = role, false, time.Now()
}

// SetDraining marks a raylet as draining: the scheduler sees it with no
// resources, so it places nothing new there.
func (d *Directory) SetDraining(id transport.NodeID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entry(id).draining = true
}

// Remove forgets a raylet.
func (d *Directory) Remove(id transport.NodeID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.nodes, id)
}

// Tap observes the node-table shard's traffic (registrations and
// heartbeats, bare or inside a chain request).
func (d *Directory) Tap(from transport.NodeID, m transport.Message) {
	if r, ok := m.(*transport.GcsRequest); ok {
		m = r.Op
	}
	now := time.Now()
	switch m := m.(type) {
	case *transport.RegisterNode:
		if from != m.Node {
			return // a node speaks for itself alone, as the shard has it
		}
		d.mu.Lock()
		e := d.entry(m.Node)
		if m.Incarnation >= e.inc {
			e.inc, e.total, e.avail, e.seen, e.alive, e.last = m.Incarnation, m.Total, m.Total, true, true, now
		}
		d.mu.Unlock()
	case *transport.Heartbeat:
		if from != m.Node {
			return
		}
		d.mu.Lock()
		e := d.entry(m.Node)
		if m.Incarnation >= e.inc {
			e.inc, e.total, e.avail, e.queue, e.seen, e.last = m.Incarnation, m.Total, m.Available, m.QueueLen, true, now
			e.meanTask, e.meanBW = m.MeanTaskTime, m.MeanBandwidth
			if !e.alive {
				e.alive = true
			}
		}
		d.mu.Unlock()
	}
}

// Store takes a raylet's object store report (its sender checked): kept
// for a raylet the directory knows, from its latest incarnation, so a
// stranger's reports for made-up IDs add no entries.
func (d *Directory) Store(m *transport.StoreReport) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.nodes[m.Node]; e != nil && m.Incarnation >= e.inc {
		e.store = m.Usage
	}
}

// Event observes the GCS's node events (liveness as the GCS decides it).
func (d *Directory) Event(ev *transport.Event) {
	if ev.Kind != transport.EvNodeDead {
		return
	}
	d.mu.Lock()
	if e := d.nodes[ev.Node]; e != nil {
		e.alive = false
	}
	d.mu.Unlock()
}

// Filter is the global scheduler's filter: it drops what drivers' raylets
// report and shows a draining raylet with no resources.
func (d *Directory) Filter(m transport.Message) (transport.Message, bool) {
	var id transport.NodeID
	switch m := m.(type) {
	case *transport.RegisterNode:
		id = m.Node
	case *transport.Heartbeat:
		id = m.Node
	default:
		return m, true
	}
	d.mu.Lock()
	e := d.nodes[id]
	var role uint8
	draining := false
	if e != nil {
		role, draining = e.role, e.draining
	}
	d.mu.Unlock()
	if role == transport.RoleDriver {
		return nil, false
	}
	if draining {
		switch m := m.(type) {
		case *transport.RegisterNode:
			c := *m
			c.Total = transport.Resources{}
			return &c, true
		case *transport.Heartbeat:
			c := *m
			c.Total, c.Available = transport.Resources{}, transport.Resources{}
			return &c, true
		}
	}
	return m, true
}

// down reports whether raylet id is not alive as the GCS sees it: never
// registered, declared dead, or silent past the node timeout.
func (d *Directory) down(id transport.NodeID, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.nodes[id]
	if e == nil || !e.seen {
		return true
	}
	return !e.alive || d.NodeTimeout > 0 && now.Sub(e.last) >= d.NodeTimeout
}

// lost reports whether raylet id is not alive as the GCS sees it:
// declared dead, or silent past the node timeout. A process that joined
// and has not registered its raylet since is lost only once the node
// timeout has passed since its join (it may have just joined).
func (d *Directory) lost(id transport.NodeID, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.nodes[id]
	if e == nil {
		return false
	}
	if !e.seen || e.joined.After(e.last) {
		return d.NodeTimeout > 0 && now.Sub(e.joined) >= d.NodeTimeout
	}
	return !e.alive || d.NodeTimeout > 0 && now.Sub(e.last) >= d.NodeTimeout
}

// status fills what the directory knows of raylet id.
func (d *Directory) status(s *transport.NodeStatus, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.nodes[s.Node]
	if e == nil || !e.seen {
		return
	}
	s.Incarnation, s.Total, s.Available, s.QueueLen = e.inc, e.total, e.avail, e.queue
	s.MeanTaskTime, s.MeanBandwidth = e.meanTask, e.meanBW
	s.Store = e.store
	s.Age = now.Sub(e.last)
	s.Alive = e.alive && (d.NodeTimeout <= 0 || s.Age < d.NodeTimeout)
}
