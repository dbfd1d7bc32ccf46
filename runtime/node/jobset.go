package node

import (
	"slices"

	"raysim/runtime/transport"
)

// maxJobSpans bounds the spans a jobSet keeps per driver node: a node's
// ended driver numbers fold into one span while its drivers return in
// order, and each driver still running between ended ones splits it, so a
// legitimate run needs about one span per driver still running on the
// node. A peer that ends every other number of its own drivers (it may
// end only its own: Raylet.Handle, JobEnd) reaches the cap and its
// further ends are acted on but not remembered (jobSet.add).
const maxJobSpans = 1024

// A jobSet is the set of jobs whose drivers returned (Raylet.jobsDone):
// per driver node, the driver numbers ended, as sorted disjoint spans.
// Drivers are numbered upward per node (NewJobDriver, counted by whoever
// starts them) and mostly return in order, so the spans fold together as
// gaps fill: its size grows with the drivers still running between ended
// ones, not with the drivers ever ended (a map of every ended job grew by
// one entry per driver, forever, on every raylet: review29 finding 4). A
// number as high as 2^32-1 is one span like any other. The zero value is
// empty.
type jobSet struct {
	byNode map[transport.NodeID][]jobSpan
	// full are the nodes whose spans reached maxJobSpans, and were
	// warned of once.
	full map[transport.NodeID]bool
}

// A jobSpan is the driver numbers lo..hi-1 (hi is a uint64: driver
// 2^32-1's span ends at 2^32).
type jobSpan struct{ lo, hi uint64 }

// has reports whether job's driver returned.
func (s *jobSet) has(job transport.JobID) bool {
	spans := s.byNode[job.Node()]
	n := uint64(job.Driver())
	i := spanAt(spans, n)
	return i < len(spans) && spans[i].lo <= n
}

// spanAt is the index of the first span of spans (sorted) that ends
// after n: the one holding n, if any holds it.
func spanAt(spans []jobSpan, n uint64) int {
	i, _ := slices.BinarySearchFunc(spans, n, func(sp jobSpan, n uint64) int {
		if sp.hi <= n {
			return -1
		}
		return 1
	})
	return i
}

// add records job as ended. It reports false, recording nothing, if job
// would take its node past maxJobSpans spans (a caller acts on the end
// all the same: only its memory is refused); first reports whether this
// is the node's first refusal, for a single warning.
func (s *jobSet) add(job transport.JobID) (ok, first bool) {
	node, n := job.Node(), uint64(job.Driver())
	spans := s.byNode[node]
	i := spanAt(spans, n)
	switch {
	case i < len(spans) && spans[i].lo <= n:
		return true, false // already there
	case i > 0 && spans[i-1].hi == n && i < len(spans) && spans[i].lo == n+1:
		spans[i-1].hi = spans[i].hi // fills the gap between two spans
		spans = slices.Delete(spans, i, i+1)
	case i > 0 && spans[i-1].hi == n:
		spans[i-1].hi = n + 1
	case i < len(spans) && spans[i].lo == n+1:
		spans[i].lo = n
	default:
		if len(spans) >= maxJobSpans {
			if s.full[node] {
				return false, false
			}
			if s.full == nil {
				s.full = make(map[transport.NodeID]bool)
			}
			s.full[node] = true
			return false, true
		}
		spans = slices.Insert(spans, i, jobSpan{n, n + 1})
	}
	if s.byNode == nil {
		s.byNode = make(map[transport.NodeID][]jobSpan)
	}
	s.byNode[node] = spans
	return true, false
}

// spans is how many spans the set holds for node (tests).
func (s *jobSet) spans(node transport.NodeID) int { return len(s.byNode[node]) }
