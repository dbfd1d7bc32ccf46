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
	if !spans.add(uint64(job.Driver()), maxJobSpans) {
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
// hands out (Raylet.jobsEnded) — fold together as gaps fill, so the set's
// size grows with the numbers still in use between retired ones, not with
// the numbers ever retired. The zero value is empty.
type spanSet []jobSpan

// A jobSpan is the numbers lo..hi-1 (hi is a uint64: a span of 2^64-1
// would end at 2^64: add refuses that one number).
type jobSpan struct{ lo, hi uint64 }

// has reports whether n is in the set.
func (s spanSet) has(n uint64) bool {
	i := spanAt(s, n)
	return i < len(s) && s[i].lo <= n
}

// spanAt is the index of the first span of spans (sorted) that ends
// after n: the one holding n, if any holds it.
func spanAt(spans spanSet, n uint64) int {
	i, _ := slices.BinarySearchFunc(spans, n, func(sp jobSpan, n uint64) int {
		if sp.hi <= n {
			return -1
		}
		return 1
	})
	return i
}

// add puts n in the set. It reports false, changing nothing, if n would
// take the set past limit spans (or is 2^64-1).
func (s *spanSet) add(n uint64, limit int) bool {
	spans := *s
	i := spanAt(spans, n)
	switch {
	case n == ^uint64(0):
		return false
	case i < len(spans) && spans[i].lo <= n:
		return true // already there
	case i > 0 && spans[i-1].hi == n && i < len(spans) && spans[i].lo == n+1:
		spans[i-1].hi = spans[i].hi // fills the gap between two spans
		spans = slices.Delete(spans, i, i+1)
	case i > 0 && spans[i-1].hi == n:
		spans[i-1].hi = n + 1
	case i < len(spans) && spans[i].lo == n+1:
		spans[i].lo = n
	default:
		if len(spans) >= limit {
			return false
		}
		spans = slices.Insert(spans, i, jobSpan{n, n + 1})
	}
	*s = spans
	return true
}

// remove takes n out of the set (splitting its span: the set may then
// hold one span more than limit, never more).
func (s *spanSet) remove(n uint64) {
	spans := *s
	i := spanAt(spans, n)
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
		spans = slices.Insert(spans, i+1, jobSpan{n + 1, sp.hi})
	}
	*s = spans
}
