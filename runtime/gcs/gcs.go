// Package gcs is raysim's global control store: the object table (where each
// object's copies are, and its size), the task table (each task's spec: the
// lineage that reconstruction replays), the actor table (state, location,
// names), and the node table (resources, load, liveness), with publish/
// subscribe for object locations and actor state — the publication is what
// wakes a Get. Tables are sharded by ID across GCS shards; each shard is one
// Shard component, an event-driven state machine on the Env seam.
package gcs

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"raysim/runtime/costs"
	"raysim/runtime/idmap"
	"raysim/runtime/transport"
)

// Layout names the endpoints of a cluster: every component gets the same one.
type Layout struct {
	// Shards names the GCS shards, in shard order: a shard's name is its
	// only endpoint, or, when replicated, its first replica (the initial
	// head). Clients address a shard by name; a Client routes the message to
	// the right replica.
	Shards []transport.NodeID
	// Chains, when set, lists each shard's replicas in initial chain order
	// (head first); Master is then the chain configuration master.
	Chains    [][]transport.NodeID
	Master    transport.NodeID
	Scheduler transport.NodeID   // the global scheduler
	Raylets   []transport.NodeID // every raylet, in node order
}

// IsGCS reports whether id is an endpoint of the GCS: a shard, a chain
// replica or the chain master. Messages only the GCS sends (a node's
// death, chain acknowledgements, a forwarded registration) are taken from
// these alone.
func (l *Layout) IsGCS(id transport.NodeID) bool {
	if id == 0 {
		return false
	}
	if id == l.Master || slices.Contains(l.Shards, id) {
		return true
	}
	for _, ch := range l.Chains {
		if slices.Contains(ch, id) {
			return true
		}
	}
	return false
}

// Replicated reports whether the shards are chains with a master.
func (l *Layout) Replicated() bool { return l.Master != 0 && len(l.Chains) == len(l.Shards) }

// GCSMembers returns every endpoint that holds a shard's tables (and so a
// store): each shard, or, replicated, each replica of each chain, in shard
// order.
func (l *Layout) GCSMembers() []transport.NodeID {
	if !l.Replicated() {
		return slices.Clone(l.Shards)
	}
	var ids []transport.NodeID
	for _, c := range l.Chains {
		ids = append(ids, c...)
	}
	return ids
}

// ShardIndex returns the index of the shard named id.
func (l *Layout) ShardIndex(id transport.NodeID) (int, bool) {
	for j, s := range l.Shards {
		if s == id {
			return j, true
		}
	}
	return 0, false
}

// ShardOfTask is the shard holding a task's (and its objects') entries: by
// the task's block (transport.TaskBlockKey), so that one parent's
// consecutive children share a shard and its table blocks.
func (l *Layout) ShardOfTask(t transport.TaskID) transport.NodeID {
	return l.Shards[transport.TaskBlockKey(t)%uint64(len(l.Shards))]
}

// ShardOfObject is the shard holding an object's entry: its task's shard.
func (l *Layout) ShardOfObject(o transport.ObjectID) transport.NodeID { return l.ShardOfTask(o.Task) }

// ShardOfName is the shard holding an actor name's registration.
func (l *Layout) ShardOfName(name string) transport.NodeID {
	h := fnv.New64a()
	h.Write([]byte(name))
	return l.Shards[h.Sum64()%uint64(len(l.Shards))]
}

// NodeTable is the shard that keeps the node table (and forwards load to the
// global scheduler).
func (l *Layout) NodeTable() transport.NodeID { return l.Shards[0] }

type objectEntry struct {
	created bool // a location was added once: no location now means lost
	size    int64
	nodes   []transport.NodeID
	// incs[i] is the incarnation of nodes[i] that announced the copy: the
	// death of an earlier incarnation, or its eviction notice arriving
	// late, must not take the copy a later one announced (a rejoined
	// node's, which the shard may hear of first).
	incs []uint64
	subs []transport.NodeID // one-shot subscribers waiting for a first location
	// freed: the owner freed the object and nobody has asked for it
	// since. A copy announced now — by a holder rejoining after the free
	// crossed its death (the free could not reach it), a pull or a retried
	// task that finished after the free, or the task that makes an object
	// freed before it was made — is dropped, not listed.
	// A subscription clears it: the reader rebuilds the object.
	freed bool
	// gone: the job the object was made for ended (GcsObjectsGone): freed
	// for good, a subscription does not clear it, and a reader is
	// answered ObjectJobEnded (lostMsg), never sent to rebuild it.
	gone bool
}

// addLoc lists node n's copy, announced by its incarnation inc.
func (e *objectEntry) addLoc(n transport.NodeID, inc uint64) {
	if i := slices.Index(e.nodes, n); i >= 0 {
		e.incs[i] = max(e.incs[i], inc)
		return
	}
	e.nodes = append(e.nodes, n)
	e.incs = append(e.incs, inc)
}

// dropLoc unlists node n's copy if an incarnation up to inc announced it,
// and reports whether it did.
func (e *objectEntry) dropLoc(n transport.NodeID, inc uint64) bool {
	i := slices.Index(e.nodes, n)
	if i < 0 || e.incs[i] > inc {
		return false
	}
	e.nodes = slices.Delete(e.nodes, i, i+1)
	e.incs = slices.Delete(e.incs, i, i+1)
	return true
}

type actorEntry struct {
	info transport.ActorInfo
	// hostInc is the incarnation of info.Node that reported the actor
	// alive (0: not known). A death of an earlier incarnation of that node,
	// arriving late, is not this instance's.
	hostInc  uint64
	subs     []transport.NodeID
	restarts int32
	// attempt numbers the latest restart the shard handed to the
	// scheduler (its creation's Attempt is transport.RestartAttempt of
	// it). It is restarts, unless a restart was placed again without a
	// charge (a placement on a node known dead when it was asked for:
	// see staleRestart): the scheduler takes a restart only if it is
	// newer than the last it had, so every placement is numbered anew.
	attempt uint32
	// placedAt is the shard's count of node deaths (deathSeq) when it
	// asked for the current restart: a node whose latest death the count
	// covers was dead before the restart was placed. Stored with the
	// entry, as the deaths' order is (a replica given a snapshot judges
	// as the others do); zero from a store without that order: every
	// death counts as later.
	placedAt uint32
	// owner and ownerInc: the node incarnation whose driver or worker
	// created the actor (the creator's "pending" update says it; zero: not
	// told, or a detached actor). The actor's shard buries the actor when
	// that incarnation dies (ownerDied), as Ray's non-detached actors die
	// with their owner.
	owner    transport.NodeID
	ownerInc uint64
	// specWait: its instance died before the shard had its creation's
	// spec (the creator's record behind a slow, lossy link, the host's
	// word of it alive not): the restart is decided when the spec comes
	// (addTask), why saying what ended the instance.
	specWait bool
	specWhy  string
	// killAt is the node the actor's shard last told to end the actor
	// once it held it dead (buryOrphan): a replica that becomes its
	// chain's tail tells it again (rekillOrphans), as the old tail's word
	// may have died with it.
	killAt transport.NodeID
	// The last checkpoint of a checkpointable actor: its state after
	// ckptCalls methods.
	ckptCalls uint64
	ckpt      []byte
	hasCkpt   bool // an empty state is a checkpoint too (ckpt is then nil)
	// log: for an actor created with Replay, the methods it ran after the
	// checkpoint, log[i] being its (ckptCalls+1+i)-th.
	log []transport.TaskSpec
	// queued: the entry, dead, is in the shard's deadQ (not stored: a
	// loaded or read-back entry is queued again).
	queued bool
	// order is the newest instance the entry's state speaks of
	// (instanceOrder of the last "alive" or "restarting" applied): a
	// name's shard other than the actor's hears the actor's shard's
	// "restarting" and the restart's host's "alive" on different links,
	// in any order, and takes neither when it is older than the state it
	// has (0: none known; every update applies).
	order uint64
}

// instanceOrder orders an "alive" or "restarting" actor update by the
// instance it speaks of: its creation attempt (a GCS restart's,
// transport.RestartAttempt, numbered past every creator's attempt), and
// for one attempt "restarting" (the restart asked for) before "alive"
// (that restart up). 0 for any other update, which the order does not
// gate: "pending" has its own rule, "dead" is final.
func instanceOrder(m *transport.GcsActorUpdate) uint64 {
	switch m.State {
	case transport.ActorRestarting:
		return uint64(m.Attempt)<<1 | 0
	case transport.ActorAlive:
		return uint64(m.Attempt)<<1 | 1
	}
	return 0
}

type nodeEntry struct {
	reg      transport.RegisterNode
	last     transport.Heartbeat
	lastSeen time.Time // on the shard's monotonic clock (transport.Monotonic)
	alive    bool
	beats    uint64 // heartbeats of this incarnation applied (the same on every replica)
	// order is the row's place in the stored registration order (its
	// meta key, orderKey): each row in memory has its own key, written
	// when it enters nodeIDs and deleted when it leaves memory, where the
	// whole order written again on each registration made a start-up of
	// N nodes write N²/2 node IDs (QA32). Not in the row's own value.
	order uint32
}

