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
type jobObjectsModel map[transport.JobID][]transport.ObjectID

func (m jobObjectsModel) jobOf(id transport.ObjectID) (transport.JobID, bool) {
	for job, ids := range m {
		if slices.Contains(ids, id) {
			return job, true
		}
	}
	return 0, false
}

func (m jobObjectsModel) remove(id transport.ObjectID) {
	if job, ok := m.jobOf(id); ok {
		m[job] = slices.DeleteFunc(m[job], func(o transport.ObjectID) bool { return o == id })
	}
}

// TestJobObjectsMatchModel: random records, removals (a copy freed
// otherwise), takes (a job's end) and node ends (jobsOf) on a jobObjects
// give what the model gives — each job's objects, in the order recorded,
// once each — and its lists stay within twice their live objects (past a
// short list), however many of their objects are freed: a driver freeing
// what it no longer needs does not grow the record.
func TestJobObjectsMatchModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 100 {
		var j jobObjects
		model := jobObjectsModel{}
		jobs := []transport.JobID{transport.JobOf(1, 0), transport.JobOf(1, 1), transport.JobOf(2, 0)}
		// Some objects are first returns (idmap's blocks), some not (Puts,
		// second returns: its Go map).
		obj := func() transport.ObjectID {
			return transport.ObjectID{Task: transport.TaskID(rng.IntN(600)), Index: uint32(rng.IntN(4) / 3), Put: rng.IntN(8) == 0}
		}
		adds := 550 // in a thousand
		for op := range 2000 {
			if op%400 == 0 { // bursts of records, then of frees
				adds = []int{550, 850, 150}[rng.IntN(3)]
			}
			switch k := rng.IntN(1000); {
			case k < adds:
				id := obj()
				job := jobs[rng.IntN(len(jobs))]
				if rng.IntN(10) == 0 { // the same object again, for its job
					if had, ok := model.jobOf(id); ok {
						job = had
					}
				}
				j.add(job, id)
				if had, ok := model.jobOf(id); !ok || had != job {
					model.remove(id)
					model[job] = append(model[job], id)
				}
			case k < 996:
				id := obj()
				j.remove(id)
				model.remove(id)
			case k < 998:
				job := jobs[rng.IntN(len(jobs))]
				got := j.take(job)
				require.Equal(t, len(model[job]), len(got), "round %d op %d: take %v", round, op, job)
				if len(got) > 0 {
					require.Equal(t, model[job], got, "round %d op %d: take %v", round, op, job)
				}
				delete(model, job)
			default:
				node := transport.NodeID(1 + rng.IntN(2))
				for _, job := range j.jobsOf(node) {
					require.Equal(t, node, job.Node())
					got := j.take(job)
					require.Equal(t, len(model[job]), len(got), "round %d op %d: take %v", round, op, job)
					if len(got) > 0 {
						require.Equal(t, model[job], got, "round %d op %d: take %v", round, op, job)
					}
					delete(model, job)
				}
				for job, ids := range model {
					require.False(t, job.Node() == node && len(ids) > 0, "round %d op %d: jobsOf(%d) missed %v", round, op, node, job)
				}
			}
			n := 0
			for _, l := range j.lists {
				if l == nil {
					continue
				}
				require.Len(t, model[l.job], l.live, "round %d op %d: live of %v", round, op, l.job)
				require.LessOrEqual(t, len(l.ids), max(minCompact, 2*l.live+1), "round %d op %d: stale places of %v", round, op, l.job)
				n += l.live
			}
			require.Equal(t, n, j.where.Len())
		}
	}
}
