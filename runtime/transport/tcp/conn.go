package tcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"raysim/runtime/transport"
)

// acceptLoop accepts inbound connections until the listener closes; it
// never waits for anything but the listener. A connection's handshake
// then runs on its own goroutine (serve) in two stages:
//
//   - the hello stage: from its accept until its hello has named this
//     cluster and protocol version, then waiting for a proof slot. At most
//     maxHello connections are in it; when it is full, a new connection
//     closes the oldest one still silent (admit), at once: a flood of
//     idle, slow or garbage connections turns over behind the new ones
//     rather than in front of them, so a legitimate dialer is held back
//     by it for no more than its own round trip, unless the flood brings
//     maxHello connections within that round trip.
//   - the proof stage: at most maxPending connections (one slot each,
//     handed out in the order they spoke) that got the host's hello and
//     proof and owe theirs, within proofWindow (awaitProof). A burst of
//     legitimate dialers far past maxPending waits for these slots in
//     order, none closed: each slot turns over in a round trip.
//
// Only an authenticated connection takes one of the maxInboundConns
// slots (authenticated). Every handshake ends at its deadline
// (handshakeTimeout) at the latest.
func (h *Host) acceptLoop() {
	defer h.wg.Done()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, do not spin.
			h.log.Warn("tcp: accept", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-h.done:
				return
			}
		}
		if !h.track(c) {
			c.Close()
			return
		}
		hs := &handshake{c: c}
		admitted, evicted := h.admit(hs)
		if evicted != nil {
			// Closing it fails its hello's read; its serve returns.
			h.stats.evicted.Add(1)
			h.log.Debug("tcp: too many connections waiting for their hello, closed the oldest silent one", "remote", evicted.RemoteAddr())
			evicted.Close()
		}
		if !admitted {
			h.stats.refused.Add(1)
			h.log.Debug("tcp: too many spoken connections waiting for a proof slot, refused a new one", "remote", c.RemoteAddr())
			h.untrack(c)
			c.Close()
			continue
		}
		if !h.goTracked(func() { h.serve(hs) }) {
			h.endHandshake(hs)
			h.untrack(c)
			c.Close()
			return // closing
		}
	}
}

// handshake is an inbound connection in its handshake (see acceptLoop).
// Its fields are guarded by Host.mu.
type handshake struct {
	c net.Conn
	// spoke: its hello named this cluster and protocol version; it is
	// never evicted, and waits for a proof slot (slot closes when it is
	// given one) or holds one (proving).
	spoke   bool
	slot    chan struct{}
	proving bool
}

// admit adds hs, just accepted, to the hello stage. When maxHello
// connections are in it already it removes the oldest silent one (its
// hello not read yet) and returns it for the caller to close; if every
// one of them has spoken (they wait for proof slots), hs is not admitted
// (the caller closes it): the spoken ones are served first, in order.
func (h *Host) admit(hs *handshake) (admitted bool, evicted net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.hello) >= h.maxHello {
		i := slices.IndexFunc(h.hello, func(p *handshake) bool { return !p.spoke })
		if i < 0 {
			return false, nil
		}
		evicted = h.hello[i].c
		h.hello = slices.Delete(h.hello, i, i+1)
	}
	h.hello = append(h.hello, hs)
	return true, evicted
}

// errEvicted: the connection was closed before its hello was read, the
// oldest silent one while the hello stage was full.
var errEvicted = errors.New("evicted: silent while too many connections waited for their hello")

// errNoProofSlot: a spoken connection's handshake deadline passed while it
// waited for a proof slot.
var errNoProofSlot = errors.New("handshake deadline passed waiting for a proof slot")