// Config configures a shard.
type Config struct {
	Layout *Layout
	Costs  costs.Profile
	// HeartbeatPeriod is how often the node-table shard checks liveness
	// (default 100ms); NodeTimeout how long a node may stay silent before it
	// is declared dead (default 10 periods: long enough that a heartbeat
	// lost twice and resent after 200ms and 400ms does not kill a node).
	HeartbeatPeriod time.Duration
	NodeTimeout     time.Duration
	// NodeName, if set, names a node for the causes of death the actor
	// table records (transport.NodeText; "" unknown): a live cluster's
	// address book. Not set in netsim, whose texts are in the trace.
	NodeName func(transport.NodeID) string
	// Store keeps the tables durably (default: a fresh MemStore). A shard
	// started on a non-empty store recovers its tables from it.
	Store Store
	// SyncEvery syncs the store after this many table writes (default 64;
	// negative: never, the owner syncs).
	SyncEvery int
	// DeadActors is how many dead actors' entries the shard keeps in
	// memory (default DefaultDeadActors), as Ray's GCS caches destroyed
	// actors up to maximum_gcs_destroyed_actor_cached_count: the oldest
	// deaths leave memory first and stay in the store only, read back
	// when asked of (a lookup still says dead, with the cause).
	DeadActors int
	// DeadNodes is how many dead nodes' rows the node-table shard keeps
	// in memory (default DefaultDeadNodes), as Ray's GCS caches dead nodes
	// up to maximum_gcs_dead_node_cached_count: on a live cluster every
	// driver session is a node of its own, whose row stayed in memory for
	// good. The oldest deaths leave memory first and stay in the store,
	// read back when the node registers again (see nodeRow).
	DeadNodes int
	// Leader and Propose are set by a chain replica: only the leader (the
	// tail) runs failure detection, and it proposes a node's death as an
	// update through the chain (Propose) instead of applying it alone.
	Leader  func() bool
	Propose func(transport.Message)
}

// Shard is one GCS shard.
type Shard struct {
	evbuf   transport.Event // see emit
	env     transport.Env
	layout  *Layout
	costs   costs.Profile
	cfg     Config
	deadInc map[transport.NodeID]uint64 // highest incarnation declared dead
	// deathSeq counts the node deaths this shard applied, and diedAt is
	// the count at each node's latest death: a task's owner died after
	// its spec arrived if diedAt[owner] > its taskMeta.epoch (orphaned).
	deathSeq uint32
	diedAt   map[transport.NodeID]uint32
	// refused: the incarnation of each node last refused for its function
	// table, so that the warning comes once, not with every re-sent
	// registration (a raylet re-sends it each heartbeat until answered).
	refused map[transport.NodeID]uint64
	// nextCheck is when the liveness check is due (node-table shard).
	nextCheck time.Time
	clock     transport.Clock // measures heartbeats' silence (see nodeEntry.lastSeen)

	objects idmap.Objects[*objectEntry]
	tasks   idmap.Map[taskMeta] // resident (unfinished) tasks; specs are in the store
	actors  map[transport.ActorID]*actorEntry
	names   map[string]transport.ActorID
	nodes   map[transport.NodeID]*nodeEntry
	nodeIDs []transport.NodeID // the rows in memory in registration order, for deterministic iteration
	// nextOrder is the next row's place in the stored order
	// (nodeEntry.order): past every stored one.
	nextOrder uint32
	// deadNodeQ: the dead nodes' rows in memory, in the order they died
	// (or were loaded); evictDeadNodes flushes the oldest beyond
	// cfg.DeadNodes. flushedNodes counts the rows in the store only.
	deadNodeQ    []transport.NodeID
	flushedNodes int
	// deadQ: the dead actors resident in memory, in the order they died
	// (or were read back from the store); evictDead flushes the oldest
	// beyond cfg.DeadActors. flushedActors counts the entries in the
	// store only (TableActors), all of them dead.
	deadQ         []transport.ActorID
	flushedActors int
	funcs         uint64 // function-table digest of the first node

	store   Store
	scratch []byte // values being written
	kbuf    []byte // the key being written or read
	writes  int
	flushed int // task entries flushed out of memory
	// early holds tasks an object of which was made before their spec
	// arrived (see objectMade); kept only when the store is a newPutter
	// (putNew, nil otherwise).
	early  map[transport.TaskID]struct{}
	putNew newPutter
	// flushedObjects counts object entries flushed out of memory.
	flushedObjects int
	// generalAdd turns addNewObject and freeFlushed off: tests check them
	// against the general path.
	generalAdd bool
	// failures: some task's failure is recorded here (TableFailures is not
	// empty), so a value's location may have to be refused (refuseValue).
	failures bool
	// reruns: some task's re-executions are recorded here (TableReruns is
	// not empty); claims: the tasks with a rebuild under way (a claimant
	// in their rerunRecord), whose next result location ends it.
	reruns bool
	claims map[transport.TaskID]struct{}
}

// New returns an empty shard. The node-table shard starts checking node
// liveness at once.
func New(env transport.Env, cfg Config) *Shard {
	if cfg.HeartbeatPeriod <= 0 {
		cfg.HeartbeatPeriod = 100 * time.Millisecond
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 10 * cfg.HeartbeatPeriod
	}
	if cfg.Store == nil {
		cfg.Store = NewMemStore()
	}
	if cfg.SyncEvery == 0 {
		cfg.SyncEvery = 64
	}
	if cfg.DeadActors <= 0 {
		cfg.DeadActors = DefaultDeadActors
	}
	if cfg.DeadNodes <= 0 {
		cfg.DeadNodes = DefaultDeadNodes
	}
	s := &Shard{env: env, clock: transport.NewClock(env), layout: cfg.Layout, costs: cfg.Costs, cfg: cfg, store: cfg.Store}
	s.putNew, _ = cfg.Store.(newPutter)
	s.load()
	if env.Self() == cfg.Layout.NodeTable() {
		s.scheduleCheck()
	}
	return s
}

// Handle implements transport.Handler.
func (s *Shard) Handle(from transport.NodeID, m transport.Message) {
	s.env.Charge(s.costs.Message)
	defer s.evictDead() // between messages: no handler holds an entry then
	switch m := m.(type) {
	case *transport.GcsAddTask:
		s.addTask(&m.Spec)
	case *transport.GcsAddTasks:
		for _, spec := range m.Specs {
			s.addTask(spec) // the shard keeps no pointer to the spec
		}
	case *transport.GcsAddObject:
		s.addObject(m)
	case *transport.GcsAddObjects:
		for i := range m.Objects {
			s.addObject(&m.Objects[i])
		}
	case *transport.GcsRemoveObject:
		s.env.Charge(s.costs.GCSWrite)
		if inc, dead := s.deadInc[m.Node]; dead && m.Incarnation <= inc {
			return // from an incarnation declared dead: a later one's copy stands
		}
		if e := s.object(m.Object); e != nil {
			e.dropLoc(m.Node, m.Incarnation)
			s.saveObject(m.Object)
			s.flushObject(m.Object)
		}
	case *transport.GcsFreeObjects:
		s.free(m.Objects)
	case *transport.GcsObjectsGone:
		s.gone(m.Objects)
	case *transport.GcsSubscribeObject:
		s.subscribe(from, m.Object, m.Avoid)
	case *transport.RegisterNode:
		if from != m.Node {
			return // a node registers itself
		}
		s.register(from, m)
	case *transport.Heartbeat:
		s.env.Charge(s.costs.GCSWrite)
		if from != m.Node {
			return // a node speaks for itself alone
		}
		e := s.nodes[m.Node]
		if e == nil {
			// Not in memory: unknown, or a dead node's row flushed to the
			// store (evictDeadNodes), whose last incarnation it may be.
			if f := s.nodeRow(m.Node); f != nil && !f.alive && m.Incarnation == f.reg.Incarnation {
				s.env.Send(m.Node, &transport.NodeDead{Node: m.Node, Incarnation: m.Incarnation})
			}
			return
		}
		if !e.alive && m.Incarnation == e.reg.Incarnation {
			// A node we declared dead is alive after all (it was paused or
			// cut off): tell it, so it fences itself and rejoins as a new
			// incarnation instead of living on as a zombie.
			s.env.Send(m.Node, &transport.NodeDead{Node: m.Node, Incarnation: m.Incarnation})
			return
		}
		if !e.alive || m.Incarnation != e.reg.Incarnation {
			return // stale incarnation
		}
		e.last, e.lastSeen = *m, s.clock.Now()
		e.beats++
		// The node's lease (see transport.HeartbeatAck) counts from when
		// it sent the heartbeat plus how long the heartbeat waited here
		// (on a chain, at its head, which takes it first: Held) before
		// it was taken; every replica took it no earlier.
		held := max(m.Held, 0)
		if s.cfg.Propose == nil {
			held = transport.Waited(s.env)
		}
		s.env.Send(m.Node, &transport.HeartbeatAck{Node: m.Node, Incarnation: m.Incarnation, From: m.Sent + held})
		s.saveNode(m.Node)
		s.env.Send(s.layout.Scheduler, m)
	case *transport.NodeDead:
		if !s.layout.IsGCS(from) {
			return // deaths are the node table's verdict, published by the GCS
		}
		if e := s.nodes[m.Node]; e != nil && e.alive && e.reg.Incarnation == m.Incarnation {
			// The node table's own verdict, proposed through its chain.
			if m.Beats != 0 && e.beats >= m.Beats {
				// Heartbeats applied since it was proposed: it crossed
				// a lagging chain behind them. The next check judges again.
				return
			}
			s.declareDead(e, e.reg.Incarnation, deadSilent)
		} else {
			s.nodeDead(m)
		}
	case *transport.NodeLeaving:
		if from != m.Node {
			return // only a node may say it leaves
		}
		if e := s.nodes[m.Node]; e != nil && e.alive && e.reg.Incarnation == m.Incarnation {
			s.declareDead(e, e.reg.Incarnation, deadLeft)
		}
	case *transport.GcsActorCheckpoint:
		s.env.Charge(s.costs.GCSWrite + s.costs.Copy(int64(len(m.Data))))
		if s.deadSender(from, m.Incarnation) {
			return
		}
		e := s.actorOrNew(m.Actor)
		if !e.hasCkpt || m.Calls >= e.ckptCalls {
			// The checkpoint is stored before the log it covers is
			// trimmed: a crash between the two leaves stale log entries
			// (load skips them), never a trimmed log under an old
			// checkpoint.
			old := e.ckptCalls
			e.ckptCalls, e.ckpt, e.hasCkpt = m.Calls, m.Data, true
			s.saveActor(m.Actor)
			s.trimLog(m.Actor, e, old)
		}
		s.env.Send(from, &transport.ActorWritten{Actor: m.Actor, Calls: m.Calls, Attempt: m.Attempt}) // a later checkpoint covers an earlier
	case *transport.GcsActorMethod:
		s.env.Charge(s.costs.GCSWrite)
		if s.deadSender(from, m.Incarnation) {
			return
		}
		e := s.actorOrNew(m.Actor)
		// In order, once: a duplicate, or a late write of a method the
		// checkpoint covers already, changes nothing. Every write is
		// answered: one past a gap (the shard restarted and lost the
		// unsynced entries before it) cannot be kept, and its call's
		// effect is lost to a restart, as those entries were; unanswered,
		// it would hold its actor's results for good.
		if m.Calls == e.ckptCalls+uint64(len(e.log))+1 {
			e.log = append(e.log, m.Spec)
			s.saveLogEntry(m.Actor, m.Calls, &m.Spec)
		}
		s.env.Send(from, &transport.ActorWritten{Actor: m.Actor, Calls: m.Calls, Attempt: m.Attempt})
	case *transport.GcsGetActorCheckpoint:
		s.env.Charge(s.costs.GCSRead)
		reply := &transport.ActorCheckpoint{Actor: m.Actor}
		if e := s.actor(m.Actor); e != nil {
			if e.hasCkpt {
				reply.Found, reply.Calls, reply.Data = true, e.ckptCalls, e.ckpt
			}
			reply.Log = slices.Clone(e.log) // the table's log is trimmed in place
		}
		s.env.Send(from, reply)
	case *transport.GcsGetTask:
		s.env.Charge(s.costs.GCSRead)
		s.env.Send(from, s.taskInfo(m.Task))
	case *transport.GcsRebuild:
		s.rebuild(from, m)
	case *transport.GcsTaskRerun:
		s.taskRerun(from, m)
	case *transport.GcsAdoptRun:
		s.adoptRun(from, m)
	case *transport.GcsTaskFailed:
		s.env.Charge(s.costs.GCSWrite)
		if !transport.IsFailureOfRecord(m.ErrKind) {
			return // not a failure an owner decides: nothing to record
		}
		done := s.taskFailed(m)
		if m.Ask {
			info := s.taskInfo(m.Task)
			// The verdict: the result that stood in the failure's way
			// (the first return, which may be recorded before the last).
			info.Recorded = info.Recorded || done
			s.env.Send(from, info)
		}
	case *transport.GcsActorUpdate:
		if m.State == transport.ActorPending && m.Owner != 0 && m.Owner != from {
			// A creator names itself the owner, never another node: a
			// peer's forged claim would bury the actor with that node.
			c := *m
			c.Owner, c.Incarnation = 0, 0
			m = &c
		}
		s.killUp(m)
		s.actorUpdate(m)
	case *transport.GcsCreationLost:
		s.creationLost(from, m)
	case *transport.GcsLookupActor:
		s.lookupActor(from, m)
	case *transport.GcsListNames:
		s.listNames(from, m)
	}
}

