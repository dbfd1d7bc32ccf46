package transport

import "fmt"

// TaskID names a task. IDs are derived, never random (determinism rule 4): a
// task's ID is a hash of its parent's ID and the parent's submission counter,
// so the same program makes the same IDs on every run and lineage follows
// from them.
type TaskID uint64

// ObjectID names an immutable object: the Index-th return of a task (as Ray
// does), or the Index-th Put of a task when Put is set.
type ObjectID struct {
	Task  TaskID
	Index uint32
	Put   bool
}

// ActorID names an actor: the ID of the task that created it.
type ActorID = TaskID

// ChildTaskID derives the ID of the n-th task submitted by parent: a
// SplitMix64-style mix of the parent and n's block (n / TaskBlock) — cheap,
// well spread, deterministic — whose low TaskBlockBits bits are n's place in
// its block.
//
// A parent's children thus come in blocks of TaskBlock consecutive IDs,
// which share their block key (TaskBlockKey). Tables keyed by task ID that
// are indexed by block (the GCS's, see gcs.MemStore) find a parent's next
// child beside its last one instead of at a random place in memory: a
// driver submitting a million tasks costs the GCS one cache miss per
// block, not one per task. IDs are unique as long as block keys are: 60
// bits of hash.
func ChildTaskID(parent TaskID, n uint64) TaskID {
	z := uint64(parent) ^ (n/TaskBlock+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return TaskID(z<<TaskBlockBits | n%TaskBlock)
}

// TaskBlockBits is the log2 of TaskBlock, the number of consecutive
// children of one parent whose IDs share a block key.
const (
	TaskBlockBits = 4
	TaskBlock     = 1 << TaskBlockBits
)

// TaskBlockKey is the key of t's block: the same for the children of one
// parent numbered TaskBlock*k to TaskBlock*k+TaskBlock-1. It is the ID's
// hashed part, so it spreads IDs over shards as well as the ID does.
func TaskBlockKey(t TaskID) uint64 { return uint64(t) >> TaskBlockBits }

// DriverTaskID is the root task ID of driver number n (its pseudo-task).
func DriverTaskID(seed int64, n uint64) TaskID {
	return ChildTaskID(TaskID(uint64(seed)^0x5851f42d4c957f2d), n)
}

func (t TaskID) String() string { return fmt.Sprintf("t%016x", uint64(t)) }

func (o ObjectID) String() string {
	if o.Put {
		return fmt.Sprintf("%v.p%d", o.Task, o.Index)
	}
	return fmt.Sprintf("%v.%d", o.Task, o.Index)
}

// CompareObjects orders object IDs (task, then index, returns before puts),
// for the sorted iteration determinism requires.
func CompareObjects(a, b ObjectID) int {
	switch {
	case a.Task != b.Task:
		return cmpU64(uint64(a.Task), uint64(b.Task))
	case a.Index != b.Index:
		return cmpU64(uint64(a.Index), uint64(b.Index))
	case a.Put == b.Put:
		return 0
	case !a.Put:
		return -1
	}
	return 1
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
