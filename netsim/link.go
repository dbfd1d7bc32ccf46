package netsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Link is the model of one directed link. The zero value is a perfect link:
// no delay, infinite bandwidth, no loss.
type Link struct {
	Latency Dist          // one-way propagation delay
	Jitter  time.Duration // extra uniform delay in [0, Jitter)
	// Bandwidth in bytes per second; 0 means infinite. A message occupies
	// the directed link for size/Bandwidth; a message cannot start
	// transmitting before the previous one on the same link has finished
	// (a per-directed-link queue), so a saturated link delays everything
	// behind it.
	Bandwidth float64
	// Per-message probabilities in [0, 1].
	Loss      float64 // the message is dropped
	Duplicate float64 // a second copy is delivered too (after the first)
	// Reorder: the message gets an extra random delay, uniform in
	// [0, 2*max(latency sample, 1ms)), and skips the FIFO clamp, so later
	// messages on the link may overtake it. Other messages on the link stay
	// FIFO among themselves.
	Reorder float64
}

// DistKind selects the shape of a [Dist].
type DistKind uint8

const (
	DistConstant DistKind = iota
	DistUniform
	DistNormal
	DistLogNormal
	DistExponential
)

func (k DistKind) String() string {
	switch k {
	case DistConstant:
		return "constant"
	case DistUniform:
		return "uniform"
	case DistNormal:
		return "normal"
	case DistLogNormal:
		return "lognormal"
	case DistExponential:
		return "exponential"
	}
	return "DistKind(?)"
}

// Dist is a distribution of durations. The zero value is Constant(0).
//
// Min and Max are the bounds of a Uniform distribution; for the other kinds
// they are optional clamps (a sample is raised to Min, and lowered to Max
// when Max > 0). A sample is never negative.
type Dist struct {
	Kind     DistKind
	Mean     time.Duration
	Stddev   time.Duration
	Min, Max time.Duration
}

// Constant always yields d.
func Constant(d time.Duration) Dist { return Dist{Kind: DistConstant, Mean: d} }

// Uniform yields a duration uniform in [min, max).
func Uniform(min, max time.Duration) Dist {
	if max < min {
		min, max = max, min
	}
	return Dist{Kind: DistUniform, Mean: (min + max) / 2, Min: min, Max: max}
}

// Normal yields mean + stddev*N(0,1), clamped at >= 0.
func Normal(mean, stddev time.Duration) Dist {
	return Dist{Kind: DistNormal, Mean: mean, Stddev: stddev}
}

// LogNormal yields a log-normal duration whose own mean and standard
// deviation are mean and stddev (converted to mu and sigma of the
// underlying normal).
func LogNormal(mean, stddev time.Duration) Dist {
	return Dist{Kind: DistLogNormal, Mean: mean, Stddev: stddev}
}

// Exponential yields an exponentially distributed duration with the given mean.
func Exponential(mean time.Duration) Dist { return Dist{Kind: DistExponential, Mean: mean} }

// Sample draws one duration. Constant draws nothing from r.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	var v float64
	switch d.Kind {
	case DistConstant:
		if d.Min == 0 && d.Max == 0 && d.Mean >= 0 && d.Mean < 1<<53 {
			return d.Mean // what clamp returns: exact in a float64, no bound applies
		}
		return d.clamp(float64(d.Mean))
	case DistUniform:
		if d.Max <= d.Min {
			return max(d.Min, 0)
		}
		return max(d.Min+time.Duration(r.Int64N(int64(d.Max-d.Min))), 0)
	case DistNormal:
		// float64(x*y) rounds the product on its own: without it arm64
		// fuses x*y+z into one instruction that rounds once, and a draw
		// near a rounding boundary lands a nanosecond apart from amd64's.
		v = float64(d.Mean) + float64(r.NormFloat64()*float64(d.Stddev))
	case DistLogNormal:
		m := float64(d.Mean)
		if m <= 0 {
			return d.clamp(0)
		}
		sd := float64(d.Stddev)
		sigma2 := math.Log1p(sd * sd / (m * m))
		mu := math.Log(m) - float64(sigma2/2)
		v = math.Exp(mu + float64(math.Sqrt(sigma2)*r.NormFloat64()))
	case DistExponential:
		v = r.ExpFloat64() * float64(d.Mean)
	default:
		return d.clamp(float64(d.Mean))
	}
	return d.clamp(v)
}