// listNames answers a listing of named actors (Ray's list_named_actors):
// the names this shard keeps, of m's namespace (or of every one), whose
// actors are not dead (pending, alive or restarting: as Ray's GCS lists
// every registered named actor not dead), after m.After, in order, a page
// of at most MaxListedNames (More: ask again from the last).
func (s *Shard) listNames(from transport.NodeID, m *transport.GcsListNames) {
	s.env.Charge(s.costs.GCSRead)
	var prefix string
	if m.Namespace != "" {
		prefix = transport.QualifiedName(m.Namespace, "")
	}
	var names []string
	for q, id := range s.names { // sorted below
		if q <= m.After || !strings.HasPrefix(q, prefix) {
			continue
		}
		if e := s.actors[id]; e != nil && e.info.State != transport.ActorDead {
			names = append(names, q)
		}
	}
	slices.Sort(names)
	ans := &transport.NamedActors{Seq: m.Seq, Names: names}
	if len(names) > transport.MaxListedNames {
		ans.Names, ans.More = names[:transport.MaxListedNames], true
	}
	s.env.Send(from, ans)
}

// taskInfo is the task table's record of a task (GcsGetTask): its spec,
// the failure its results were recorded as, if any, and whether a result
// was recorded.
func (s *Shard) taskInfo(id transport.TaskID) *transport.TaskInfo {
	info := &transport.TaskInfo{Task: id}
	t, ok := s.task(id)
	if !ok {
		return info
	}
	info.Found, info.Spec = true, *t
	info.Failed = s.failure(id)
	if t.NumReturns > 0 {
		last := t.Return(t.NumReturns - 1)
		if e := s.object(last); e != nil {
			info.Recorded = e.created
			s.flushObject(last)
		}
	}
	return info
}

// failure is the error kind a task's results were recorded as
// (GcsTaskFailed), or 0.
func (s *Shard) failure(id transport.TaskID) uint8 {
	if !s.failures {
		return 0
	}
	s.kbuf = appendTaskKey(s.kbuf[:0], id)
	if v, ok := s.store.Get(TableFailures, s.kbuf); ok && len(v) == 1 {
		return v[0]
	}
	return 0
}

// taskFailed records the failure an owner decided for a task (a cancel, or
// its retries spent: GcsTaskFailed), unless a result of it or another
// failure is recorded: whichever the table hears of first is the task's
// result for every reader (see refuseValue). The mark comes ahead of the
// failure's locations. A result already recorded means the task had
// finished before: this failed run is a rebuild (or a retry) that a cancel
// meant for no run of it failed, a tombstone left by a canceller that did
// not know the task was over, or an owner's verdict that lost the race
// with the result (its Ask is answered Recorded). The failure was none
// then, and stays none.
// It reports whether a result was recorded first.
func (s *Shard) taskFailed(m *transport.GcsTaskFailed) (done bool) {
	first := transport.ObjectID{Task: m.Task}
	if e := s.object(first); e != nil {
		done = e.created
		s.flushObject(first)
		if done {
			return true
		}
	}
	if s.failure(m.Task) != 0 {
		return false // the first failure stands
	}
	s.kbuf = appendTaskKey(s.kbuf[:0], m.Task)
	s.store.Put(TableFailures, s.kbuf, []byte{m.ErrKind})
	s.failures = true
	s.written()
	return false
}

// addTask writes a task's spec to the store (the table of record, read
// back for lineage and restarts) and keeps it resident — counted, with what
// flushing needs to know — until its returns exist.
func (s *Shard) addTask(spec *transport.TaskSpec) {
	s.env.Charge(s.costs.GCSWrite)
	isNew := s.saveTask(spec)
	_, early := s.early[spec.ID]
	m := metaOf(spec)
	m.fresh = isNew && !early
	m.epoch = s.deathSeq
	s.tasks.Set(spec.ID, m)
	// A task the shard never saw has no object yet, unless one overtook
	// its spec (early): only then, or for a spec written again (a retry, a
	// reconstruction), look for its objects, which for a new task would
	// mean a lookup in the store that finds nothing.
	if early || !isNew {
		delete(s.early, spec.ID)
		s.flushTask(spec.ID)
	}
	if spec.IsCreation() {
		e := s.actor(spec.Actor)
		if e != nil && e.specWait && e.info.State == transport.ActorRestarting {
			e.specWait = false
			s.restartActor(spec.Actor, e.specWhy)
		}
		if e != nil && e.info.State == transport.ActorDead {
			s.flushCreation(spec.Actor) // written again (a retry) after the actor's death: nothing will run it
		}
	}
}

func (s *Shard) addObject(m *transport.GcsAddObject) {
	s.env.Charge(s.costs.GCSWrite)
	if len(s.claims) > 0 {
		s.rebuildDone(m)
	}
	if s.addNewObject(m) {
		return
	}
	if s.refuseValue(m) {
		// The task's result is its failure: a value it made on a node
		// whose word came too late (cut off from us when it finished,
		// now rejoined with its store) must not be read. Its holder drops
		// it, as for a free. The task is over all the same: its owner is
		// told.
		s.env.Send(m.Node, &transport.FreeObjects{Objects: []transport.ObjectID{m.Object}})
		if m.Owner != 0 {
			s.env.Send(m.Owner, &transport.TaskDone{Task: m.Object.Task, Node: m.Node})
		}
		return
	}
	e := s.objectOrNew(m.Object)
	if inc, dead := s.deadInc[m.Node]; dead && m.Incarnation <= inc {
		// The copy died with its node before we heard of it: the object
		// existed, so whoever waits for it must rebuild it from lineage.
		if !e.created {
			e.size, e.created = m.Size, true
			if len(e.nodes) == 0 {
				for _, sub := range e.subs {
					s.env.Send(sub, lostMsg(m.Object, e))
				}
			}
			s.saveObject(m.Object)
			s.objectMade(m.Object)
		}
		s.flushObject(m.Object) // settled unless a reader waits for its rebuild
		return
	}
	if e.freed {
		// Its owner freed it: the copy goes as if the free had reached it.
		s.env.Send(m.Node, &transport.FreeObjects{Objects: []transport.ObjectID{m.Object}})
		if !e.created { // freed before it was made: it is made now, and gone
			e.size, e.created = m.Size, true
			s.saveObject(m.Object)
			s.objectMade(m.Object)
		}
		s.flushObject(m.Object)
		if m.Owner != 0 {
			s.env.Send(m.Owner, &transport.TaskDone{Task: m.Object.Task, Node: m.Node})
		}
		return
	}
	s.emit(transport.Event{Kind: transport.EvGCSWrite, Node: s.env.Self(), Peer: m.Node, Object: m.Object, Bytes: m.Size, Detail: "object"})
	e.size, e.created = m.Size, true
	e.addLoc(m.Node, m.Incarnation)
	for _, sub := range e.subs {
		s.env.Send(sub, &transport.ObjectLocated{Object: m.Object, Node: m.Node, Size: m.Size})
	}
	e.subs = nil
	s.saveObject(m.Object)
	s.objectMade(m.Object)
	s.flushObject(m.Object)
	if m.Owner != 0 {
		s.env.Send(m.Owner, &transport.TaskDone{Task: m.Object.Task, Node: m.Node})
	}
}