// awaitProof is called once hs's hello has named this cluster and
// protocol version: hs waits for a proof slot, behind the connections
// that spoke before it, until deadline (hs's handshake deadline) or the
// host closes. It fails if hs was evicted before it spoke (its hello was
// read just as a newer connection closed it).
func (h *Host) awaitProof(hs *handshake, deadline time.Time) error {
	h.mu.Lock()
	if !slices.Contains(h.hello, hs) {
		h.mu.Unlock()
		return errEvicted
	}
	hs.spoke = true
	if len(h.waiting) == 0 && h.proving < h.maxPending {
		h.takeSlot(hs)
		h.mu.Unlock()
		return nil
	}
	hs.slot = make(chan struct{})
	h.waiting = append(h.waiting, hs)
	h.mu.Unlock()

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var err error
	select {
	case <-hs.slot:
		return nil
	case <-timer.C:
		err = errNoProofSlot
	case <-h.done:
		err = net.ErrClosed
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if hs.proving { // given a slot as the wait ended: the caller releases it
		return nil
	}
	h.waiting = slices.DeleteFunc(h.waiting, func(p *handshake) bool { return p == hs })
	h.hello = slices.DeleteFunc(h.hello, func(p *handshake) bool { return p == hs })
	return err
}

// takeSlot moves hs from the hello stage to a proof slot (mu held).
func (h *Host) takeSlot(hs *handshake) {
	h.hello = slices.DeleteFunc(h.hello, func(p *handshake) bool { return p == hs })
	h.proving++
	hs.proving = true
	if hs.slot != nil {
		close(hs.slot)
	}
}

// endHandshake takes hs, whose handshake has ended (failed, or
// succeeded: see authenticated), out of its stage, handing its proof
// slot, if it held one, to the first spoken connection waiting for one.
// It reports false if hs was in neither stage: it was evicted (and
// closed) to admit a newer connection.
func (h *Host) endHandshake(hs *handshake) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.endHandshakeLocked(hs)
}

// endHandshakeLocked is endHandshake with mu held.
func (h *Host) endHandshakeLocked(hs *handshake) bool {
	if !hs.proving {
		n := len(h.hello)
		h.hello = slices.DeleteFunc(h.hello, func(p *handshake) bool { return p == hs })
		return len(h.hello) < n
	}
	hs.proving = false
	h.proving--
	if len(h.waiting) > 0 && h.proving < h.maxPending {
		next := h.waiting[0]
		h.waiting = slices.Delete(h.waiting, 0, 1)
		h.takeSlot(next)
	}
	return true
}

// errTooManyConns refuses an authenticated connection past maxInboundConns.
var errTooManyConns = errors.New("too many inbound connections")

// authenticated ends hs's handshake, which succeeded, and counts it among
// the authenticated connections. It fails if maxInboundConns are open
// (errTooManyConns); on success the caller releases the slot with
// leaveInbound. from is the peer the handshake authenticated.
func (h *Host) authenticated(hs *handshake, from transport.NodeID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endHandshakeLocked(hs)
	if h.inbound >= maxInboundConns {
		return errTooManyConns
	}
	h.inbound++
	h.inboundFrom[from]++
	return nil
}

// leaveInbound releases an authenticated connection's slot (from: its
// peer).
func (h *Host) leaveInbound(from transport.NodeID) {
	h.mu.Lock()
	h.inbound--
	if h.inboundFrom[from]--; h.inboundFrom[from] <= 0 {
		delete(h.inboundFrom, from)
	}
	h.mu.Unlock()
}

