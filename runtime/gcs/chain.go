package gcs

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Chain replication (van Renesse & Schneider, as in the Ray paper's GCS).
//
// A replicated shard is a chain of Replica endpoints. A client's write
// (GcsRequest) enters at the head, which gives it the next index of the
// shard's history; every member applies updates in index order to its own
// Shard state machine and forwards them to its successor; the tail applies
// last, and only the tail's side effects leave the chain: its publications
// (ObjectLocated, ActorInfo...), replies, forwarded heartbeats, and the
// GcsAck to the client. The tail then tells the members (ChainAck) that
// everything up to that index is stable. Reads (GcsGetTask) go to the tail.
//
// Each member keeps the updates it forwarded that the tail has not yet
// acknowledged, with the side effects their application produced there
// (captured, not sent). That is what reconfiguration needs:
//   - a middle member dies: its predecessor re-sends its unacknowledged
//     updates to its new successor (which ignores those it has);
//   - the tail dies: its predecessor becomes the tail and releases the
//     captured side effects and acknowledgements of its unacknowledged
//     updates (duplicates of what the old tail may have sent are harmless:
//     publications and acks are idempotent at the receiver);
//   - the head dies: its successor becomes the head; clients re-send every
//     unacknowledged request to it, and it drops the ones it already has
//     (deduplication by client and sequence number, part of the replicated
//     state).
// So an acknowledged write — applied by the tail — was applied by every
// member before it, and survives any failure that leaves one member.
//
// The configuration master is its own small endpoint (Master), like the
// paper's chain master: members ping it every PingPeriod; one silent for
// Timeout is removed and the new chain (ChainConfig, with a higher epoch)
// goes to every replica and every raylet. A dedicated endpoint rather than
// the node-table shard (which is itself a chain) or the global scheduler
// (whose handler belongs to another package) keeps reconfiguration
// independent of the chains it reconfigures; like the paper's master (which
// relied on ZooKeeper for its own fault tolerance) it is assumed not to fail
// — kill_gcs_replica never targets it.
//
// A restarted replica (fresh state: a crash discards the handler) pings
// with epoch 0 and joins at the tail: the master appends it with Join set,
// its predecessor sends it a snapshot of its store (the whole state, in
// ChainSnapshot parts each well under a frame, installed once all came),
// and from then on forwards the updates after the snapshot. One join runs
// at a time: a member that restarted before the master found it silent is
// removed while another's join is pending and rejoins after it, and a
// joiner that restarts asks for the configuration (askConfig), which starts
// its join over. If every member of a chain died, the first to come back
// becomes the chain alone and serves what its own store recovered. That is why a member syncs its store
// before anything downstream can acknowledge what it applied (durableEnv):
// a store loses its unsynced writes in a crash.
//
// During a join two replicas publish: the joiner, the tail at once, sends
// what it derives from its state as it installs its snapshot (takeOver)
// and then the side effects of the updates forwarded after the snapshot;
// its predecessor releases, once the joiner acknowledges the snapshot,
// the side effects it captured of the updates the snapshot held. So a
// receiver can hear newer news from the joiner before older news from the
// predecessor (at a failover the order is the reverse: pending updates
// complete first, then takeOver). The predecessor's own releases keep
// their order and end with each update's newest news, but what the
// joiner sent first may be newer still. Receivers therefore take each
// piece of news on its own version, not on arrival: a node incarnation's
// death and an actor's death are final (the scheduler refuses a late
// registration of an incarnation it heard dead), a restart is numbered
// (the scheduler ignores one not newer than it had), a raylet's route to
// an actor left older than the table is corrected by asking the table
// again (a call's bounce; a lookup every second while calls wait), as it
// is for the actor's news from a name shard, and an object's location or
// a task's completion is idempotent
// (TestChainJoinPublicationsReachTheSchedulerInAnyOrder).

// ReplicaConfig configures a chain replica.
type ReplicaConfig struct {
	Shard Config // the state machine's configuration (Store included)
	Index int    // which shard
	// Incarnation numbers the replica's incarnation, higher at every
	// restart (netsim's; on TCP, the wall clock at start): its GCS client's
	// epoch (Client.Epoch), so that the chain takes a restarted replica's
	// requests for a new client's, whatever the numbers its clock gave them.
	Incarnation uint64
	// Rejoin is set on a restarted replica: it starts outside the chain and
	// asks the master to join.
	Rejoin bool
	// PingPeriod is the members' heartbeat to the master (default 5ms);
	// RetryAfter re-sends updates a successor has not acknowledged (default
	// 20ms).
	PingPeriod time.Duration
	RetryAfter time.Duration
}

// Replica is one member of a shard's chain.
type Replica struct {
	env    *durableEnv // every send of the replica, its Shard and its Client
	cfg    ReplicaConfig
	layout *Layout
	shard  *Shard
	client *Client
	store  Store

	epoch   uint64
	members []transport.NodeID
	join    transport.NodeID
	member  bool // in the current configuration
	synced  bool // holds a state it may serve (not waiting for a snapshot)

	applied, acked uint64
	pending        []*entry // applied, forwarded, not yet acknowledged by the tail
	cur            *entry   // the update being applied: captures side effects
	seen           map[transport.NodeID]*dedup

	snapTo    transport.NodeID // a joining successor waiting for a snapshot
	snapEpoch uint64           // the epoch of the join being served
	snapAcked bool
	// snapSent and snapResends pace the snapshot's re-sends as pending
	// updates' are: each re-encodes the whole store, and every tick (5ms)
	// a large one flooded the successor's send queue.
	snapSent    time.Time
	snapResends int
	snapIn      *snapshotIn // the parts of a snapshot received so far, as a joiner
	// installedEpoch and installedIndex name the last snapshot this replica
	// installed as a joiner: a re-sent snapshot of that join is answered
	// with its index (what the predecessor completes on the joiner's
	// behalf, see onAck), not with what the replica applied since.
	installedEpoch, installedIndex uint64

	// ahead: requests this replica could not take under its configuration,
	// sent under a later one it has not heard of yet (see holdAhead), in
	// the order they came.
	ahead []aheadRequest
}

type aheadRequest struct {
	from transport.NodeID
	req  *transport.GcsRequest
}

// maxAhead bounds the requests held for a configuration not yet heard of,
// maxAheadPerSender those of one sender, and maxAheadEpochs how far ahead
// of the replica's configuration a request's may be. A failover's re-sends
// are a few per client, under the next configuration or the one after;
// past the bounds (a client, or a forger, naming a configuration that never
// comes) requests are dropped as they were before, and their clients
// re-send them. A sender cannot crowd out the others, and what it holds is
// taken (or dropped) once the replica is a few configurations on.
const (
	maxAhead          = 4096
	maxAheadPerSender = 256
	maxAheadEpochs    = 4
)

type entry struct {
	up   transport.ChainUpdate
	out  []outMsg
	sent time.Time
	// resends since the last first-time forward: each waits twice as long
	// as the one before (see tick).
	resends int
}

// maxResendShift caps the resend backoff at RetryAfter<<maxResendShift.
const maxResendShift = 4

// outMsg is a side effect of an update: a send, or (ev set) a trace event,
// kept in the order the shard made them.
type outMsg struct {
	to transport.NodeID
	m  transport.Message
	ev *transport.Event
}

// dedup remembers the requests of one client the chain has sequenced.
type dedup struct {
	epoch uint64            // the client's epoch these numbers belong to
	low   uint64            // every Seq below is acknowledged to the client
	seqs  map[uint64]uint64 // Seq -> index
}

// NewReplica starts replica cfg.Index of its shard on env. Its state is
// loaded from the store (a fresh replica's store is empty).
func NewReplica(env transport.Env, cfg ReplicaConfig) *Replica {
	if cfg.PingPeriod <= 0 {
		cfg.PingPeriod = 5 * time.Millisecond
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 20 * time.Millisecond
	}
	l := cfg.Shard.Layout
	r := &Replica{cfg: cfg, layout: l, seen: make(map[transport.NodeID]*dedup)}
	r.env = &durableEnv{Env: env, clock: transport.NewClock(env), r: r}
	env = r.env
	r.client = NewClient(env, l)
	r.client.Epoch = cfg.Incarnation
	r.client.Loopback = func(m transport.Message) {
		env.After(0, func() { r.Handle(env.Self(), m) })
	}
	cfg.Shard.Leader = func() bool { return r.member && r.synced && r.isTail() }
	cfg.Shard.Propose = func(m transport.Message) { r.client.Send(l.Shards[cfg.Index], m) }
	r.shard = New(&replicaEnv{r: r}, cfg.Shard)
	r.store = r.shard.store
	r.loadChainState()
	if !cfg.Rejoin {
		r.epoch, r.members, r.member, r.synced = 1, slices.Clone(l.Chains[cfg.Index]), true, true
	} else {
		r.askConfig()
	}
	env.After(cfg.PingPeriod, r.tick)
	return r
}

// askConfig asks the master, as a client does, for the shard's
// configuration: a restarted replica that has heard none (epoch 0) asks at
// its start and on every tick until one comes (the ping is a datagram).
// The master takes the ask from its chain's joiner for the joiner's
// restart (Master.Handle): the master named it the joiner, and it crashed
// and restarted within the master's timeout, before it pinged as synced.
// Its pings say only "no state" (epoch 0), as any joiner's waiting for its
// snapshot do; before, the master kept it the joiner and announced
// nothing, the restarted joiner refused the snapshot of a configuration it
// had not heard of, or got none (its predecessor took the join as done
// once the first incarnation acknowledged its snapshot) and dropped every
// update: the shard's tail never synced again and the shard acknowledged
// nothing again.
func (r *Replica) askConfig() {
	r.env.Send(r.layout.Master, &transport.ChainPing{Shard: uint32(r.cfg.Index), Epoch: r.epoch, Client: true})
}

// Shard is the replica's state machine.
func (r *Replica) Shard() *Shard { return r.shard }

// Client is the replica's own GCS client (cross-shard publications).
func (r *Replica) Client() *Client { return r.client }

// Applied is the index of the last update this replica applied.
func (r *Replica) Applied() uint64 { return r.applied }

// Chain is the replica's view of its chain: epoch and members, head first.
func (r *Replica) Chain() (uint64, []transport.NodeID) { return r.epoch, slices.Clone(r.members) }

// Serving reports whether the replica is a synced member of its chain.
func (r *Replica) Serving() bool { return r.member && r.synced }

func (r *Replica) pos() int { return slices.Index(r.members, r.env.Self()) }

func (r *Replica) isHead() bool { return len(r.members) > 0 && r.members[0] == r.env.Self() }
func (r *Replica) isTail() bool {
	return len(r.members) > 0 && r.members[len(r.members)-1] == r.env.Self()
}

func (r *Replica) pred() transport.NodeID {
	if i := r.pos(); i > 0 {
		return r.members[i-1]
	}
	return 0
}

func (r *Replica) succ() transport.NodeID {
	if i := r.pos(); i >= 0 && i+1 < len(r.members) {
		return r.members[i+1]
	}
	return 0
}

// Handle implements transport.Handler.
func (r *Replica) Handle(from transport.NodeID, m transport.Message) {
	switch m := m.(type) {
	case *transport.GcsAck:
		r.client.Handle(from, m)
	case *transport.ChainConfig:
		if from != r.layout.Master {
			return // only the chain master configures chains
		}
		r.client.Handle(from, m)
		if int(m.Shard) == r.cfg.Index {
			r.onConfig(m)
			r.takeAhead()
		}
	case *transport.GcsRequest:
		r.onRequest(from, m)
	case *transport.ChainUpdate:
		if !r.member || !r.synced || from != r.pred() {
			return // stale sender, or not ready: the predecessor re-sends
		}
		if m.Index <= r.applied {
			if r.isTail() {
				if m.Index <= r.installedIndex {
					// It came in the snapshot this replica joined with: it
					// never applied it as the tail, and the predecessor that
					// sent the snapshot may have died before it released it.
					// Said so (the snapshot's epoch), this sender releases it.
					r.env.Send(from, &transport.ChainAck{Shard: uint32(r.cfg.Index), Index: r.installedIndex, Epoch: r.installedEpoch})
				}
				r.env.Send(from, &transport.ChainAck{Shard: uint32(r.cfg.Index), Index: r.applied})
			}
			return
		}
		if m.Index == r.applied+1 {
			r.apply(*m)
		}
	case *transport.ChainAck:
		r.onAck(from, m)
	case *transport.ChainSnapshot:
		r.onSnapshot(from, m)
	default:
		// A raw GCS operation (from a sender without a Client): sequence it
		// like an unacknowledged request.
		r.onRequest(from, &transport.GcsRequest{Op: m})
	}
}

func (r *Replica) onRequest(from transport.NodeID, req *transport.GcsRequest) {
	if !r.member || !r.synced || req.Op == nil {
		r.holdAhead(from, req)
		return
	}
	if isRead(req.Op) {
		if r.isTail() {
			r.shard.Handle(from, req.Op)
			if req.Seq != 0 {
				r.env.Send(from, &transport.GcsAck{Seq: req.Seq})
			}
		} else {
			r.holdAhead(from, req)
		}
		return
	}
	if !r.isHead() {
		r.holdAhead(from, req) // the client's configuration is stale (it re-sends), or newer than ours
		return
	}
	if d := r.seen[from]; req.Seq != 0 && d != nil {
		if req.Epoch < d.epoch {
			return // from an earlier incarnation of the client: it is gone
		}
		if req.Epoch == d.epoch { // (a later epoch is a new client: nothing of it is known)
			if req.Seq < d.low {
				r.env.Send(from, &transport.GcsAck{Seq: req.Seq})
				return
			}
			if idx, ok := d.seqs[req.Seq]; ok {
				if idx <= r.acked {
					r.env.Send(from, &transport.GcsAck{Seq: req.Seq})
				}
				return // in the chain already: the tail acknowledges it
			}
		}
	}
	op := req.Op
	if hb, ok := op.(*transport.Heartbeat); ok {
		// The head takes the heartbeat first: every replica answers with
		// how long it waited here (Heartbeat.Held), what every replica's
		// silence counts from no earlier than.
		stamped := *hb
		stamped.Held = r.env.Waited()
		op = &stamped
	}
	r.apply(transport.ChainUpdate{Shard: uint32(r.cfg.Index), Index: r.applied + 1, Client: from,
		Seq: req.Seq, Low: req.Low, Epoch: req.Epoch, Op: op})
}

// holdAhead keeps a request this replica cannot take under its
// configuration if its client sent it under a later one (GcsRequest.Chain),
// until the replica hears of that one (takeAhead); any other is dropped:
// its client's configuration is stale, and it re-sends the request where it
// should. A request sent under a later configuration was dropped too, and
// that broke the client's order: the master's configuration reaches the
// clients and the replicas independently; a client that heard first
// re-sent its unacknowledged requests to the new head at once, and the new
// head, still holding the old chain, dropped them, then took the client's
// next request once it heard — before the client's retry of the earlier
// ones. The shard relies on a client's requests being applied in the order
// sent: a host reports its actor's worker crashed only after it announced
// the actor alive; the crash report, applied first, was taken for stale
// news, then "alive" was applied, for an actor dead for good (regression
// crash-report-overtakes-alive-at-failover, TestChainNewHeadKeepsClientOrder).
// Heartbeats (Seq 0) are not held: the next one replaces a lost one.
func (r *Replica) holdAhead(from transport.NodeID, req *transport.GcsRequest) {
	if req.Op == nil || req.Seq == 0 || req.Chain <= r.epoch || req.Chain-r.epoch > maxAheadEpochs || len(r.ahead) >= maxAhead {
		return
	}
	// One copy of a request (a client re-sending while the configuration
	// is on its way), and a share of the hold per sender.
	mine := 0
	for _, h := range r.ahead {
		if h.from != from {
			continue
		}
		if mine++; mine >= maxAheadPerSender || h.req.Epoch == req.Epoch && h.req.Seq == req.Seq {
			return
		}
	}
	r.ahead = append(r.ahead, aheadRequest{from, req})
}

// takeAhead takes, in the order they came, the requests held for a
// configuration this replica has now heard of (those sent under a later
// one still wait). Each is taken as if it came now: applied if this
// replica is now their head (or tail, for a read), else dropped.
func (r *Replica) takeAhead() {
	held := r.ahead
	r.ahead = nil
	for _, h := range held {
		if h.req.Chain > r.epoch {
			r.ahead = append(r.ahead, h)
			continue
		}
		r.onRequest(h.from, h.req)
	}
}

// apply applies update up (the next index) and passes it on.
func (r *Replica) apply(up transport.ChainUpdate) {
	r.remember(up)
	e := &entry{up: up}
	r.cur = e
	r.shard.Handle(up.Client, up.Op)
	r.cur = nil
	r.applied = up.Index
	r.saveApplied()
	r.env.unsynced()
	if r.isTail() {
		r.complete(e)
		r.acked = r.applied
		r.ackMembers()
		return
	}
	r.pending = append(r.pending, e)
	r.forward(e)
}

func (r *Replica) forward(e *entry) {
	e.resends = 0
	r.send(e)
}

func (r *Replica) send(e *entry) {
	if s := r.succ(); s != 0 {
		if s == r.snapTo && !r.snapAcked {
			// A joiner still being synced: the update waits in pending,
			// forwarded once the joiner says which snapshot it installed
			// (onAck). Applied by the joiner before that, the predecessor
			// could not tell the updates the joiner completed as tail from
			// those it holds only in its snapshot.
			return
		}
		e.sent = r.env.Mono()
		up := e.up
		r.env.Send(s, &up)
	}
}

// complete releases an update's side effects and acknowledges it to its
// client: the tail's duty.
func (r *Replica) complete(e *entry) {
	for _, o := range e.out {
		if o.ev != nil {
			r.env.Emit(o.ev)
			continue
		}
		r.route(o.to, o.m)
	}
	e.out = nil
	if e.up.Seq != 0 {
		r.route(e.up.Client, &transport.GcsAck{Seq: e.up.Seq})
	}
}

func (r *Replica) ackMembers() {
	for _, m := range r.members {
		if m != r.env.Self() {
			r.env.Send(m, &transport.ChainAck{Shard: uint32(r.cfg.Index), Index: r.acked})
		}
	}
}

// route sends a side effect: to another shard through the client (that
// shard may be a chain too), else directly.
func (r *Replica) route(to transport.NodeID, m transport.Message) {
	if to == r.env.Self() {
		r.client.Loopback(m)
		return
	}
	if _, ok := r.layout.ShardIndex(to); ok {
		r.client.Send(to, m)
		return
	}
	r.env.Send(to, m)
}

func (r *Replica) onAck(from transport.NodeID, m *transport.ChainAck) {
	if from != r.snapTo && !slices.Contains(r.members, from) {
		return // acks come from the chain's members (and a joiner being synced)
	}
	// Nothing downstream applied more than this replica did: a larger index
	// is not an ack of anything, and taken as one it would leave every
	// later ack below it, so nothing pending would ever be trimmed.
	idx := min(m.Index, r.applied)
	if from == r.snapTo && !r.snapAcked {
		if m.Epoch == 0 || m.Epoch != r.snapEpoch {
			// Not the joiner's word on its snapshot: an acknowledgement from
			// before it (an earlier incarnation, an earlier join). Nothing
			// pending is trimmed until the joiner says what it installed.
			return
		}
		r.snapAcked = true
		r.completeSnapshotted(idx)
		for _, e := range r.pending { // it dropped them while it had no state
			r.forward(e)
		}
		return
	}
	if m.Epoch != 0 {
		// The tail's word that it holds the updates up to m.Index by the
		// snapshot it joined with: the predecessor that sent the snapshot
		// (the joiner's, which completed them) may have died before it
		// did, and this replica, its successor now, re-sent them. Released
		// here: at worst twice, as at a failover. Only from the successor:
		// the tail sends it to the predecessor that re-sent the updates,
		// and one that reached another member (sent under an earlier
		// configuration) says nothing of what is committed downstream of
		// it. The successor answers the next re-send again.
		if from == r.succ() {
			r.completeSnapshotted(idx)
		}
		return
	}
	if idx <= r.acked {
		return
	}
	r.acked = idx
	n := 0
	for n < len(r.pending) && r.pending[n].up.Index <= idx {
		n++
	}
	r.pending = slices.Delete(r.pending, 0, n)
}

// completeSnapshotted completes, on the joining tail's behalf, the pending
// updates up to idx, the index of the snapshot the joiner installed: their
// effects are in its state, so it never applies them, and no tail
// completed them (this replica applied them while the joiner, already the
// chain's tail, had no state; or forwarded them to a tail that died before
// acknowledging them). They are committed now — every member holds them,
// the joiner durably (it synced its store before acknowledging) — and
// their side effects (publications, events, the client's acknowledgement)
// are the ones this replica captured when it applied them, released as the
// tail's would have been. Trimmed without this, they were lost: a worker's
// registration applied during a join declared its old incarnation dead to
// no raylet, and the tasks placed there were never retried (QA30).
// Duplicates (an old tail that completed some before it died) are harmless,
// as at a failover.
func (r *Replica) completeSnapshotted(idx uint64) {
	n := 0
	for n < len(r.pending) && r.pending[n].up.Index <= idx {
		r.complete(r.pending[n])
		n++
	}
	r.pending = slices.Delete(r.pending, 0, n)
	r.acked = max(r.acked, idx)
}

func (r *Replica) onConfig(m *transport.ChainConfig) {
	if m.Epoch <= r.epoch {
		return
	}
	wasMember, wasTail, oldSucc := r.member, r.member && r.isTail(), r.succ()
	r.epoch, r.members, r.join = m.Epoch, slices.Clone(m.Members), m.Join
	// Parts of a snapshot gathered under the last configuration serve no
	// join of this one (a joiner's predecessor sends it afresh, under this
	// epoch), and held they would pin up to a shard's whole store.
	r.snapIn = nil
	if r.pos() < 0 {
		r.member, r.synced = false, false // removed: rejoin with a fresh copy
		r.pending = nil
		r.snapTo, r.snapAcked = 0, false // and serve no join of the old chain
		// Nor answer for a join it made in it: it joins again with a new
		// snapshot, which sets them anew (see onSnapshot, and the
		// ChainUpdate case of Handle).
		r.installedEpoch, r.installedIndex = 0, 0
		return
	}
	r.member = true
	if m.Join == r.env.Self() {
		if wasMember {
			r.synced = false // it missed its own removal: its state is stale
		}
		return // wait for the snapshot from the predecessor
	}
	if !r.synced && len(r.members) == 1 {
		r.synced = true // the whole chain died: serve what the store recovered
		r.acked = r.applied
	}
	if !r.synced {
		return
	}
	if r.isTail() && !wasTail {
		for _, e := range r.pending {
			r.complete(e)
		}
		r.pending = nil
		r.acked = r.applied
		r.ackMembers()
		r.takeOver()
	}
	// A joining successor gets a snapshot even when it was the successor
	// before: a member removed and re-added (a false suspicion, a pause)
	// missed what the chain applied without it, and discarded its state.
	if s := r.succ(); s != 0 && (s != oldSucc || s == m.Join) {
		if s == m.Join {
			r.snapTo, r.snapEpoch, r.snapAcked, r.snapResends = s, m.Epoch, false, 0
			r.sendSnapshot()
		} else {
			for _, e := range r.pending {
				r.forward(e)
			}
		}
	}
}

// takeOver re-sends, from a replica that has just become its chain's tail,
// what the previous tail's side effects may have lost: the old tail sent
// them, then died with some behind a lost frame, after its successors had
// trimmed the updates on its acknowledgement. All of it is derived from
// the state and idempotent at the receivers.
func (r *Replica) takeOver() {
	r.shard.republishDeaths()      // what the old tail published may be lost
	r.shard.replaceRestarts()      // and the restarts it asked the scheduler for
	r.shard.republishNamedDeaths() // and the burials it forwarded to name shards
	r.shard.rekillOrphans()        // and its word to the hosts of actors buried with their owner
	r.shard.reaskHeldClaims()      // and its questions to owners whose retry report holds a rebuild
}

// snapshotPartBytes and snapshotPartEntries bound one part of a chain
// snapshot: half a frame's body, and half the decoder's count bound (a
// whole store in one message was dropped by TCP past ~80k finished tasks
// per shard, and the joiner never synced).
const (
	snapshotPartBytes   = transport.MaxBodyBytes / 2
	snapshotPartEntries = transport.MaxCount / 2
)

// sendSnapshot sends the whole state (the store) to the joining successor,
// in parts of at most snapshotPartBytes and snapshotPartEntries.
func (r *Replica) sendSnapshot() {
	var parts [][]transport.StoreEntry
	var cur []transport.StoreEntry
	size := 0
	for t := 1; t <= numTables; t++ {
		r.store.Scan(Table(t), func(k, v []byte) bool {
			n := 1 + 2*binary.MaxVarintLen64 + len(k) + len(v) // its encoding, at most
			if len(cur) > 0 && (size+n > snapshotPartBytes || len(cur) == snapshotPartEntries) {
				parts, cur, size = append(parts, cur), nil, 0
			}
			cur, size = append(cur, transport.StoreEntry{Table: uint8(t), Key: slices.Clone(k), Value: slices.Clone(v)}), size+n
			return true
		})
	}
	parts = append(parts, cur) // one part at least, for an empty store too
	r.snapSent = r.env.Mono()
	for i, p := range parts {
		r.env.Send(r.snapTo, &transport.ChainSnapshot{Shard: uint32(r.cfg.Index), Index: r.applied, Epoch: r.snapEpoch,
			Part: uint32(i), Parts: uint32(len(parts)), Entries: p})
	}
}

// snapshotIn gathers the parts of one sending of a snapshot (its epoch,
// index and number of parts): a resend after more writes carries another
// index, and its parts are not mixed with the earlier one's.
type snapshotIn struct {
	epoch, index uint64
	parts        uint32
	got          map[uint32][]transport.StoreEntry
}

func (r *Replica) onSnapshot(from transport.NodeID, m *transport.ChainSnapshot) {
	if r.synced && m.Epoch != 0 && m.Epoch == r.installedEpoch && from == r.pred() {
		// Installed already; the acknowledgement was lost or late. It names
		// the snapshot's index, what the predecessor completes for us (see
		// completeSnapshotted), whatever this replica applied since — and
		// under a later configuration too, if that one no longer names it
		// the joiner.
		r.env.Send(from, &transport.ChainAck{Shard: uint32(r.cfg.Index), Index: r.installedIndex, Epoch: m.Epoch})
		return
	}
	if m.Epoch != r.epoch || r.join != r.env.Self() || from != r.pred() {
		// For another configuration than ours (a late one from an earlier
		// join, or one ahead of our config): its sender re-sends it while
		// it is wanted.
		return
	}
	if r.synced {
		return // synced by another way (the chain's last holder): no join to answer
	}
	for _, e := range m.Entries {
		if e.Table < 1 || int(e.Table) > numTables {
			// No table of ours (a store indexes its tables by number):
			// refused before anything of the state it would replace goes.
			r.env.Emit(&transport.Event{Kind: transport.EvWarning, Node: r.env.Self(), Detail: "chain snapshot names an unknown table: refused"})
			return
		}
	}
	parts := max(m.Parts, 1)
	if m.Part >= parts {
		return // the decoder refuses it; a message made in-process may not be checked
	}
	in := r.snapIn
	if in == nil || in.epoch != m.Epoch || in.index != m.Index || in.parts != parts {
		in = &snapshotIn{epoch: m.Epoch, index: m.Index, parts: parts, got: make(map[uint32][]transport.StoreEntry)}
		r.snapIn = in
	}
	in.got[m.Part] = m.Entries
	if uint32(len(in.got)) < parts {
		return // more to come
	}
	r.snapIn = nil
	for t := 1; t <= numTables; t++ {
		var keys [][]byte
		r.store.Scan(Table(t), func(k, _ []byte) bool { keys = append(keys, slices.Clone(k)); return true })
		for _, k := range keys {
			r.store.Delete(Table(t), k)
		}
	}
	for i := range parts {
		for _, e := range in.got[i] {
			r.store.Put(Table(e.Table), e.Key, e.Value)
		}
	}
	r.shard.load()
	r.loadChainState()
	r.applied, r.acked, r.pending = m.Index, m.Index, nil
	r.saveApplied()
	if err := r.store.Sync(); err != nil {
		// Installed in memory only: acknowledged, or pinged as synced, it
		// would count as a holder of the chain's state (Master.Handle) and
		// could serve alone what its store kept after a crash. It stays
		// unsynced; the predecessor sends the snapshot again.
		r.env.Emit(&transport.Event{Kind: transport.EvWarning, Node: r.env.Self(), Detail: err.Error()})
		return
	}
	r.synced = true
	r.installedEpoch, r.installedIndex = m.Epoch, m.Index
	r.env.Send(from, &transport.ChainAck{Shard: uint32(r.cfg.Index), Index: r.applied, Epoch: m.Epoch})
	if r.isTail() {
		// A joiner is the chain's new tail (the master appends it), and it
		// may replace one that died without the master noticing (restarted
		// within the timeout: its predecessor never became the tail). What
		// that tail sent and acknowledged may be lost with it, as at a
		// failover (onConfig); the updates it never acknowledged are
		// completed by the predecessor (completeSnapshotted).
		r.takeOver()
	}
}

// tick pings the master and re-sends what the successor has not
// acknowledged.
func (r *Replica) tick() {
	epoch := r.epoch
	if !r.member || !r.synced {
		epoch = 0
	}
	if r.epoch == 0 {
		// Restarted, and no configuration came yet. Asked before the ping:
		// the ping of a replica the master does not hold as the joiner
		// makes it the joiner, and the ask after it would start that join
		// over at once.
		r.askConfig()
	}
	r.env.Send(r.layout.Master, &transport.ChainPing{Shard: uint32(r.cfg.Index), Epoch: epoch, Applied: r.applied})
	if s := r.succ(); s != 0 && r.member && r.synced {
		if s == r.snapTo && !r.snapAcked {
			if r.env.Mono().Sub(r.snapSent) >= r.cfg.RetryAfter<<min(r.snapResends, maxResendShift) {
				r.snapResends++
				r.sendSnapshot()
			}
		} else {
			now := r.env.Mono()
			// The transport already resends lost frames; this covers a
			// successor that lost its connection state. Backing off keeps a
			// slow tail (whose acks lag behind a lost frame) from being
			// flooded with copies that make it slower still.
			for _, e := range r.pending {
				if now.Sub(e.sent) >= r.cfg.RetryAfter<<min(e.resends, maxResendShift) {
					e.resends++
					r.send(e)
				}
			}
		}
	}
	r.env.After(r.cfg.PingPeriod, r.tick)
}

// Deduplication state: which (client, Seq) the chain has sequenced. It is
// part of the replicated state (in the store's meta table), so a new head
// knows what its predecessor sequenced.

var metaApplied = []byte("chain-applied")

func seenKey(client transport.NodeID, seq uint64) []byte {
	k := make([]byte, 0, 13)
	k = append(k, 's')
	k = binary.BigEndian.AppendUint32(k, uint32(client))
	return binary.BigEndian.AppendUint64(k, seq)
}

// epochKey is where a client's epoch is kept in the meta table.
func epochKey(client transport.NodeID) []byte {
	return binary.BigEndian.AppendUint32([]byte{'e'}, uint32(client))
}

func (r *Replica) remember(up transport.ChainUpdate) {
	if up.Seq == 0 {
		return
	}
	d := r.seen[up.Client]
	if d != nil && up.Epoch > d.epoch {
		// The client restarted: forget its previous incarnation's numbers,
		// in a fixed order (which unsynced deletes a crash loses must not
		// depend on map order).
		seqs := slices.Sorted(maps.Keys(d.seqs))
		for _, s := range seqs {
			r.store.Delete(TableMeta, seenKey(up.Client, s))
		}
		d = nil
	}
	if d == nil {
		d = &dedup{epoch: up.Epoch, seqs: make(map[uint64]uint64)}
		r.seen[up.Client] = d
		r.store.Put(TableMeta, epochKey(up.Client), binary.BigEndian.AppendUint64(nil, up.Epoch))
	}
	if up.Low > d.low {
		if up.Low-d.low > uint64(len(d.seqs)) {
			for s := range d.seqs { // deletion commutes: map order cannot leak
				if s < up.Low {
					delete(d.seqs, s)
					r.store.Delete(TableMeta, seenKey(up.Client, s))
				}
			}
		} else {
			for s := d.low; s < up.Low; s++ {
				if _, ok := d.seqs[s]; ok {
					delete(d.seqs, s)
					r.store.Delete(TableMeta, seenKey(up.Client, s))
				}
			}
		}
		d.low = up.Low
	}
	d.seqs[up.Seq] = up.Index
	r.store.Put(TableMeta, seenKey(up.Client, up.Seq), binary.BigEndian.AppendUint64(nil, up.Index))
}

func (r *Replica) saveApplied() {
	r.store.Put(TableMeta, metaApplied, binary.BigEndian.AppendUint64(nil, r.applied))
}

// loadChainState reads the applied index and the deduplication state from
// the store.
func (r *Replica) loadChainState() {
	r.seen = make(map[transport.NodeID]*dedup)
	r.applied = 0
	if v, ok := r.store.Get(TableMeta, metaApplied); ok && len(v) == 8 {
		r.applied = binary.BigEndian.Uint64(v)
	}
	r.acked = r.applied
	r.store.Scan(TableMeta, func(k, v []byte) bool {
		if len(k) == 5 && k[0] == 'e' && len(v) == 8 {
			r.loadedSeen(k).epoch = binary.BigEndian.Uint64(v)
			return true
		}
		if len(k) != 13 || k[0] != 's' || len(v) != 8 {
			return true
		}
		r.loadedSeen(k).seqs[binary.BigEndian.Uint64(k[5:])] = binary.BigEndian.Uint64(v)
		return true
	})
}

// loadedSeen is the dedup record of the client a stored key k names
// (epochKey, seenKey: its bytes 1 to 5), made empty the first time
// loadChainState meets the client.
func (r *Replica) loadedSeen(k []byte) *dedup {
	c := transport.NodeID(binary.BigEndian.Uint32(k[1:]))
	d := r.seen[c]
	if d == nil {
		d = &dedup{seqs: make(map[uint64]uint64)}
		r.seen[c] = d
	}
	return d
}

// durableEnv holds back everything the replica sends while an update it
// applied is not yet durable, and syncs the store once per loop turn.
//
// A member's store is what it serves if it restarts while no other holder
// of the chain's state is heard (see Master.Handle), and a store loses its
// unsynced writes in a crash. So an update must be synced on a member
// before anything downstream of it can acknowledge it: before the member
// forwards it (its successor may be the tail) and before the tail releases
// its acknowledgement and side effects. Syncing in apply would cost one
// fsync per update on a disk store (bbolt); instead the first unsynced
// update of a turn arms a zero-delay timer, and everything sent meanwhile
// (forwards, acks, publications, replies — one queue, so the order of
// sends is kept) waits for it. The timer runs after what is already
// queued for the loop: in netsim after the current event (and, on a node
// busy with Charge, at the same time its sends would have left); on TCP
// after the inbox items queued before it, so a loaded replica syncs once
// per many updates. (Env.Post is no use here: netsim runs it at once, and
// on TCP it must not be called from the loop, whose own inbox may be
// full.)
//
// Pings to the master are the exception while a sync is merely pending: a
// ping says the replica is alive and which configuration it holds (a
// snapshot it installed was synced at once), nothing of the updates
// waiting for the sync, and it is a datagram, ordered with nothing. Held,
// a loaded TCP replica's pings waited behind its inbox for the sync and
// the master could suspect a live member. Once a sync has failed the pings
// wait too: a replica that cannot persist goes silent and is removed.
type durableEnv struct {
	transport.Env
	clock   transport.Clock // the wrapped Env's
	r       *Replica
	dirty   bool     // an applied update is not synced; flush is armed
	failing bool     // the last sync failed (flush retries it)
	held    []outMsg // sends waiting for the sync, in order
}

// Mono and Since pass the wrapped Env's monotonic clock on
// (transport.Monotonic).
func (d *durableEnv) Mono() time.Time                 { return d.clock.Now() }
func (d *durableEnv) Since(t time.Time) time.Duration { return d.clock.Since(t) }
func (d *durableEnv) Waited() time.Duration           { return transport.Waited(d.Env) }

func (d *durableEnv) Send(to transport.NodeID, m transport.Message) {
	if d.dirty {
		if _, ping := m.(*transport.ChainPing); !ping || d.failing {
			d.held = append(d.held, outMsg{to: to, m: m})
			return
		}
	}
	d.Env.Send(to, m)
}

// unsynced records that the store holds an update that is not durable.
func (d *durableEnv) unsynced() {
	if !d.dirty {
		d.dirty = true
		d.Env.After(0, d.flush)
	}
}

// flush syncs the store and releases what waited for it. If the sync
// fails, everything keeps waiting and it tries again: a replica that
// cannot persist goes silent, and the master removes it.
func (d *durableEnv) flush() {
	if err := d.r.store.Sync(); err != nil {
		d.failing = true
		d.Env.Emit(&transport.Event{Kind: transport.EvWarning, Node: d.Env.Self(), Detail: err.Error()})
		d.Env.After(d.r.cfg.RetryAfter, d.flush)
		return
	}
	d.dirty, d.failing = false, false
	for i, o := range d.held {
		d.Env.Send(o.to, o.m)
		d.held[i] = outMsg{}
	}
	d.held = d.held[:0]
}

// replicaEnv is the Env the replica's Shard sees: its Self is the shard's
// name (so the state machine is the same on every member), and its sends
// are side effects: released at once by the tail, captured elsewhere.
type replicaEnv struct{ r *Replica }

func (e *replicaEnv) Self() transport.NodeID { return e.r.layout.Shards[e.r.cfg.Index] }
func (e *replicaEnv) Now() time.Time         { return e.r.env.Now() }
func (e *replicaEnv) Mono() time.Time        { return e.r.env.Mono() }
func (e *replicaEnv) Since(t time.Time) time.Duration {
	return e.r.env.Since(t)
}
func (e *replicaEnv) Waited() time.Duration { return e.r.env.Waited() }
func (e *replicaEnv) After(d time.Duration, f func()) transport.Timer {
	return e.r.env.After(d, f)
}
func (e *replicaEnv) Rand() *rand.Rand            { return e.r.env.Rand() }
func (e *replicaEnv) Charge(d time.Duration)      { e.r.env.Charge(d) }
func (e *replicaEnv) Go(f func())                 { e.r.env.Go(f) }
func (e *replicaEnv) Await(reg func(wake func())) { e.r.env.Await(reg) }
func (e *replicaEnv) Post(f func())               { e.r.env.Post(f) }
func (e *replicaEnv) Emit(ev *transport.Event)    { e.emit(ev) }
func (e *replicaEnv) Send(to transport.NodeID, m transport.Message) {
	r := e.r
	switch {
	case r.member && r.synced && r.isTail():
		r.route(to, m)
	case r.cur != nil:
		r.cur.out = append(r.cur.out, outMsg{to: to, m: m})
	}
}

// emit traces an event as Send sends: at once on the tail, and captured
// with the update's sends elsewhere, emitted if this replica completes the
// update as tail (complete). Dropped there, the trace lost what a failover
// released: a registration's node.alive, a write's gcs.write. (An update
// the old tail applied and died before acknowledging is traced twice, as
// its sends are sent twice.)
func (e *replicaEnv) emit(ev *transport.Event) {
	switch r := e.r; {
	case r.member && r.synced && r.isTail():
		r.env.Emit(ev)
	case r.cur != nil:
		c := *ev // the shard reuses its event buffer
		r.cur.out = append(r.cur.out, outMsg{ev: &c})
	}
}

// Master is the chain configuration master: it detects dead members by
// their pings and announces new chains.
type Master struct {
	env    transport.Env
	clock  transport.Clock // pings' times, on the monotonic clock
	cfg    MasterConfig
	chains []*masterChain
}

// MasterConfig configures the master.
type MasterConfig struct {
	Layout *Layout
	// Timeout is how long a member may stay silent before it is removed
	// from its chain (default 20ms); the check runs every Timeout/4.
	Timeout time.Duration
	// OnReconfigure, if set, is told of every new configuration (tests).
	OnReconfigure func(*transport.ChainConfig)
}

type masterChain struct {
	epoch   uint64
	members []transport.NodeID
	join    transport.NodeID // joining, not yet synced
	// joinEp is the last epoch that named join as the joiner: join has
	// installed its snapshot once it pings with that epoch or a later one.
	joinEp   uint64
	lastPing map[transport.NodeID]time.Time
}

// NewMaster returns the master of layout's chains.
func NewMaster(env transport.Env, cfg MasterConfig) *Master {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Millisecond
	}
	m := &Master{env: env, clock: transport.NewClock(env), cfg: cfg}
	for _, ch := range cfg.Layout.Chains {
		mc := &masterChain{epoch: 1, members: slices.Clone(ch), lastPing: make(map[transport.NodeID]time.Time)}
		for _, n := range ch {
			mc.lastPing[n] = m.clock.Now()
		}
		m.chains = append(m.chains, mc)
	}
	env.After(cfg.Timeout/4, m.check)
	return m
}

