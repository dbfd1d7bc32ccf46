package node

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"raysim/runtime/costs"
	"raysim/runtime/gcs"
	"raysim/runtime/idmap"
	"raysim/runtime/objstore"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/worker"
)

// Config configures a raylet.
type Config struct {
	Layout           *gcs.Layout
	Resources        transport.Resources
	ObjectStoreBytes int64 // 0 = unbounded
	// ObjectSpillBytes is the node's spill tier (0 = none, the default):
	// when the store needs room, unpinned primary copies go there instead
	// of the store going over capacity, and come back at their next read
	// (see objstore.NewSpilling), charged Costs.Spill and Costs.Restore. A
	// spilled copy stays listed in the GCS (it is still on this node) and
	// dies with the node, as Ray's spilled files on local disk. The tier
	// keeps the bytes in memory (in netsim and on TCP alike): only its
	// accounting and its costs are a disk's. It needs a bounded store.
	ObjectSpillBytes int64
	Policy           scheduler.Policy
	SpillThreshold   int // queue length at which the local scheduler spills
	Costs            costs.Profile
	Registry         Registry
	HeartbeatPeriod  time.Duration // default 100ms
	NodeTimeout      time.Duration // the node table's death timeout, default 10 heartbeats (see lease)
	// ChunkBytes is the object transfer chunk size, default 1 MiB; at
	// most transport.MaxChunkBytes, which a chunk needs to fit one TCP
	// frame (Validate).
	ChunkBytes  int64
	Incarnation uint64
	Buggify     *Buggify // fault points; nil (always on TCP) = off
	// StoreReportTo, when not 0, is where the raylet sends its object
	// store's use with each heartbeat (transport.StoreReport): a live
	// cluster's coordinator, which `raysim status` asks. 0 (the
	// simulator's): not sent.
	StoreReportTo transport.NodeID
	// NodeName, if set, names a node for error texts (transport.NodeText;
	// "" unknown): a live cluster's address book. Not set in netsim,
	// whose error texts are in the trace and in objects' sizes.
	NodeName func(transport.NodeID) string
	// Simulated: costs are virtual (netsim). The bytes of a task's result
	// or of a Put are copied into the store by the worker or driver that
	// made them, as Plasma's clients write into shared memory: in netsim
	// that copy takes the caller's virtual time (Costs.Copy), not the
	// raylet's. On TCP the copy simply takes real time on its goroutine.
	Simulated bool
	// Driver: the raylet of a process that joined only to run driver
	// programs (ray.Connect): it has no resources and runs no tasks, so
	// every task its drivers submit leaves it, even one asking for none.
	Driver bool
	// TaskErrors, when set, is a fault injection: the probability that a
	// run of a normal task here fails as if its code had returned an error
	// (InjectedTaskError), after its declared duration. Read on the loop at
	// each run; the draw comes from the node's seeded randomness, only
	// while it is above 0 (a run without it draws nothing).
	TaskErrors func() float64
	// OnRegistered, when set, is called on the loop once the node table
	// has answered this incarnation's registration. A live driver's
	// session waits for it (ray.Connect): a driver killed before its
	// raylet registered was never declared dead, and its job never ended.
	OnRegistered func()
	// OnScheduled, when set, is called on the loop once the global
	// scheduler's view (ClusterView) lists this incarnation alive, asked
	// once the node table has answered the registration and again every
	// scheduledRetry until it does. The node table tells the scheduler on
	// another path than its answer to the raylet: a task pinned to the
	// node by a soft NodeAffinity that reaches the scheduler first runs
	// elsewhere. A joining node's process waits for it (ray.JoinNode).
	OnScheduled func()
}

// InjectedTaskError is the error text of a run a TaskErrors fault failed.
const InjectedTaskError = "injected task error (a task_errors fault)"

// task is a task accepted by this raylet.
//
// One is allocated per task and lives while the task is in flight: its
// fields are laid out to fit the allocator's 96-byte size class (a
// time.Time start and an int count made it 112).
type task struct {
	spec      *transport.TaskSpec
	missing   int32 // arguments not here yet
	holds     bool  // its resources (spec.Resources) are taken from the node: see res
	borrowed  bool  // CPU given back while blocked in Get/Wait
	cancelled bool
	running   bool
	args      []transport.Value
	// start is when it began running, since the raylet was born; before
	// it runs, movedIn marks a task placed here by a re-spill (respill.go),
	// which moves no more (a flag of its own took the task to a larger
	// size class).
	start time.Duration
	actor *actorHost // method calls: the actor they run on
	// pinned: the by-reference arguments pinned for it, behind a pointer
	// (nil for a task without any): 16 bytes less per task, a size class.
	pinned *[]transport.ObjectID
	// ret is the store's entry for the first return, made when a local
	// reader began to wait for it (need): finish puts the result there
	// without looking it up (objstore.Store.PutAt).
	ret *objstore.Entry
	// caller is a running task's or method call's Caller, made on the
	// loop: a cancel interrupts a normal task's (Caller.interrupt) and
	// cancels the children of either (Caller.cancelKids); nil otherwise.
	caller *Caller
}

// res is what the task holds of the node's resources: its spec's while it
// runs (a flag, not a copy: 40 bytes less per queued task).
func (t *task) res() transport.Resources {
	if t.holds {
		return t.spec.Resources
	}
	return transport.Resources{}
}

// fetch is an object this node's readers wait for (need): the readers
// themselves, and how the object is being brought here. It exists from the
// first reader's wait until the object is here, kept in the object store's
// entry for the object (fetchOf); its readers may all leave before
// (unneed): first is nil then.
//
// There is one per object awaited here: it fits the allocator's 48-byte
// size class (with the other waiters in a slice of its own, 64).
type fetch struct {
	first   waiter    // the first waiter, inline: most objects have one (nil: none is left)
	more    *[]waiter // the others, if any; all are called once the object is in the store (wake)
	local   bool      // the producing task is queued or running here: not subscribed
	pulling bool
	*pull   // set by the first pull: most fetches wait for a local task and never pull
}

// pull is a fetch's transfer from another node (see Raylet.pull). The
// chunks it has outlive its attempts: a retry asks only for the rest.
type pull struct {
	source  transport.NodeID
	started time.Duration // when the first chunk was asked for (Raylet.since)
	attempt int
	total   int64
	errKind uint8
	causes  uint32 // the value's (transport.Value.Causes)
	sum     uint32 // its chunks' (transport.ObjectChunk.Sum): which copy they are of
	data    []byte
	seen    []bool
	got     int64
	// progress is when the last new chunk came (or the first was asked
	// for); gap the longest wait for a chunk so far, which sets how long
	// the pull may go without one (watchPull).
	progress, gap time.Duration
	stalls        int              // attempts in a row that ended with no chunk: backoff
	unanswered    bool             // source has sent nothing since it was asked for every chunk left
	probing       bool             // this attempt asked for one chunk (a probe)
	fresh         bool             // no chunk yet in this attempt
	short         bool             // buggified: a short stall timeout this attempt
	heardAt       time.Duration    // when the source was last heard as this attempt began
	watch         uint64           // the current stall timer's number (watchPull)
	avoid         transport.NodeID // a source that stalled: asked where else the object is
}