// refuseValue reports whether a location must be refused: the copy is a
// value its task made, and a failure of the task is recorded (a cancel, or
// its retries spent: GcsTaskFailed is taken only before any result is).
// Whichever the GCS hears of first, a result or the failure, is the task's
// result for every reader. The common case, a shard that never recorded a
// failure, looks nothing up. (A failure's copy of a task whose value was
// recorded first is taken: it is how a cancelled rebuild of a freed result
// ends, TestCancelledRebuildIsNotRunAgain.)
func (s *Shard) refuseValue(m *transport.GcsAddObject) bool {
	return s.failures && !m.Failed && !m.Object.Put && s.failure(m.Object.Task) != 0
}

// addNewObject is addObject's common case, done without an entry in
// memory: a first location, from a live incarnation, of an object the
// shard has never heard of (nobody subscribed, nobody freed it). The entry
// would be made, written and flushed at once; it is only written. It
// reports false, having done nothing, in any other case.
func (s *Shard) addNewObject(m *transport.GcsAddObject) bool {
	if s.generalAdd {
		return false
	}
	if _, ok := s.objects.Get(m.Object); ok {
		return false
	}
	if inc, dead := s.deadInc[m.Node]; dead && m.Incarnation <= inc {
		return false
	}
	if s.refuseValue(m) {
		return false
	}
	// Memory holds every object the store does, unless some were flushed;
	// and a fresh task's only return is in neither before it is made.
	if s.flushedObjects > 0 && !s.freshReturn(m.Object) {
		s.kbuf = appendObjectKey(s.kbuf[:0], m.Object)
		if _, ok := s.store.Get(TableObjects, s.kbuf); ok {
			return false
		}
	}
	s.emit(transport.Event{Kind: transport.EvGCSWrite, Node: s.env.Self(), Peer: m.Node, Object: m.Object, Bytes: m.Size, Detail: "object"})
	nodes, incs := [1]transport.NodeID{m.Node}, [1]uint64{m.Incarnation}
	e := objectEntry{created: true, size: m.Size, nodes: nodes[:], incs: incs[:]}
	s.writeObject(m.Object, &e)
	s.flushedObjects++ // in the store only, as flushObject leaves it
	s.objectMade(m.Object)
	if m.Owner != 0 {
		s.env.Send(m.Owner, &transport.TaskDone{Task: m.Object.Task, Node: m.Node})
	}
	return true
}

// frees gathers the FreeObjects a free or a job's release sends: one per
// node holding copies, nodes in the order first met. Few nodes hold copies
// of one message's objects (most often one: a job's release comes from
// the node that made them), so they are looked up in order, the last one
// first, and the first one met is given room for every object (hint).
type frees struct {
	per  []nodeFrees
	last int
	hint int
}

// nodeFrees is the objects one node is to free.
type nodeFrees struct {
	node transport.NodeID
	ids  []transport.ObjectID
}

// add queues the free of node's copy of id.
func (f *frees) add(node transport.NodeID, id transport.ObjectID) {
	if len(f.per) == 0 || f.per[f.last].node != node {
		f.last = slices.IndexFunc(f.per, func(p nodeFrees) bool { return p.node == node })
		if f.last < 0 {
			f.last = len(f.per)
			var ids []transport.ObjectID
			if f.last == 0 {
				ids = make([]transport.ObjectID, 0, f.hint)
			}
			f.per = append(f.per, nodeFrees{node: node, ids: ids})
		}
	}
	f.per[f.last].ids = append(f.per[f.last].ids, id)
}

// send sends the queued frees.
func (f *frees) send(env transport.Env) {
	for _, p := range f.per {
		env.Send(p.node, &transport.FreeObjects{Objects: p.ids})
	}
}

// freeCopies forgets e's copies of id, queueing the free of each in fs,
// and writes the entry back (free, gone).
func (s *Shard) freeCopies(fs *frees, id transport.ObjectID, e *objectEntry) {
	for _, n := range e.nodes {
		fs.add(n, id)
	}
	e.nodes, e.incs = nil, nil
	s.saveObject(id)
	s.flushObject(id)
}

// free forgets the copies of objects their owner freed and tells the nodes
// holding them to drop them, one FreeObjects per node, nodes in the order
// first met. The entries stay, with no copy: a later reader rebuilds the
// object from lineage. (A copy a running task reads outlives the free until
// the task is done with it, unlisted.) An entry freed with no reader
// waiting keeps the free (objectEntry.freed) for the copies the free could
// not reach: those of a holder declared dead that rejoins with them, and
// the first copy of an object freed before it was made.
func (s *Shard) free(ids []transport.ObjectID) {
	fs := frees{hint: len(ids)}
	for _, id := range ids {
		s.env.Charge(s.costs.GCSWrite)
		if s.freeFlushed(id, &fs, false) {
			continue
		}
		e := s.object(id)
		if e == nil || !e.created {
			// Not made yet (its task is queued or running, or its Put's
			// location is on its way): the free waits for its first copy,
			// which addObject drops — unless a reader waits for it.
			if e == nil {
				e = s.objectOrNew(id)
			}
			if len(e.subs) == 0 && !e.freed {
				e.freed = true
				s.saveObject(id)
			}
			continue
		}
		tomb := len(e.subs) == 0 && !e.freed
		e.freed = e.freed || tomb
		if len(e.nodes) == 0 { // freed already (or a duplicate), or lost
			if tomb {
				s.saveObject(id)
			}
			s.flushObject(id)
			continue
		}
		s.freeCopies(&fs, id, e)
	}
	fs.send(s.env)
}

// gone frees objects whose job ended (GcsObjectsGone) as free does — their
// copies are forgotten, their holders told to drop them, one FreeObjects
// per node in the order first met — and marks their entries gone for
// good: the readers waiting for one (a rebuild's, or a first copy's) and
// every later one are answered ObjectJobEnded, and a copy announced later
// is dropped (addObject: freed).
func (s *Shard) gone(ids []transport.ObjectID) {
	fs := frees{hint: len(ids)}
	for _, id := range ids {
		s.env.Charge(s.costs.GCSWrite)
		if s.freeFlushed(id, &fs, true) {
			continue
		}
		e := s.objectOrNew(id)
		if e.gone {
			s.flushObject(id)
			continue // a duplicate
		}
		e.gone, e.freed = true, true
		for _, sub := range e.subs {
			s.env.Send(sub, &transport.ObjectJobEnded{Object: id})
		}
		e.subs = nil
		s.freeCopies(&fs, id, e)
	}
	fs.send(s.env)
}

// maxFreeFlushedNodes bounds the copies freeFlushed reads on the stack.
const maxFreeFlushedNodes = 4

// freeFlushed is free's common case for one object (gone's, when gone),
// done without an entry in memory: a made object whose entry was flushed
// to the store (or only ever written there, addNewObject), with no
// subscriber. What free (gone) would do — read the entry back into
// memory, take its live copies, write it back freed (gone) and flush it
// again — it does on the stored bytes: the same write (if any), the same
// copies queued in fs, the same fresh-task fix flushObject makes, and no
// allocation. It reports false, having done nothing, in any other case
// (generalAdd turns it off, as it does addNewObject). A job's end sends
// gone every object the job made (a benchmark's 200,000 at once): read
// back into memory one by one, they cost more than the rest of its end.
func (s *Shard) freeFlushed(id transport.ObjectID, fs *frees, gone bool) bool {
	if s.generalAdd || s.flushedObjects == 0 {
		return false
	}
	if e, _ := s.objects.Get(id); e != nil {
		return false
	}
	s.kbuf = appendObjectKey(s.kbuf[:0], id)
	v, ok := s.store.Get(TableObjects, s.kbuf)
	if !ok {
		return false
	}
	d := transport.NewDecoder(v)
	created, size := d.Bool(), d.Varint()
	n := d.Count(transport.MaxCount, 1)
	if d.Err() != nil || !created || n > maxFreeFlushedNodes {
		return false
	}
	var nodes [maxFreeFlushedNodes]transport.NodeID
	for i := range n {
		nodes[i] = d.Node()
	}
	if subs := d.Count(transport.MaxCount, 1); subs != 0 || d.Err() != nil {
		return false
	}
	live := nodes[:0]
	for _, node := range nodes[:n] { // as decodeObject drops the copies of dead incarnations
		inc := d.Uvarint()
		if dead, ok := s.deadInc[node]; d.Err() == nil && (!ok || inc > dead) {
			live = append(live, node)
		}
	}
	freed := d.U8() // freedByte
	if d.Err() != nil {
		return false
	}
	if gone && freed == freedGone {
		live = nil // gone's duplicate: nothing to free, nothing to write
	} else {
		for _, node := range live {
			fs.add(node, id)
		}
	}
	write := len(live) > 0 || freed == 0 // free's saveObject: no copy left, freed
	if gone {
		write = freed != freedGone // gone's saveObject: no copy left, gone
	}
	if write {
		if gone || freed == freedGone { // a gone entry stays gone
			freed = freedGone
		} else {
			freed = 1
		}
		enc := transport.NewEncoder(s.scratch[:0])
		enc.Bool(true)
		enc.Varint(size)
		enc.Nodes(nil)
		enc.Nodes(nil)
		enc.U8(freed)
		s.scratch = enc.Bytes()
		s.kbuf = appendObjectKey(s.kbuf[:0], id)
		s.store.Put(TableObjects, s.kbuf, s.scratch)
		s.written()
	}
	if m, ok := s.tasks.Get(id.Task); ok && m.fresh && !id.Put { // flushObject's
		m.fresh = false
		s.tasks.Set(id.Task, m)
	}
	return true
}

