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
// partition holds frames until it heals, delay adds latency, and a lost
// frame is "resent" as TCP would: as soon as a later frame on the
// connection reveals the gap (fast retransmission, a round trip — twice the
// link's delay, at least 1ms — after that frame arrives, one more per
// consecutive loss of the same frame), or else after a retransmit timeout
// (200 ms, doubling per consecutive loss, as Linux's minimum RTO). Nothing
// is dropped and order per connection is kept. With no fault set the layer
// costs one atomic load per batch of frames.
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

// get draws the fault on one frame from peer — its link's fault and how
// many times in a row it is lost — and reports the fault's change channel
// (to wait on while Down).
func (fs *faults) get(from transport.NodeID) (f LinkFault, losses int, change chan struct{}) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.change == nil {
		fs.change = make(chan struct{})
	}
	f = fs.links[from]
	for rto := faultRTOMin; f.Loss > 0 && rto <= faultRTOMax && fs.rand.Float64() < f.Loss; rto *= 2 {
		losses++
	}
	return f, losses, fs.change
}

// faultLane carries one connection's frames through the fault layer: a
// goroutine that releases them in order at their due times.
type faultLane struct {
	ch chan laneItem
}

type laneItem struct {
	at     time.Time     // when it was read
	due    time.Time     // when it arrives if not lost (or its timeouts expire)
	rtt    time.Duration // the link's round trip, for a fast retransmission
	losses int
	from   transport.NodeID
	m      transport.Message
}

// fastRTTMin bounds a fast retransmission's round trip from below (the
// receiver's acknowledgement and the sender's reaction are not free).
const fastRTTMin = time.Millisecond

func (l *faultLane) close() {
	if l.ch != nil {
		close(l.ch)
	}
}

// readAt is item.at for a message handed to the loop now (never 0).
func (h *Host) readAt() time.Duration { return max(time.Since(h.born), 1) }

// deliver hands a batch read from a connection to the loop, through the
// connection's fault lane once a fault has been set while it was open (from
// then on every frame of the connection takes the lane: order is kept). It reports false once the host is closed.
func (h *Host) deliver(l *faultLane, from transport.NodeID, batch []transport.Message) bool {
	if l.ch == nil && !h.faults.active.Load() {
		return h.post(item{from: from, batch: batch, at: h.readAt()})
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
		f, losses, _ := h.faults.get(from)
		due := now.Add(f.Delay)
		for i, rto := 0, faultRTOMin; i < losses; i, rto = i+1, rto*2 {
			due = due.Add(rto) // the timeouts: the bound a fast retransmission beats
		}
		select { // (the lane releases in order: a due before the previous frame's means at once after it)
		case l.ch <- laneItem{at: now, due: due, rtt: max(2*f.Delay, fastRTTMin), losses: losses, from: from, m: m}:
		case <-h.done:
			return false
		}
	}
	return true
}

// runLane releases a lane's frames at their due times, holding them while
// their link is down. A lost frame waits for its timeouts, or for the
// next frame to reveal the gap: it is then due a round trip per loss after
// that frame was read.
func (h *Host) runLane(ch chan laneItem) {
	var t *time.Timer
	var next *laneItem // read ahead while a lost frame waits
	for {
		var it laneItem
		if next != nil {
			it, next = *next, nil
		} else {
			var ok bool
			if it, ok = <-ch; !ok {
				return
			}
		}
		due := it.due
		for {
			f, _, change := h.fault(it.from)
			if f.Down {
				select {
				case <-change:
					continue
				case <-h.done:
					return
				}
			}
			if it.losses > 0 && next != nil {
				if fast := next.at.Add(time.Duration(it.losses) * it.rtt); fast.Before(due) {
					due = fast
				}
			}
			d := time.Until(due)
			if d <= 0 {
				break
			}
			if t == nil {
				t = time.NewTimer(d)
			} else {
				t.Reset(d)
			}
			var peek <-chan laneItem
			if it.losses > 0 && next == nil {
				peek = ch
			}
			select {
			case <-t.C:
			case n, ok := <-peek:
				t.Stop()
				if !ok { // closed: release what is held, then stop
					h.post(item{from: it.from, m: it.m, at: h.readAt()})
					return
				}
				next = &n
			case <-change: // re-check (a partition may have started)
				t.Stop()
			case <-h.done:
				return
			}
		}
		if !h.post(item{from: it.from, m: it.m, at: h.readAt()}) {
			return
		}
	}
}

// fault is the fault on the link from peer now and its change channel.
func (h *Host) fault(from transport.NodeID) (LinkFault, int, chan struct{}) {
	fs := &h.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.change == nil {
		fs.change = make(chan struct{})
	}
	return fs.links[from], 0, fs.change
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
