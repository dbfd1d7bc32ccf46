package node

import (
	"fmt"
	"slices"

	"raysim/runtime/transport"
)

// A job's end releases its objects, as Ray's does: a finished driver's
// workers die, and with them the objects they own (OwnerDiedError).
// raysim's ownership is per node incarnation, not per worker, and an
// owner forgets a task once its result is recorded, so the record is
// kept where the objects are: each raylet notes, per job, the objects
// whose primary copies it made for that job (jobObjects) — the results
// of the job's tasks run here (TaskSpec.Job) and the Puts and yields of
// its driver and tasks here. When it learns the job ended (endDriverJob:
// the driver returned; endJob: its driver's node left or was declared
// dead), which every raylet does, it drops those copies and tells the
// object table (GcsObjectsGone), which drops the other copies at their
// holders and answers every reader from then on with ObjectJobEnded: the
// reader's error is ErrOwnerDied, and the object is never rebuilt from
// lineage. An object made for a job already ended here (a cancelled
// task's error value, a run that finished after the end) goes at once.
// Detached actors' work (job 0) is never released.

// jobObjects is a raylet's record of the primary copies it made per job
// (see above): one map from an object to its job, so that recording a
// result costs one insertion on the task's path, and a copy that goes
// otherwise (ray.Free, forget) leaves the record at once (a driver that
// frees what it no longer needs does not grow it). A job's end, rare,
// walks the record for the job's objects and sorts them.
type jobObjects struct {
	of map[transport.ObjectID]transport.JobID
}

// add records id as made for job.
func (j *jobObjects) add(job transport.JobID, id transport.ObjectID) {
	if j.of == nil {
		j.of = make(map[transport.ObjectID]transport.JobID)
	}
	j.of[id] = job
}

// remove forgets id, if recorded.
func (j *jobObjects) remove(id transport.ObjectID) {
	if len(j.of) > 0 {
		delete(j.of, id)
	}
}

// take removes and returns job's objects, sorted.
func (j *jobObjects) take(job transport.JobID) []transport.ObjectID {
	var ids []transport.ObjectID
	for id, of := range j.of { // sorted below: the order cannot show
		if of == job {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, transport.CompareObjects)
	for _, id := range ids {
		delete(j.of, id)
	}
	return ids
}

// jobsOf lists, sorted, the recorded jobs whose drivers ran on node.
func (j *jobObjects) jobsOf(node transport.NodeID) []transport.JobID {
	var jobs []transport.JobID
	seen := map[transport.JobID]bool{}
	for _, job := range j.of { // sorted below: the order cannot show
		if job.Node() == node && !seen[job] {
			seen[job] = true
			jobs = append(jobs, job)
		}
	}
	slices.Sort(jobs)
	return jobs
}

// jobOver reports whether job is known here to have ended (see
// jobEnded, which asks it of a spec's job).
func (r *Raylet) jobOver(job transport.JobID) bool {
	if job == 0 {
		return false
	}
	if r.jobsDone.has(job) {
		return true
	}
	if job.Node() == r.self {
		return false
	}
	return r.jobsEnded.has(uint64(job.Node()))
}

// madeFor records an object whose primary copy was just made here for
// job: released with the job, at once if it ended already. Job 0 (a
// detached actor's work) is never released.
func (r *Raylet) madeFor(job transport.JobID, id transport.ObjectID) {
	if job == 0 {
		return
	}
	if r.jobOver(job) {
		r.releaseObjects(job, []transport.ObjectID{id})
		return
	}
	r.jobObjs.add(job, id)
}

// madeForSpec is madeFor of spec's returns, unless spec is an actor's
// creation (its returns say the actor is up; the actor's fate is its
// own).
func (r *Raylet) madeForSpec(spec *transport.TaskSpec) {
	if spec.NumReturns == 0 || spec.IsCreation() {
		return
	}
	job := spec.Job()
	for i := range spec.NumReturns {
		r.madeFor(job, spec.Return(i))
	}
}

// releaseJob releases the objects made here for job, which ended.
func (r *Raylet) releaseJob(job transport.JobID) {
	ids := r.jobObjs.take(job)
	if len(ids) == 0 {
		return
	}
	r.releaseObjects(job, ids)
	r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
		Detail: fmt.Sprintf("job of %s ended: %d of its objects released here", job, len(ids))})
}

// releaseJobsOf releases the objects made here for the jobs of the
// drivers that ran on node, whose jobs ended with it (endJob).
func (r *Raylet) releaseJobsOf(node transport.NodeID) {
	for _, job := range r.jobObjs.jobsOf(node) {
		r.releaseJob(job)
	}
}

// releaseObjects drops this node's copies of objects of an ended job and
// tells their object-table shards they are gone (GcsObjectsGone), shard
// by shard in the order first met, in batches of maxGoneBatch; after the announcements still
// waiting for this node's registration, as a free is.
func (r *Raylet) releaseObjects(job transport.JobID, ids []transport.ObjectID) {
	var order []transport.NodeID
	per := map[transport.NodeID][]transport.ObjectID{}
	for _, id := range ids {
		r.forget(id)
		sh := r.cfg.Layout.ShardOfObject(id)
		if _, ok := per[sh]; !ok {
			order = append(order, sh)
		}
		per[sh] = append(per[sh], id)
	}
	for _, sh := range order {
		for batch := range slices.Chunk(per[sh], maxGoneBatch) {
			m := &transport.GcsObjectsGone{Objects: batch}
			r.whenRegisteredObject(func() { r.gcs.Send(sh, m) })
		}
	}
}

// maxGoneBatch bounds the objects of one GcsObjectsGone (and so of the
// FreeObjects the shard sends for it to one holder): a job of a million
// objects would otherwise make a message larger than a TCP frame, which
// the GCS client would send again for good.
const maxGoneBatch = 8192
