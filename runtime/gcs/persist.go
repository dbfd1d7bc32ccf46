package gcs

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"raysim/runtime/idmap"
	"raysim/runtime/transport"
)

// Persistence: every table change is written through to the shard's Store
// (encoded with the wire codec's Encoder), so the store always holds the
// whole state. A shard that starts on a non-empty store loads it back; a
// joining chain replica receives it as a snapshot. Memory holds the same
// tables, minus flushed task entries (see flushTask), which are read back
// from the store on demand.

var (
	metaFuncs = []byte("funcs")
	// metaDeathSeq holds the count of deaths (deathSeq); each death has
	// its own key (deadKey).
	metaDeathSeq = []byte("death-seq")
)

func objectKey(id transport.ObjectID) []byte { return appendObjectKey(make([]byte, 0, 16), id) }
func taskKey(id transport.TaskID) []byte     { return appendTaskKey(make([]byte, 0, 8), id) }

// appendObjectKey and appendTaskKey append a key to b: the hot paths build
// keys in the shard's scratch (s.kbuf), as a Store keeps no key it is given.
func appendObjectKey(b []byte, id transport.ObjectID) []byte { return transport.AppendObject(b, id) }

func appendTaskKey(b []byte, id transport.TaskID) []byte {
	return binary.LittleEndian.AppendUint64(b, uint64(id))
}

func nodeKey(id transport.NodeID) []byte {
	e := transport.NewEncoder(make([]byte, 0, 4))
	e.U32(uint32(id))
	return e.Bytes()
}

func (s *Shard) written() {
	s.writes++
	if s.cfg.SyncEvery > 0 && s.writes%s.cfg.SyncEvery == 0 {
		s.sync()
	}
}

func (s *Shard) sync() {
	if err := s.store.Sync(); err != nil {
		s.emit(transport.Event{Kind: transport.EvWarning, Node: s.env.Self(), Detail: err.Error()})
	}
}

func (s *Shard) saveObject(id transport.ObjectID) {
	e, _ := s.objects.Get(id)
	s.writeObject(id, e)
}

// writeObject writes an object's entry (nil: deletes it) to the store.
func (s *Shard) writeObject(id transport.ObjectID, e *objectEntry) {
	if e == nil {
		s.kbuf = appendObjectKey(s.kbuf[:0], id)
		s.store.Delete(TableObjects, s.kbuf)
		return
	}
	enc := transport.NewEncoder(s.scratch[:0])
	enc.Bool(e.created)
	enc.Varint(e.size)
	enc.Nodes(e.nodes)
	enc.Nodes(e.subs)
	// Each location's incarnation: a flushed entry read back drops the
	// copies of incarnations that died since.
	for _, inc := range e.incs {
		enc.Uvarint(inc)
	}
	enc.U8(freedByte(e))
	s.scratch = enc.Bytes()
	s.kbuf = appendObjectKey(s.kbuf[:0], id)
	s.store.Put(TableObjects, s.kbuf, s.scratch)
	s.written()
}

// saveTask writes a task's spec and reports whether the store surely had
// none before (false when the store cannot tell: see newPutter).
func (s *Shard) saveTask(spec *transport.TaskSpec) (isNew bool) {
	enc := transport.NewEncoder(s.scratch[:0])
	enc.Spec(spec)
	s.scratch = enc.Bytes()
	s.kbuf = appendTaskKey(s.kbuf[:0], spec.ID)
	if s.putNew != nil {
		isNew = s.putNew.PutNew(TableTasks, s.kbuf, s.scratch)
	} else {
		s.store.Put(TableTasks, s.kbuf, s.scratch)
	}
	s.written()
	return isNew
}