// Chain returns the master's current configuration of shard j.
func (m *Master) Chain(j int) (uint64, []transport.NodeID) {
	return m.chains[j].epoch, slices.Clone(m.chains[j].members)
}

// Handle implements transport.Handler.
func (m *Master) Handle(from transport.NodeID, msg transport.Message) {
	p, ok := msg.(*transport.ChainPing)
	if !ok || int(p.Shard) >= len(m.chains) {
		return
	}
	ch := m.chains[p.Shard]
	if p.Client && p.Epoch == 0 && from == ch.join && slices.Contains(ch.members, from) {
		// The joiner restarted (a replica that has heard no configuration
		// asks for one: Replica.askConfig) before it pinged as synced:
		// what its first incarnation installed, or was sent, is gone, and
		// its predecessor may take the join as done. The join starts over
		// under a new epoch: the predecessor sends a fresh snapshot.
		m.announce(int(p.Shard))
		return
	}
	if p.Client {
		if p.Epoch < ch.epoch {
			m.env.Send(from, m.config(int(p.Shard)))
		}
		return
	}
	if !slices.Contains(m.cfg.Layout.Chains[p.Shard], from) {
		return // not a replica of this shard
	}
	ch.lastPing[from] = m.clock.Now()
	in := slices.Contains(ch.members, from)
	switch {
	case in && p.Epoch != 0:
		// A replica pings a non-zero epoch only while it is a synced member
		// of the configuration it holds. The joiner's pings from before it
		// saw the configuration that added it carry an older epoch: one cut
		// off from the master (never told of its removal) still pings the
		// epoch it was synced at, and pings, datagrams, overtake the
		// configurations sent to it. Only an epoch naming it the joiner, or
		// a later one, says it installed its snapshot.
		if from == ch.join && p.Epoch >= ch.joinEp {
			ch.join = 0 // synced
		}
		if p.Epoch < ch.epoch {
			m.env.Send(from, m.config(int(p.Shard)))
		}
	case in && from == ch.join:
		// still waiting for its snapshot
	case in && m.lastHolder(ch, from):
		// A holder of the chain's state restarted while no other is heard
		// (check keeps them all then): it serves what its store recovered,
		// alone, and the others (a joiner too) rejoin from it.
		ch.members, ch.join = []transport.NodeID{from}, 0
		m.announce(int(p.Shard))
	case in && ch.join != 0 && slices.Contains(ch.members, ch.join):
		// A member, not the joiner, that holds no state it may serve (it
		// restarted before the master found it silent) while another
		// replica's join is pending: removed now, it rejoins once that
		// join is done (next case). Kept as a member, it dropped every
		// update its predecessor forwarded, and, pinging, was never found
		// silent; when it preceded the joiner it never sent the snapshot,
		// the join never finished, and the shard acknowledged nothing
		// again (two of three replicas restarted a few ms apart: every
		// raylet fenced itself, regression
		// two-replicas-rejoin-fence-every-node). Another holder is heard
		// (lastHolder above), so the chain keeps its state.
		ch.members = slices.DeleteFunc(ch.members, func(n transport.NodeID) bool { return n == from })
		m.announce(int(p.Shard))
	case ch.join != 0 && slices.Contains(ch.members, ch.join):
		// one join at a time: it asks again on its next ping
	default:
		// A new or restarted replica: it (re)joins at the tail, copying
		// the state of its predecessor; alone, it serves its own store.
		ch.members = slices.DeleteFunc(ch.members, func(n transport.NodeID) bool { return n == from })
		ch.join = 0
		if len(ch.members) > 0 {
			ch.join = from
		}
		ch.members = append(ch.members, from)
		m.announce(int(p.Shard))
	}
}