// Raylet is one node's runtime.
type Raylet struct {
	born  time.Time       // on the monotonic clock: tasks keep their start as a duration since (see since)
	mono  transport.Clock // see since
	evbuf transport.Event // see emit
	env   transport.Env
	// inlinePost: env's Post runs f at once (netsim), so user code may call
	// the loop's code itself (Caller.Submit).
	inlinePost bool
	cfg        Config
	self       transport.NodeID
	store      *objstore.Store
	pool       *worker.Pool

	avail    transport.Resources
	promised transport.Resources // of actors accepted here and not started (free)
	// total is the node's resources with its committed placement group
	// bundles' renamed (groups.go); bundles the bundles reserved here, in
	// the order they came; groups the groups this node's callers created.
	total   transport.Resources
	bundles []*heldBundle
	groups  map[transport.GroupID]*ownedGroup
	// groupsOver: the groups of groups with a final word (removed,
	// rejected), oldest first; the oldest beyond maxGroupsOver are
	// forgotten (forgetGroups).
	groupsOver []transport.GroupID
	// groupLookups are the callers waiting for the scheduler's answer to
	// a lookup of a group's name (LookupGroup), groupAsks the round of
	// asking for each name being looked up (made on first use; dropped
	// when answered or no caller is left), numbered by groupRound.
	groupLookups map[string][]groupLookup
	groupAsks    map[string]uint64
	groupRound   uint64
	// views are the callers waiting for the scheduler's ClusterView, by
	// the query's number (ClusterView).
	views   map[uint64]func(*transport.ClusterView)
	viewSeq uint64
	// nameLists are the pages of named actors asked of the GCS shards and
	// not answered yet, by the question's number (ListNamedActors).
	nameLists   map[uint64]*namesPage
	nameListSeq uint64
	// blocked: what tasks blocked in Get or Wait hold besides their CPU
	// (given back: Caller.release), which comes back only when what they
	// wait for ends (see blockedOut); blockedSpills the submissions (a
	// task's attempt: a retry's and a rebuild's are others) spilled for it
	// since the node last had none blocked.
	blocked       transport.Resources
	blockedSpills map[submission]struct{}
	gpus          []int64 // free amount of each GPU (gpus.go)
	gpuHeld       map[*task][]gpuShare
	// groupGPUHeld: what the tasks and actors running in placement
	// groups' bundles hold of their bundles' devices (takeGroupGPUs).
	groupGPUHeld map[*task]groupGPUHold
	// promisedGPUs: the GPU requests of the actors in promised, in the
	// order accepted (creationGPUsFit).
	promisedGPUs []int64
	orphans      []*actorHost // ended instances holding results (orphanHeld)

	gcs *gcs.Client // routes GCS messages (to chain heads and tails when replicated)

	tasks idmap.Map[*task] // accepted and not finished
	// gens are the generator tasks with backpressure running here, and
	// streams those owned here that a caller iterates (stream.go).
	gens    map[transport.TaskID]*genRun
	streams map[transport.TaskID]*streamFlow
	classes []*class // ready tasks by resource shape, in first-seen order
	byShape map[shape]*class
	ready   int // tasks in classes
	waiting int // accepted tasks whose arguments are not all local

	located   map[transport.ObjectID][]locWaiter
	argWaits  map[transport.TaskID]*argWait              // spills waiting for their inputs (awaitArgs), by task
	locations map[transport.ObjectID]transport.ObjectLoc // what this node has heard

	actors map[transport.ActorID]*actorHost
	routes map[transport.ActorID]*route
	// deadRoutes: the routes to dead actors, in the order they died here;
	// the oldest beyond maxDeadRoutes are forgotten (forgetDeadRoutes).
	deadRoutes  []transport.ActorID
	nameWaiters map[string][]func(transport.ActorInfo)
	nameAsks    map[string]uint64 // rounds of asking for each name (lookupName)
	// callsWaiters wait for an actor's call defaults from the actor
	// table (Caller.ActorCalls, askCalls).
	callsWaiters map[transport.ActorID][]func(transport.ActorInfo)
	abandon      abandonment // blocked driver calls, for Abandon
	// tombstones are tasks cancelled before they reached this node: a
	// PlaceTask crossing the CancelTask in flight is failed on arrival.
	// A cancel reaches every raylet, most of which never see the task, so
	// tombstones age out (see the tombstones type).
	tombstones tombstones
	asking     map[transport.TaskID]verdict // failures of owned tasks the task table is asked to record (askFailure)
	// staleRuns: runs of other owners' tasks this node held when it
	// rejoined (dropStaleRuns), and runs a force cancel abandoned
	// (forceEnd): their code runs on, and what it makes is discarded.
	staleRuns map[*task]struct{}
	// cancelNotes: how running tasks were cancelled, when it says more
	// than a cancel (noteCancel).
	cancelNotes map[*task]cancelNote

	meanTask time.Duration
	// meanBW is the mean throughput of this node's pulls of at least a
	// chunk, bytes/s (an exponential average, as meanTask; 0: none yet),
	// heartbeated for the global scheduler's wait estimate.
	meanBW uint64
	Stats  Stats

	// Ownership (fault tolerance): tasks submitted here that have not
	// finished, with the node running them, so they can be retried when it
	// dies; per-(caller, actor) call sequence tracking; node deaths seen; and
	// objects being rebuilt from lineage.
	owned map[transport.TaskID]*ownedTask
	seqs  map[seqKey]*seqTrack
	dead  deadNodes // node incarnations declared dead: see deadNodes
	// jobsEnded are the driver nodes whose jobs ended (endJob) and have
	// not registered a newer incarnation since (see jobEnded), as spans
	// of node IDs: the head hands IDs out upward and a driver session's
	// node never comes back, so the set grows with the nodes still up
	// between ended ones, not with every driver session ever run (QA31
	// finding 6: a map entry per session, for good). jobsEnding are those
	// declared dead by silence whose jobs end after a grace unless they
	// rejoin (jobNews), by the incarnation declared. nil until one.
	jobsEnded  spanSet
	jobsEnding map[transport.NodeID]uint64
	// jobsDone are the jobs whose drivers returned (JobEnd, EndJob): ended
	// for good, whatever their node's fate. Bounded: see jobSet.
	jobsDone jobSet
	// jobObjs: the primary copies made here per job, released at its end
	// (see jobobjects.go).
	jobObjs  jobObjects
	restarts map[transport.ActorID]*transport.TaskPlaced // see watchRestart
	// infeasible: the owned submissions the global scheduler holds as
	// infeasible, by task, as it told (see onInfeasible). nil until one.
	infeasible     map[transport.TaskID]infeasibleNote
	reconstructing map[transport.TaskID]bool
	// ownerless: tasks being rebuilt here because their owner died before
	// they finished (ObjectOrphaned), with that owner: the error readers
	// get if the rebuild cannot run says so. Nil until one is.
	ownerless map[transport.TaskID]transport.NodeID
	// rebuildAsk: a re-ask of a task's rebuild claim is pending
	// (awaitRebuild): one timer per task, however many answers come.
	rebuildAsk map[transport.TaskID]bool
	rebuilds   uint64                               // actor calls re-run from lineage (each a fresh caller: onTaskInfo)
	rebuildSeq uint32                               // normal tasks re-run from lineage (each numbered apart: onTaskInfo)
	locating   map[transport.ObjectID]time.Duration // retry backoff of subscriptions
	heard      map[transport.NodeID]time.Duration   // when a chunk last came from each node (watchPull)
	// beatDue is when the next heartbeat's timer is due (0: none armed):
	// past it, the timer waits behind the work queued on this loop, and
	// onPull queues pulls behind it (serveQ).
	beatDue time.Duration
	// serveQ holds the pulls to serve, in arrival order, while the loop is
	// behind (see onPull); drainPulls serves them one per turn.
	serveQ      []queuedPull
	pullWatches uint64                // stall timers set so far: each one's number (watchPull)
	submitQ     []*transport.TaskSpec // submissions waiting for the loop
	jobs        []*taskJob            // finished tasks' jobs, for the next (run)
	drainArmed  bool                  // drainTimer is set

	// registered: the node table answered this incarnation's registration.
	// Until it does, what the node would tell the GCS it holds (object
	// locations, its actors' updates) waits in unannounced, in order (see
	// announce), and the registration is sent again with every heartbeat.
	registered bool
	// left: Leave said goodbye; the node is going (no more heartbeats,
	// no rejoin when told it is dead).
	left        bool
	regSent     time.Duration // when the registration was last sent, since born
	unannounced []unannounced

	lease lease // until when this node may start work (see lease.go)
	// placedSeq is the highest PlaceTask.Seq had from the global
	// scheduler, echoed in heartbeats (Heartbeat.Placed).
	placedSeq uint64
}

// unannounced is news for the GCS waiting for the registration's answer;
// object news (locations, evictions, frees) outlives a rejoin (see rejoin).
type unannounced struct {
	f      func()
	object bool
}

// Stats counts what a raylet did.
type Stats struct {
	Submitted, Spilled, Placed, Finished, Failed, Cancelled, Retried uint64
	// Respilled counts the queued tasks handed back to the global
	// scheduler because another node had room for them (respill).
	Respilled                                  uint64
	PullsStarted, PullsDone, BytesIn, BytesOut int64
}

// ErrChunkBytes: Config.ChunkBytes is negative or above
// transport.MaxChunkBytes.
var ErrChunkBytes = errors.New("node: invalid chunk size")

// Validate reports what of the configuration New cannot honour: a
// ChunkBytes out of range (ErrChunkBytes), whose chunks would not fit
// one TCP frame.
func (c *Config) Validate() error {
	if c.ChunkBytes < 0 || c.ChunkBytes > transport.MaxChunkBytes {
		return fmt.Errorf("%w: ChunkBytes %d is not within 0..%d (transport.MaxChunkBytes: a chunk's real bytes go in one frame body, at most transport.MaxBodyBytes %d with its header, and its virtual bytes are the frame's pad, at most transport.MaxPadBytes %d)",
			ErrChunkBytes, c.ChunkBytes, transport.MaxChunkBytes, transport.MaxBodyBytes, transport.MaxPadBytes)
	}
	return nil
}

// New returns a raylet; it registers with the GCS and starts heartbeating on
// its first loop turn. A configuration Validate refuses is corrected (a
// ChunkBytes out of range is clamped into it) and said in a warning event
// as the raylet starts: New has no error to return, and a node that runs
// beats one that never moves an object.
func New(env transport.Env, cfg Config) *Raylet {
	bad := cfg.Validate()
	if bad != nil {
		cfg.ChunkBytes = min(max(cfg.ChunkBytes, 0), transport.MaxChunkBytes)
	}
	if cfg.HeartbeatPeriod == 0 {
		cfg.HeartbeatPeriod = 100 * time.Millisecond
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 10 * cfg.HeartbeatPeriod
	}
	if cfg.ChunkBytes == 0 {
		cfg.ChunkBytes = 1 << 20
	}
	if cfg.SpillThreshold == 0 {
		cfg.SpillThreshold = 1 << 30
	}
	_, inline := env.(transport.InlinePoster)
	mono := transport.NewClock(env)
	r := &Raylet{
		env: env, mono: mono, inlinePost: inline, cfg: cfg, self: env.Self(), born: mono.Now(),
		store:        objstore.NewSpilling(cfg.ObjectStoreBytes, cfg.ObjectSpillBytes),
		pool:         worker.New(env),
		avail:        cfg.Resources,
		total:        cfg.Resources,
		gpus:         newGPUs(cfg.Resources.GPU),
		located:      make(map[transport.ObjectID][]locWaiter),
		locations:    make(map[transport.ObjectID]transport.ObjectLoc),
		actors:       make(map[transport.ActorID]*actorHost),
		routes:       make(map[transport.ActorID]*route),
		nameWaiters:  make(map[string][]func(transport.ActorInfo)),
		nameAsks:     make(map[string]uint64),
		callsWaiters: make(map[transport.ActorID][]func(transport.ActorInfo)),
		byShape:      make(map[shape]*class),

		owned:          make(map[transport.TaskID]*ownedTask),
		seqs:           make(map[seqKey]*seqTrack),
		dead:           newDeadNodes(),
		restarts:       make(map[transport.ActorID]*transport.TaskPlaced),
		reconstructing: make(map[transport.TaskID]bool),
		rebuildAsk:     make(map[transport.TaskID]bool),
		locating:       make(map[transport.ObjectID]time.Duration),
		heard:          make(map[transport.NodeID]time.Duration),
		asking:         make(map[transport.TaskID]verdict),
	}
	r.gcs = gcs.NewClient(env, cfg.Layout)
	r.gcs.Epoch = cfg.Incarnation // a rejoin keeps the client: its numbers go on
	if bad != nil {
		env.After(0, func() {
			r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
				Detail: fmt.Sprintf("%v: using ChunkBytes %d", bad, r.cfg.ChunkBytes)})
		})
	}
	env.After(0, r.start)
	return r
}

func (r *Raylet) start() {
	r.renewLease(r.since()) // the incarnation cannot be declared dead before it registers
	r.register()
	r.heartbeat()
}

func (r *Raylet) register() {
	r.regSent = r.since()
	var digest uint64
	if r.cfg.Registry != nil {
		digest = r.cfg.Registry.Digest()
	}
	r.gcs.Send(r.cfg.Layout.NodeTable(), &transport.RegisterNode{
		Node: r.self, Incarnation: r.cfg.Incarnation, Total: r.total, Functions: digest})
}

func (r *Raylet) heartbeat() {
	if r.left {
		r.beatDue = 0 // no heartbeat to wait for (onPull)
		return        // it said goodbye: it is going, not to be heard again
	}
	if !r.registered && r.since()-r.regSent >= r.cfg.HeartbeatPeriod {
		r.register() // no answer yet: it, or the answer, may be lost
	}
	if len(r.avail.Custom) > len(r.total.Custom) {
		r.compactAvail() // a removed group's tasks have ended since (see groups.go)
	}
	r.gcs.Send(r.cfg.Layout.NodeTable(), &transport.Heartbeat{
		Node: r.self, Incarnation: r.cfg.Incarnation, Total: r.total, Available: r.free(),
		QueueLen: uint32(r.queueLen()), MeanTaskTime: r.meanTask, MeanBandwidth: r.meanBW, Sent: r.since(), Placed: r.placedSeq})
	if to := r.cfg.StoreReportTo; to != 0 {
		r.env.Send(to, &transport.StoreReport{Node: r.self, Incarnation: r.cfg.Incarnation, Usage: r.StoreUsage()})
	}
	r.beatDue = r.since() + r.cfg.HeartbeatPeriod
	r.env.After(r.cfg.HeartbeatPeriod, r.heartbeat)
}

// Leave tells the node table this incarnation is going away on purpose
// (transport.NodeLeaving): it is declared dead at once, not after the node
// timeout. The caller closes the node after it; a goodbye lost on the way
// leaves the timeout to do it.
func (r *Raylet) Leave() {
	r.left = true
	r.gcs.Send(r.cfg.Layout.NodeTable(), &transport.NodeLeaving{Node: r.self, Incarnation: r.cfg.Incarnation})
}