func (s *Shard) saveActor(id transport.ActorID) {
	e := s.actors[id]
	if e.info.State == transport.ActorDead {
		s.queueDead(id, e)
	}
	enc := transport.NewEncoder(s.scratch[:0])
	e.info.MarshalWire(enc)
	enc.Nodes(e.subs)
	enc.Varint(int64(e.restarts))
	enc.Uvarint(e.ckptCalls)
	enc.Bytes8(e.ckpt)
	enc.Uvarint(e.hostInc)
	enc.Bool(e.hasCkpt)
	enc.Node(e.owner)
	enc.Uvarint(e.ownerInc)
	enc.Node(e.killAt)
	enc.Uvarint(uint64(e.attempt))
	enc.Uvarint(uint64(e.placedAt))
	enc.Uvarint(e.order)
	// A restart waiting for its creation's spec: a replica given a
	// snapshot, or a reloaded shard, must decide it when the spec comes as
	// the others do (restart-spec-wait-lost-at-chain-join: lost, the new tail
	// never restarted the actor).
	enc.Bool(e.specWait)
	enc.String(e.specWhy)
	s.scratch = enc.Bytes()
	s.store.Put(TableActors, taskKey(id), s.scratch)
	s.written()
}

// decodeActor reads a stored actor entry.
func decodeActor(v []byte) *actorEntry {
	d := transport.NewDecoder(v)
	e := &actorEntry{}
	e.info.UnmarshalWire(d)
	e.subs = d.Nodes()
	e.restarts = int32(d.Varint())
	e.ckptCalls, e.ckpt = d.Uvarint(), d.Bytes8()
	e.hostInc = d.Uvarint()
	e.hasCkpt = d.Bool() || e.ckpt != nil // false in an entry written before the field was
	e.owner, e.ownerInc, e.killAt = d.Node(), d.Uvarint(), d.Node()
	// Restarts numbered their attempts in an entry written before the field was.
	e.attempt = max(uint32(d.Uvarint()), uint32(max(e.restarts, 0)))
	e.placedAt = uint32(d.Uvarint())
	e.order = d.Uvarint() // 0 in an entry written before the field was: every update applies
	// False and empty in an entry written before the fields were.
	e.specWait, e.specWhy = d.Bool(), d.String()
	return e
}

// DefaultDeadActors is Config.DeadActors's default: how many dead actors'
// entries a shard keeps in memory.
const DefaultDeadActors = 1000

// actor returns an actor's entry from memory or, for a dead actor's entry
// flushed out of memory (evictDead), from the store, bringing it back into
// memory (it leaves again as the newest death); nil if the shard never
// heard of the actor. A flushed entry is read back, not forgotten: an
// evicted actor is still dead, with its cause, to a lookup (a caller with
// a handle fails at once, as for a resident one), and a late "alive" from
// its host is still told to end it (death is final).
func (s *Shard) actor(id transport.ActorID) *actorEntry {
	if e := s.actors[id]; e != nil {
		return e
	}
	if s.flushedActors == 0 {
		return nil // memory holds every actor the store does
	}
	v, ok := s.store.Get(TableActors, taskKey(id))
	if !ok {
		return nil
	}
	e := decodeActor(v)
	s.actors[id] = e
	s.flushedActors--
	if e.info.State == transport.ActorDead {
		s.queueDead(id, e)
	}
	return e
}

// actorOrNew is actor, creating an empty entry for an unknown actor.
func (s *Shard) actorOrNew(id transport.ActorID) *actorEntry {
	e := s.actor(id)
	if e == nil {
		e = &actorEntry{}
		s.actors[id] = e
	}
	return e
}

// eachActor calls fn for every actor entry, in memory or flushed to the
// store (read, not brought back), in no particular order: callers sort.
func (s *Shard) eachActor(fn func(transport.ActorID, *actorEntry)) {
	for id, e := range s.actors {
		fn(id, e)
	}
	if s.flushedActors == 0 {
		return
	}
	s.store.Scan(TableActors, func(k, v []byte) bool {
		id := transport.ActorID(transport.NewDecoder(k).U64())
		if s.actors[id] == nil {
			fn(id, decodeActor(v))
		}
		return true
	})
}