// lostMsg tells a reader an object has no copy left: PutOwnerLost for a
// Put's not freed, ObjectLost otherwise. A Put has no lineage, and its
// primary copy stays pinned on the node of the worker that put it, its
// owner, until freed: with no copy left and no free, this shard declared
// that node dead (Ray's OwnerDiedError). Declared, not necessarily
// crashed: a raylet whose heartbeats wait too long behind the work queued
// on its loop (the pulls of large objects it serves) is declared dead for
// missed heartbeats as a silent one is, and its copies are dropped alike.
func lostMsg(id transport.ObjectID, e *objectEntry) transport.Message {
	if e.gone {
		return &transport.ObjectJobEnded{Object: id}
	}
	if id.Put && e.created && !e.freed {
		return &transport.PutOwnerLost{Object: id}
	}
	return &transport.ObjectLost{Object: id}
}

func (s *Shard) subscribe(from transport.NodeID, id transport.ObjectID, avoid transport.NodeID) {
	s.env.Charge(s.costs.GCSRead)
	s.emit(transport.Event{Kind: transport.EvGCSSubscribe, Node: s.env.Self(), Peer: from, Object: id})
	e := s.objectOrNew(id)
	defer s.flushObject(id)
	if e.gone { // its job ended: no rebuild, and nothing to wait for
		s.env.Send(from, lostMsg(id, e))
		return
	}
	if len(e.nodes) == 0 {
		lost := lostMsg(id, e)              // before a free's mark could change
		if !slices.Contains(e.subs, from) { // always so when freed, but for a Put's entry
			e.subs = append(e.subs, from)
			if !id.Put { // a Put is never rebuilt: its free stands, for lostWithOwner
				e.freed = false // read again: its rebuilt copies stay
			}
			s.saveObject(id) // a new subscriber is state to keep; a read is not
		}
		if e.created { // existed, every copy gone: the subscriber rebuilds it
			s.env.Send(from, lost)
		} else if owner, ok := s.orphaned(id); ok {
			s.env.Send(from, &transport.ObjectOrphaned{Object: id, Owner: owner})
		}
		return
	}
	// Prefer a copy on the subscriber itself, else spread readers over
	// copies by a hash of reader and object: a pure function of the entry,
	// so an answer needs no write, and a replica or a reloaded shard gives
	// the same one.
	i := pickCopy(from, id, len(e.nodes))
	n := e.nodes[i]
	if n == avoid && len(e.nodes) > 1 { // the subscriber could not pull that copy: another
		n = e.nodes[(i+1)%len(e.nodes)]
	}
	if slices.Contains(e.nodes, from) {
		n = from
	}
	s.env.Send(from, &transport.ObjectLocated{Object: id, Node: n, Size: e.size})
}

// pickCopy picks one of n copies of id for reader: a splitmix64 finalizer
// of both, so readers of one object, and one reader's objects, spread.
func pickCopy(reader transport.NodeID, id transport.ObjectID, n int) int {
	x := uint64(id.Task) ^ uint64(id.Index)<<40 ^ uint64(reader)<<20
	if id.Put {
		x ^= 1 << 63
	}
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(n))
}

func (s *Shard) register(from transport.NodeID, m *transport.RegisterNode) {
	s.env.Charge(s.costs.GCSWrite)
	if s.funcs == 0 {
		s.funcs = m.Functions
	} else if m.Functions != s.funcs {
		if inc, ok := s.refused[m.Node]; !ok || inc != m.Incarnation {
			if s.refused == nil {
				s.refused = make(map[transport.NodeID]uint64)
			}
			s.refused[m.Node] = m.Incarnation
			s.emit(transport.Event{Kind: transport.EvWarning, Node: s.env.Self(), Peer: m.Node,
				Detail: "node registered a different function table: refusing its registration"})
		}
		return
	}
	old := s.nodes[m.Node]
	if old == nil {
		old = s.nodeRow(m.Node) // a dead node's row flushed to the store, if any
	}
	switch {
	case old == nil:
	case old.reg.Incarnation > m.Incarnation:
		return // a stale registration
	case old.reg.Incarnation == m.Incarnation:
		// Sent again (the raylet had no answer yet): answer again, or tell
		// it the incarnation was declared dead meanwhile (it rejoins as a
		// new one). The entry stays as it is.
		if old.alive {
			reply := *m
			s.env.Send(m.Node, &reply)
		} else {
			s.env.Send(m.Node, &transport.NodeDead{Node: m.Node, Incarnation: m.Incarnation})
		}
		return
	case old.alive || s.deadInc[m.Node] < m.Incarnation-1:
		// It restarted: every earlier incarnation is dead. The one we
		// knew, if we had not noticed, and any that crashed before it
		// registered, whose announced copies are gone too (a death of
		// only the one we knew left those listed for good).
		s.declareDead(old, m.Incarnation-1, deadRestarted)
	}
	var order uint32
	appended := s.nodes[m.Node] == nil
	if appended {
		s.nodeIDs = append(s.nodeIDs, m.Node)
		order = s.nextOrder
		s.nextOrder = max(s.nextOrder, s.nextOrder+1) // saturates (a hostile snapshot's order)
		if old != nil {
			s.flushedNodes-- // read back: in memory again
		}
	} else {
		order = s.nodes[m.Node].order
		if i := slices.Index(s.deadNodeQ, m.Node); i >= 0 {
			s.deadNodeQ = slices.Delete(s.deadNodeQ, i, i+1) // alive again
		}
	}
	s.nodes[m.Node] = &nodeEntry{reg: *m, alive: true, lastSeen: s.clock.Now(), order: order}
	s.saveNode(m.Node)
	s.saveOrder(m.Node, appended)
	s.emit(transport.Event{Kind: transport.EvNodeAlive, Node: m.Node})
	s.env.Send(s.layout.Scheduler, m)
	// The answer: the raylet announces object locations only from now on
	// (node.Raylet.announce), so the table lists no copy of an incarnation
	// whose death it could miss (a death by silence names the last
	// incarnation registered). The registration is made durable first: a
	// shard that restarted without it would not know the node, drop its
	// heartbeats, and never declare it dead (a chain's replicas sync
	// before anything leaves them anyway).
	s.sync()
	reply := *m
	s.env.Send(m.Node, &reply)
}

func (s *Shard) actorUpdate(m *transport.GcsActorUpdate) {
	s.env.Charge(s.costs.GCSWrite)
	e := s.actor(m.Actor)
	if m.Restart > 0 {
		// The owner reports that the node restart number m.Restart was
		// placed on died before the actor came up there.
		if e != nil && e.info.State == transport.ActorRestarting && transport.RestartAttempt(e.attempt) == m.Restart && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
			if s.staleRestart(e, m) {
				s.replaceStale(m.Actor, e, m.Node)
				return
			}
			s.restartActor(m.Actor, "the node its restart was placed on died before it came up")
		}
		return
	}
	if e == nil {
		e = &actorEntry{}
		s.actors[m.Actor] = e
	}
	defer s.saveActor(m.Actor)
	if e.info.State == transport.ActorDead {
		// Death is final. An actor killed before it was created (ray.Kill
		// of a pending actor) may come up after all: its host is told to
		// end it, or it would hold its resources for good.
		if m.State == transport.ActorAlive && m.Node != 0 && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
			if transport.IsOwnerDied(e.info.Cause) {
				e.killAt = m.Node // told again by a new tail (rekillOrphans)
			}
			s.env.Send(m.Node, &transport.KillActor{Actor: m.Actor, NoRestart: true, Cause: killCause(e.info.Cause)})
		}
		return
	}
	// The actor's restarts, as its shard told this name's shard (only the
	// actor's shard counts them; see transport.GcsActorUpdate.Restarts):
	// the most told, whatever the order the updates came in.
	counted := false
	if m.Restarts > 0 && int64(m.Restarts) > int64(e.restarts) && s.layout.ShardOfTask(m.Actor) != s.env.Self() {
		e.restarts, counted = int32(m.Restarts), true
	}
	if m.State == transport.ActorPending && m.Owner != 0 && m.Incarnation != 0 && e.ownerInc == 0 && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
		// The creator names itself the owner (the actor is not detached).
		// An owner already known dead (its news came first, or it was a
		// zombie) leaves the actor dead at once, once this update is in.
		e.owner, e.ownerInc = m.Owner, m.Incarnation
		if inc, dead := s.deadInc[m.Owner]; dead && m.Incarnation <= inc {
			defer s.buryOrphan(m.Actor)
		}
	}
	if m.Name != "" && m.State != transport.ActorDead && s.layout.ShardOfName(m.Name) == s.env.Self() && s.nameTaken(m.Name, m.Actor) {
		s.refuseName(m, e)
		return
	}
	if m.State == transport.ActorRestarting && m.Node != 0 {
		// Its host reports the actor's worker crashed: restart it (or bury
		// it) as for a node death, if the table has it alive there; in any
		// other state the shard has acted already and the report is stale,
		// as it is from an incarnation of the node other than the one the
		// actor lives on (a late report from before the node restarted,
		// with the actor since restarted on its new incarnation).
		// Only the actor's own shard decides.
		sameHost := m.Node == e.info.Node && (m.Incarnation == 0 || e.hostInc == 0 || m.Incarnation == e.hostInc)
		if e.info.State == transport.ActorAlive && sameHost && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
			s.restartActor(m.Actor, fmt.Sprintf("its worker on %s crashed", s.nodeText(m.Node)))
		}
		return
	}
	if m.State == transport.ActorPending && e.info.Found && e.info.State != transport.ActorPending {
		// The creator's "pending" (sent at submission) arrived after the
		// host's "alive": it is older news, whatever the arrival order.
		return
	}
	if inc, dead := s.deadInc[m.Node]; dead && m.State == transport.ActorAlive && (m.Incarnation != 0 && m.Incarnation <= inc ||
		s.registeredUpTo(m.Node, inc)) {
		return // news from a dead incarnation
	}
	if inc, dead := s.deadInc[m.Node]; dead && m.State == transport.ActorDead && m.Node != 0 && m.Incarnation != 0 && m.Incarnation <= inc {
		// An instance on a node declared dead failed (its constructor,
		// restore or replay): the node's death restarted the actor (or
		// its creator retries it), and the stale instance's end is not
		// the actor's. (A kill names no incarnation: it is final.)
		return
	}
	if o := instanceOrder(m); o != 0 && o < e.order {
		// Older than the instance the entry speaks of: a "restarting" the
		// actor's shard forwarded (restartActor), overtaken on its way to
		// this name's shard by the restart's host's "alive", or an
		// instance's "alive" that comes after news of its restart.
		if counted && e.info.State == transport.ActorAlive {
			// The late "restarting" counts the restart its host's "alive"
			// reported here first, with the count before it: the
			// subscribers hear the instance again, counted.
			s.publishActor(e)
		}
		return
	}
	name := m.Name
	if name == "" && m.State == transport.ActorDead && e.info.Name != "" {
		// A kill by a holder that did not know the name frees it all the
		// same: here, or on the name's shard, told by the actor's.
		name = e.info.Name
		if ns := s.layout.ShardOfName(name); ns != s.env.Self() && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
			s.env.Send(ns, &transport.GcsActorUpdate{Actor: m.Actor, Name: name, State: transport.ActorDead, Cause: m.Cause})
		}
	}
	// The class and the call defaults stay once told (an update that
	// does not say them keeps them); a cause is a dead actor's alone.
	class, calls, cause := cmp.Or(m.Class, e.info.Class), cmp.Or(m.Calls, e.info.Calls), ""
	if m.State == transport.ActorDead {
		cause = m.Cause
	}
	e.info = transport.ActorInfo{Actor: m.Actor, Node: m.Node, State: m.State, Name: name, Found: true, Class: class, Cause: cause, Calls: calls}
	e.hostInc = 0
	if m.State == transport.ActorAlive {
		e.hostInc = m.Incarnation
	}
	e.order = max(e.order, instanceOrder(m))
	e.info.Incarnation = e.hostInc
	if m.Owner != 0 && m.State == transport.ActorAlive && s.layout.ShardOfTask(m.Actor) == s.env.Self() {
		s.env.Send(m.Owner, &transport.TaskDone{Task: m.Actor, Node: m.Node, Attempt: m.Attempt})
	}
	if name != "" && s.layout.ShardOfName(name) == s.env.Self() {
		if m.State == transport.ActorDead {
			if s.names[name] == m.Actor {
				delete(s.names, name)
			}
		} else {
			s.names[name] = m.Actor
		}
		s.saveName(name)
	}
	if m.State == transport.ActorPending {
		return // subscribers learn of the actor once it is placed
	}
	s.publishActor(e)
	if m.State == transport.ActorDead {
		e.subs = nil
	}
}