// tellScheduler sends the global scheduler this node's load now, ahead of
// the next heartbeat the node table forwards: its view is stale, and a
// placement it makes from that view must not be the one this node is
// correcting.
func (r *Raylet) tellScheduler() {
	r.send(r.cfg.Layout.Scheduler, &transport.Heartbeat{
		Node: r.self, Incarnation: r.cfg.Incarnation, Total: r.total, Available: r.free(),
		QueueLen: uint32(r.queueLen()), MeanTaskTime: r.meanTask, MeanBandwidth: r.meanBW, Placed: r.placedSeq})
}

// since is the time since the raylet was made (see task.start), on its
// monotonic clock (transport.Monotonic): clock skew does not move it.
func (r *Raylet) since() time.Duration { return r.mono.Since(r.born) }

// Store exposes the object store (for status and tests; loop only).
func (r *Raylet) Store() *objstore.Store { return r.store }

// nodeText names a node in an error text: "node 3 (n1)" where its name
// is known (Config.NodeName), else "node 3".
func (r *Raylet) nodeText(id transport.NodeID) string {
	name := ""
	if r.cfg.NodeName != nil {
		name = r.cfg.NodeName(id)
	}
	return transport.NodeText(id, name)
}

// StoreUsage is the object store's use now (loop only): what StoreReport
// carries.
func (r *Raylet) StoreUsage() transport.StoreUsage {
	s := r.store
	return transport.StoreUsage{Used: s.Used(), Capacity: s.Capacity(), Primaries: uint64(s.Primaries()),
		SpillUsed: s.SpillUsed(), SpillCapacity: s.SpillCapacity()}
}

// Incarnation is the raylet's current incarnation (a rejoin raises it).
func (r *Raylet) Incarnation() uint64 { return r.cfg.Incarnation }

// Available is the resources free now.
func (r *Raylet) Available() transport.Resources { return r.avail }

// QueueLen is the number of accepted tasks not yet running.
func (r *Raylet) QueueLen() int { return r.queueLen() }

func (r *Raylet) queueLen() int { return r.waiting + r.ready }

// creationFits reports whether an actor's creation fits what the node has
// free for it: the resources (free) and the GPU devices, once the actors
// promised here have theirs. Ray's default actor needs a CPU free besides,
// which it does not hold (transport.TaskSpec.Placement).
func (r *Raylet) creationFits(spec *transport.TaskSpec) bool {
	return spec.Placement().Fits(r.free()) && r.creationGPUsFit(spec.Resources.GPU)
}

// free is what the node has for an actor: its available resources less
// those of the actors accepted here that have not started (waiting for
// their arguments, or queued), which will keep theirs for life. Placing
// an actor on resources another has been promised would leave it queued
// behind that actor for good.
func (r *Raylet) free() transport.Resources {
	if r.promised.IsZero() {
		return r.avail
	}
	return r.avail.Sub(r.promised)
}

// Handle implements transport.Handler.
func (r *Raylet) Handle(from transport.NodeID, m transport.Message) {
	r.env.Charge(r.cfg.Costs.Message)
	switch m := m.(type) {
	case *transport.PlaceTask:
		if from == r.cfg.Layout.Scheduler && m.Seq > r.placedSeq {
			r.placedSeq = m.Seq // echoed in heartbeats (Heartbeat.Placed)
		}
		if m.Reason == scheduler.ReasonCancelled {
			spec := m.Spec
			r.failCancelled(&spec)
			return
		}
		if why, ok := strings.CutPrefix(m.Reason, scheduler.ReasonUnschedulable+": "); ok && from == r.cfg.Layout.Scheduler {
			spec := m.Spec
			if o := r.owned[spec.ID]; o != nil && spec.Owner == r.self && o.spec.Attempt == spec.Attempt {
				r.ownedDone(spec.ID)
				r.failTask(&spec, transport.ErrKindUnschedulable, "task unschedulable: "+why)
				if spec.IsCreation() {
					// An actor that can never be placed (its placement
					// group removed, its hard affinity's node not in the
					// cluster) is dead for good, as Ray's: its calls fail
					// (ErrActorDied) instead of waiting for it forever,
					// and its name is free.
					r.sendActorUpdate(&transport.GcsActorUpdate{Actor: spec.Actor, State: transport.ActorDead, Name: spec.A().Name,
						Cause: transport.CutCause("its creation can never be placed: " + why)})
				}
			} else if spec.IsCreation() && transport.IsRestart(spec.Attempt) && spec.Owner == r.self {
				// A GCS restart of an actor created here that can never
				// be placed (its hard affinity's node is dead): the
				// actor is dead for good, as Ray's, and its owner says
				// so (the scheduler fails a restart only while the owner
				// lives).
				delete(r.restarts, spec.Actor)
				r.sendActorUpdate(&transport.GcsActorUpdate{Actor: spec.Actor, State: transport.ActorDead, Name: spec.A().Name,
					Cause: transport.CutCause("its restart can never be placed: " + why)})
			}
			return
		}
		if m.Incarnation != 0 && m.Incarnation < r.cfg.Incarnation {
			// Placed on an earlier incarnation of this node (the scheduler
			// had not heard of this one): the owner, told so (TaskPlaced),
			// retries it as lost with that incarnation. Run here too, it
			// would run twice — an actor would have two instances.
			// The scheduler's view is stale: tell it which incarnation
			// lives here (once the node table has it), or it places
			// here again and again until the node table's news arrives.
			if r.registered {
				r.tellScheduler()
			}
			// A GCS restart: only its creator watches it, and the creator
			// may be gone (or be this node's old self). Report it lost;
			// the shard ignores a restart no longer current.
			r.restartDropped(&m.Spec, m.Incarnation)
			return
		}
		spec := m.Spec
		if !spec.IsCreation() && !spec.Rebuild && r.tombstones.take(spec.ID) {
			r.failCancelled(&spec)
			return
		}
		if spec.Actor == 0 && r.jobEnded(&spec) {
			// Its job ended (held at the scheduler, or in flight, when the
			// news came): it does not run.
			r.ownedDone(spec.ID)
			r.failTask(&spec, transport.ErrKindCancelled, r.cancelledMsg(&spec))
			return
		}
		if !spec.Placement().Fits(r.total) { // stale view: hand it back
			r.spill(&spec)
			return
		}
		if _, dup := r.tasks.Get(spec.ID); !dup && spec.IsCreation() && !spec.A().ScheduleCPU && spec.Strategy != transport.StrategyNodeHard && !r.creationFits(&spec) {
			// An actor keeps its resources for life, and the scheduler
			// places one only where they are free: its view was stale (a
			// heartbeat sent before another actor took them). Queued here
			// it could wait for good behind actors while another node has
			// room; a local submission spills it too (schedule). Ray's
			// default actor holds nothing for life: it queues here as a
			// task does, for the CPU it needs to start (dispatch).
			r.spill(&spec)
			return
		}
		r.Stats.Placed++
		r.accept(&spec, m.Reason)
	case *transport.ObjectLocated:
		if r.cfg.Layout.IsGCS(from) { // the object table's answer, published by the GCS
			r.onLocated(m)
		}
	case *transport.PullRequest:
		r.onPull(from, m)
	case *transport.ObjectChunk:
		r.onChunk(from, m)
	case *transport.PullFailed:
		r.onPullFailed(from, m.Object)
	case *transport.ActorCall:
		spec := m.Spec
		if m.Incarnation != 0 && m.Incarnation != r.cfg.Incarnation {
			r.bounceCall(&spec) // meant for another incarnation of this node
			return
		}
		r.hostCall(&spec)
	case *transport.CallsDone:
		r.onCallsDone(m)
	case *transport.OpenCalls:
		r.onOpenCalls(from, m)
	case *transport.ActorInfo:
		r.onActorInfo(m)
	case *transport.CallBounced:
		r.onCallBounced(from, m)
	case *transport.CreationLost:
		r.onCreationLost(m)
	case *transport.CancelTask:
		mode := CancelMode(0)
		if m.Force {
			mode |= CancelForce
		}
		if m.Shallow {
			mode |= CancelShallow
		}
		r.cancelLocal(m.Task, m.Rebuild, mode)
	case *transport.KillActor:
		if !m.NoRestart {
			r.Kill(m.Actor, transport.DetailRayKillRestart) // not hosted here: nothing to do
			return
		}
		why := whyRayKill
		if transport.IsOwnerDied(m.Cause) {
			why = whyOwnerDied // the actor table buried it with its owner
		}
		r.killActorSaying(m.Actor, why, cmp.Or(m.Cause, whyRayKill))
		// Final, hosted here or not: this node's own calls to the actor
		// fail at once, saying why, rather than taking the actor table's
		// word, which may predate the kill (the killer's news to the
		// table can come after this node's lookup), to a host that may
		// not have had the kill yet (and would run them).
		r.routeDead(m.Actor, cmp.Or(m.Cause, whyRayKill))
	case *transport.TaskPlaced:
		if len(r.infeasible) > 0 {
			r.placedFeasible(m.Task, m.Attempt, m.Rebuild)
		}
		o := r.owned[m.Task]
		if transport.IsRestart(m.Attempt) {
			// The GCS's restart of an actor this node created (numbered
			// apart from our own attempts at creating it, which may have
			// the same count). It can overtake the TaskDone that ends our
			// ownership of the creation (they come from different senders).
			r.watchRestart(m)
		} else if o != nil && m.Places(o.spec) {
			// The news of the placement of the submission owned now, not
			// of an earlier one's.
			o.node, o.inc = m.Node, m.Incarnation
			if inc, dead := r.dead.upTo(m.Node, m.Incarnation); dead {
				if r.queuedHere(m) {
					// Our own, placed on our old incarnation and kept at
					// the rejoin: it runs here under the new one.
					o.inc = r.cfg.Incarnation
				} else {
					// The news of the placement came after the news of
					// that node's death (a resent message): retry now,
					// free if the death was known before the submission.
					r.placedOnKnownDead(o, m.Node, inc)
					r.retryOrAsk(o, m.Node, inc)
				}
			}
		}
	case *transport.TaskInfeasible:
		r.onInfeasible(from, m)
	case *transport.TaskDone:
		if p := r.restarts[m.Task]; p != nil && p.Attempt == m.Attempt {
			delete(r.restarts, m.Task) // the watched restart came up
		}
		if _, asked := r.asking[m.Task]; asked {
			// The task table's verdict is awaited, and comes (it is asked
			// again until it does); a TaskDone now may be a refused
			// value's, which stored nothing a reader could take.
			return
		}
		r.runOver(r.owned[m.Task])
		r.ownedDone(m.Task)
	case *transport.NodeDead:
		if r.cfg.Layout.IsGCS(from) { // the node table's verdict, published by the GCS
			r.onNodeDead(m)
		}
	case *transport.JobEnd:
		if from == m.Job.Node() && m.Job != 0 { // only a job's own node ends it
			r.endDriverJob(m.Job)
		}
	case *transport.ObjectLost:
		if r.cfg.Layout.IsGCS(from) { // the object table's verdict
			r.onObjectLost(m.Object, false)
		}
	case *transport.PutOwnerLost:
		if r.cfg.Layout.IsGCS(from) { // the object table's verdict: lost with its owner
			r.onObjectLost(m.Object, true)
		}
	case *transport.ObjectJobEnded:
		if r.cfg.Layout.IsGCS(from) { // the object table's verdict: gone with its job
			r.onObjectJobEnded(m.Object)
		}
	case *transport.ObjectOrphaned:
		if r.cfg.Layout.IsGCS(from) {
			r.onOrphaned(m)
		}
	case *transport.FreeObjects:
		if r.cfg.Layout.IsGCS(from) { // the object table's order (a free, a refused value)
			for _, id := range m.Objects {
				r.forget(id)
			}
		}
	case *transport.TaskInfo:
		r.onTaskInfo(m)
	case *transport.ActorCheckpoint:
		r.onActorCheckpoint(m)
	case *transport.RegisterNode:
		if r.cfg.Layout.IsGCS(from) { // the node table's answer to our registration
			r.onRegistered(m)
		}
	case *transport.ActorWritten:
		if r.cfg.Layout.IsGCS(from) {
			r.onActorWritten(m)
		}
	case *transport.StreamWait:
		r.streamWait(from, m.Task, m.Need)
	case *transport.StreamConsumed:
		r.streamConsumed(from, m.Task, m.Consumed, m.Gone)
	case *transport.StreamEnded:
		if slices.Contains(r.cfg.Layout.Raylets, from) { // a raylet's, the re-run's executor
			r.onStreamEnded(m)
		}
	case *transport.HeartbeatAck:
		if r.cfg.Layout.IsGCS(from) && m.Node == r.self && m.Incarnation == r.cfg.Incarnation {
			r.renewLease(m.From)
		}
	case *transport.GcsAck, *transport.ChainConfig:
		r.gcs.Handle(from, m)
	case *transport.BundlePrepare:
		if from == r.cfg.Layout.Scheduler {
			r.onBundlePrepare(m)
		}
	case *transport.BundleCommit:
		if from == r.cfg.Layout.Scheduler {
			r.onBundleCommit(m)
		}
	case *transport.BundleRelease:
		if from == r.cfg.Layout.Scheduler {
			r.onBundleRelease(m)
		}
	case *transport.GroupState:
		if from == r.cfg.Layout.Scheduler {
			r.onGroupState(m)
		}
	case *transport.GroupFound:
		if from == r.cfg.Layout.Scheduler {
			r.onGroupFound(m)
		}
	case *transport.ClusterRoom:
		if from == r.cfg.Layout.Scheduler {
			r.respill(m.Nodes)
		}
	case *transport.ClusterView:
		if from == r.cfg.Layout.Scheduler {
			r.onClusterView(m)
		}
	case *transport.NamedActors:
		if r.cfg.Layout.IsGCS(from) {
			r.onNamedActors(m)
		}
	}
}