// queueDead notes a resident actor entry dead (saveActor, load, actor):
// it joins deadQ, to leave memory once DeadActors later deaths are
// resident, and its creation task, which a dead actor never runs again,
// leaves memory now (it stays in the store, the lineage of record).
func (s *Shard) queueDead(id transport.ActorID, e *actorEntry) {
	if e.queued {
		return
	}
	e.queued = true
	s.deadQ = append(s.deadQ, id)
	s.flushCreation(id)
}

// flushCreation drops a dead actor's creation task from memory (finished
// never does: a live actor's restart re-runs it).
func (s *Shard) flushCreation(id transport.ActorID) {
	if m, ok := s.tasks.Get(id); ok && m.creation {
		s.tasks.Delete(id)
		s.flushed++
	}
}

// evictDead flushes the oldest dead actors' entries out of memory while
// more than cfg.DeadActors are resident, as Ray's GCS evicts the oldest
// of its cached destroyed actors. An entry is written through on every
// change (saveActor), so the store has it as it was; what is not stored
// (subscribers: a dead actor has none; a replaying actor's log, which
// stays in its own table) is not needed of a dead actor. Handle calls it
// after each message, when no handler holds an entry.
func (s *Shard) evictDead() {
	for len(s.deadQ) > s.cfg.DeadActors {
		id := s.deadQ[0]
		s.deadQ = s.deadQ[1:]
		if e := s.actors[id]; e != nil && e.queued && e.info.State == transport.ActorDead {
			delete(s.actors, id)
			s.flushedActors++
		}
	}
	s.evictDeadNodes()
}

// DefaultDeadNodes is Config.DeadNodes's default: how many dead nodes'
// rows the node table keeps in memory (Ray's
// maximum_gcs_dead_node_cached_count).
const DefaultDeadNodes = 1000

// evictDeadNodes flushes the oldest dead nodes' rows out of memory while
// more than cfg.DeadNodes are resident. A row is written through on every
// change (saveNode), so the store has it as it was. What reads a dead
// node's row: the node's registration (a stale one refused, a repeated one
// told its incarnation is dead, a restart's earlier incarnations declared
// dead) and its zombie heartbeat, both through nodeRow, which reads a
// flushed row back; the actor table's check of an alive report naming no
// incarnation, the same way; checkNodes and NodeRows (a trace replay's
// state) look at the rows in memory only: the live ones and the latest
// deaths. The raylets, the scheduler and the deploy head keep views of
// their own (NodeDead, registrations, heartbeats). Handle and checkNodes
// call it between messages, when no handler holds a row.
func (s *Shard) evictDeadNodes() {
	for len(s.deadNodeQ) > s.cfg.DeadNodes {
		id := s.deadNodeQ[0]
		s.deadNodeQ = s.deadNodeQ[1:]
		if e := s.nodes[id]; e != nil && !e.alive {
			delete(s.nodes, id)
			if i := slices.Index(s.nodeIDs, id); i >= 0 {
				s.nodeIDs = slices.Delete(s.nodeIDs, i, i+1)
				// Out of the stored order as well (no write counted: a
				// row's flush wrote nothing before, and syncs fall where
				// they did).
				s.store.Delete(TableMeta, orderKey(e.order))
			}
			s.flushedNodes++
		}
	}
}

// nodeRow is node's row: in memory, or read back from the store (not put
// back in memory) if it was flushed; nil if the node never registered here.
func (s *Shard) nodeRow(id transport.NodeID) *nodeEntry {
	if e := s.nodes[id]; e != nil {
		return e
	}
	v, ok := s.store.Get(TableNodes, nodeKey(id))
	if !ok {
		return nil
	}
	return decodeNode(v, s.clock.Now())
}

// registeredUpTo reports whether node's latest registration here is of an
// incarnation at or below inc (its row read back if flushed).
func (s *Shard) registeredUpTo(node transport.NodeID, inc uint64) bool {
	e := s.nodeRow(node)
	return e != nil && e.reg.Incarnation <= inc
}

