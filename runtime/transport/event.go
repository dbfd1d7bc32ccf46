package transport

// EventKind says what a trace event records.
type EventKind uint8

// Trace event kinds emitted by the runtime components (netsim adds its own
// network and fault events beside these).
const (
	EvNone          EventKind = iota
	EvTaskSubmitted           // Object.Task = the parent (submitting) task
	EvTaskPlaced              // Peer = chosen node; Detail = reason ("local", "spilled", policy name)
	EvTaskArgsReady           // all arguments local
	EvTaskRunning             // a worker started it
	EvTaskFinished            // result stored
	EvTaskFailed              // Detail = error text
	EvTaskRetried             // resubmitted after a failure
	EvTaskCancelled
	EvTaskInfeasible // Detail = missing resources
	EvObjectCreated  // Bytes = size
	EvObjectPinned
	EvObjectTransferred // Peer = source; Bytes = size
	EvObjectEvicted
	EvObjectLost
	EvObjectReconstructed
	EvGCSWrite
	EvGCSSubscribe
	EvActorCreated
	EvActorRestarted
	EvActorDied // Detail: why (DetailFaultKill for a fault schedule's kill_actor, DetailRayKill for ray.Kill, DetailExitActor for ray.ExitActor)
	EvNodeAlive
	EvNodeDead
	EvWarning
	EvTaskArg        // a by-reference argument: Object = the argument, Detail "local" or "fetch"
	EvObjectSpilled  // a primary copy left memory for the node's spill tier (still here); Bytes = size
	EvObjectRestored // a spilled copy came back into memory for a read; Bytes = size
	evKindCount
)

// DetailFaultKill is the Detail of the EvActorDied of an actor killed by a
// fault schedule (kill_actor), which analyses mark as a fault.
const DetailFaultKill = "killed by the fault schedule"

// DetailReplay is the Detail of the EvTaskRunning and EvTaskFinished of
// a method a restarted actor re-runs from its method log to rebuild its
// state (ray.ReplayMethods); the events carry no method name (the
// method's first run named it: trace exports name the slice from there).
const DetailReplay = "replay"

// DetailRayKill is the Detail of the EvActorDied of an actor ended by
// ray.Kill (by the killer's raylet, or by a host the killer or the actor
// table told to end it; the table also ends so an actor refused its name):
// the program's own doing, not a fault.
const DetailRayKill = "killed by ray.Kill"

// DetailRayKillRestart is the Detail of the EvActorDied of an actor whose
// worker ray.Kill ended with AllowRestart (Ray's ray.kill(actor,
// no_restart=False)): the program's own doing, not a fault; the actor is
// restarted as after a worker crash while its MaxRestarts allow.
const DetailRayKillRestart = "killed by ray.Kill, restart allowed"

// DetailExitActor is the Detail of the EvActorDied of an actor that ended
// itself (ray.ExitActor in one of its methods, Ray's exit_actor): the
// program's own doing, not a fault, and final as a ray.Kill is.
const DetailExitActor = "exited itself by ray.ExitActor"

// DetailOwnerDied is the Detail of the EvActorDied of an actor that died
// with its owner (the node incarnation whose driver or worker created it),
// as Ray's non-detached actors do: the actor table's burial, and the
// host's kill it orders.
const DetailOwnerDied = "its owner died"

// DetailMissedHeartbeats is the Detail of the EvNodeDead of a node
// incarnation the GCS declared dead because its heartbeats stopped
// arriving for longer than the node timeout: a crash, a pause or a
// partition, or a raylet too busy to send them (its heartbeat timer waits
// behind the work queued on its loop).
const DetailMissedHeartbeats = "missed heartbeats"

// DetailFreed is the Detail of the EvObjectEvicted of a copy dropped
// because its owner freed the object (ray.Free).
const DetailFreed = "freed"

// DetailRejoin is the Detail of the EvObjectEvicted of a result a node
// drops as it rejoins after being declared dead (see node.Raylet.rejoin).
const DetailRejoin = "dropped at rejoin: made by the node's dead incarnation"

// DetailOnDisk is the Detail of the EvObjectSpilled of an object whose
// copy in the spill tier was kept when it was restored: it leaves memory
// without a write (and costs nothing).
const DetailOnDisk = "already on disk"

var eventKindNames = [...]string{
	EvNone: "none", EvTaskSubmitted: "task.submitted", EvTaskPlaced: "task.placed",
	EvTaskArgsReady: "task.args_ready", EvTaskRunning: "task.running", EvTaskFinished: "task.finished",
	EvTaskFailed: "task.failed", EvTaskRetried: "task.retried", EvTaskCancelled: "task.cancelled",
	EvTaskInfeasible: "task.infeasible", EvObjectCreated: "object.created", EvObjectPinned: "object.pinned",
	EvObjectTransferred: "object.transferred", EvObjectEvicted: "object.evicted", EvObjectLost: "object.lost",
	EvObjectReconstructed: "object.reconstructed", EvGCSWrite: "gcs.write", EvGCSSubscribe: "gcs.subscribe",
	EvActorCreated: "actor.created", EvActorRestarted: "actor.restarted", EvActorDied: "actor.died",
	EvNodeAlive: "node.alive", EvNodeDead: "node.dead", EvWarning: "warning",
	EvTaskArg: "task.arg", EvObjectSpilled: "object.spilled", EvObjectRestored: "object.restored",
}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is one runtime trace record. Emitters fill a stack value and pass a
// pointer; sinks copy what they keep, so tracing allocates nothing when off.
type Event struct {
	Kind   EventKind
	Node   NodeID // where it happened
	Peer   NodeID // the other node, where one is involved
	Task   TaskID
	Object ObjectID
	Bytes  int64
	Detail string
}