// publishActor tells e's subscribers its state, with its restarts.
func (s *Shard) publishActor(e *actorEntry) {
	for _, sub := range e.subs {
		info := e.info
		info.Restarts = uint32(e.restarts)
		s.env.Send(sub, &info)
	}
}

// killUp: a raylet's kill of an actor (ray.Kill of one its killer did not
// know to be up: a "dead" update from no host) that finds it up tells its
// host, which may have come by it after the killer's word to the raylets
// passed. (The shard's own burials, of actors whose node died, are not
// kills: they come through actorUpdate alone.)
func (s *Shard) killUp(m *transport.GcsActorUpdate) {
	if m.State != transport.ActorDead || m.Node != 0 || m.Restart != 0 || s.layout.ShardOfTask(m.Actor) != s.env.Self() {
		return
	}
	if e := s.actors[m.Actor]; e != nil && e.info.State == transport.ActorAlive && e.info.Node != 0 {
		s.env.Send(e.info.Node, &transport.KillActor{Actor: m.Actor, NoRestart: true, Cause: killCause(m.Cause)})
	}
}

// nameTaken reports whether another actor than id holds name and is not
// dead (pending, alive or restarting: as Ray's, a name stays taken while
// its actor restarts). Call it on the name's shard.
func (s *Shard) nameTaken(name string, id transport.ActorID) bool {
	holder, ok := s.names[name]
	if !ok || holder == id {
		return false
	}
	e := s.actors[holder]
	return e != nil && e.info.State != transport.ActorDead
}

// inNamespace says where a qualified actor name is registered, for a
// message: " in namespace" and the namespace ("" for a bare name).
func inNamespace(q string) string {
	if ns, _ := transport.SplitActorName(q); ns != "" {
		return fmt.Sprintf(" in namespace %q", ns)
	}
	return ""
}

// refuseName ends an actor created under a name another live actor holds
// (two creators raced past ray's check of the name): the name stays with
// its holder, and the newcomer is dead (final), so its callers fail with
// ErrActorDied and a node that brings it up is told to kill it (see
// actorUpdate). The newcomer's own shard, if another, is told so.
func (s *Shard) refuseName(m *transport.GcsActorUpdate, e *actorEntry) {
	s.emit(transport.Event{Kind: transport.EvWarning, Node: s.env.Self(), Task: m.Actor,
		Detail: fmt.Sprintf("actor name %q is taken by a live actor%s: the new actor is ended", transport.ActorNameOf(m.Name), inNamespace(m.Name))})
	dead := &transport.GcsActorUpdate{Actor: m.Actor, State: transport.ActorDead,
		Cause: transport.CutCause(fmt.Sprintf("its name %q is taken by another live actor%s", transport.ActorNameOf(m.Name), inNamespace(m.Name)))}
	if s.layout.ShardOfTask(m.Actor) == s.env.Self() {
		s.actorUpdate(dead)
		if m.State == transport.ActorAlive && m.Node != 0 {
			// Refused as it came up (its host's news overtook its
			// creator's): its host ends it. (On another shard, the
			// actor's shard does, told it is dead: killUp.)
			s.env.Send(m.Node, &transport.KillActor{Actor: m.Actor, NoRestart: true, Cause: dead.Cause})
		}
		return
	}
	e.info = transport.ActorInfo{Actor: m.Actor, State: transport.ActorDead, Found: true, Class: cmp.Or(m.Class, e.info.Class), Cause: dead.Cause,
		Calls: cmp.Or(m.Calls, e.info.Calls)}
	s.env.Send(s.layout.ShardOfTask(m.Actor), dead)
}

func (s *Shard) lookupActor(from transport.NodeID, m *transport.GcsLookupActor) {
	s.env.Charge(s.costs.GCSRead)
	id := m.Actor
	if id == 0 {
		var ok bool
		if id, ok = s.names[m.Name]; !ok {
			s.env.Send(from, &transport.ActorInfo{Name: m.Name})
			return
		}
	}
	e := s.actor(id)
	if e == nil {
		e = &actorEntry{info: transport.ActorInfo{Actor: id, State: transport.ActorPending, Found: true}}
		s.actors[id] = e
	}
	if !slices.Contains(e.subs, from) && e.info.State != transport.ActorDead {
		e.subs = append(e.subs, from)
	}
	s.saveActor(id)
	if e.info.State != transport.ActorPending || m.Actor == 0 {
		info := e.info
		info.Restarts = uint32(e.restarts)
		info.Name = m.Name
		if info.Name == "" {
			info.Name = e.info.Name
		}
		s.env.Send(from, &info)
	}
}

// Stats is a snapshot of a shard's table sizes (for status and summaries).
// Tasks counts every task entry (in memory or flushed to the store), as
// Actors does every actor entry; Resident counts the entries held in
// memory, of every table — the number that flushing keeps bounded.
//
// Nodes counts the node table's rows, in memory or flushed (dead nodes'
// rows beyond Config.DeadNodes).
type Stats struct {
	Objects, Tasks, Actors, Nodes   int
	ResidentTasks, FlushedTasks     int
	ResidentObjects, FlushedObjects int
	ResidentActors, FlushedActors   int
	ResidentNodes, FlushedNodes     int
	Resident                        int
}

// Stats returns the sizes of the shard's tables.
func (s *Shard) Stats() Stats {
	st := Stats{Objects: s.objects.Len() + s.flushedObjects, Tasks: s.store.Len(TableTasks), Actors: len(s.actors) + s.flushedActors, Nodes: len(s.nodes) + s.flushedNodes,
		ResidentTasks: s.tasks.Len(), FlushedTasks: s.flushed,
		ResidentObjects: s.objects.Len(), FlushedObjects: s.flushedObjects,
		ResidentActors: len(s.actors), FlushedActors: s.flushedActors,
		ResidentNodes: len(s.nodes), FlushedNodes: s.flushedNodes}
	st.Resident = st.ResidentObjects + st.ResidentTasks + st.ResidentActors + st.ResidentNodes
	return st
}

// Store is the shard's store.
func (s *Shard) Store() Store { return s.store }

// Sync makes every table write so far durable.
func (s *Shard) Sync() { s.sync() }

// Task returns the stored spec of a task (lineage), if this shard has it.
func (s *Shard) Task(id transport.TaskID) (*transport.TaskSpec, bool) { return s.task(id) }

// Locations returns the known copies of an object.
func (s *Shard) Locations(id transport.ObjectID) []transport.NodeID {
	if e := s.object(id); e != nil {
		return slices.Clone(e.nodes)
	}
	return nil
}