// decodeNode decodes a row saveNode wrote; lastSeen is now (see
// nodeEntry.lastSeen: it is not stored).
func decodeNode(v []byte, now time.Time) *nodeEntry {
	d := transport.NewDecoder(v)
	e := &nodeEntry{lastSeen: now}
	e.reg.UnmarshalWire(d)
	e.last.UnmarshalWire(d)
	e.alive = d.Bool()
	e.beats = d.Uvarint()
	return e
}

// logKey is the store key of an actor's calls-th logged method.
func logKey(actor transport.ActorID, calls uint64) []byte {
	e := transport.NewEncoder(make([]byte, 0, 16))
	e.U64(uint64(actor))
	e.U64(calls)
	return e.Bytes()
}

func (s *Shard) saveLogEntry(actor transport.ActorID, calls uint64, spec *transport.TaskSpec) {
	enc := transport.NewEncoder(s.scratch[:0])
	enc.Spec(spec)
	s.scratch = enc.Bytes()
	s.store.Put(TableActorLog, logKey(actor, calls), s.scratch)
	s.written()
}

// trimLog drops the logged methods the actor's checkpoint (now after
// e.ckptCalls methods) covers; the log began after old methods.
func (s *Shard) trimLog(actor transport.ActorID, e *actorEntry, old uint64) {
	n := 0
	for n < len(e.log) && old+uint64(n)+1 <= e.ckptCalls {
		s.store.Delete(TableActorLog, logKey(actor, old+uint64(n)+1))
		s.written()
		n++
	}
	e.log = slices.Delete(e.log, 0, n)
}

func (s *Shard) saveName(name string) {
	if id, ok := s.names[name]; ok {
		s.store.Put(TableNames, []byte(name), taskKey(id))
	} else {
		s.store.Delete(TableNames, []byte(name))
	}
	s.written()
}

func (s *Shard) saveNode(id transport.NodeID) {
	e := s.nodes[id]
	enc := transport.NewEncoder(s.scratch[:0])
	e.reg.MarshalWire(enc)
	e.last.MarshalWire(enc)
	enc.Bool(e.alive)
	enc.Uvarint(e.beats)
	s.scratch = enc.Bytes()
	s.store.Put(TableNodes, nodeKey(id), s.scratch)
	s.written()
}

// saveDeath writes a node's death: its dead incarnation and its place in
// the order of deaths (diedAt: an actor's restart keeps the count it was
// asked for at, placedAt, which means something only against the same
// count), and the count of deaths. Each death has its own key: the whole
// list written again on every death made N deaths write N²/2 entries
// (10,000 nodes dying took a shard 8 s of CPU and 450 MB of writes).
func (s *Shard) saveDeath(n transport.NodeID) {
	enc := transport.NewEncoder(nil)
	enc.Uvarint(s.deadInc[n])
	enc.Uvarint(uint64(s.diedAt[n]))
	s.store.Put(TableMeta, deadKey(n), enc.Bytes())
	enc = transport.NewEncoder(nil)
	enc.Uvarint(uint64(s.deathSeq))
	s.store.Put(TableMeta, metaDeathSeq, enc.Bytes())
	s.written()
}

// saveOrder writes what a registration changes besides the node's row
// (a restart's death is written by nodeDead): the function digest and, if
// the row entered memory (appended), its place in the registration order.
func (s *Shard) saveOrder(n transport.NodeID, appended bool) {
	enc := transport.NewEncoder(nil)
	enc.U64(s.funcs)
	s.store.Put(TableMeta, metaFuncs, enc.Bytes())
	if appended {
		s.store.Put(TableMeta, orderKey(s.nodes[n].order), binary.BigEndian.AppendUint32(nil, uint32(n)))
	}
	s.written()
}

// deadKey is the meta key of a node's death and orderKey the meta key of
// a place in the registration order: a letter and four bytes, apart from
// each other and from the chain's keys (see loadChainState). Big-endian,
// so a scan meets the order's keys in order.
func deadKey(n transport.NodeID) []byte {
	return binary.BigEndian.AppendUint32([]byte{'d'}, uint32(n))
}

