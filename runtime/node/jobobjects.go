package node

import (
	"fmt"
	"slices"

	"raysim/runtime/idmap"
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
// (see above). Each job has a list of its objects in the order they were
// recorded; where is the record itself: an object is recorded iff where
// holds it, and then where names its job's list and its place in it. A
// place whose object left the record is stale: a copy that goes otherwise
// (ray.Free, forget) leaves where at once, and its job's list is compacted
// once more than half of it is stale, so that a driver that frees what it
// no longer needs does not grow it.
//
// This is the task path's cost of releasing a job's objects, paid per
// result: where is keyed as the store is (idmap: a stream of a parent's
// children finds its block without hashing) and a list grows by an
// append. A job's end walks its own list only, in the order its objects
// were made (deterministic: no map order, and no sort). Before, one Go map
// from object to job cost a hashed insertion per result, and a job's end
// walked every job's objects and sorted its own (BenchmarkSimLocalTasks:
// docs/results.md, thirty-second session).
type jobObjects struct {
	where idmap.Objects[jobPlace]
	// lists by index (nil: free, in free for reuse); index finds a job's.
	lists []*jobList
	free  []uint32
	index map[transport.JobID]uint32
	// last is the list used last: a node's results come in runs of one
	// job's.
	last *jobList
}

// jobPlace is a recorded object's place: its job's list (by index) and
// its place in that list.
type jobPlace struct {
	list, pos uint32
}

// jobList is one job's objects, in the order recorded, stale places
// included; live counts the others.
type jobList struct {
	job   transport.JobID
	index uint32
	ids   idChunks
	live  int
}

// idChunks is a list of object IDs kept in chunks of jobChunk (the last
// one filling, the first one grown from small as a slice is): a long list
// grows without copying what it holds. One slice grown by append copies,
// and allocates, about five times its final size (Go grows a large slice
// by a quarter at a time): 80 bytes a task in BenchmarkSimLocalTasks.
type idChunks struct {
	c [][]transport.ObjectID // each but the last holds jobChunk
}

const jobChunk = 1024

func (l *idChunks) len() int {
	n := len(l.c)
	if n == 0 {
		return 0
	}
	return (n-1)*jobChunk + len(l.c[n-1])
}

// push appends id.
func (l *idChunks) push(id transport.ObjectID) {
	n := len(l.c)
	if n == 0 || len(l.c[n-1]) == jobChunk {
		var c []transport.ObjectID
		if n > 0 {
			c = make([]transport.ObjectID, 0, jobChunk)
		}
		l.c = append(l.c, c)
		n++
	}
	l.c[n-1] = append(l.c[n-1], id)
}

// set writes id at pos, below len.
func (l *idChunks) set(pos int, id transport.ObjectID) { l.c[pos/jobChunk][pos%jobChunk] = id }

// truncate shortens the list to n, giving back the chunks past it and
// what a burst of objects left in the first.
func (l *idChunks) truncate(n int) {
	k := (n + jobChunk - 1) / jobChunk
	clear(l.c[k:])
	l.c = l.c[:k]
	if k == 0 {
		return
	}
	last := l.c[k-1][:n-(k-1)*jobChunk]
	if k == 1 && cap(last) > 4*len(last)+minCompact {
		last = slices.Clone(last)
	}
	l.c[k-1] = last
}

// minCompact is the list length below which stale places are left: a
// compaction per free of a short list would cost more than they do.
const minCompact = 64

// list returns job's list, made if it has none.
func (j *jobObjects) list(job transport.JobID) *jobList {
	if l := j.last; l != nil && l.job == job {
		return l
	}
	if i, ok := j.index[job]; ok {
		j.last = j.lists[i]
		return j.last
	}
	l := &jobList{job: job}
	if n := len(j.free); n > 0 {
		l.index = j.free[n-1]
		j.free = j.free[:n-1]
		j.lists[l.index] = l
	} else {
		l.index = uint32(len(j.lists))
		j.lists = append(j.lists, l)
	}
	if j.index == nil {
		j.index = make(map[transport.JobID]uint32)
	}
	j.index[job] = l.index
	j.last = l
	return l
}

// add records id as made for job (again: nothing changes).
func (j *jobObjects) add(job transport.JobID, id transport.ObjectID) {
	l := j.list(job)
	p, had := j.where.Set(id, jobPlace{list: l.index, pos: uint32(l.ids.len())})
	if had && p.list == l.index {
		j.where.Set(id, p) // recorded already: it keeps its place
		return
	}
	l.ids.push(id)
	l.live++
	if had { // another job's until now: its place there goes stale
		j.staled(j.lists[p.list])
	}
}

// remove forgets id, if recorded.
func (j *jobObjects) remove(id transport.ObjectID) {
	if j.where.Len() == 0 {
		return
	}
	p, had := j.where.Delete(id)
	if !had {
		return
	}
	j.staled(j.lists[p.list])
}

// staled counts one more stale place in l, compacting it when more than
// half of it is.
func (j *jobObjects) staled(l *jobList) {
	l.live--
	switch {
	case l.live == 0: // every place stale: nothing to move
		l.ids.truncate(0)
	case l.ids.len() >= minCompact && l.live < l.ids.len()/2:
		j.compact(l)
	}
}

// compact drops l's stale places, moving its objects' places up.
func (j *jobObjects) compact(l *jobList) {
	kept := 0
	for ci, c := range l.ids.c {
		for k, id := range c {
			if p, ok := j.where.Get(id); ok && p == (jobPlace{list: l.index, pos: uint32(ci*jobChunk + k)}) {
				j.where.Set(id, jobPlace{list: l.index, pos: uint32(kept)})
				l.ids.set(kept, id) // kept <= the place read: read already
				kept++
			}
		}
	}
	l.ids.truncate(kept)
}

// take removes and returns job's objects, in the order recorded.
func (j *jobObjects) take(job transport.JobID) []transport.ObjectID {
	i, ok := j.index[job]
	if !ok {
		return nil
	}
	l := j.lists[i]
	ids := make([]transport.ObjectID, 0, l.live)
	for ci, c := range l.ids.c {
		for k, id := range c {
			if p, ok := j.where.Get(id); ok && p == (jobPlace{list: i, pos: uint32(ci*jobChunk + k)}) {
				j.where.Delete(id)
				ids = append(ids, id)
			}
		}
	}
	delete(j.index, job)
	j.lists[i] = nil
	j.free = append(j.free, i)
	if j.last == l {
		j.last = nil
	}
	return ids
}

// jobsOf lists, sorted, the jobs with a list here (objects recorded since
// their last take, maybe freed since) whose drivers ran on node.
func (j *jobObjects) jobsOf(node transport.NodeID) []transport.JobID {
	var jobs []transport.JobID
	for job := range j.index { // sorted below: the order cannot show
		if job.Node() == node {
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
// by shard in the order first met, in batches of maxGoneBatch; after the
// announcements still waiting for this node's registration, as a free is.
func (r *Raylet) releaseObjects(job transport.JobID, ids []transport.ObjectID) {
	for _, id := range ids {
		r.forget(id)
	}
	type shardIDs struct {
		shard transport.NodeID
		ids   []transport.ObjectID
	}
	var per []shardIDs
	if len(ids) > 0 {
		first := r.cfg.Layout.ShardOfObject(ids[0])
		if !slices.ContainsFunc(ids, func(id transport.ObjectID) bool { return r.cfg.Layout.ShardOfObject(id) != first }) {
			per = []shardIDs{{first, ids}} // one shard (one in the layout, or a small job): ids as they are
		}
	}
	if per == nil {
		last := -1 // a few shards: looked up in order, the last one first
		for _, id := range ids {
			sh := r.cfg.Layout.ShardOfObject(id)
			if last < 0 || per[last].shard != sh {
				last = slices.IndexFunc(per, func(p shardIDs) bool { return p.shard == sh })
				if last < 0 {
					last = len(per)
					per = append(per, shardIDs{shard: sh})
				}
			}
			per[last].ids = append(per[last].ids, id)
		}
	}
	for _, p := range per {
		for batch := range slices.Chunk(p.ids, maxGoneBatch) {
			m := &transport.GcsObjectsGone{Objects: batch}
			r.whenRegisteredObject(func() { r.gcs.Send(p.shard, m) })
		}
	}
}

// maxGoneBatch bounds the objects of one GcsObjectsGone (and so of the
// FreeObjects the shard sends for it to one holder): a job of a million
// objects would otherwise make a message larger than a TCP frame, which
// the GCS client would send again for good.
const maxGoneBatch = 8192
