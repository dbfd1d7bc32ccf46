package node

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestJobSetMatchesMap: a jobSet holds what a map of every ended job
// would, whatever order the ends come in, with fewer spans than ends.
func TestJobSetMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var s jobSet
		want := map[transport.JobID]bool{}
		nodes := []transport.NodeID{1, 7}
		for range rng.IntN(300) {
			j := transport.JobOf(nodes[rng.IntN(2)], uint32(rng.IntN(60)))
			ok, _ := s.add(j)
			require.True(t, ok)
			want[j] = true
		}
		for _, node := range nodes {
			for n := range uint32(70) {
				j := transport.JobOf(node, n)
				require.Equal(t, want[j], s.has(j), "round %d job %v", round, j)
			}
			spans := s.byNode[node]
			for i := 1; i < len(spans); i++ {
				require.Less(t, spans[i-1].hi, spans[i].lo, "round %d: spans %v not sorted, disjoint and apart", round, spans)
			}
		}
	}
}

// TestJobsDoneBounded: ten thousand drivers of a node end, nearly in
// order (each pair swapped), while one early driver never returns: the
// raylet remembers them all in two spans, where it used to keep an entry
// each, forever (review29 finding 4). Their tasks placed later are still
// refused, and the one running driver's are not.
func TestJobsDoneBounded(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const drivers = 10_000
	for n := uint32(1); n <= drivers; n += 2 {
		for _, k := range []uint32{n + 1, n} {
			if k == 3 {
				continue // driver 3 runs on
			}
			r.Handle(7, &transport.JobEnd{Job: transport.JobOf(7, k)})
		}
	}
	require.Equal(t, 2, r.jobsDone.spans(7))
	require.True(t, r.jobsDone.has(transport.JobOf(7, 2)))
	require.True(t, r.jobsDone.has(transport.JobOf(7, drivers)))
	require.False(t, r.jobsDone.has(transport.JobOf(7, 3)))
	require.False(t, r.jobsDone.has(transport.JobOf(7, drivers+1)))
	require.False(t, r.jobsDone.has(transport.JobOf(7, 0)))

	place := func(job transport.JobID, id transport.TaskID) {
		r.Handle(60, &transport.PlaceTask{Spec: transport.TaskSpec{ID: id, Func: "f", NumReturns: 1, Owner: 7,
			Act: &transport.ActorSpec{JobSet: true, Job: job}}})
	}
	place(transport.JobOf(7, 5000), 100)
	require.Zero(t, r.Stats.Placed, "a task of an ended job was accepted")
	place(transport.JobOf(7, 3), 101)
	require.Equal(t, uint64(1), r.Stats.Placed, "the running driver's task was refused")
}

// TestHostileJobEnds: a peer may end only its own drivers' jobs, but any
// number of them: driver 2^32-1 is one span, not a blow-up, and a peer
// that ends every other number fills its node's spans to
// maxJobSpans and no further, with one warning; its ends past the cap
// are acted on but not remembered. Another node's memory is its own.
func TestHostileJobEnds(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	r.Handle(7, &transport.JobEnd{Job: transport.JobOf(7, math.MaxUint32)})
	require.True(t, r.jobsDone.has(transport.JobOf(7, math.MaxUint32)))
	require.False(t, r.jobsDone.has(transport.JobOf(7, math.MaxUint32-1)))
	require.Equal(t, 1, r.jobsDone.spans(7))

	r.Handle(7, &transport.JobEnd{Job: transport.JobOf(9, 5)}) // not node 7's to end
	require.False(t, r.jobsDone.has(transport.JobOf(9, 5)))

	for n := uint32(0); n < 2*(maxJobSpans+100); n += 2 {
		r.Handle(7, &transport.JobEnd{Job: transport.JobOf(7, n)})
	}
	require.Equal(t, maxJobSpans, r.jobsDone.spans(7))
	require.Len(t, env.warnings, 1)

	r.Handle(7, &transport.JobEnd{Job: transport.JobOf(7, 1)}) // joins two spans: room again
	require.Equal(t, maxJobSpans-1, r.jobsDone.spans(7))
	r.Handle(1, &transport.JobEnd{Job: transport.JobOf(1, 3)})
	require.True(t, r.jobsDone.has(transport.JobOf(1, 3)))
}

// TestSpanSetMatchesMap: a spanSet's adds and removes in any order hold
// what a map would, each number at a span's number at or above the
// highest it was added with (deadNodes.gone's incarnations; 0 for the
// sets that carry none), as sorted disjoint spans apart.
func TestSpanSetMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		var s spanSet
		want := map[uint64]uint64{}
		for range rng.IntN(400) {
			n := uint64(rng.IntN(80))
			if rng.IntN(3) == 0 {
				s.remove(n)
				delete(want, n)
			} else {
				top := uint64(rng.IntN(1000))
				require.True(t, s.add(n, top, math.MaxInt))
				want[n] = max(want[n], top)
			}
		}
		for n := range uint64(90) {
			got, ok := s.at(n)
			w, in := want[n]
			require.Equal(t, in, ok, "round %d number %d", round, n)
			require.Equal(t, in, s.has(n), "round %d number %d", round, n)
			require.GreaterOrEqual(t, got, w, "round %d number %d", round, n)
		}
		for i := 1; i < len(s); i++ {
			require.Less(t, s[i-1].hi, s[i].lo, "round %d: spans %v not sorted, disjoint and apart", round, s)
		}
	}
}

// TestJobsEndedBounded: ten thousand driver nodes (one per driver
// session, as on a live cluster) say goodbye, in order, while one among
// them lives on: the raylet remembers their jobs ended in two spans of
// node IDs, where it kept a map entry per node, for good (QA31 finding
// 6). A task of an ended node's job is refused, the live one's is not,
// and a node that registers again is alive again for what it submits.
func TestJobsEndedBounded(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const first, nodes, live = 100, 10_000, 150
	for n := transport.NodeID(first); n < first+nodes; n++ {
		if n != live {
			r.Handle(50, &transport.NodeDead{Node: n, Incarnation: 1, JobsEnd: true, Left: true})
		}
	}
	require.Len(t, r.jobsEnded, 2)
	spec := func(node transport.NodeID) *transport.TaskSpec {
		return &transport.TaskSpec{ID: 1, Func: "f", NumReturns: 1, Owner: node, Act: &transport.ActorSpec{JobSet: true, Job: transport.JobOf(node, 1)}}
	}
	require.True(t, r.jobEnded(spec(5000)))
	require.True(t, r.jobEnded(spec(first)))
	require.False(t, r.jobEnded(spec(live)))
	require.False(t, r.jobEnded(spec(first+nodes)))
	r.Handle(50, &transport.NodeDead{Node: 5000, Incarnation: 2}) // a later incarnation, replaced by a newer one
	require.False(t, r.jobEnded(spec(5000)))
	require.True(t, r.jobEnded(spec(4999)))
	require.True(t, r.jobEnded(spec(5001)))
	require.Len(t, r.jobsEnded, 3)
}