// announce tells the object table that this node holds a copy, once the
// node table has registered this incarnation: a location from an
// incarnation it never registered would outlive the incarnation, whose
// death it cannot declare (a death by silence names the last incarnation
// registered), and readers would be sent to the dead node forever. Until
// then the announcement waits (an owner's TaskDone with it).
func (r *Raylet) announce(m transport.GcsAddObject) {
	if !r.registered { // the closure only then: this runs for every object made
		r.whenRegisteredObject(func() { r.announce(m) })
		return
	}
	r.gcs.AddObject(r.cfg.Layout.ShardOfObject(m.Object), m)
}

// whenRegistered runs f, which tells the GCS of something this node holds,
// now if this incarnation is registered, else once it is (onRegistered),
// after what waits already.
func (r *Raylet) whenRegistered(f func()) {
	if !r.registered {
		r.unannounced = append(r.unannounced, unannounced{f: f})
		return
	}
	f()
}

// whenRegisteredObject is whenRegistered for news of this node's objects,
// which a rejoin keeps (see rejoin).
func (r *Raylet) whenRegisteredObject(f func()) {
	if !r.registered {
		r.unannounced = append(r.unannounced, unannounced{f: f, object: true})
		return
	}
	f()
}

// onRegistered is the node table's answer to the registration: what waited
// for it leaves, in the order it was made.
func (r *Raylet) onRegistered(m *transport.RegisterNode) {
	if m.Node != r.self || m.Incarnation != r.cfg.Incarnation || r.registered {
		return // an earlier incarnation's, or a duplicate
	}
	r.registered = true
	if f := r.cfg.OnRegistered; f != nil {
		f()
	}
	if r.cfg.OnScheduled != nil {
		r.confirmScheduled()
	}
	held := r.unannounced
	r.unannounced = nil
	for _, u := range held {
		u.f()
	}
}

// enqueueSubmit queues a submission from user code; the raylet takes the
// queue as one unit of work on its next turn (a core worker's batch), each
// submission charging its scheduling cost.
func (r *Raylet) enqueueSubmit(spec *transport.TaskSpec) {
	r.submitQ = append(r.submitQ, spec)
	if !r.drainArmed {
		r.drainArmed = true
		r.env.After(0, r.drainTimer)
	}
}

func (r *Raylet) drainTimer() {
	r.drainArmed = false
	r.drainSubmits()
}

// drainSubmits takes the queued submissions. Besides its turn (the timer),
// a caller about to block on objects takes them first (Caller.Get, Wait):
// its burst is over, and so every task it waits for is known here (queued,
// running or spilled) when it registers, which producesLocally relies on.
// A cancel takes them first too (cancelLocal).
func (r *Raylet) drainSubmits() {
	q := r.submitQ
	if len(q) == 0 {
		return
	}
	r.submitQ = nil
	r.gcs.Hold(q) // the batch's task specs go to each shard in one message
	for i, spec := range q {
		q[i] = nil
		r.submit(spec)
	}
	r.gcs.Release()
	if r.submitQ == nil {
		r.submitQ = q[:0] // nothing was submitted meanwhile: reuse the room
	}
}

// producesLocally reports whether an object's task is queued or running on
// this raylet (not an actor's method: those run where the actor lives), so
// its result will be stored here. Should the task leave after all (spill),
// spill subscribes for whoever waits. A submission not yet drained
// (submitQ) does not count: a local caller drains them before it waits, and
// whoever else asks subscribes, which costs a message but misses nothing
// (the local put wakes every fetch).
func (r *Raylet) producesLocally(id transport.ObjectID) bool { return r.localProducer(id) != nil }

// localProducer is producesLocally returning the task.
func (r *Raylet) localProducer(id transport.ObjectID) *task {
	if id.Put {
		return nil
	}
	// A streaming generator's items (indices from NumReturns on) are
	// announced while it runs, and a reader of one subscribes as for a
	// remote object: were the task to spill or its node to rejoin, only
	// its fixed returns are moved back to a subscription (spill).
	if t, _ := r.tasks.Get(id.Task); t != nil && t.actor == nil && !t.spec.IsCreation() && id.Index < t.spec.NumReturns {
		return t
	}
	return nil
}

// submit takes a task from local user code.
func (r *Raylet) submit(spec *transport.TaskSpec) {
	r.Stats.Submitted++ // its task.submitted was emitted by the caller (Caller.Submit)
	r.gcs.AddTask(r.cfg.Layout.ShardOfTask(spec.ID), spec)
	if spec.Actor != 0 { // tasks are owned when they leave the node (spill)
		r.own(spec)
	}
	switch {
	case spec.Actor != 0 && !spec.IsCreation():
		r.routeCall(spec)
		return
	case spec.IsCreation():
		up := &transport.GcsActorUpdate{Actor: spec.Actor, State: transport.ActorPending, Name: spec.A().Name, Class: namedClass(spec), Calls: actorCalls(spec)}
		if !spec.A().Detached {
			// This incarnation owns the actor: it dies with it (the
			// actor's shard buries it when the incarnation is dead).
			up.Owner, up.Incarnation = r.self, r.cfg.Incarnation
		}
		r.sendActorUpdate(up)
	}
	r.schedule(spec)
}

func (r *Raylet) schedule(spec *transport.TaskSpec) {
	r.env.Charge(r.cfg.Costs.Schedule)
	feasible := spec.Placement().Fits(r.total) && !r.cfg.Driver
	var local bool
	switch spec.Strategy {
	case transport.StrategyNodeHard, transport.StrategyNodeSoft:
		local = spec.Target == r.self && feasible
	case transport.StrategySpread:
		local = false
	default:
		local = r.cfg.Policy.Local(feasible, r.queueLen(), r.cfg.SpillThreshold)
		// Spilling from the only node of the cluster is a round trip through
		// the global scheduler that can only send the task back: a
		// local-first policy keeps it (as a one-node Ray does).
		if !local && feasible && len(r.cfg.Layout.Raylets) == 1 && scheduler.LocalFirst(r.cfg.Policy) {
			local = true
		}
		// An actor holds its resources for life: queueing one behind busy
		// resources could wait forever, so it stays only if they are free.
		if spec.IsCreation() && !r.creationFits(spec) {
			local = false
		}
	}
	if local && r.blockedOut(spec) {
		r.spillBlocked(spec)
		return
	}
	if local {
		r.accept(spec, "local")
		return
	}
	r.spill(spec)
}

// blockedOut reports whether a task the scheduler may place elsewhere
// waits here for resources held by tasks blocked in Get or Wait: those
// come back only once what the blocked tasks wait for ends, which may be
// this task itself (a GPU task's GPU child, queued behind its parent's
// GPU, deadlocked the tree while other nodes' GPUs were idle). It goes to
// the global scheduler instead, which finds a node with the resources free
// or holds it until one has them (as Ray's raylet spills a task it cannot
// run to a node that can). A submission goes once while tasks are blocked
// here: sent back (every node's resources may be held so), it stays, or it
// would go back and forth for good. A later submission of the task (a
// retry, a rebuild of its lost result) goes again: the rebuild of a result
// the blocked tasks wait for, kept here behind them, deadlocked them.
func (r *Raylet) blockedOut(spec *transport.TaskSpec) bool {
	if r.blocked.IsZero() || spec.IsCreation() || spec.Strategy == transport.StrategyNodeHard || len(r.cfg.Layout.Raylets) == 1 {
		return false
	}
	if _, again := r.blockedSpills[submission{spec.ID, spec.Attempt}]; again {
		return false
	}
	return !spec.Resources.Fits(r.total.Sub(r.blocked))
}

// submission is one submission of a task: its ID and attempt (a retry's
// and a rebuild's are numbered apart).
type submission struct {
	id      transport.TaskID
	attempt uint32
}

// spillBlocked spills a task blockedOut, telling the scheduler first what
// this node has free (its view may still show the resources the blocked
// tasks hold as free, and place the task back here).
func (r *Raylet) spillBlocked(spec *transport.TaskSpec) {
	if r.blockedSpills == nil {
		r.blockedSpills = make(map[submission]struct{})
	}
	r.blockedSpills[submission{spec.ID, spec.Attempt}] = struct{}{}
	if r.registered {
		r.tellScheduler()
	}
	r.spill(spec)
}

func (r *Raylet) spill(spec *transport.TaskSpec) {
	r.leaving(spec)
	if scheduler.WaitsForArgs(r.cfg.Policy) && r.awaitArgs(spec) {
		return
	}
	r.sendSpill(spec)
}

// leaving prepares a task's departure from this node (a spill): its owner
// here keeps a record of it from now on, and the readers here that
// expected its results made here subscribe to their locations.
func (r *Raylet) leaving(spec *transport.TaskSpec) {
	if spec.Owner == r.self && r.owned[spec.ID] == nil {
		r.own(spec)
	}
	for i := uint32(0); i < spec.NumReturns; i++ { // readers expected it here
		id := spec.Return(i)
		if fe := r.fetchOf(id); fe != nil && fe.local {
			fe.local = false
			r.subscribe(id)
		} else if fe == nil && len(r.located[id]) > 0 {
			r.subscribe(id)
		}
	}
}