func (m *Master) check() {
	now := m.clock.Now()
	for j, ch := range m.chains {
		n := len(ch.members)
		silent := func(id transport.NodeID) bool { return m.silent(ch, id, now) }
		// The members other than a joiner hold the chain's state. If every
		// one of them is silent, they all stay: the master cannot tell a
		// dead member from a stalled one (or from its own stall), and
		// removing them all would let whichever came back first serve
		// alone — a stale one losing acknowledged writes, a joiner waiting
		// forever for a snapshot. One that really died is replaced when it
		// restarts (see Handle).
		holders := 0
		for _, id := range ch.members {
			if id != ch.join && !silent(id) {
				holders++
			}
		}
		ch.members = slices.DeleteFunc(ch.members, func(id transport.NodeID) bool {
			if id != ch.join && holders == 0 {
				return false
			}
			return silent(id)
		})
		if len(ch.members) != n {
			if !slices.Contains(ch.members, ch.join) {
				ch.join = 0
			}
			m.announce(j)
		}
	}
	m.env.After(m.cfg.Timeout/4, m.check)
}

// silent reports whether member id of ch has not pinged within the timeout.
func (m *Master) silent(ch *masterChain, id transport.NodeID, now time.Time) bool {
	return now.Sub(ch.lastPing[id]) > m.cfg.Timeout
}

