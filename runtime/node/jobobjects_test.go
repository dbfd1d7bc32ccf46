package node

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// jobObjectsModel is what jobObjects must hold: per job, its recorded
// objects in the order recorded (an object recorded again for its job
// keeps its place; for another job, or after its removal, it goes last).
type jobObjectsModel struct {
	of    map[transport.ObjectID]transport.JobID
	order map[transport.JobID][]transport.ObjectID
}

func (m *jobObjectsModel) remove(id transport.ObjectID) {
	if job, ok := m.of[id]; ok {
		delete(m.of, id)
		m.order[job] = slices.DeleteFunc(m.order[job], func(o transport.ObjectID) bool { return o == id })
	}
}

func (m *jobObjectsModel) take(job transport.JobID) []transport.ObjectID {
	ids := m.order[job]
	delete(m.order, job)
	for _, id := range ids {
		delete(m.of, id)
	}
	return ids
}

// TestJobObjectsMatchModel: random records, removals (a copy freed
// otherwise), takes (a job's end) and node ends (jobsOf) on a jobObjects
// give what the model gives — each job's objects, in the order recorded,
// once each — and its lists stay within twice their live objects (past a
// short list), however many of their objects are freed: a driver freeing
// what it no longer needs does not grow the record.
func TestJobObjectsMatchModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	longest := 0
	for round := range 30 {
		var j jobObjects
		model := &jobObjectsModel{of: map[transport.ObjectID]transport.JobID{}, order: map[transport.JobID][]transport.ObjectID{}}
		jobs := []transport.JobID{transport.JobOf(1, 0), transport.JobOf(1, 1), transport.JobOf(2, 0)}
		// Some objects are first returns (idmap's blocks), some not (Puts,
		// second returns: its Go map).
		obj := func() transport.ObjectID {
			return transport.ObjectID{Task: transport.TaskID(rng.IntN(4000)), Index: uint32(rng.IntN(4) / 3), Put: rng.IntN(8) == 0}
		}
		adds := 5500 // in ten thousand
		for op := range 6000 {
			if op%1500 == 0 { // bursts of records, then of frees
				adds = []int{5500, 8500, 1500}[rng.IntN(3)]
			}
			switch k := rng.IntN(10000); {
			case k < adds:
				id := obj()
				job := jobs[rng.IntN(len(jobs)+2)%len(jobs)] // the first two more often
				if rng.IntN(10) == 0 {                       // the same object again, for its job
					if had, ok := model.of[id]; ok {
						job = had
					}
				}
				j.add(job, id)
				if had, ok := model.of[id]; !ok || had != job {
					model.remove(id)
					model.of[id] = job
					model.order[job] = append(model.order[job], id)
				}
			case k < 9990:
				id := obj()
				j.remove(id)
				model.remove(id)
			case k < 9996:
				job := jobs[rng.IntN(len(jobs))]
				got, want := j.take(job), model.take(job)
				require.Equal(t, len(want), len(got), "round %d op %d: take %v", round, op, job)
				if len(got) > 0 {
					require.Equal(t, want, got, "round %d op %d: take %v", round, op, job)
				}
			default:
				node := transport.NodeID(1 + rng.IntN(2))
				for _, job := range j.jobsOf(node) {
					require.Equal(t, node, job.Node())
					got, want := j.take(job), model.take(job)
					require.Equal(t, len(want), len(got), "round %d op %d: take %v", round, op, job)
					if len(got) > 0 {
						require.Equal(t, want, got, "round %d op %d: take %v", round, op, job)
					}
				}
				for job, ids := range model.order {
					require.False(t, job.Node() == node && len(ids) > 0, "round %d op %d: jobsOf(%d) missed %v", round, op, node, job)
				}
			}
			n := 0
			for _, l := range j.lists {
				if l == nil {
					continue
				}
				require.Len(t, model.order[l.job], l.live, "round %d op %d: live of %v", round, op, l.job)
				require.LessOrEqual(t, l.ids.len(), max(minCompact, 2*l.live+1), "round %d op %d: stale places of %v", round, op, l.job)
				n += l.live
				longest = max(longest, l.ids.len())
			}
			require.Equal(t, n, j.where.Len())
		}
	}
	require.Greater(t, longest, jobChunk+minCompact, "lists of several chunks")
}

// TestIDChunks: an idChunks list reads back what a slice would, through
// pushes, writes and truncations across its chunks, and keeps every chunk
// but the last full.
func TestIDChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 50 {
		var l idChunks
		var want []transport.ObjectID
		for op := range 200 {
			switch k := rng.IntN(10); {
			case k < 6:
				for range rng.IntN(300) {
					id := transport.ObjectID{Task: transport.TaskID(rng.Uint64())}
					l.push(id)
					want = append(want, id)
				}
			case k < 8 && len(want) > 0:
				pos := rng.IntN(len(want))
				id := transport.ObjectID{Task: transport.TaskID(rng.Uint64()), Index: 1}
				l.set(pos, id)
				want[pos] = id
			default:
				n := rng.IntN(len(want) + 1)
				l.truncate(n)
				want = want[:n]
			}
			require.Equal(t, len(want), l.len(), "round %d op %d", round, op)
			var got []transport.ObjectID
			for i, c := range l.c {
				if i < len(l.c)-1 {
					require.Len(t, c, jobChunk, "round %d op %d: chunk %d", round, op, i)
				}
				got = append(got, c...)
			}
			require.True(t, slices.Equal(want, got), "round %d op %d: read back %v, want %v", round, op, got, want)
		}
	}
}