// awaitArgs defers spec's spill until each of its by-reference arguments
// exists somewhere, as Ray's owner resolves a task's dependencies before it
// asks for a lease, so that a locality-aware placement sees where they are
// (spilled at once, a task submitted with the tasks making its inputs, or
// holding refs to objects this node never located, was placed knowing none
// of them). It reports whether it deferred.
//
// The wait is a whenLocated per input, which asks the GCS where it is and
// counts as a need (an input lost on the way is rebuilt, or stored as the
// error it is: onObjectLost). Inputs whose task this node owns and has
// cancelled or freed may never be announced: those are the destination's
// to fetch or rebuild, as without the wait; so is an input freed while the
// spill waits (forget), and, in any case, every input still missing after
// argWaitMax. A cancel of the task meanwhile is the owner's record's
// (cancelLocal), which ends it at once.
func (r *Raylet) awaitArgs(spec *transport.TaskSpec) bool {
	var w *argWait
	for i := range spec.Args {
		if a := &spec.Args[i]; r.unlocated(a) {
			if w == nil {
				w = &argWait{spec: *spec}
			}
			w.ids = append(w.ids, a.Ref)
		}
	}
	if w == nil {
		return false
	}
	w.left = len(w.ids)
	for _, id := range w.ids {
		r.whenLocated(id, locWaiter{owner: &w.gone, spill: true, f: func() {
			if w.left--; w.left == 0 {
				r.spillAwaited(w)
			}
		}})
	}
	w.timer = r.env.After(argWaitMax, func() { r.spillAwaited(w) })
	if r.argWaits == nil {
		r.argWaits = make(map[transport.TaskID]*argWait)
	}
	r.argWaits[w.spec.ID] = w
	return true
}

// argWaitMax bounds how long a spill waits for its inputs to exist
// (awaitArgs): past it the task is placed with what is known, and its
// destination fetches (or rebuilds) the rest, as it would have at once.
const argWaitMax = time.Second

// argWait is one spill deferred by awaitArgs.
type argWait struct {
	spec  transport.TaskSpec
	ids   []transport.ObjectID // the inputs waited for (their registrations)
	left  int                  // of them, not yet located
	gone  bool                 // spilled; its address owns the registrations
	timer transport.Timer
}

// spillAwaited spills a deferred task, once: its inputs exist, or the wait
// is over (argWaitMax).
func (r *Raylet) spillAwaited(w *argWait) {
	if w.gone {
		return
	}
	w.gone = true
	w.timer.Stop()
	if r.argWaits[w.spec.ID] == w {
		delete(r.argWaits, w.spec.ID)
	}
	r.forgetLocated(w.ids, &w.gone)
	if o := r.owned[w.spec.ID]; o != nil && o.cancelled {
		r.failCancelled(&w.spec)
		return
	}
	r.sendSpill(&w.spec)
}

// unlocated reports whether a is a by-reference argument this node does
// not know to exist, and may hear of (see awaitArgs).
func (r *Raylet) unlocated(a *transport.Arg) bool {
	if !a.IsRef || r.store.Contains(a.Ref) {
		return false
	}
	if _, ok := r.locations[a.Ref]; ok {
		return false
	}
	o := r.owned[a.Ref.Task]
	return o == nil || a.Ref.Put || !o.freed && !o.cancelled
}

// sendSpill hands spec to the global scheduler with where its arguments
// are, as far as this node knows.
func (r *Raylet) sendSpill(spec *transport.TaskSpec) {
	if spec.MaxRetries != 0 && r.buggify(BuggifyDuplicateTask) { // only tasks declared retryable (idempotent; -1: without bound)
		dup := *spec
		r.send(r.cfg.Layout.Scheduler, &transport.SpillTask{Spec: dup})
	}
	r.Stats.Spilled++
	m := &transport.SpillTask{Spec: *spec}
	r.argLocs(m)
	r.emit(transport.Event{Kind: transport.EvTaskPlaced, Node: r.self, Peer: r.cfg.Layout.Scheduler, Task: spec.ID, Detail: "spilled"})
	r.send(r.cfg.Layout.Scheduler, m)
}

// argLocs fills a spill's Locs: where its by-reference arguments are, as
// far as this node knows.
func (r *Raylet) argLocs(m *transport.SpillTask) {
	for _, a := range m.Spec.Args {
		if !a.IsRef {
			continue
		}
		if e, ok := r.store.Peek(a.Ref); ok { // no read of the copy: the LRU order stays
			m.Locs = append(m.Locs, transport.ObjectLoc{Object: a.Ref, Size: e.Value.SizeOf(), Nodes: []transport.NodeID{r.self}})
		} else if l, ok := r.locations[a.Ref]; ok {
			m.Locs = append(m.Locs, l)
		}
	}
}

// accept queues a task here: its arguments are fetched, then it waits for
// resources.
func (r *Raylet) accept(spec *transport.TaskSpec, reason string) {
	r.emit(transport.Event{Kind: transport.EvTaskPlaced, Node: r.self, Peer: r.self, Task: spec.ID, Detail: reason})
	if o := r.owned[spec.ID]; o != nil && spec.Owner == r.self {
		o.node, o.inc = r.self, r.cfg.Incarnation
	}
	if old, _ := r.tasks.Get(spec.ID); old != nil {
		return // a duplicate (a retry racing the original): one run is enough
	}
	t := &task{spec: spec}
	if strings.HasPrefix(reason, scheduler.ReasonRespill+" (") {
		t.start = movedIn
	}
	r.tasks.Set(spec.ID, t)
	if spec.IsCreation() {
		r.promised = r.promised.Add(spec.Resources) // until it runs (run) or goes (dropQueued)
		r.promiseGPUs(spec.Resources.GPU, true)
	}
	if !hasRefArgs(spec) { // the common case: no closure, no waiting
		r.enqueueReady(t)
		r.dispatch()
		return
	}
	r.waiting++
	r.resolveArgs(t, func() {
		r.waiting--
		if t.cancelled {
			return
		}
		r.enqueueReady(t)
		r.dispatch()
	})
}

func hasRefArgs(spec *transport.TaskSpec) bool {
	for i := range spec.Args {
		if spec.Args[i].IsRef {
			return true
		}
	}
	return false
}

// resolveArgs makes every by-reference argument of t local and pinned, then
// calls ready (at once if they all are).
func (r *Raylet) resolveArgs(t *task, ready func()) {
	for _, a := range t.spec.Args {
		if !a.IsRef {
			continue
		}
		if r.store.Pin(a.Ref) {
			t.pin(a.Ref)
			r.emit(transport.Event{Kind: transport.EvTaskArg, Node: r.self, Task: t.spec.ID, Object: a.Ref, Detail: "local"})
			continue
		}
		r.emit(transport.Event{Kind: transport.EvTaskArg, Node: r.self, Task: t.spec.ID, Object: a.Ref, Detail: "fetch"})
		t.missing++
		r.need(a.Ref, &argFetch{r: r, t: t, id: a.Ref, done: ready})
	}
	if t.missing == 0 {
		ready()
	}
}

// argFetch is a queued task's wait for one of its arguments (resolveArgs):
// a pointer, so a task that leaves the node before its arguments came
// takes its waits back (dropWaits).
type argFetch struct {
	r    *Raylet
	t    *task
	id   transport.ObjectID
	done func() // every argument is here
}

func (w *argFetch) ready(*objstore.Entry) {
	t, r := w.t, w.r
	if t.cancelled {
		return
	}
	r.store.Pin(w.id)
	t.pin(w.id)
	t.missing--
	if t.missing == 0 {
		r.emit(transport.Event{Kind: transport.EvTaskArgsReady, Node: r.self, Task: t.spec.ID})
		w.done()
	}
}

// dropWaits ends a task that has not started here (cancelled, or its
// actor gone): the queues skip it, its pinned arguments are unpinned, and
// its waits for the others are taken back, so a fetch nobody else needs
// stops (a pull under way is not asked again, a location not looked up
// again).
func (r *Raylet) dropWaits(t *task) {
	t.cancelled = true
	r.unpinArgs(t)
	if t.missing == 0 {
		return
	}
	for _, a := range t.spec.Args {
		if !a.IsRef {
			continue
		}
		if fe := r.fetchOf(a.Ref); fe != nil {
			r.unneedIf(fe, func(w waiter) bool {
				aw, ok := w.(*argFetch)
				return ok && aw.t == t
			})
		}
	}
}

// pin records that id, an argument of t, is pinned for it.
func (t *task) pin(id transport.ObjectID) {
	if t.pinned == nil {
		t.pinned = new([]transport.ObjectID)
	}
	*t.pinned = append(*t.pinned, id)
}

func (r *Raylet) unpinArgs(t *task) {
	if t.pinned == nil {
		return
	}
	for _, id := range *t.pinned {
		if r.store.Unpin(id) {
			r.dropped(id)
		}
	}
	t.pinned = nil
}

// forget drops what this node holds or knows of a freed object: its copy
// (a copy a task reads goes at the task's last unpin) and the locations it
// heard of, which the free made stale (whenLocated would report the object
// ready from them).
func (r *Raylet) forget(id transport.ObjectID) {
	r.jobObjs.remove(id)
	delete(r.locations, id)
	if r.store.Free(id) {
		r.dropped(id)
	}
	// A spill deferred for the object (awaitArgs) waits for it no more:
	// the free may have dropped the only announcement it would hear, and
	// its destination rebuilds what it reads.
	var spills []func()
	if ws := r.located[id]; len(ws) > 0 {
		kept := ws[:0]
		for _, w := range ws {
			if w.spill {
				spills = append(spills, w.f)
			} else {
				kept = append(kept, w)
			}
		}
		if len(kept) == 0 {
			delete(r.located, id)
		} else {
			r.located[id] = kept
		}
	}
	for _, f := range spills {
		f()
	}
}

// dropped records that a freed object's copy here is gone (the GCS forgot
// the location when it sent the free).
func (r *Raylet) dropped(id transport.ObjectID) {
	r.emit(transport.Event{Kind: transport.EvObjectEvicted, Node: r.self, Object: id, Detail: transport.DetailFreed})
}

func (r *Raylet) argValues(t *task) []transport.Value {
	vals := make([]transport.Value, len(t.spec.Args))
	for i, a := range t.spec.Args {
		if !a.IsRef {
			vals[i] = a.Value
			continue
		}
		if e, ok := r.store.Get(a.Ref); ok {
			if e.Spilled() {
				r.restore(e)
			}
			vals[i] = e.Value
			r.env.Charge(r.cfg.Costs.ObjectGet) // local reads are zero-copy (shared memory, as Plasma)
		}
	}
	return vals
}

// failedArg returns a task's first argument that is an error value (a
// failed or cancelled task's result, a lost object, a dead actor's call):
// a task or method call given one fails with the same error without
// running, as Ray propagates a RayTaskError to dependents.
func failedArg(args []transport.Value) (transport.Value, bool) {
	for _, a := range args {
		if a.ErrKind != transport.ErrKindNone {
			return a, true
		}
	}
	return transport.Value{}, false
}

// shape is a task's resource demand as a map key: tasks of one shape wait in
// one FIFO (Ray's scheduling classes), so a task that does not fit never
// blocks a different shape behind it.
type shape struct {
	cpu, gpu int64
	custom   string
}