// lastHolder reports whether id, not ch's joiner, is the only member
// besides the joiner that has pinged within the timeout.
func (m *Master) lastHolder(ch *masterChain, id transport.NodeID) bool {
	now := m.clock.Now()
	for _, o := range ch.members {
		if o != id && o != ch.join && !m.silent(ch, o, now) {
			return false
		}
	}
	return id != ch.join
}

func (m *Master) config(j int) *transport.ChainConfig {
	ch := m.chains[j]
	return &transport.ChainConfig{Shard: uint32(j), Epoch: ch.epoch, Members: slices.Clone(ch.members), Join: ch.join}
}

// announce publishes shard j's new chain to every replica and raylet.
func (m *Master) announce(j int) {
	ch := m.chains[j]
	ch.epoch++
	if ch.join != 0 {
		// Every configuration names the pending joiner, and a replica named
		// the joiner waits for a fresh snapshot (see Replica.onConfig).
		ch.joinEp = ch.epoch
	}
	c := m.config(j)
	if m.cfg.OnReconfigure != nil {
		m.cfg.OnReconfigure(c)
	}
	for _, chain := range m.cfg.Layout.Chains {
		for _, n := range chain {
			m.env.Send(n, c)
		}
	}
	for _, n := range m.cfg.Layout.Raylets {
		m.env.Send(n, c)
	}
}