func orderKey(place uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{'o'}, place)
}

// load replaces the in-memory tables with the store's content. Task entries
// of finished tasks stay flushed (in the store only).
func (s *Shard) load() {
	s.objects = idmap.Objects[*objectEntry]{}
	s.tasks = idmap.Map[taskMeta]{}
	s.early = make(map[transport.TaskID]struct{})
	s.actors = make(map[transport.ActorID]*actorEntry)
	s.names = make(map[string]transport.ActorID)
	s.nodes = make(map[transport.NodeID]*nodeEntry)
	s.deadInc = make(map[transport.NodeID]uint64)
	s.nodeIDs, s.funcs, s.flushedObjects = nil, 0, 0
	s.deadNodeQ, s.flushedNodes = nil, 0
	s.failures = false
	s.store.Scan(TableFailures, func(k, v []byte) bool {
		s.failures = true
		return false
	})
	s.loadReruns()
	now := s.clock.Now() // see nodeEntry.lastSeen
	// The deaths first: a stored object entry drops, as it is read, the
	// copies of incarnations that died after it was written (a flushed
	// entry is not touched by a death; in memory after the load, it never
	// would be).
	ordered := false // the deaths' order was stored
	s.diedAt = make(map[transport.NodeID]uint32)
	type placed struct {
		place uint32
		node  transport.NodeID
	}
	var order []placed // the registration order's keys (orderKey)
	s.nextOrder = 0
	s.store.Scan(TableMeta, func(k, v []byte) bool {
		if len(k) != 5 {
			return true
		}
		switch k[0] {
		case 'd': // a death (deadKey)
			d := transport.NewDecoder(v)
			inc, at := d.Uvarint(), d.Uvarint()
			if d.Err() == nil {
				node := transport.NodeID(binary.BigEndian.Uint32(k[1:]))
				s.deadInc[node], s.diedAt[node] = inc, uint32(at)
			}
		case 'o': // a place in the registration order (orderKey)
			if len(v) == 4 {
				p := binary.BigEndian.Uint32(k[1:])
				order = append(order, placed{p, transport.NodeID(binary.BigEndian.Uint32(v))})
				s.nextOrder = max(s.nextOrder, p, p+1) // saturates
			}
		}
		return true
	})
	if v, ok := s.store.Get(TableMeta, metaDeathSeq); ok {
		d := transport.NewDecoder(v)
		seq := d.Uvarint()
		if d.Err() == nil {
			s.deathSeq = uint32(seq)
			ordered = s.deathSeq > 0
		}
	}
	// The order of deaths and specs is not stored: every dead node counts
	// as dead since every loaded spec (epoch 0), as an owner that died
	// (its restart resubmitting a task writes its spec again, epoch
	// deathSeq, and no death is later than that). Without the deaths'
	// order, every death counts as the latest.
	if !ordered {
		s.deathSeq = 1
		clear(s.diedAt)
		for n := range s.deadInc {
			s.diedAt[n] = 1
		}
	}
	// Objects made before their task's spec arrived (see objectMade) are
	// found as the entries are read: only a store that tells new keys needs
	// them (see addTask). A settled entry stays in the store only, as
	// flushObject leaves it: a loaded shard holds in memory what a running
	// one would, not the whole table.
	var made []transport.TaskID
	s.store.Scan(TableObjects, func(k, v []byte) bool {
		id := transport.NewDecoder(k).Object()
		e := s.decodeObject(v)
		if e.created && !id.Put && s.putNew != nil {
			made = append(made, id.Task)
		}
		if e.created && len(e.subs) == 0 {
			s.flushedObjects++
		} else {
			s.objects.Set(id, e)
		}
		return true
	})
	for _, t := range made {
		s.kbuf = appendTaskKey(s.kbuf[:0], t)
		if _, ok := s.store.Get(TableTasks, s.kbuf); !ok {
			s.early[t] = struct{}{}
		}
	}
	s.store.Scan(TableTasks, func(k, v []byte) bool {
		spec := new(transport.TaskSpec)
		transport.NewDecoder(v).Spec(spec)
		if m := metaOf(spec); !s.finished(spec.ID, &m) {
			s.tasks.Set(spec.ID, m)
		}
		return true
	})
	var dead []transport.ActorID
	s.store.Scan(TableActors, func(k, v []byte) bool {
		e := decodeActor(v)
		if !ordered {
			e.placedAt = 0 // against no stored order of deaths: every death is later
		}
		id := transport.ActorID(transport.NewDecoder(k).U64())
		s.actors[id] = e
		if e.info.State == transport.ActorDead {
			dead = append(dead, id)
		}
		return true
	})
	// The logs of replaying actors: keys are little-endian, so the entries
	// are collected and put in order by (actor, calls).
	type logged struct {
		actor transport.ActorID
		calls uint64
		spec  transport.TaskSpec
	}
	var logs []logged
	s.store.Scan(TableActorLog, func(k, v []byte) bool {
		kd := transport.NewDecoder(k)
		l := logged{actor: transport.ActorID(kd.U64()), calls: kd.U64()}
		transport.NewDecoder(v).Spec(&l.spec)
		logs = append(logs, l)
		return true
	})
	slices.SortFunc(logs, func(a, b logged) int {
		return cmp.Or(cmp.Compare(a.actor, b.actor), cmp.Compare(a.calls, b.calls))
	})
	for _, l := range logs {
		if e := s.actors[l.actor]; e != nil && l.calls == e.ckptCalls+uint64(len(e.log))+1 {
			e.log = append(e.log, l.spec)
		}
	}
	// The dead beyond the cap leave memory again, in ID order (the order
	// of their deaths is not stored), after their logs are read.
	s.deadQ, s.flushedActors = s.deadQ[:0], 0
	slices.Sort(dead)
	for _, id := range dead {
		s.queueDead(id, s.actors[id])
	}
	s.evictDead()
	s.store.Scan(TableNames, func(k, v []byte) bool {
		s.names[string(k)] = transport.ActorID(transport.NewDecoder(v).U64())
		return true
	})
	s.store.Scan(TableNodes, func(k, v []byte) bool {
		e := decodeNode(v, now)
		s.nodes[e.reg.Node] = e
		return true
	})
	if v, ok := s.store.Get(TableMeta, metaFuncs); ok {
		s.funcs = transport.NewDecoder(v).U64()
	}
	// The order: only nodes with an entry (checkNodes reads each one's: a
	// store installed from a snapshot holds what the sender put there),
	// each once (at its first place).
	slices.SortFunc(order, func(a, b placed) int { return cmp.Compare(a.place, b.place) })
	listed := make(map[transport.NodeID]bool, len(order))
	for _, o := range order {
		if e := s.nodes[o.node]; e != nil && !listed[o.node] {
			listed[o.node] = true
			e.order = o.place
			s.nodeIDs = append(s.nodeIDs, o.node)
		}
	}
	// The rows the order does not list were flushed (evictDeadNodes): they
	// stay in the store only. The dead ones listed queue in the order
	// listed (the deaths' own order is not stored), the oldest to leave
	// memory first.
	for _, n := range s.nodeIDs {
		if !s.nodes[n].alive {
			s.deadNodeQ = append(s.deadNodeQ, n)
		}
	}
	for n, e := range s.nodes { // deletions only: the order is not observed
		if !listed[n] && !e.alive {
			delete(s.nodes, n)
			s.flushedNodes++
		}
	}
	s.evictDeadNodes()
}