// serve authenticates an inbound connection and reads frames from it into
// the inbox until it fails, sends something malformed, or the host closes.
func (h *Host) serve(hs *handshake) {
	c := hs.c
	defer h.untrack(c)
	defer c.Close()
	var fl faultLane // delays inbound frames while a link fault is set
	defer fl.close()
	// A small buffer for the handshake: a connection waiting for its
	// hello costs little (see maxHelloConns).
	hr := bufio.NewReaderSize(c, handshakeBufBytes)
	deadline := time.Now().Add(h.handshakeTimeout)
	c.SetDeadline(deadline)
	from, err := serverHandshake(hr, c, h.cfg.ClusterID, h.cfg.Token, h.cfg.Self, func() error {
		if err := h.awaitProof(hs, deadline); err != nil {
			return err
		}
		if d := time.Now().Add(h.proofWindow); d.Before(deadline) {
			c.SetDeadline(d)
		}
		return nil
	})
	if err != nil {
		if raw, ok := plainClientOnTLS(err); ok {
			// A raysim client without TLS: tell it, in the clear, under
			// the deadline set above (the TLS conn sets it on raw).
			raw.Write(refusal(refuseWantTLS))
			lingerClose(raw)
			err = fmt.Errorf("a client without TLS, and this host requires it: %w", err)
		} else if errors.As(err, new(refused)) {
			lingerClose(c)
		}
		if h.endHandshake(hs) { // else evicted: counted as such by acceptLoop
			h.stats.refused.Add(1)
			h.log.Warn("tcp: refused connection", "remote", c.RemoteAddr(), "err", err)
		}
		return
	}
	if err := h.authenticated(hs, from); err != nil {
		if errors.Is(err, errTooManyConns) {
			h.stats.refused.Add(1)
			h.log.Warn("tcp: refused connection", "remote", c.RemoteAddr(), "peer", uint32(from), "err", err)
		}
		return
	}
	defer h.leaveInbound(from)
	c.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(afterHandshake(hr, c), readBufBytes)
	h.log.Debug("tcp: peer connected", "peer", uint32(from), "remote", c.RemoteAddr())
	var buf []byte
	var dec transport.Decoder // one per connection: no allocation per frame
	dec.Intern()
	batch := make([]transport.Message, 0, maxReadBatch)
	for {
		body, err := transport.ReadFrame(br, buf)
		if err != nil {
			if errors.Is(err, transport.ErrFrameTooLarge) || errors.Is(err, transport.ErrBadFrame) {
				h.stats.decodeErrors.Add(1)
				h.log.Warn("tcp: bad frame, closing connection", "peer", uint32(from), "err", err)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				h.log.Debug("tcp: connection lost", "peer", uint32(from), "err", err)
			}
			return
		}
		if cap(body) <= keepBufBytes {
			buf = body // reuse: Unmarshal copies what it keeps
		}
		m, err := dec.UnmarshalMessage(body)
		if err != nil {
			h.stats.decodeErrors.Add(1)
			h.log.Warn("tcp: undecodable frame, closing connection", "peer", uint32(from), "err", err)
			return
		}
		// A chunk's payload follows its frame (transport.PadBytes): read
		// and dropped here, so the bytes cross the socket but are not kept.
		pad := transport.PadBytes(m)
		if pad > transport.MaxPadBytes {
			h.stats.decodeErrors.Add(1)
			h.log.Warn("tcp: bad frame, closing connection", "peer", uint32(from), "err", fmt.Errorf("%w: %d bytes", transport.ErrPadTooLarge, pad))
			return
		}
		if pad > 0 {
			// The messages before it have arrived whole: hand them over
			// before waiting for the pad's bytes (a chunk's megabyte on a
			// slow link), never holding them behind it.
			if len(batch) > 0 {
				if !h.deliver(&fl, from, batch) {
					return
				}
				batch = make([]transport.Message, 0, maxReadBatch)
			}
			if _, err := br.Discard(int(pad)); err != nil {
				if !errors.Is(err, net.ErrClosed) {
					h.log.Debug("tcp: connection lost", "peer", uint32(from), "err", err)
				}
				return
			}
		}
		h.stats.framesIn.Add(1)
		h.stats.bytesIn.Add(uint64(int64(len(body)+transport.FrameHeaderBytes) + pad))
		batch = append(batch, m)
		// Hand over what has arrived as one inbox item, but never hold a
		// message back while waiting for more bytes.
		if len(batch) < maxReadBatch && frameBuffered(br) {
			continue
		}
		if !h.deliver(&fl, from, batch) {
			return
		}
		batch = make([]transport.Message, 0, maxReadBatch)
	}
}