type class struct {
	shape transport.Resources
	q     []*task
	head  int
}

// shapeOf keys a shape. The custom resources are written with their names
// quoted (a quoted name ends where its closing quote does): String() wrote
// them bare, and names holding a space or '=' made two shapes one key
// ({a: 1, b: 2} and {"a=1 b": 2}), so one waited behind the other.
func shapeOf(res transport.Resources) shape {
	k := shape{cpu: res.CPU, gpu: res.GPU}
	if len(res.Custom) > 0 {
		var b []byte
		for _, q := range res.Custom {
			b = strconv.AppendQuote(b, q.Name)
			b = strconv.AppendInt(b, q.Amount, 10)
		}
		k.custom = string(b)
	}
	return k
}

// enqueueReady queues t in its class, by what it needs to start (its
// Placement: Ray's default actor waits for a CPU with the 1-CPU tasks,
// though it holds none once it runs).
func (r *Raylet) enqueueReady(t *task) {
	need := t.spec.Placement()
	k := shapeOf(need)
	c := r.byShape[k]
	if c == nil {
		c = &class{shape: need}
		r.byShape[k] = c
		r.classes = append(r.classes, c)
	}
	c.q = append(c.q, t)
	r.ready++
}

// dispatch starts ready tasks whose resources are free: the head of each
// class, in order, while it fits. A task takes its Resources (Ray's default
// actor, which needs a CPU free to start, takes none).
func (r *Raylet) dispatch() {
	if r.lease.fenced {
		return // see lease.go: started again when the lease is renewed
	}
	now := time.Duration(-1) // read once, when a task is to start
	for _, c := range r.classes {
		for c.head < len(c.q) {
			t := c.q[c.head]
			if !t.cancelled && (!t.spec.Placement().Fits(r.avail) || t.spec.Resources.GPU > 0 && !r.gpusFit(t.spec.Resources.GPU) || !r.groupGPUsFit(t.spec)) {
				if r.blockedOut(t.spec) {
					r.dropQueued(t) // the loop skips it now
					r.spillBlocked(t.spec)
					continue
				}
				break
			}
			if !t.cancelled && now < 0 {
				if now = r.since(); r.leaseOut(now) {
					return
				}
			}
			c.q[c.head] = nil
			c.head++
			if t.cancelled {
				continue // not counted since it was cancelled (dropQueued)
			}
			r.ready--
			r.avail = r.avail.Sub(t.spec.Resources)
			t.holds = true
			if t.spec.Resources.GPU > 0 {
				r.takeGPUs(t)
			} else if len(t.spec.Resources.Custom) > 0 && len(r.bundles) > 0 {
				r.takeGroupGPUs(t)
			}
			r.run(t, now)
		}
		if c.head == len(c.q) {
			c.q, c.head = c.q[:0], 0
		} else if c.head > 1024 && c.head > len(c.q)/2 {
			n := copy(c.q, c.q[c.head:])
			clear(c.q[n:])
			c.q, c.head = c.q[:n], 0
		}
	}
}

// run starts a task at now (since the raylet was born).
func (r *Raylet) run(t *task, now time.Duration) {
	r.env.Charge(r.cfg.Costs.Dispatch)
	t.running = true
	if t.spec.IsCreation() {
		r.promised = r.promised.Sub(t.spec.Resources)
		r.promiseGPUs(t.spec.Resources.GPU, false)
	}
	t.start = now
	t.args = r.argValues(t)
	if bad, ok := failedArg(t.args); ok && !t.spec.IsCreation() {
		r.finish(t, bad)
		return
	}
	r.emit(transport.Event{Kind: transport.EvTaskRunning, Node: r.self, Task: t.spec.ID, Detail: t.spec.Name})
	if t.spec.IsCreation() {
		r.startActor(t)
		return
	}
	var j *taskJob
	if n := len(r.jobs); n > 0 {
		j, r.jobs = r.jobs[n-1], r.jobs[:n-1]
	} else {
		j = &taskJob{r: r}
	}
	j.t = t
	j.inject = r.injectError()
	// The Caller is made here, on the loop, not in Run: a cancel reads it
	// on the loop (Caller.interrupt) while the task's code runs.
	j.caller = Caller{r: r, task: t.spec.ID, t: t, capture: captureOf(t.spec), job: r.jobFor(t)}
	j.caller.ns, j.caller.nsJob = namespaceFor(t, j.caller.job)
	j.caller.placeIn(t)
	t.caller = &j.caller
	r.trackGen(t)
	r.pool.Submit(j)
}

// taskJob runs a normal task on a pool worker. It carries the task's Caller
// (the context its code gets), and nothing while the task is queued. A
// finished task's job goes back to the raylet (Raylet.jobs) for the next:
// as in Ray, where a worker's context is its current task's, code that
// kept a finished task's context acts for whichever task has it now.
type taskJob struct {
	r   *Raylet
	t   *task
	out transport.Value
	// outs: a task of several returns' values, one per return (nil: out
	// is every return's value).
	outs   []transport.Value
	caller Caller
	// retries: the runs this task's errors took here (retryOnError).
	retries int32
	// inject: this run fails with InjectedTaskError (Config.TaskErrors).
	inject bool
}

func (j *taskJob) Run() {
	c := &j.caller
	if d := j.t.spec.Duration; d > 0 && c.Compute(d) != nil {
		return // cancelled while it ran: its code never starts (finish stores the cancel)
	}
	if j.inject {
		j.out = errValue(transport.ErrKindTask, InjectedTaskError)
		return
	}
	spec := j.t.spec
	fn, ok := j.r.lookupFunc(spec.Func)
	if !ok {
		if mf, ok := j.r.lookupMulti(spec.Func); ok {
			j.out, j.outs = callMulti(spec, func() ([]transport.Value, error) { return mf(c.Context(), j.t.args, int(spec.NumReturns)) })
			j.out = j.r.named(spec, j.out)
			c.copyInAll(j.outs)
			return
		}
		j.out = errValue(transport.ErrKindUnknownFunction, fmt.Sprintf("no function %q registered on %s", spec.Func, j.r.nodeText(j.r.self)))
		return
	}
	j.out = j.r.named(spec, callUser(func() (transport.Value, error) { return fn(c.Context(), j.t.args) }))
	if spec.NumReturns > 1 && j.out.ErrKind == transport.ErrKindNone {
		j.out = countError(spec, 1)
		return
	}
	c.copyIn(j.out, int64(spec.NumReturns))
}

// callMulti runs the code of a task of several returns (f), turning an
// error or a panic into an error value (out, with outs nil: every return
// is that error), as it does a value of an error kind among the results
// (an argument that did not decode) and a count of values other than the
// spec's NumReturns. Otherwise outs holds one value per return and out is
// the first. (No closure around f, as callUser's: one would cost outs an
// allocation of its own.)
func callMulti(spec *transport.TaskSpec, f func() ([]transport.Value, error)) (out transport.Value, outs []transport.Value) {
	defer func() {
		if p := recover(); p != nil {
			out, outs = panicValue(p), nil
		}
	}()
	vs, err := f()
	if err != nil {
		return errValue(transport.ErrKindTask, err.Error()), nil
	}
	for _, v := range vs {
		if v.ErrKind != transport.ErrKindNone {
			return v, nil
		}
	}
	switch {
	case len(vs) != int(spec.NumReturns):
		return countError(spec, len(vs)), nil
	case len(vs) == 0:
		return transport.Value{}, nil
	}
	return vs[0], vs
}

// countError is the error every return of a task gets when its code made
// got values where its spec asks for NumReturns (Ray's "Task returned 1
// objects, but num_returns=2"): an error of the task's code, which
// RetryExceptions retries as any.
func countError(spec *transport.TaskSpec, got int) transport.Value {
	return errValue(transport.ErrKindTask, fmt.Sprintf("%s returned %d values, but num_returns is %d", spec.Name, got, spec.NumReturns))
}

func (j *taskJob) Done() {
	r, t, out, outs := j.r, j.t, j.out, j.outs
	if out.ErrKind == transport.ErrKindTask && r.retryOnError(t, j.retries, out) {
		// Again, on this worker and with the resources the task holds:
		// a fresh Caller, as for any run (the last one's blocks are over).
		// Each run is its own in the trace: the failed one ends at its
		// task.retried, the next starts at a task.running (its execution
		// is the last run's, as for a retry after a node's death).
		r.emit(transport.Event{Kind: transport.EvTaskRunning, Node: r.self, Task: t.spec.ID, Detail: t.spec.Name})
		j.retries++
		j.out, j.outs = transport.Value{}, nil
		if len(j.caller.opened) > 0 {
			r.closeStreams(&j.caller)
		}
		j.caller = Caller{r: r, task: t.spec.ID, t: t, capture: captureOf(t.spec), job: r.jobFor(t)}
		j.caller.ns, j.caller.nsJob = namespaceFor(t, j.caller.job)
		j.caller.placeIn(t)
		t.caller = &j.caller
		j.inject = r.injectError()
		r.pool.Submit(j)
		return
	}
	j.retries = 0
	// The idle job keeps nothing of the task: its Caller's t would keep
	// the task's spec and argument values (a freed object's bytes) alive
	// until the job is reused, which after a burst may be never.
	t.caller = nil
	j.t, j.out, j.outs = nil, transport.Value{}, nil
	c := &j.caller // what it points to goes (dispatch makes the next task's Caller afresh)
	if len(c.opened) > 0 {
		r.closeStreams(c)
	}
	if len(c.seqs) > 0 {
		r.callerOver(c.task, slices.Collect(maps.Keys(c.seqs))) // callerOver sorts them
	}
	c.t, c.seqs, c.blocks, c.kids = nil, nil, nil, nil
	r.jobs = append(r.jobs, j)
	r.finishAll(t, out, outs)
}

// injectError draws whether the run starting now fails by a TaskErrors
// fault.
func (r *Raylet) injectError() bool {
	if r.cfg.TaskErrors == nil {
		return false
	}
	p := r.cfg.TaskErrors()
	return p > 0 && r.env.Rand().Float64() < p
}

// retryOnError reports whether a task whose code failed (out) runs again,
// having done tries such runs here: its spec asks for it (RetryExceptions,
// and, when it names errors to retry, RetryOn, out names one of them, as
// Ray's retry_exceptions=[...] retries only those), it was not cancelled, its owner has not moved on from this run, and its
// MaxRetries are not spent by the attempts its nodes' deaths took
// (spec.Attempt) and these. It counts and traces the retry.
func (r *Raylet) retryOnError(t *task, tries int32, out transport.Value) bool {
	s := t.spec
	if !s.RetryExceptions || t.cancelled || s.MaxRetries >= 0 && int64(s.Attempt)+int64(tries) >= int64(s.MaxRetries) {
		return false
	}
	if on := s.A().RetryOn(); len(on) > 0 && !slices.ContainsFunc(on, func(name string) bool { return transport.NamesError(out, name) }) {
		return false
	}
	if _, stale := r.staleRuns[t]; stale {
		return false
	}
	r.Stats.Retried++
	r.emit(transport.Event{Kind: transport.EvTaskRetried, Node: r.self, Task: s.ID,
		Detail: fmt.Sprintf("its code failed: %s (retry %d)", transport.ErrText(out), tries+1)})
	r.reportRerun(s, false) // a unit of the budget its rebuilds share too
	return true
}