// finished reports whether every return of a task was created: its entry
// is then only needed again for lineage reconstruction, and is flushed out
// of memory (actor creation tasks stay: a restart re-runs them).
// It looks from m.made on and advances it over the returns it finds
// created (a return once created stays so): each return is looked at once
// however often the task's objects ask, where a task of n returns made in
// turn cost n²/2 lookups, store reads for flushed ones (QA: 65,536
// returns stalled the shard for minutes).
func (s *Shard) finished(id transport.TaskID, m *taskMeta) bool {
	if m.creation || m.returns == 0 {
		return false
	}
	for ; m.made < m.returns; m.made++ {
		if !s.created(transport.ObjectID{Task: id, Index: m.made}) {
			return false
		}
	}
	return true
}

// created reports whether an object was made, reading a flushed entry's
// first field from the store without bringing the entry back into memory
// (object would, and nothing would flush it again: every earlier return
// of a task with several stayed resident).
func (s *Shard) created(id transport.ObjectID) bool {
	if e, _ := s.objects.Get(id); e != nil {
		return e.created
	}
	if s.flushedObjects == 0 {
		return false
	}
	s.kbuf = appendObjectKey(s.kbuf[:0], id)
	v, ok := s.store.Get(TableObjects, s.kbuf)
	return ok && transport.NewDecoder(v).Bool() // saveObject writes created first
}