func (d Dist) clamp(v float64) time.Duration {
	if v < float64(d.Min) {
		v = float64(d.Min)
	}
	if d.Max > 0 && v > float64(d.Max) {
		v = float64(d.Max)
	}
	if v < 0 || v != v {
		return 0
	}
	if v >= never {
		return never
	}
	return time.Duration(v)
}

// never is the latest virtual time (ns) anything is scheduled for: times
// past it (a huge transmission time, latency, timer) saturate here rather
// than wrap around into the past.
const never = math.MaxInt64 / 2

// later is t+d (d >= 0) saturated at never; a t past never (Sim.At and
// RunUntil take any time) stays t, so nothing is scheduled before now.
func later(t, d int64) int64 {
	if d >= never-t {
		return max(t, never)
	}
	return t + d
}

// linkState is the mutable state of one directed link.
type linkState struct {
	from, to NodeID
	override Link
	hasLink  bool
	deg      Degradation   // Degrade, until Restore
	degID    DegradationID // deg's id (0: none)
	txFree   int64         // bandwidth queue: when the link is free to transmit
	lastAt   int64         // FIFO clamp: latest in-order delivery time
	tx       []txRec       // messages sent under a bandwidth cap, in order (see retime)
}

// txRec is a message sent on a link while a degradation capped its
// bandwidth (and those sent after it while any is recorded): what retime
// needs to move its delivery when the cap changes.
type txRec struct {
	msg, dup   *txMsg  // its delivery and its duplicate's (nil: lost, none)
	size       int64   // the message's
	bytes      float64 // left to transmit from start
	dep        int64   // when it could depart (sender's busy-until)
	start, end int64   // its transmission
	at, at2    int64   // delivery times (the duplicate's)
	delay      int64   // at - end before the FIFO clamp
	dupGap     int64   // at2 - at before the FIFO clamp
	prevLast   int64   // the link's lastAt before it was sent
	reordered  bool    // picked for reordering: skips the FIFO clamp
}

// txMsg is the payload of a re-timable delivery (itemDeliverTx).
type txMsg struct {
	payload any
	dead    bool // re-timed: a later item carries the message
	done    bool // its item has run
}

// wrapTx makes the just-scheduled delivery it re-timable.
func (s *Sim) wrapTx(it *item) *txMsg {
	w := &txMsg{payload: it.payload}
	it.setKind(itemDeliverTx)
	it.payload = w
	return w
}

// pruneTx forgets the records at the front that have left the link.
func (ls *linkState) pruneTx(now int64) {
	k := 0
	for k < len(ls.tx) && ls.tx[k].end <= now {
		k++
	}
	if k == len(ls.tx) {
		clear(ls.tx)
		ls.tx = ls.tx[:0]
	} else if k > 0 {
		clear(ls.tx[:k])
		ls.tx = ls.tx[k:]
	}
}

// bandwidth is the link's effective bandwidth (0: infinite).
func (s *Sim) bandwidth(ls *linkState) float64 {
	bw := s.cfg.Link.Bandwidth
	if ls.hasLink {
		bw = ls.override.Bandwidth
	}
	if d := ls.deg.Bandwidth; d > 0 && (bw == 0 || d < bw) {
		bw = d
	}
	return bw
}