// lingerTime and lingerBytes bound what lingerClose waits for and reads.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 64 << 10
)

// lingerClose half-closes c after a refusal was written to it and reads
// (and drops) what the peer still sends, until it hangs up, for at most
// lingerTime and lingerBytes, before the caller closes c: closing a socket
// with unread input resets the connection, and a reset can destroy the
// refusal before the peer reads it. The connection stays in the hello
// stage meanwhile, as one that has not spoken (its hello, if any, was
// refused before it could): a newer connection closes it at once when
// the stage is full (see admit).
func lingerClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c, lingerBytes)
}

// afterHandshake is what serve reads frames from once the handshake over
// hr (c's small handshake buffer) has succeeded: c, or, if the peer sent
// bytes past its proof before the host's answer (a raysim dialer never
// does), those bytes and then c.
func afterHandshake(hr *bufio.Reader, c net.Conn) io.Reader {
	n := hr.Buffered()
	if n == 0 {
		return c
	}
	early, _ := hr.Peek(n)
	return io.MultiReader(bytes.NewReader(slices.Clone(early)), c)
}

// frameBuffered reports whether a whole frame sits in r's buffer already.
func frameBuffered(r *bufio.Reader) bool {
	if r.Buffered() < transport.FrameHeaderBytes {
		return false
	}
	hdr, _ := r.Peek(transport.FrameHeaderBytes)
	return uint64(r.Buffered()) >= transport.FrameHeaderBytes+uint64(binary.LittleEndian.Uint32(hdr))
}

// peer is the outbound side of one link: frames queued by the loop and the
// writer goroutine that dials, handshakes and writes them.
type peer struct {
	h    *Host
	id   transport.NodeID
	wake chan struct{} // capacity 1: "pend is not empty"
	quit chan struct{} // closed by ForgetPeer: the writer ends
	rand *rand.Rand    // backoff jitter; writer-owned
	// addressed is set once the writer has found an address for the peer;
	// until then the peer counts against maxUnaddressed and its queue is
	// bounded by unaddressedQueueBytes.
	addressed atomic.Bool

	mu       sync.Mutex
	pend     []byte            // encoded frames, ready to write as they are
	pads     []pad             // payloads to write after frames in pend, in order
	enc      transport.Encoder // encodes into pend
	frames   int               // frames in pend
	dropping bool              // a drop was logged and no write has succeeded since
	ended    bool              // the writer gave up waiting for an address: drop everything
	// padBytes is the payload of the pads in pend, at most the host's
	// padMax (or one pad's): the object chunks' bytes a message queued
	// now waits behind, besides the batch being written.
	padBytes int64
	// held are the frames of padded messages (object chunks) queued past
	// padMax, in order, encoded in heldBuf: they join pend, behind what
	// was queued meanwhile, as its pads are written (refill). Their
	// frames count against the queue's bound, their payloads not.
	held    []heldFrame
	heldBuf []byte
}

// heldFrame is one frame in peer.heldBuf: its encoded length (length
// prefix included) and its payload.
type heldFrame struct {
	size int
	pad  int64
}

func newPeer(h *Host, id transport.NodeID) *peer {
	return &peer{
		h:    h,
		id:   id,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		rand: rand.New(rand.NewPCG(h.rand.Uint64(), uint64(id))),
	}
}

// pad is a frame's payload (transport.PadBytes) in a pending batch: n
// bytes, written from zeros, go at offset at of the batch's frames. It
// takes no memory in the queue, and does not count against its bound,
// which bounds memory; the pads queued at once are bounded apart
// (Host.padMax), which bounds the time a message waits behind them.
type pad struct {
	at int
	n  int64
}

// zeros is what payloads are written from; never written itself, so every
// writer shares it.
var zeros [256 << 10]byte

// writeChunkBytes bounds what one write call of the writer is given, so
// writeTimeout bounds a write's lack of progress, not the time a large
// batch of payloads takes to drain.
const writeChunkBytes = 4 << 20