// taskMeta is what the shard keeps in memory of a resident task: enough to
// tell when it is finished. Its spec is read back from the store when
// needed (a reconstruction, an actor restart), which is rare; keeping only
// this keeps a task in flight from costing a spec's worth of heap (and of
// garbage-collector scanning) in the shard.
type taskMeta struct {
	returns uint32
	// made: returns 0..made-1 are known created (finished's cursor).
	made     uint32
	creation bool
	// fresh: when the spec arrived, the store had none (a store that
	// tells new keys said so) and no object of the task had been made.
	// Every object of a fresh task the shard has heard of since is then in
	// memory, or was made and, for a task with one return, finished it (see
	// freshReturn).
	fresh bool
	// call: an actor method call (not a creation), which is not rebuilt
	// for its owner's death (see orphaned).
	call bool
	// owner is the node that submitted the spec the shard holds (its
	// last writer: a retry's, a rebuild's), and epoch the shard's count of
	// deaths (deathSeq) when that spec arrived: the owner died since if
	// its latest death (diedAt) is counted later. See orphaned.
	owner transport.NodeID
	epoch uint32
}

// freshReturn reports whether id is the only return of a fresh task still
// resident: the store cannot hold it (it is not in memory, the caller
// checked), so addNewObject need not look. Made, it would have finished
// the task; flushed from memory, it would have made the task not fresh.
func (s *Shard) freshReturn(id transport.ObjectID) bool {
	if id.Put || id.Index != 0 {
		return false
	}
	m, ok := s.tasks.Get(id.Task)
	return ok && m.fresh && m.returns == 1 && !m.creation
}

func metaOf(spec *transport.TaskSpec) taskMeta {
	return taskMeta{returns: spec.NumReturns, creation: spec.IsCreation(), call: spec.Actor != 0 && !spec.IsCreation(), owner: spec.Owner}
}

// objectMade is flushTask for the task of an object just created (a task's
// return: a Put's object has no task entry of its own). A task not
// resident is either finished (flushed), or one whose spec has not reached
// the shard yet: an object can overtake its task's spec (the spill that
// carried the task left its node before the batch with the spec). The
// latter is remembered (early), so that addTask looks for its objects — on
// a store that tells new keys: on another, addTask always looks.
func (s *Shard) objectMade(obj transport.ObjectID) {
	if obj.Put {
		return
	}
	id := obj.Task
	if m, ok := s.tasks.Get(id); ok {
		if m.returns == 1 && !m.creation && obj.Index == 0 {
			// its only return, just made: finished (flushTask would
			// read the object back to tell)
			s.tasks.Delete(id)
			s.flushed++
			return
		}
		s.flushTask(id)
		return
	}
	if s.putNew == nil {
		return
	}
	s.kbuf = appendTaskKey(s.kbuf[:0], id)
	if _, ok := s.store.Get(TableTasks, s.kbuf); !ok {
		s.early[id] = struct{}{}
	}
}