func (r *Raylet) lookupFunc(name string) (Func, bool) {
	if r.cfg.Registry == nil {
		return nil, false
	}
	return r.cfg.Registry.Func(name)
}

func (r *Raylet) lookupMulti(name string) (MultiFunc, bool) {
	if r.cfg.Registry == nil {
		return nil, false
	}
	return r.cfg.Registry.MultiFunc(name)
}

// callUser runs user code, turning an error or a panic into an error value.
func callUser(f func() (transport.Value, error)) (out transport.Value) {
	defer func() {
		if p := recover(); p != nil {
			out = panicValue(p)
		}
	}()
	v, err := f()
	if err != nil {
		return errValue(transport.ErrKindTask, err.Error())
	}
	return v
}

// panicValue is the error value of user code that panicked with p; an
// Env's unwinding (unwinder) goes on up.
func panicValue(p any) transport.Value {
	if u, ok := p.(unwinder); ok {
		panic(u)
	}
	return errValue(transport.ErrKindTask, fmt.Sprintf("panic: %v", p))
}

// unwinder marks a panic an Env uses to stop user code (netsim stops the
// coroutines of a crashed node this way): it must not become a task error.
type unwinder interface{ Unwind() }

// named is out, and for an error of the task's own code (ErrKindTask)
// the same with its message naming the task (its function or method, or
// its Name) and this node, as Ray's RayTaskError names ray::f() and where
// it ran: a reader of many tasks' errors (Get's TaskError) tells which
// failed. outs, if any, are not touched: an error has none.
func (r *Raylet) named(spec *transport.TaskSpec, out transport.Value) transport.Value {
	if out.ErrKind != transport.ErrKindTask {
		return out
	}
	name := spec.Name
	if spec.Actor != 0 && strings.HasSuffix(spec.Func, "."+name) {
		name = spec.Func // a method's call is named by its method alone: name its class too
	}
	out.Data = fmt.Appendf(nil, "%s on node %d: %s", name, r.self, out.Data)
	return out
}

func errValue(kind uint8, msg string) transport.Value {
	return transport.Value{Data: []byte(msg), ErrKind: kind}
}

// finish records a finished task's result.
func (r *Raylet) finish(t *task, out transport.Value) { r.finishAll(t, out, nil) }

// finishAll records a finished task's results: outs one per return, or
// (nil) out for every return.
func (r *Raylet) finishAll(t *task, out transport.Value, outs []transport.Value) {
	if len(r.gens) > 0 {
		r.untrackGen(t)
	}
	r.giveBack(t)
	t.holds = false
	r.unpinArgs(t)
	if len(r.staleRuns) > 0 {
		if _, stale := r.staleRuns[t]; stale {
			delete(r.staleRuns, t) // its owner has moved on: what it made goes (it left r.tasks at the rejoin)
			t.ret = nil
			r.dispatch()
			return
		}
	}
	r.tasks.Delete(t.spec.ID)
	if t.cancelled {
		var mode CancelMode
		if len(r.cancelNotes) > 0 {
			mode = r.cancelNotes[t].mode
			delete(r.cancelNotes, t)
		}
		out, outs = r.cancelValue(t.spec, mode), nil
	}
	took := r.since() - t.start
	if r.meanTask == 0 {
		r.meanTask = took
	} else {
		r.meanTask = (7*r.meanTask + took) / 8
	}
	ret := t.ret
	t.ret = nil
	r.storeAll(t.spec, out, outs, ret)
	r.dispatch()
}

// storeResults puts a task's return objects here and announces them, out
// as every return. ret, if not nil, is the store's entry for the first
// (task.ret).
func (r *Raylet) storeResults(spec *transport.TaskSpec, out transport.Value, ret *objstore.Entry) {
	r.storeAll(spec, out, nil, ret)
}

// storeAll is storeResults with, when outs is not nil, each return's own
// value (a task of several returns: outs[i] is return i, out is outs[0]).
func (r *Raylet) storeAll(spec *transport.TaskSpec, out transport.Value, outs []transport.Value, ret *objstore.Entry) {
	value := func(i uint32) transport.Value {
		if outs != nil {
			return outs[i]
		}
		return out
	}
	kind := transport.EvTaskFinished
	switch out.ErrKind {
	case transport.ErrKindNone:
		r.Stats.Finished++
	case transport.ErrKindCancelled:
		kind = transport.EvTaskCancelled
		r.Stats.Cancelled++
	default:
		kind = transport.EvTaskFailed
		r.Stats.Failed++
	}
	detail := spec.Name
	if out.ErrKind != 0 {
		detail = string(transport.ErrText(out))
	}
	r.emit(transport.Event{Kind: kind, Node: r.self, Task: spec.ID, Detail: detail})
	if transport.IsFailureOfRecord(out.ErrKind) && spec.NumReturns > 0 {
		// The task table learns first that these results are a failure
		// (the client keeps the order of a shard's messages, and the
		// results' locations go to the task's shard): a rebuild of one
		// lost with this node is then the failure again, not a run.
		r.gcs.Send(r.cfg.Layout.ShardOfTask(spec.ID), &transport.GcsTaskFailed{Task: spec.ID, ErrKind: out.ErrKind})
	}
	if spec.NumReturns == 0 || spec.Owner == r.self {
		for i := uint32(0); i < spec.NumReturns; i++ {
			r.putNotify(spec.Return(i), value(i), true, 0, ret)
			ret = nil
		}
		r.notifyOwner(spec)
		r.madeForSpec(spec)
		return
	}
	// A remote owner learns the task is done from the GCS, once the last
	// result's location is recorded there: the owner can never forget a task
	// whose result the GCS has not heard of (lost with a crash in flight).
	for i := uint32(0); i < spec.NumReturns-1; i++ {
		r.putNotify(spec.Return(i), value(i), true, 0, ret)
		ret = nil
	}
	last := spec.NumReturns - 1
	r.putNotify(spec.Return(last), value(last), true, spec.Owner, ret)
	r.madeForSpec(spec)
}

// notifyOwner tells a task's owner it is done (here, or by a message).
func (r *Raylet) notifyOwner(spec *transport.TaskSpec) {
	if spec.Owner == r.self {
		r.ownedDone(spec.ID)
	} else if r.buggify(BuggifyLateTaskDone) {
		m := &transport.TaskDone{Task: spec.ID, Node: r.self}
		r.env.After(r.buggifyDelay(50*time.Millisecond), func() { r.send(spec.Owner, m) })
	} else {
		r.send(spec.Owner, &transport.TaskDone{Task: spec.ID, Node: r.self})
	}
}

// failTask stores an error as every return of a task that will not run.
func (r *Raylet) failTask(spec *transport.TaskSpec, kind uint8, msg string) {
	r.storeResults(spec, errValue(kind, msg), nil)
}

// put stores an object here, tells the GCS and wakes local waiters.
func (r *Raylet) put(id transport.ObjectID, v transport.Value, primary bool) {
	r.putNotify(id, v, primary, 0, nil)
}

// putNotify is put; the GCS also tells owner (when non-zero) that the
// object's task is done, once it has recorded the location. hint, if not
// nil, is the entry the store made for the object when a reader began to
// wait (see objstore.Store.PutAt). An object larger than the whole store
// is stored as ErrObjectTooLarge instead: made here (primary), that is the
// object for every reader, announced as any result; pulled, it is for the
// readers here only, and neither announced nor served (localOnly).
func (r *Raylet) putNotify(id transport.ObjectID, v transport.Value, primary bool, owner transport.NodeID, hint *objstore.Entry) {
	size := v.SizeOf()
	r.env.Charge(r.cfg.Costs.ObjectPut) // the bytes were copied in by their writer
	e, evicted, over, err := r.store.PutAt(hint, id, v, primary)
	if err != nil {
		v = errValue(transport.ErrKindObjectTooLarge, err.Error())
		size = v.SizeOf()
		e, evicted, over, _ = r.store.PutAt(hint, id, v, primary)
	}
	if over {
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Object: id, Bytes: size,
			Detail: "object store over capacity: every object is pinned"})
	}
	r.evicted(evicted)
	r.emit(transport.Event{Kind: transport.EvObjectCreated, Node: r.self, Object: id, Bytes: size})
	if !localOnly(v, primary) {
		r.announce(transport.GcsAddObject{Object: id, Node: r.self, Size: size, Incarnation: r.cfg.Incarnation, Owner: owner,
			Failed: transport.IsFailureOfRecord(v.ErrKind)})
	}
	delete(r.locations, id) // the store is the authority on local copies
	delete(r.reconstructing, id.Task)
	if len(r.ownerless) > 0 {
		delete(r.ownerless, id.Task)
	}
	r.wake(id, e)
}

// wake tells whoever waits for an object that it is here: e is its entry,
// just put in the store, or nil when the put failed (even the error value
// is larger than the whole store): its readers then have nothing to take
// and keep waiting.
func (r *Raylet) wake(id transport.ObjectID, e *objstore.Entry) {
	if ws, ok := r.located[id]; ok {
		delete(r.located, id)
		for _, w := range ws {
			w.f()
		}
	}
	if e == nil {
		return
	}
	if fe, _ := e.Awaited().(*fetch); fe != nil { // whatever was fetching it is done
		r.store.Unawait(e)
		// With several readers, hold the object until each has taken it:
		// one may put another object (a task failed by an error argument
		// finishes at once) and evict this one from under the rest.
		held := fe.more != nil && r.store.Pin(id)
		if fe.first != nil {
			fe.first.ready(e)
		}
		if fe.more != nil {
			for _, w := range *fe.more {
				w.ready(e)
			}
		}
		if held && r.store.Unpin(id) {
			r.dropped(id)
		}
	}
}

// cancelTask asks every raylet and the global scheduler to drop a task
// (Cancel, on the loop) as mode says (CancelForce, CancelShallow). A task
// this node knows finished (it holds or has located its result) is left
// alone: a cancel of a finished task is a no-op, as in Ray, and the
// tombstones it would leave on raylets that never saw the task would fail
// a rebuild of the result placed there.
func (r *Raylet) cancelTask(id transport.TaskID, mode CancelMode) {
	if ret := (transport.ObjectID{Task: id}); r.store.Contains(ret) {
		return
	} else if _, located := r.locations[ret]; located {
		return
	}
	o := r.owned[id]
	rebuild := o != nil && o.rebuilt // a rebuild of ours: the cancel ends it too
	m := &transport.CancelTask{Task: id, Force: mode&CancelForce != 0, Rebuild: rebuild, Shallow: mode&CancelShallow != 0}
	for _, n := range r.cfg.Layout.Raylets {
		if n == r.self {
			r.cancelLocal(id, rebuild, mode)
		} else {
			r.send(n, m)
		}
	}
	r.send(r.cfg.Layout.Scheduler, m)
}

