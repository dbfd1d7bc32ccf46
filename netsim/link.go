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
		v = float64(d.Mean) + r.NormFloat64()*float64(d.Stddev)
	case DistLogNormal:
		m := float64(d.Mean)
		if m <= 0 {
			return d.clamp(0)
		}
		sd := float64(d.Stddev)
		sigma2 := math.Log1p(sd * sd / (m * m))
		mu := math.Log(m) - sigma2/2
		v = math.Exp(mu + math.Sqrt(sigma2)*r.NormFloat64())
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
	if v >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return time.Duration(v)
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