// flushTask drops a finished task's entry from memory (it stays in the
// store).
func (s *Shard) flushTask(id transport.TaskID) {
	m, ok := s.tasks.Get(id)
	if !ok {
		return
	}
	made := m.made
	if s.finished(id, &m) {
		s.tasks.Delete(id)
		s.flushed++
	} else if m.made != made {
		s.tasks.Set(id, m)
	}
}

// task returns a task's spec, read from the store (resident or flushed).
func (s *Shard) task(id transport.TaskID) (*transport.TaskSpec, bool) {
	s.kbuf = appendTaskKey(s.kbuf[:0], id)
	v, ok := s.store.Get(TableTasks, s.kbuf)
	if !ok {
		return nil, false
	}
	spec := new(transport.TaskSpec)
	d := transport.NewDecoder(v)
	d.Spec(spec)
	return spec, d.Err() == nil
}

// decodeObject reads a stored object entry, dropping the locations of
// incarnations that died after it was written.
func (s *Shard) decodeObject(v []byte) *objectEntry {
	d := transport.NewDecoder(v)
	e := &objectEntry{created: d.Bool(), size: d.Varint(), nodes: d.Nodes(), subs: d.Nodes()}
	live := e.nodes[:0]
	for _, n := range e.nodes {
		inc := d.Uvarint()
		if dead, ok := s.deadInc[n]; d.Err() == nil && (!ok || inc > dead) {
			live = append(live, n)
			e.incs = append(e.incs, inc)
		}
	}
	e.nodes = live
	b := d.U8() // 0 in an entry written before the field was
	e.freed, e.gone = b != 0, b == freedGone
	return e
}

// freedGone is the freed byte of a stored entry whose job ended
// (objectEntry.gone): a reader of the byte as a bool sees it freed.
const freedGone = 2

// freedByte is an entry's freed byte: 0, 1 if freed, freedGone if gone.
func freedByte(e *objectEntry) uint8 {
	switch {
	case e.gone:
		return freedGone
	case e.freed:
		return 1
	}
	return 0
}

// object returns an object's entry from memory or, for a flushed one, from
// the store (bringing it back into memory); nil if the shard never heard of
// it.
func (s *Shard) object(id transport.ObjectID) *objectEntry {
	if e, _ := s.objects.Get(id); e != nil {
		return e
	}
	if s.flushedObjects == 0 {
		return nil // memory holds every object the store does (see load)
	}
	s.kbuf = appendObjectKey(s.kbuf[:0], id)
	v, ok := s.store.Get(TableObjects, s.kbuf)
	if !ok {
		return nil
	}
	e := s.decodeObject(v)
	s.objects.Set(id, e)
	s.flushedObjects--
	return e
}

// objectOrNew is object, creating an empty entry for an unknown object.
func (s *Shard) objectOrNew(id transport.ObjectID) *objectEntry {
	e := s.object(id)
	if e == nil {
		e = &objectEntry{}
		s.objects.Set(id, e)
	}
	return e
}

// flushObject drops a settled object entry from memory — it exists and
// nobody waits for it (it may have no copy left: freed, evicted or lost; a
// reader then rebuilds it) — keeping it in the store (written through), so
// the object table, like the task table, stays bounded while tasks pass
// (the Ray paper's figure 10b).
func (s *Shard) flushObject(id transport.ObjectID) {
	if e, _ := s.objects.Get(id); e != nil && e.created && len(e.subs) == 0 {
		s.objects.Delete(id)
		s.flushedObjects++
		// Made, it finished a fresh task with one return, so this should
		// find none; but the store now holds an object that memory does
		// not, which a fresh task must not have (freshReturn).
		if m, ok := s.tasks.Get(id.Task); ok && m.fresh && !id.Put {
			m.fresh = false
			s.tasks.Set(id.Task, m)
		}
	}
}