// cancelLocal drops a task queued here, or marks a running one cancelled
// and interrupts it (a normal task: Caller.interrupt), cancelling the
// tasks it submitted unless mode is CancelShallow. Under CancelForce a
// running normal task's worker is taken for killed (forceEnd). A rebuild
// is left alone unless rebuild says the cancel is for it
// (transport.CancelTask.Rebuild).
func (r *Raylet) cancelLocal(id transport.TaskID, rebuild bool, mode CancelMode) {
	// A submission not yet drained is in no table: it would be
	// tombstoned, then accepted here by the drain (which does not look at
	// tombstones) and run as if never cancelled.
	r.drainSubmits()
	if o := r.owned[id]; o != nil && (!o.rebuilt || rebuild) {
		// The owner's record, whoever cancels (a borrower's cancel comes
		// here too): a retry of the task fails it (retry).
		o.cancelled = true
		if w := r.argWaits[id]; w != nil {
			r.spillAwaited(w) // waiting for its inputs: it ends now, cancelled
			return
		}
	}
	t, ok := r.tasks.Get(id)
	if !ok {
		if !r.cancelCall(id, rebuild, mode) {
			r.tombstones.add(id, r.since()) // in flight to us, or never coming
		}
		return
	}
	if t.spec.IsCreation() { // an actor is ended by Kill, not Cancel
		return
	}
	if t.cancelled {
		if t.running && mode&CancelForce != 0 && t.actor == nil && t.caller != nil {
			r.forceEnd(t) // a force after a cancel that did not end it
		}
		return
	}
	if t.spec.Rebuild && !rebuild {
		return // a cancel of the finished run this remakes: a no-op
	}
	if t.running {
		t.cancelled = true
		if mode&(CancelShallow|cancelGroup) != 0 {
			r.noteCancel(t, mode)
		}
		if c := t.caller; c != nil {
			c.interrupt() // a normal task's block ends now
			if mode&CancelShallow == 0 {
				c.cancelKids(mode & CancelForce)
			}
			if mode&CancelForce != 0 && t.actor == nil {
				r.forceEnd(t)
			}
		}
		return // finish stores the cancellation
	}
	r.dropQueued(t)
	r.failCancelledBy(t.spec, mode)
}

// CancelMode says how a cancel ends a task, as the arguments of Ray's
// ray.cancel do; the zero mode is Ray's default (force=False,
// recursive=True).
type CancelMode uint8

const (
	// CancelForce (Ray's force=True) takes the worker of a running
	// normal task for killed: the task's result is the cancel at once
	// (ErrCancelled, with CauseWorkerCrashed: Ray's WorkerCrashedError),
	// its resources are free at once, and what its code still makes is
	// discarded (forceEnd). A queued task is dropped as by any cancel.
	// Ray refuses it for actor tasks (Caller.Cancel does too); a running
	// method call reached anyway is cancelled without force.
	CancelForce CancelMode = 1 << iota
	// CancelShallow (Ray's recursive=False): the tasks the cancelled task
	// submitted, and submits from now on, are left alone.
	CancelShallow
	// cancelGroup: the task's placement group was removed (endGroup): its
	// error says so (CauseGroupRemoved).
	cancelGroup
)

// cancelNote is what a running task's cancel said beyond the cancel
// itself (Raylet.cancelNotes): kept aside, as few cancels say anything
// more and task must stay in its size class.
type cancelNote struct {
	mode CancelMode
}

// noteCancel records how a running task was cancelled, for finishAll (its
// error's causes) and Caller.submitted (a shallow cancel's new children
// run).
func (r *Raylet) noteCancel(t *task, mode CancelMode) {
	if r.cancelNotes == nil {
		r.cancelNotes = make(map[*task]cancelNote)
	}
	r.cancelNotes[t] = cancelNote{mode: mode}
}

// cancelCauses are the causes (transport.Value.Causes) of a cancel in
// mode.
func cancelCauses(mode CancelMode) uint32 {
	var c uint32
	if mode&CancelForce != 0 {
		c |= transport.CauseWorkerCrashed
	}
	if mode&cancelGroup != 0 {
		c |= transport.CauseGroupRemoved
	}
	return c
}

// cancelValue is the error value of a task cancelled in mode.
func (r *Raylet) cancelValue(spec *transport.TaskSpec, mode CancelMode) transport.Value {
	msg := r.cancelledMsg(spec)
	switch {
	case mode&cancelGroup != 0:
		msg += ": its placement group was removed"
	case mode&CancelForce != 0:
		msg += " (force: its worker was killed)"
	}
	v := errValue(transport.ErrKindCancelled, msg)
	v.Causes = cancelCauses(mode)
	return v
}

// forceEnd ends a running normal task whose cancel was forced, as Ray's
// ray.cancel(force=True) kills the worker that runs it: its result is
// the cancel now (with CauseWorkerCrashed), its resources go back to the
// node now, and its run is abandoned. Go cannot kill the goroutine (on
// TCP) or unwind the coroutine (in the simulator) that runs the code, so
// the code is not stopped: its blocks were interrupted and every later
// Get, Wait or Compute of it fails at once with ErrCancelled (so code that
// checks errors unwinds), its submissions are cancelled, and whatever it
// returns is discarded (staleRuns), as a killed worker's would be. Code
// that never calls the runtime runs on to its end meanwhile, on a CPU the
// node has given to another task (TCP only: in the simulator user code
// takes no time between runtime calls).
func (r *Raylet) forceEnd(t *task) {
	if t.borrowed {
		t.caller.reacquire() // its CPU was lent while it blocked: taken back, then given back below
	}
	r.noteCancel(t, r.cancelNotes[t].mode|CancelForce)
	r.finishAll(t, transport.Value{}, nil) // t.cancelled: stores the cancel
	if r.staleRuns == nil {
		r.staleRuns = make(map[*task]struct{})
	}
	r.staleRuns[t] = struct{}{} // its later blocks end at once too (cancelledNow); finish discards its result
	r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Task: t.spec.ID, Detail: "force cancel: worker taken for killed, its run abandoned"})
}

// dropQueued takes a task that has not started out of the node: out of
// r.tasks and out of the queue length (waiting for its arguments, or ready
// in its class, whose dispatch skips it), its arguments unpinned.
func (r *Raylet) dropQueued(t *task) {
	r.dropWaits(t)
	r.tasks.Delete(t.spec.ID)
	if t.missing > 0 {
		r.waiting--
	} else {
		r.ready--
	}
	if t.spec.IsCreation() {
		r.promised = r.promised.Sub(t.spec.Resources)
		r.promiseGPUs(t.spec.Resources.GPU, false)
	}
}

// tombstoneAge is how long a raylet remembers a cancel of a task it has
// not seen, at least: a placement still in flight after it runs the task
// (cancellation is best effort, as in Ray).
const tombstoneAge = time.Minute

// tombstones are two generations of cancelled task IDs. A cancel that
// finds the current generation older than tombstoneAge starts a new one,
// dropping the one before: a tombstone lasts tombstoneAge to twice that,
// and memory follows the cancels of the last two minutes, not of the run.
// No timer: a run without cancels schedules nothing for them.
type tombstones struct {
	cur, old map[transport.TaskID]struct{}
	since    time.Duration // when cur began (Raylet.since)
}

func (ts *tombstones) add(id transport.TaskID, now time.Duration) {
	switch age := now - ts.since; {
	case ts.cur == nil || age >= 2*tombstoneAge:
		ts.cur, ts.old, ts.since = make(map[transport.TaskID]struct{}), nil, now
	case age >= tombstoneAge:
		ts.cur, ts.old, ts.since = make(map[transport.TaskID]struct{}), ts.cur, now
	}
	ts.cur[id] = struct{}{}
}

// take reports whether id was cancelled here, forgetting it.
func (ts *tombstones) take(id transport.TaskID) bool {
	if _, ok := ts.cur[id]; ok {
		delete(ts.cur, id)
		return true
	}
	if _, ok := ts.old[id]; ok {
		delete(ts.old, id)
		return true
	}
	return false
}

// send sends m to a node that is not a GCS shard (those are reached
// through r.gcs). The object locations the GCS client holds (in netsim, see
// gcs.Client.AddObject) leave first: m may carry a ref to one of those
// objects (a spec's argument, a value), and a ref must not reach another
// node while the GCS may never hear of its object (a crash before the
// client's flush would leave the reader waiting for good). Until the node
// table has answered this incarnation's registration the raylet holds its
// announcements itself (announce), and a ref can leave before them: a
// reader then waits for the location until the registration is answered,
// or, if this incarnation dies unregistered, until its owner's retry (the
// same IDs) makes the object again.
// sendOthers sends m to every other raylet of the cluster (a kill of an
// actor not hosted here, a job's end): the same message value to each.
func (r *Raylet) sendOthers(m transport.Message) {
	for _, n := range r.cfg.Layout.Raylets {
		if n != r.self {
			r.send(n, m)
		}
	}
}

func (r *Raylet) send(to transport.NodeID, m transport.Message) {
	r.gcs.Flush()
	r.env.Send(to, m)
}

// emit records a trace event through a buffer the raylet owns: an event
// built on the stack and passed to the Env by pointer would escape to the
// heap, one allocation per event even with tracing off.
func (r *Raylet) emit(ev transport.Event) {
	r.evbuf = ev
	r.env.Emit(&r.evbuf)
}

// spilled charges and traces the objects the store moved to its spill
// tier since the last call. Their locations stay in the GCS: a spilled
// copy is still here, read back at its next read (restore).
func (r *Raylet) spilled() {
	for _, sp := range r.store.TakeSpills() {
		detail := ""
		if sp.Written {
			r.env.Charge(r.cfg.Costs.Spill(sp.Bytes))
		} else {
			detail = transport.DetailOnDisk
		}
		r.emit(transport.Event{Kind: transport.EvObjectSpilled, Node: r.self, Object: sp.ID, Bytes: sp.Bytes, Detail: detail})
	}
}

// restore brings a spilled object back into memory for a read here (a
// task's argument, a Get, a pull to serve), charging Costs.Restore of its
// bytes; the room it makes is reported as a put's (evicted).
func (r *Raylet) restore(e *objstore.Entry) {
	evicted, over := r.store.Restore(e)
	if e.Spilled() { // no longer the store's entry (dropped since): nothing to bring back
		return
	}
	size := e.Value.SizeOf()
	r.env.Charge(r.cfg.Costs.Restore(size))
	r.evicted(evicted)
	if over {
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Object: e.ID, Bytes: size,
			Detail: "object store over capacity: a restore found every object pinned"})
	}
	r.emit(transport.Event{Kind: transport.EvObjectRestored, Node: r.self, Object: e.ID, Bytes: size})
}

// evicted traces the objects a put evicted and tells the GCS each copy is
// gone. Every put that can evict goes through it: an eviction the GCS never
// heard of left this node listed as a holder, and a reader here, answered
// with this node, asked again for good.
//
// It also charges and traces what the put spilled (see spilled): every
// put that can make room goes through here.
func (r *Raylet) evicted(ids []transport.ObjectID) {
	if r.store.SpillCapacity() > 0 {
		r.spilled()
	}
	for _, ev := range ids {
		r.emit(transport.Event{Kind: transport.EvObjectEvicted, Node: r.self, Object: ev})
		// After its announcement, if that waits: the GCS must hear it was made.
		rm := &transport.GcsRemoveObject{Object: ev, Node: r.self, Incarnation: r.cfg.Incarnation}
		if !r.registered {
			r.whenRegisteredObject(func() { r.gcs.Send(r.cfg.Layout.ShardOfObject(rm.Object), rm) })
			continue
		}
		r.gcs.Send(r.cfg.Layout.ShardOfObject(rm.Object), rm)
	}
}