// deadSender reports whether an actor's checkpoint or method-log write
// comes from an incarnation of its host known dead: a zombie's (cut off
// from the node table, it ran on, and its writes came after the actor was
// restarted elsewhere). Taken, its checkpoint would replace the restarted
// instance's, or its method take another's place in the log. Refused, it
// is not answered (ActorWritten), so its host never publishes the call's
// result: the call failed to its caller, and is not in the state.
func (s *Shard) deadSender(from transport.NodeID, inc uint64) bool {
	dead, ok := s.deadInc[from]
	return ok && inc <= dead
}

// checkNodes declares dead every node silent for longer than NodeTimeout.
// When the check itself runs late, the shard is backlogged and heartbeats
// may be waiting in its own queue: the timeout is stretched by the lateness,
// so an overloaded GCS does not blame healthy nodes for its own delay.
func (s *Shard) checkNodes() {
	now := s.clock.Now()
	late := max(now.Sub(s.nextCheck), 0)
	for _, id := range s.nodeIDs {
		e := s.nodes[id]
		if !e.alive || now.Sub(e.lastSeen) <= s.cfg.NodeTimeout+late {
			continue
		}
		switch {
		case s.cfg.Propose == nil:
			s.declareDead(e, e.reg.Incarnation, deadSilent)
		case s.cfg.Leader():
			s.cfg.Propose(&transport.NodeDead{Node: e.reg.Node, Incarnation: e.reg.Incarnation, Beats: e.beats + 1})
		}
	}
	s.evictDeadNodes()
	s.scheduleCheck()
}

func (s *Shard) scheduleCheck() {
	s.nextCheck = s.clock.Now().Add(s.cfg.HeartbeatPeriod)
	s.env.After(s.cfg.HeartbeatPeriod, s.checkNodes)
}

// Why a node incarnation was declared dead (the node.dead event's Detail).
const (
	deadSilent    = transport.DetailMissedHeartbeats
	deadLeft      = "left the cluster (NodeLeaving)"
	deadRestarted = "restarted: a new incarnation registered before its heartbeats were missed"
)

// declareDead publishes the death of a node's incarnations up to inc to
// every shard, the global scheduler and every raylet (the node.dead event
// only if e was alive).
func (s *Shard) declareDead(e *nodeEntry, inc uint64, why string) {
	if e.alive {
		e.alive = false
		s.deadNodeQ = append(s.deadNodeQ, e.reg.Node) // an alive row is in memory
		s.saveNode(e.reg.Node)
		s.emit(transport.Event{Kind: transport.EvNodeDead, Node: e.reg.Node, Detail: why})
	}
	// A death by silence or goodbye ends the jobs of the node's drivers; a
	// restart's does not (the node lives on as its new incarnation, whose
	// drivers' tasks are not told apart from its dead one's).
	m := &transport.NodeDead{Node: e.reg.Node, Incarnation: inc, JobsEnd: why != deadRestarted, Left: why == deadLeft}
	s.tellDeath(m, e.reg.Node)
	s.nodeDead(m)
}

// tellDeath sends the news of a node's death m to the other shards, the
// global scheduler and every raylet but skip (0: none), in layout order.
func (s *Shard) tellDeath(m *transport.NodeDead, skip transport.NodeID) {
	for _, sh := range s.layout.Shards {
		if sh != s.env.Self() {
			s.env.Send(sh, m)
		}
	}
	s.env.Send(s.layout.Scheduler, m)
	for _, r := range s.layout.Raylets {
		if r != skip {
			s.env.Send(r, m)
		}
	}
}

// republishDeaths re-sends every node death this shard knows of, in node
// order. A replica that becomes its chain's tail calls it: the old tail's
// notifications may have died with it (sent, but still behind a lost frame
// when it crashed), and raylets and the scheduler learn deaths only from
// them. Receivers ignore a death they know already.
func (s *Shard) republishDeaths() {
	nodes := make([]transport.NodeID, 0, len(s.deadInc))
	for n := range s.deadInc {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		s.tellDeath(&transport.NodeDead{Node: n, Incarnation: s.deadInc[n]}, 0)
	}
}

// nodeDead forgets a dead incarnation's object copies and restarts (or
// buries) the actors it hosted.
func (s *Shard) nodeDead(m *transport.NodeDead) {
	if inc, ok := s.deadInc[m.Node]; ok && inc >= m.Incarnation {
		return
	}
	s.deadInc[m.Node] = m.Incarnation
	s.deathSeq++
	s.diedAt[m.Node] = s.deathSeq
	s.saveDeath(m.Node)
	// Removal commutes, but the writes to the store must come in a fixed
	// order: which unsynced writes a crash loses must not depend on Go's map
	// order. (Flushed entries drop the dead node's copies when read back.)
	// The same pass finds the objects readers wait for whose task the dead
	// node owned and has not made yet (orphans), or whose orphaned run the
	// dead node held (a claim: adoptRun, or a reader's rebuild): only
	// entries in memory with a subscriber, never the whole task table.
	var touched, orphans []transport.ObjectID
	for id, e := range s.objects.All() {
		if e.dropLoc(m.Node, m.Incarnation) {
			touched = append(touched, id)
		}
		if !e.created && len(e.subs) > 0 && !id.Put {
			_, claimed := s.claims[id.Task]
			if t, ok := s.tasks.Get(id.Task); ok && (t.owner == m.Node || claimed) {
				orphans = append(orphans, id)
			}
		}
	}
	slices.SortFunc(touched, transport.CompareObjects)
	for _, id := range touched {
		s.saveObject(id)
	}
	slices.SortFunc(orphans, transport.CompareObjects)
	for _, id := range orphans {
		if owner, ok := s.orphaned(id); ok {
			for _, sub := range s.objectOrNew(id).subs {
				s.env.Send(sub, &transport.ObjectOrphaned{Object: id, Owner: owner})
			}
		}
	}
	s.ownerDied(m.Node, m.Incarnation) // first: an actor it owned and hosted is buried, not restarted
	var hosted []transport.ActorID
	for id, e := range s.actors {
		// An actor a later incarnation reported alive is not this death's
		// (the death of an incarnation can reach this shard after the
		// node's next incarnation hosted an actor: the node table
		// published it, the host reported to us, on different links).
		if e.info.Node == m.Node && e.info.State != transport.ActorDead && (e.hostInc == 0 || e.hostInc <= m.Incarnation) && s.layout.ShardOfTask(id) == s.env.Self() {
			hosted = append(hosted, id)
		}
	}
	slices.SortFunc(hosted, func(a, b transport.ActorID) int { return cmp.Compare(a, b) })
	for _, id := range hosted {
		s.restartActor(id, fmt.Sprintf("its %s died", s.nodeText(m.Node)))
	}
	// A host told to end an actor buried with its owner, dead now, hosts
	// nothing (a restarted raylet starts empty): no new tail need tell it
	// again (rekillOrphans), or every failover would resend a kill for
	// every such actor of the shard's history.
	var told []transport.ActorID
	for id, e := range s.actors {
		if e.killAt == m.Node {
			told = append(told, id)
		}
	}
	slices.Sort(told)
	for _, id := range told {
		s.actors[id].killAt = 0
		s.saveActor(id)
	}
}

// ownerDied buries, in actor order, this shard's live actors that an
// incarnation of node up to inc owns (created, not detached): they die
// with their owner, restarts left or not, as Ray's do. An actor the dead
// incarnation also hosted is buried, not restarted. A detached actor's
// name claim (GetIfExists) names its claimer as owner until the creation
// is recorded: the claim dies with a claimer that never submitted it, the
// actor, once its creation says it is detached, does not.
func (s *Shard) ownerDied(node transport.NodeID, inc uint64) {
	var orphans []transport.ActorID
	for id, e := range s.actors {
		if e.owner == node && e.ownerInc != 0 && e.ownerInc <= inc && e.info.State != transport.ActorDead && s.layout.ShardOfTask(id) == s.env.Self() {
			orphans = append(orphans, id)
		}
	}
	slices.Sort(orphans)
	for _, id := range orphans {
		if spec, ok := s.task(transport.TaskID(id)); ok && spec.A().Detached {
			continue // a claim's owner: the creation it claimed for is recorded
		}
		s.buryOrphan(id)
	}
}

// nodeName is a node's name as Config.NodeName gives it ("": unknown).
func (s *Shard) nodeName(id transport.NodeID) string {
	if s.cfg.NodeName == nil {
		return ""
	}
	return s.cfg.NodeName(id)
}

// nodeText names a node in a cause of death (transport.NodeText).
func (s *Shard) nodeText(id transport.NodeID) string { return transport.NodeText(id, s.nodeName(id)) }

// buryOrphan marks an actor dead for good because its owner died, frees
// its name (here, or on the name's shard) and tells its host, if it is up
// somewhere, to end it and free its resources. An instance that comes up
// later (a creation or restart in flight) is told to end by actorUpdate
// ("death is final").
func (s *Shard) buryOrphan(id transport.ActorID) {
	e := s.actors[id]
	if e == nil || e.info.State == transport.ActorDead {
		return
	}
	var host transport.NodeID
	if e.info.State == transport.ActorAlive {
		host = e.info.Node
	}
	up := &transport.GcsActorUpdate{Actor: id, Name: e.info.Name, State: transport.ActorDead, Cause: transport.OwnerDiedCause(e.owner, s.nodeName(e.owner))}
	s.emit(transport.Event{Kind: transport.EvActorDied, Node: s.env.Self(), Task: id, Detail: transport.DetailOwnerDied})
	s.applyActor(up)
	if host != 0 {
		e.killAt = host
		s.saveActor(id)
		s.env.Send(host, &transport.KillActor{Actor: id, NoRestart: true, Cause: up.Cause})
	}
}

