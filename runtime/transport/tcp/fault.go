package tcp

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"raysim/runtime/transport"
)

// The fault layer lets a real cluster run a scenario's link faults: extra
// delay, loss and partitions on the links into a host, set at run time with
// SetLinkFault. It acts on the receiving side, between a connection's reader
// and the loop, and mirrors what the simulator's TCP-like links do: a
// partition holds frames until it heals, a lost frame arrives one
// retransmit timeout later (200 ms, doubling per consecutive loss, as
// Linux's minimum RTO), delay adds latency. Nothing is dropped and order per
// connection is kept. With no fault set the layer costs one atomic load per
// batch of frames.
//
// Frames held by a fault are buffered per connection (at most
// faultLaneItems batches; past that the reader stops reading, which pushes
// back on the sender through TCP). A partition that lasts longer than the
// sender's write timeout (10 s) may break the connection, as a real one
// would.

// LinkFault is a fault on the link from a peer into this host.
type LinkFault struct {
	Delay time.Duration // added to every frame
	Loss  float64       // probability that a frame is "lost" once (and retransmitted)
	Down  bool          // partitioned: frames are held until the fault is cleared
}

const (
	faultRTOMin    = 200 * time.Millisecond
	faultRTOMax    = 3200 * time.Millisecond
	faultLaneItems = 1024
)

// faults is a host's fault table (any goroutine).
type faults struct {
	active atomic.Bool
	mu     sync.Mutex
	links  map[transport.NodeID]LinkFault
	change chan struct{} // closed and replaced on every change
	rand   *rand.Rand
}

// SetLinkFault sets the fault on the link from peer into this host (the
// zero LinkFault clears it). Safe for concurrent use.
func (h *Host) SetLinkFault(from transport.NodeID, f LinkFault) {
	fs := &h.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.links == nil {
		fs.links = make(map[transport.NodeID]LinkFault)
		var b [16]byte
		crand.Read(b[:])
		fs.rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])))
	}
	if f == (LinkFault{}) {
		delete(fs.links, from)
	} else {
		fs.links[from] = f
	}
	fs.active.Store(len(fs.links) > 0)
	fs.changed()
}

// ClearLinkFaults heals every link into this host.
func (h *Host) ClearLinkFaults() {
	fs := &h.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	clear(fs.links)
	fs.active.Store(false)
	fs.changed()
}

// LinkFaults returns the faults set now, by source.
func (h *Host) LinkFaults() map[transport.NodeID]LinkFault {
	fs := &h.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make(map[transport.NodeID]LinkFault, len(fs.links))
	for k, v := range fs.links {
		out[k] = v
	}
	return out
}

func (fs *faults) changed() { // mu held
	if fs.change != nil {
		close(fs.change)
	}
	fs.change = make(chan struct{})
}

// get draws the extra delay of one frame from peer, and reports the
// fault's change channel (to wait on while Down).
func (fs *faults) get(from transport.NodeID) (f LinkFault, extra time.Duration, change chan struct{}) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.change == nil {
		fs.change = make(chan struct{})
	}
	f = fs.links[from]
	extra = f.Delay
	rto := faultRTOMin
	for f.Loss > 0 && fs.rand.Float64() < f.Loss && rto <= faultRTOMax {
		extra += rto
		rto *= 2
	}
	return f, extra, fs.change
}

// faultLane carries one connection's frames through the fault layer: a
// goroutine that releases them in order at their due times.
type faultLane struct {
	ch      chan laneItem
	lastDue time.Time
}

type laneItem struct {
	due  time.Time
	from transport.NodeID
	m    transport.Message
}

func (l *faultLane) close() {
	if l.ch != nil {
		close(l.ch)
	}
}

// deliver hands a batch read from a connection to the loop, through the
// connection's fault lane once a fault has been set while it was open (from
// then on every frame of the connection takes the lane: order is kept). It reports false once the host is closed.
func (h *Host) deliver(l *faultLane, from transport.NodeID, batch []transport.Message) bool {
	if l.ch == nil && !h.faults.active.Load() {
		return h.post(item{from: from, batch: batch})
	}
	if l.ch == nil {
		l.ch = make(chan laneItem, faultLaneItems)
		ch := l.ch
		if !h.goTracked(func() { h.runLane(ch) }) {
			return false
		}
	}
	now := time.Now()
	for _, m := range batch {
		_, extra, _ := h.faults.get(from)
		due := now.Add(extra)
		if due.Before(l.lastDue) {
			due = l.lastDue
		}
		l.lastDue = due
		select {
		case l.ch <- laneItem{due: due, from: from, m: m}:
		case <-h.done:
			return false
		}
	}
	return true
}

// runLane releases a lane's frames at their due times, holding them while
// their link is down.
func (h *Host) runLane(ch chan laneItem) {
	var t *time.Timer
	for it := range ch {
		for {
			f, _, change := h.faults.get(it.from)
			if f.Down {
				select {
				case <-change:
					continue
				case <-h.done:
					return
				}
			}
			d := time.Until(it.due)
			if d <= 0 {
				break
			}
			if t == nil {
				t = time.NewTimer(d)
			} else {
				t.Reset(d)
			}
			select {
			case <-t.C:
			case <-change: // re-check (a partition may have started)
				t.Stop()
			case <-h.done:
				return
			}
		}
		if !h.post(item{from: it.from, m: it.m}) {
			return
		}
	}
}

// dialConn opens a connection to addr, in TLS when the host is configured
// for it.
func (h *Host) dialConn(ctx context.Context, addr string) (net.Conn, error) {
	if h.cfg.TLS != nil {
		d := tls.Dialer{Config: h.cfg.TLS}
		return d.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// Self is the NodeID the host runs.
func (h *Host) Self() transport.NodeID { return h.cfg.Self }

// ForgetPeer drops node id from the address book and ends its writer (and
// connection); frames still queued for it are dropped. Call it on the loop
// (from the component), for a peer that left the cluster: a later Send to
// id starts over without an address.
func (h *Host) ForgetPeer(id transport.NodeID) {
	if p := h.peers[id]; p != nil {
		close(p.quit)
		delete(h.peers, id)
	}
	h.mu.Lock()
	delete(h.addrs, id)
	h.mu.Unlock()
}
