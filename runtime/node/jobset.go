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
// per driver node, the driver numbers ended, as a spanSet. Drivers are
// numbered upward per node (NewJobDriver, counted by whoever starts them)
// and mostly return in order, so the spans fold together as gaps fill:
// its size grows with the drivers still running between ended ones, not
// with the drivers ever ended (a map of every ended job grew by one entry
// per driver, forever, on every raylet: review29 finding 4). A number as
// high as 2^32-1 is one span like any other. The zero value is empty.
type jobSet struct {
	byNode map[transport.NodeID]spanSet
	// full are the nodes whose spans reached maxJobSpans, and were
	// warned of once.
	full map[transport.NodeID]bool
}

// has reports whether job's driver returned.
func (s *jobSet) has(job transport.JobID) bool {
	return s.byNode[job.Node()].has(uint64(job.Driver()))
}

// add records job as ended. It reports false, recording nothing, if job
// would take its node past maxJobSpans spans (a caller acts on the end
// all the same: only its memory is refused); first reports whether this
// is the node's first refusal, for a single warning.
func (s *jobSet) add(job transport.JobID) (ok, first bool) {
	node := job.Node()
	spans := s.byNode[node]
	if !spans.add(uint64(job.Driver()), 0, maxJobSpans) {
		if s.full[node] {
			return false, false
		}
		if s.full == nil {
			s.full = make(map[transport.NodeID]bool)
		}
		s.full[node] = true
		return false, true
	}
	if s.byNode == nil {
		s.byNode = make(map[transport.NodeID]spanSet)
	}
	s.byNode[node] = spans
	return true, false
}

// spans is how many spans the set holds for node (tests).
func (s *jobSet) spans(node transport.NodeID) int { return len(s.byNode[node]) }

// A spanSet is a set of numbers as sorted disjoint spans, apart (two
// spans that touch are one). Numbers handed out upward and mostly retired
// in order — a node's driver numbers (jobSet), the node IDs the head
// hands out (Raylet.jobsEnded), the nodes a raylet's table of deaths
// folds (deadNodes.gone) — fold together as gaps fill, so the set's size
// grows with the numbers still in use between retired ones, not with the
// numbers ever retired. Each span may carry a number, the highest given
// for any of its members (deadNodes: the highest dead incarnation); sets
// that need none give 0. The zero value is empty.
type spanSet []span

// A span is the numbers lo..hi-1 (hi is a uint64: a span of 2^64-1 would
// end at 2^64: add refuses that one number), with its number top.
type span struct{ lo, hi, top uint64 }

// has reports whether n is in the set.
func (s spanSet) has(n uint64) bool {
	_, ok := s.at(n)
	return ok
}

// at is the number of the span holding n, if any holds it.
func (s spanSet) at(n uint64) (uint64, bool) {
	if i := s.find(n); i < len(s) && s[i].lo <= n {
		return s[i].top, true
	}
	return 0, false
}

// find is the index of the first span (sorted) that ends after n: the one
// holding n, if any holds it.
func (s spanSet) find(n uint64) int {
	i, _ := slices.BinarySearchFunc(s, n, func(sp span, n uint64) int {
		if sp.hi <= n {
			return -1
		}
		return 1
	})
	return i
}

// add puts n in the set with number top: its span's number is the higher
// of the two, and spans it makes touch fold into one, with the highest.
// It reports false, changing nothing, if n would take the set past limit
// spans (or is 2^64-1).
func (s *spanSet) add(n, top uint64, limit int) bool {
	spans := *s
	i := spans.find(n)
	switch {
	case n == ^uint64(0):
		return false
	case i < len(spans) && spans[i].lo <= n:
		spans[i].top = max(spans[i].top, top) // already there
	case i > 0 && spans[i-1].hi == n && i < len(spans) && spans[i].lo == n+1:
		spans[i-1].hi = spans[i].hi // fills the gap between two spans
		spans[i-1].top = max(spans[i-1].top, spans[i].top, top)
		spans = slices.Delete(spans, i, i+1)
	case i > 0 && spans[i-1].hi == n:
		spans[i-1].hi = n + 1
		spans[i-1].top = max(spans[i-1].top, top)
	case i < len(spans) && spans[i].lo == n+1:
		spans[i].lo = n
		spans[i].top = max(spans[i].top, top)
	default:
		if len(spans) >= limit {
			return false
		}
		spans = slices.Insert(spans, i, span{n, n + 1, top})
	}
	*s = spans
	return true
}

// remove takes n out of the set (splitting its span: both halves keep its
// number, and the set may then hold one span more than add's limit, never
// more).
func (s *spanSet) remove(n uint64) {
	spans := *s
	i := spans.find(n)
	if i == len(spans) || spans[i].lo > n {
		return
	}
	sp := spans[i]
	switch {
	case sp.lo == n && sp.hi == n+1:
		spans = slices.Delete(spans, i, i+1)
	case sp.lo == n:
		spans[i].lo = n + 1
	case sp.hi == n+1:
		spans[i].hi = n
	default:
		spans[i].hi = n
		spans = slices.Insert(spans, i+1, span{n + 1, sp.hi, sp.top})
	}
	*s = spans
}