// retime moves the recorded messages of ls that have not finished
// transmitting to the link's new bandwidth bw: the rest of the one being
// transmitted, and those queued behind it, go out at bw from now, and
// arrive that much earlier (or later), keeping their latency and the
// link's FIFO order. Messages already transmitted keep their times.
func (s *Sim) retime(ls *linkState) {
	ls.pruneTx(s.now)
	if len(ls.tx) == 0 {
		return
	}
	src, dst := s.node(ls.from), s.node(ls.to)
	bw := s.bandwidth(ls)
	cursor, last := s.now, ls.tx[0].prevLast
	first, moved := true, false
	// Once one delivery moves (a new item, so a new sequence number), every
	// later one of the link moves too, in order: among equal times the
	// queue runs items in scheduling order, and the link must stay FIFO.
	force := false
	for i := range ls.tx {
		r := &ls.tx[i]
		r.prevLast = last // what it was sent after has moved too
		end := r.end
		switch {
		case r.end <= s.now:
			// Left the link already (a message of no size, sent while the
			// sender was busy): it keeps its own latency, and stays behind
			// what came before it.
		case r.bytes <= 0:
			// Takes no transmission: departs at r.dep as before.
		case r.start < s.now: // being transmitted: the rest at bw
			r.bytes *= float64(r.end-s.now) / float64(r.end-r.start)
			r.start = s.now
			r.end = later(r.start, txTime(r.bytes, bw))
			cursor, moved = r.end, true
			first = false
		default:
			if !first {
				r.start = max(cursor, r.dep)
			} // (the first keeps its start: what is ahead of it is not re-timed)
			r.end = later(r.start, txTime(r.bytes, bw))
			cursor, moved = r.end, true
			first = false
		}
		if r.msg == nil {
			continue // lost: it only held the link
		}
		at := max(later(r.end, r.delay), s.now)
		if !r.reordered {
			at = max(at, last)
		}
		r.msg, r.at, force = s.moveTx(r.msg, r.at, at, end, r.end, dst, src, r.size, force)
		if !r.reordered {
			last = max(last, r.at)
		}
		if r.dup != nil {
			at2 := max(later(r.at, r.dupGap), s.now)
			if !r.reordered {
				at2 = max(at2, last)
			}
			r.dup, r.at2, force = s.moveTx(r.dup, r.at2, at2, end, r.end, dst, src, r.size, force)
			if !r.reordered {
				last = max(last, r.at2)
			}
		}
	}
	if moved {
		ls.txFree = cursor
	}
	ls.lastAt = last
}

// moveTx moves delivery w, due at old having left at oldLeft, to at having
// left at left: a new item, the old one dead (uncounted now). It leaves w
// alone if it has run or is unchanged and not forced, and reports whether
// the deliveries after it must move.
func (s *Sim) moveTx(w *txMsg, old, at, oldLeft, left int64, dst, src *Node, size int64, force bool) (*txMsg, int64, bool) {
	if w.done || (!force && at == old && left == oldLeft) {
		return w, old, force
	}
	w.dead = true
	s.live--
	return s.wrapTx(s.scheduleDeliver(at, left, dst, src, w.payload, size)), at, true
}

func linkKey(from, to NodeID) uint64 { return uint64(from)<<32 | uint64(to) }

// denseMax bounds the ids served by direct-indexed tables (nodes, per-node
// outgoing links); larger ids fall back to maps.
const denseMax = 1 << 12

// linkState is the state of link from -> to (created on first use); the
// map is authoritative, and its pointers are stable.
func (s *Sim) linkState(from, to NodeID) *linkState {
	k := linkKey(from, to)
	ls := s.links[k]
	if ls == nil {
		ls = &linkState{from: from, to: to}
		s.links[k] = ls
		fn, tn := s.node(from), s.node(to)
		if fn != nil {
			fn.links = append(fn.links, ls)
		}
		if tn != nil && to != from {
			tn.links = append(tn.links, ls)
		}
		if fn == nil || tn == nil {
			s.early = append(s.early, ls) // AddNode registers it
		}
	}
	return ls
}

// linkOf is linkState(n, dst) through n's cache, indexed by dst's dense
// index (so large node ids, like the runtime's GCS and scheduler, are
// served without a map lookup).
func (s *Sim) linkOf(n, dst *Node) *linkState {
	i := dst.idx
	if i < len(n.out) {
		if ls := n.out[i]; ls != nil {
			return ls
		}
	}
	ls := s.linkState(n.id, dst.id)
	if i < denseMax {
		if i >= len(n.out) {
			n.out = append(n.out, make([]*linkState, i+1-len(n.out))...)
		}
		n.out[i] = ls
	}
	return ls
}

// node looks up a node by id: a slice index for small ids.
func (s *Sim) node(id NodeID) *Node {
	if id < denseMax {
		if int(id) < len(s.dense) {
			return s.dense[id]
		}
		return nil
	}
	return s.nodes[id]
}