// enqueue encodes m straight into the pending batch (drop-new past the
// bound) and wakes the writer. A padded message (an object chunk) whose
// payload would take the batch's pads past the host's padMax is held
// instead, as are those after it, until the writer has room for them
// (refill): a large object's chunks are written a budget at a time, and
// what is queued meanwhile goes between, not behind every one of them
// (a pull of a 64 GiB Blob held a link's other traffic behind 64 GiB of
// writes: review29 finding 3). So a connection is not FIFO for a chunk
// held and what is queued after it (Stats.Overtook), unlike netsim's
// connections. Of what a raylet sends a puller, only PullFailed touches a
// pull's state; it may come before the chunks of the copy the source had
// (they still count), and a pull tells a copy's chunks from another's
// (transport.ObjectChunk.Sum): node's TestPullFailedOvertakesItsChunks
// and ray's TestHeldChunksOvertakenTCP guard it.
func (p *peer) enqueue(m transport.Message) {
	p.mu.Lock()
	start := len(p.pend)
	p.pend = append(p.pend, 0, 0, 0, 0)
	p.pend = p.enc.AppendMessage(p.pend, m)
	n := len(p.pend) - start - transport.FrameHeaderBytes
	padN := transport.PadBytes(m)
	var why string
	switch {
	case n > transport.MaxBodyBytes:
		why = "message larger than a frame"
	case padN > transport.MaxPadBytes:
		why = "payload larger than a frame"
	case p.ended:
		why = "no address for peer"
	case len(p.pend)+len(p.heldBuf) > p.h.queueMax:
		why = "send queue full"
	case (start > 0 || len(p.held) > 0) && len(p.pend)+len(p.heldBuf) > unaddressedQueueBytes && !p.addressed.Load() && p.h.peerAddr(p.id) == "":
		// (One frame always fits, as in the full queue's bound.)
		why = "no address for peer"
	}
	if why != "" {
		p.pend = p.pend[:start]
		logIt := !p.dropping
		p.dropping = true
		p.mu.Unlock()
		p.h.stats.dropped.Add(1)
		if logIt {
			p.h.log.Warn("tcp: dropping outbound frames", "peer", uint32(p.id), "reason", why, "kind", m.Kind(), "bytes", n)
		}
		return
	}
	binary.LittleEndian.PutUint32(p.pend[start:], uint32(n))
	switch {
	case padN > 0 && (len(p.held) > 0 || p.padBytes > 0 && p.padBytes+padN > p.h.padMax):
		p.heldBuf = append(p.heldBuf, p.pend[start:]...)
		p.held = append(p.held, heldFrame{size: len(p.pend) - start, pad: padN})
		p.pend = p.pend[:start]
	case padN > 0:
		p.pads = append(p.pads, pad{at: len(p.pend), n: padN})
		p.padBytes += padN
		p.frames++
	default:
		p.frames++
		if len(p.held) > 0 {
			p.h.stats.overtook.Add(1) // it goes out ahead of the held chunks
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run is the writer: it keeps one connection up while it has frames to
// write (redialing with backoff) and writes everything queued since its
// last write in one call. A connection the peer closed is redialed when
// the next frame is queued, not at once: a peer that has gone for good (a
// status query's agent that got its answer and exited) is not dialed, and
// its failures logged, until the host forgets it.
func (p *peer) run() {
	h := p.h
	var (
		conn      net.Conn
		dead      <-chan struct{}
		spare     []byte
		sparePads []pad
		bufs      net.Buffers // write's scratch
		backoff   = backoffMin
		failing   = false
		// noAddrSince is when dialing first failed for want of an
		// address (zero while the peer has one).
		noAddrSince time.Time
		// idle: the connection closed with nothing queued; dial once
		// something is.
		idle bool
	)
	defer func() {
		if conn != nil { // ForgetPeer or Close: let go of the connection
			conn.Close()
			h.untrack(conn)
		}
	}()
	for {
		for conn == nil && idle {
			select {
			case <-p.wake:
			case <-h.done:
				return
			case <-p.quit:
				return
			}
			p.mu.Lock()
			idle = p.frames == 0 && len(p.held) == 0 // (a wake left over from a batch already written)
			p.mu.Unlock()
			if !idle {
				// Keep the signal for the write below.
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
		}
		if conn == nil {
			c, d, err := p.dial()
			if errors.Is(err, errNoAddress) {
				if noAddrSince.IsZero() {
					noAddrSince = time.Now()
				} else if time.Since(noAddrSince) >= h.unaddressedTTL {
					p.expire()
					return
				}
			} else {
				noAddrSince = time.Time{}
			}
			if err != nil {
				h.stats.dialFailures.Add(1)
				if h.cfg.OnDialError != nil {
					h.cfg.OnDialError(p.id, err)
				}
				if !failing {
					h.log.Warn("tcp: cannot reach peer, retrying", "peer", uint32(p.id), "err", err)
				}
				failing = true
				// Full jitter over the upper half: peers restarted together
				// do not redial in lockstep.
				sleep := backoff/2 + time.Duration(p.rand.Int64N(int64(backoff/2)+1))
				backoff = min(2*backoff, backoffMax)
				select {
				case <-time.After(sleep):
					continue
				case <-h.done:
					return
				case <-p.quit:
					return
				}
			}
			if failing {
				h.log.Info("tcp: peer reachable again", "peer", uint32(p.id))
			}
			conn, dead, backoff, failing = c, d, backoffMin, false
		}
		select {
		case <-p.wake:
		case <-dead:
			conn.Close()
			h.untrack(conn)
			conn = nil
			p.mu.Lock()
			idle = p.frames == 0 && len(p.held) == 0
			p.mu.Unlock()
			continue
		case <-h.done:
			return
		case <-p.quit:
			return
		}
		p.mu.Lock()
		p.refill()
		batch, frames, pads := p.pend, p.frames, p.pads
		p.pend, p.frames, p.pads, p.padBytes = spare[:0], 0, sparePads[:0], 0
		if len(p.held) > 0 {
			// Held chunks are next, once this batch is written: keep
			// the signal (nothing else may come to wake the writer).
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		p.mu.Unlock()
		if frames == 0 {
			spare, sparePads = batch, pads
			continue
		}
		var (
			wrote int64
			err   error
		)
		if len(pads) == 0 {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			var n int
			n, err = conn.Write(batch)
			wrote = int64(n)
		} else {
			wrote, err = writePadded(conn, batch, pads, &bufs)
		}
		if err != nil {
			h.stats.dropped.Add(uint64(frames))
			h.log.Warn("tcp: write failed, reconnecting", "peer", uint32(p.id), "frames_lost", frames, "err", err)
			conn.Close()
			h.untrack(conn)
			conn = nil
		} else {
			h.stats.framesOut.Add(uint64(frames))
			h.stats.bytesOut.Add(uint64(wrote))
			p.mu.Lock()
			p.dropping = false
			p.mu.Unlock()
		}
		spare, sparePads = batch[:0], pads[:0]
		if cap(spare) > keepBufBytes {
			spare = nil
		}
		if cap(sparePads) > keepBufBytes/16 {
			sparePads = nil
		}
	}
}

// refill moves held frames into pend, in order, while their pads fit the
// host's padMax with pend's (one at least when pend has none). Called
// with p.mu held.
func (p *peer) refill() {
	k, size := 0, 0
	for k < len(p.held) {
		h := p.held[k]
		if p.padBytes > 0 && p.padBytes+h.pad > p.h.padMax {
			break
		}
		p.pend = append(p.pend, p.heldBuf[size:size+h.size]...)
		size += h.size
		p.pads = append(p.pads, pad{at: len(p.pend), n: h.pad})
		p.padBytes += h.pad
		p.frames++
		k++
	}
	if k == 0 {
		return
	}
	p.held = p.held[k:]
	p.heldBuf = p.heldBuf[size:]
	if len(p.held) == 0 {
		p.held, p.heldBuf = nil, nil // let the arrays go
	}
}

// writePadded writes batch with each pad's payload (zero bytes) inserted
// at its offset, in calls of at most about writeChunkBytes (vectored where
// the connection allows), each under its own writeTimeout. It returns the
// bytes written; bufs is scratch kept between calls.
func writePadded(conn net.Conn, batch []byte, pads []pad, bufs *net.Buffers) (int64, error) {
	var total int64
	b := (*bufs)[:0]
	size := 0
	flush := func() error {
		if len(b) == 0 {
			return nil
		}
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		w := b // WriteTo consumes its receiver; b keeps the backing array
		n, err := w.WriteTo(conn)
		total += n
		clear(b) // drop references to the batch (the array is kept as scratch)
		b, size = b[:0], 0
		return err
	}
	add := func(seg []byte) error {
		b = append(b, seg)
		if size += len(seg); size >= writeChunkBytes {
			return flush()
		}
		return nil
	}
	last := 0
	for _, pd := range pads {
		if pd.at > last {
			if err := add(batch[last:pd.at]); err != nil {
				return total, err
			}
			last = pd.at
		}
		for left := pd.n; left > 0; {
			k := min(left, int64(len(zeros)))
			if err := add(zeros[:k]); err != nil {
				return total, err
			}
			left -= k
		}
	}
	if last < len(batch) {
		if err := add(batch[last:]); err != nil {
			return total, err
		}
	}
	err := flush()
	*bufs = b
	return total, err
}

// expire ends a writer that never found an address for its peer: its
// frames are dropped and counted, and so is anything queued until the loop
// removes the peer (a later Send starts a new writer).
func (p *peer) expire() {
	h := p.h
	p.mu.Lock()
	p.ended = true
	frames := p.frames + len(p.held)
	p.pend, p.frames, p.pads, p.padBytes = nil, 0, nil, 0
	p.held, p.heldBuf = nil, nil
	p.mu.Unlock()
	h.stats.dropped.Add(uint64(frames))
	h.log.Warn("tcp: no address for peer, giving up", "peer", uint32(p.id), "frames_lost", frames)
	h.post(item{f: func() {
		if h.peers[p.id] == p {
			delete(h.peers, p.id)
		}
	}})
}

// errNoAddress is dial's error for a peer nobody has given an address.
var errNoAddress = errors.New("no address")

// dial connects to the peer's current address and runs the client
// handshake. dead is closed when the peer closes the connection (it never
// writes after the handshake, so any read result means the link is gone).
func (p *peer) dial() (net.Conn, <-chan struct{}, error) {
	h := p.h
	addr := h.peerAddr(p.id)
	if addr == "" {
		return nil, nil, fmt.Errorf("node %d: %w", p.id, errNoAddress)
	}
	p.addressed.Store(true)
	h.stats.dials.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), h.handshakeTimeout)
	defer cancel()
	go func() {
		select {
		case <-h.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	c, err := h.dialConn(ctx, addr)
	if err != nil {
		if r := refusalFromTLS(err); r != err { // a plain peer refused our TLS
			return nil, nil, fmt.Errorf("handshake with %s: %w", addr, r)
		}
		return nil, nil, err
	}
	if !h.track(c) {
		c.Close()
		return nil, nil, net.ErrClosed
	}
	c.SetDeadline(time.Now().Add(h.handshakeTimeout))
	br := bufio.NewReaderSize(c, 512)
	if err := clientHandshake(br, c, h.cfg.ClusterID, h.cfg.Token, h.cfg.Self, p.id); err != nil {
		c.Close()
		h.untrack(c)
		return nil, nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	dead := make(chan struct{})
	go func() {
		var b [1]byte
		br.Read(b[:])
		close(dead)
	}()
	return c, dead, nil
}