// rekillOrphans tells again, in actor order, the hosts of this shard's
// actors buried with their owner to end them. A replica that becomes its
// chain's tail calls it: the old tail's KillActor may have died with it
// (sent, but behind a lost frame when it crashed), and the host would keep
// serving an actor the table holds dead. A host ends an actor once; one it
// does not host it ignores.
func (s *Shard) rekillOrphans() {
	var ids []transport.ActorID
	entries := map[transport.ActorID]*actorEntry{}
	s.eachActor(func(id transport.ActorID, e *actorEntry) {
		if e.killAt != 0 && e.info.State == transport.ActorDead && s.layout.ShardOfTask(id) == s.env.Self() {
			ids = append(ids, id)
			entries[id] = e
		}
	})
	slices.Sort(ids)
	for _, id := range ids {
		e := entries[id]
		s.env.Send(e.killAt, &transport.KillActor{Actor: id, NoRestart: true, Cause: e.info.Cause})
	}
}

// creationLost decides the fate of an actor whose creator still owns its
// creation when the node it was placed on died (see
// transport.GcsCreationLost): the shard applies that death, so it ignores
// news of the actor alive from that incarnation from now on, and restarts
// the actor itself if it saw it alive; otherwise the creator retries.
func (s *Shard) creationLost(from transport.NodeID, m *transport.GcsCreationLost) {
	s.env.Charge(s.costs.GCSWrite)
	s.nodeDead(&transport.NodeDead{Node: m.Node, Incarnation: m.Incarnation})
	e := s.actor(m.Actor)
	seen := e != nil && e.info.Found && e.info.State != transport.ActorPending
	s.env.Send(from, &transport.CreationLost{Actor: m.Actor, Node: m.Node, Incarnation: m.Incarnation, SeenAlive: seen})
}

// applyActor applies up, the shard's own decision on an actor's state, to
// the actor table, and tells the name's shard of it when that is another
// shard (a named actor's name is kept there, see nameTaken).
//
// The name's shard is told the actor's restarts too (its own entry does
// not count them): its lookups and publications say them as this
// shard's do, and a raylet that found the actor by name tells its
// restarted instance from the one before.
func (s *Shard) applyActor(up *transport.GcsActorUpdate) {
	s.actorUpdate(up)
	if up.Name != "" {
		if ns := s.layout.ShardOfName(up.Name); ns != s.env.Self() {
			if e := s.actors[up.Actor]; e != nil && e.restarts > 0 {
				up.Restarts = uint32(min(int64(e.restarts), transport.MaxActorRestarts))
			}
			s.env.Send(ns, up)
		}
	}
}

// restartActor re-places a dead node's actor (its constructor runs again)
// while it has restarts left (MaxRestarts -1: always, as Ray's
// max_restarts=-1); otherwise the actor is dead for good.
//
// why is what ended its instance ("its node 3 died", "its worker
// crashed"): a dead actor's callers' errors say it.
func (s *Shard) restartActor(id transport.ActorID, why string) {
	e := s.actors[id]
	spec, ok := s.task(id)
	up := &transport.GcsActorUpdate{Actor: id, Name: e.info.Name}
	if !ok {
		// Its creation's spec has not reached the shard: without it the
		// restart budget is unknown. Restarting until it comes (callers
		// wait); dead for good was wrong for an actor with restarts left
		// (found by the fault search: an rl simulator dead after one node
		// failure, its creator's link lossy).
		e.specWait, e.specWhy = true, why
		// The restart to come is numbered past this one (see below):
		// newer than the instance that died, not than the restart's.
		up.State, up.Attempt = transport.ActorRestarting, transport.RestartAttempt(e.attempt+1)
		s.applyActor(up)
		return
	}
	if spec.A().MaxRestarts < 0 || e.restarts < spec.A().MaxRestarts {
		s.nextRestart(id, e, true)
		// The attempt of the restart: the name's shard, told below, takes
		// this word only while it is newer than what it has (its host's
		// "alive" may come first: see instanceOrder).
		up.State, up.Attempt = transport.ActorRestarting, transport.RestartAttempt(e.attempt)
		s.emit(transport.Event{Kind: transport.EvActorRestarted, Node: s.env.Self(), Task: id, Detail: transport.ActorNameOf(e.info.Name)})
		s.placeRestart(id, spec, e)
	} else {
		up.State = transport.ActorDead
		// Its callers' errors say why, as Ray's ActorDiedError does.
		up.Cause = why + fmt.Sprintf(" and its restarts are spent (max_restarts %d)", spec.A().MaxRestarts)
		s.emit(transport.Event{Kind: transport.EvActorDied, Node: s.env.Self(), Task: id, Detail: "its node died"})
	}
	s.applyActor(up)
}

// placeRestart hands the actor's current restart to the global scheduler.
func (s *Shard) placeRestart(id transport.ActorID, spec *transport.TaskSpec, e *actorEntry) {
	re := *spec
	re.Attempt = transport.RestartAttempt(e.attempt)
	s.env.Send(s.layout.Scheduler, &transport.SpillTask{Spec: re})
}

// staleRestart reports whether the report m that the actor's current
// restart was lost (GcsActorUpdate.Restart) names a node incarnation this
// shard knew dead when it asked for the restart (e.placedAt): the global
// scheduler, whose news of deaths can lag the shard's (a NodeDead held
// behind a frame lost in a partition), placed it on a dead node. That is
// no failure of the actor's: Ray's GCS restarts an actor, and counts a
// restart, when its current instance fails, and places restarts from its
// own node table, where a dead node is gone. Charged, the death that
// caused the restart was charged again with every placement back on the
// dead node (regression sequencer-restart-charged-once: an actor with
// max_restarts 3 dead after one node failure). A node that died after
// the restart was asked for, or a report that names no incarnation (a
// host whose instance crashed before it came up), is a failure, charged
// as Ray charges the rescheduling of an actor whose lease's node died.
func (s *Shard) staleRestart(e *actorEntry, m *transport.GcsActorUpdate) bool {
	dead, ok := s.deadInc[m.Node]
	return ok && m.Incarnation != 0 && m.Incarnation <= dead && s.diedAt[m.Node] <= e.placedAt
}

// replaceStale places the actor's current restart again, uncharged, after
// a placement on node, dead before it was asked for (see staleRestart).
// The scheduler is told of the death first (on this shard's connection,
// which the placement follows): its own news of it may be held up for
// long, and it would place the restart on the dead node again and again.
// Receivers ignore a death they know already.
func (s *Shard) replaceStale(id transport.ActorID, e *actorEntry, node transport.NodeID) {
	spec, ok := s.task(id)
	if !ok {
		return // the restart's spec is here (the shard placed it): never so
	}
	s.emit(transport.Event{Kind: transport.EvWarning, Node: s.env.Self(), Task: id, Peer: node,
		Detail: fmt.Sprintf("restart placed on %s, dead before it was asked for: placed again, no restart charged", s.nodeText(node))})
	s.env.Send(s.layout.Scheduler, &transport.NodeDead{Node: node, Incarnation: s.deadInc[node]})
	s.nextRestart(id, e, false)
	s.placeRestart(id, spec, e)
}

// nextRestart numbers the actor's next restart (e.attempt, which the
// report of its loss must name) and notes the deaths known as it is asked
// for (e.placedAt: see staleRestart), durably. charged counts it against
// the actor's max_restarts (e.restarts): a restart for a failure of the
// actor's (restartActor), not a placement again after one on a node dead
// before it was asked for (replaceStale).
func (s *Shard) nextRestart(id transport.ActorID, e *actorEntry, charged bool) {
	if charged {
		e.restarts++
		e.attempt = max(e.attempt+1, uint32(e.restarts))
	} else {
		e.attempt++
	}
	e.placedAt = s.deathSeq
	s.saveActor(id)
}

// replaceRestarts hands every restart of this shard's actors not yet up
// to the global scheduler again, in actor order. A replica that becomes its
// chain's tail calls it: the old tail's request may have died with it
// (sent, but behind a lost frame when it crashed), and nothing else would
// ask again — the owner watches a restart only once it is placed. The
// scheduler ignores a restart it has had already (same attempt).
func (s *Shard) replaceRestarts() {
	var ids []transport.ActorID
	for id, e := range s.actors {
		if e.info.State == transport.ActorRestarting && e.restarts > 0 && s.layout.ShardOfTask(id) == s.env.Self() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if spec, ok := s.task(id); ok {
			s.placeRestart(id, spec, s.actors[id])
		}
	}
}

// republishNamedDeaths tells the name's shard again of every named actor
// of this shard that is dead, in actor order. A replica that becomes its
// chain's tail calls it: restartActor forwards a burial to the name's shard
// through the tail's own client, whose requests die with it (sent, but
// behind a lost frame when it crashed), and the name's shard would keep the
// name for a dead actor for good. Death is final: the name's shard ignores
// one it knows.
func (s *Shard) republishNamedDeaths() {
	var ids []transport.ActorID
	entries := map[transport.ActorID]*actorEntry{}
	s.eachActor(func(id transport.ActorID, e *actorEntry) {
		if e.info.State == transport.ActorDead && e.info.Name != "" && s.layout.ShardOfTask(id) == s.env.Self() &&
			s.layout.ShardOfName(e.info.Name) != s.env.Self() {
			ids = append(ids, id)
			entries[id] = e
		}
	})
	slices.Sort(ids)
	for _, id := range ids {
		info := &entries[id].info
		s.env.Send(s.layout.ShardOfName(info.Name), &transport.GcsActorUpdate{Actor: id, Name: info.Name, State: transport.ActorDead, Cause: info.Cause})
	}
}

// emit records a trace event through a buffer the shard owns (see
// node.Raylet.emit: no allocation per event).
func (s *Shard) emit(ev transport.Event) {
	s.evbuf = ev
	s.env.Emit(&s.evbuf)
}

// killCause is the Cause of a KillActor the table sends to end an actor
// it holds dead for cause: empty for a ray.Kill (the host's default), so
// that kill stays as short on the wire as it was.
func killCause(cause string) string {
	if cause == transport.DetailRayKill {
		return ""
	}
	return cause
}
