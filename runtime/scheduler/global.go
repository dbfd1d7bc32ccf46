package scheduler

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"raysim/runtime/costs"
	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// GlobalConfig configures the global scheduler.
type GlobalConfig struct {
	Layout *gcs.Layout
	Policy Policy
	Costs  costs.Profile
	// Bandwidth is the mean bandwidth estimate between nodes, bytes/s,
	// until the nodes have measured theirs (Heartbeat.MeanBandwidth).
	Bandwidth float64
	// SpillThreshold is passed to policies; the global scheduler itself does
	// not queue tasks except infeasible ones.
	SpillThreshold int
	// StartupGrace bounds how long spills wait at start-up for the
	// layout's raylets to register (default 100ms; negative: no wait).
	StartupGrace time.Duration
	// DeadTargetGrace is how long a task or actor creation whose hard
	// node affinity names a node declared dead is held for that node to
	// register again before it fails (ErrKindUnschedulable); 0, the
	// default, fails it at once, as Ray's (a dead Ray node never comes
	// back). The simulator sets it (SimDeadTargetGrace): its nodes restart
	// under their NodeID (a crash with restart, a fenced node rejoining).
	DeadTargetGrace time.Duration
}

// SimDeadTargetGrace is the simulated cluster's DeadTargetGrace: long
// beside a pause or a restart a fault schedule makes, short beside the
// virtual minutes a run may last.
const SimDeadTargetGrace = 10 * time.Second

// defaultStartupGrace is StartupGrace's default: ample for registrations
// on any network a cluster runs on, short beside any workload.
const defaultStartupGrace = 100 * time.Millisecond

type nodeView struct {
	id   transport.NodeID
	inc  uint64
	ord  int  // its index in Global.nodes (registration order)
	dead bool // see Global.setDead
	// gone: dead for longer than DeadTargetGrace without registering
	// again: tasks pinned to it by hard affinity fail.
	gone     bool
	total    transport.Resources
	avail    transport.Resources
	queue    int
	meanTask time.Duration
	meanBW   uint64 // bytes/s, 0: not measured
	// offered: of avail, what a ClusterRoom offered since the node's last
	// heartbeat and no placement has taken yet (see offerRoom).
	offered transport.Resources
	// inflight are the placements sent to this incarnation that its last
	// heartbeat did not count yet (numbered above its Heartbeat.Placed),
	// oldest first: their resources are taken from its Available.
	inflight []inflight
}

// inflight is one placement on its way to a node (nodeView.inflight).
type inflight struct {
	seq uint64
	res transport.Resources
}

// beat takes a heartbeat of the view's incarnation: its load, less the
// placements sent after it was (the node had not had them: its
// Available counted their resources free, and a second placement, or a
// re-spill, took them again).
func (v *nodeView) beat(m *transport.Heartbeat) {
	v.total, v.avail, v.queue, v.meanTask, v.meanBW = m.Total, m.Available, int(m.QueueLen), m.MeanTaskTime, m.MeanBandwidth
	v.offered = transport.Resources{}
	n := 0
	for n < len(v.inflight) && v.inflight[n].seq <= m.Placed {
		n++
	}
	if n > 0 {
		k := copy(v.inflight, v.inflight[n:])
		clear(v.inflight[k:])
		v.inflight = v.inflight[:k]
	}
	for _, p := range v.inflight {
		v.avail = v.avail.Sub(p.res)
	}
	v.queue += len(v.inflight)
}

// Global is the global scheduler: it places spilled tasks on raylets from
// their heartbeated load and the tasks' argument locations, and holds tasks
// no node can run (infeasible) until a node that can joins.
type Global struct {
	evbuf transport.Event // see emit
	// spiller is the raylet whose SpillTask is being placed (0: none, a
	// held task's retry): see place.
	spiller transport.NodeID
	// respill: the task being placed is a RespillTask (see place).
	respill bool
	// room is the scratch list of a ClusterRoom (offerRoom); backlogged
	// the nodes whose last heartbeat reported a queue, in the order they
	// did (offerRoomTo).
	room       []transport.NodeRoom
	backlogged []*nodeView
	// removedQ: the removed and refused groups kept, oldest first (see
	// keepRemoved).
	removedQ []transport.GroupID
	env      transport.Env
	cfg      GlobalConfig
	nodes    []*nodeView // in registration order
	// live are the views of nodes not dead, in the same order (by ord):
	// what every placement looks over. On a live cluster every driver
	// session is a node that leaves for good, and its view stays listed
	// (ClusterView lists dead nodes too): a placement went over every
	// session ever run, dead ones skipped one by one.
	live  []*nodeView
	index map[transport.NodeID]*nodeView

	infeasible []*transport.SpillTask
	warned     map[transport.TaskID]bool // infeasible tasks already warned about
	// badPickWarned: the policy's Pick answered no candidate once already
	// (warned once per run: see holdBadPick).
	badPickWarned bool
	// early holds the spills that came during start-up, until every raylet
	// of the layout has registered or StartupGrace has passed (see place).
	early []*transport.SpillTask
	// earlyViews: the ClusterQuery answers held through start-up (a
	// resent query while held is answered twice; the asker drops the
	// second).
	earlyViews []earlyView
	starting   bool
	// regNext: every raylet of the layout before Layout.Raylets[regNext]
	// has registered (a view, once made, stays in the index), so
	// allRegistered looks at each raylet once over the whole start-up
	// instead of scanning them all on every registration (QA32: 20,000
	// nodes took 20 s to start).
	regNext int
	// regLooks counts the raylets allRegistered looked at (a test's
	// measure that start-up work is linear in the node count).
	regLooks int
	cands    []Candidate // scratch
	// spread is where the next spread task's round-robin over the
	// candidates starts (Ray's spread policy); only spread placements
	// move it, so other traffic cannot fix where spread tasks land.
	spread uint64
	placed uint64
	// restarts is the latest GCS restart (transport.RestartAttempt) of
	// each actor this scheduler was handed: a GCS chain's new tail hands
	// over again the restarts its predecessor may have lost, and one
	// already had must not be placed twice (two instances).
	restarts map[transport.ActorID]uint32
	// deadInc is, per node, the highest incarnation the node table
	// published dead (NodeDead covers every incarnation up to it), known
	// or not when the news came. An incarnation's death is final, and the
	// table forwards no registration of one it declared dead, so a
	// registration (or a heartbeat) of such an incarnation that comes
	// after the death is older news, not a node alive again: a chain's
	// tail that joins with a snapshot publishes from its state and what
	// follows the snapshot while its predecessor releases the captured
	// publications of the updates the snapshot held, so a node's
	// registration can come after its death (a node that left stayed
	// alive here for good; TestChainJoinPublicationsReachTheSchedulerInAnyOrder).
	deadInc map[transport.NodeID]uint64

	// Placement groups (groups.go): every group created, removed ones
	// too (their late tasks fail); groupOrder the live ones in creation
	// order (retries go in that order); groupRounds numbers reservation
	// rounds.
	groups      map[transport.GroupID]*group
	groupOrder  []*group
	groupRounds uint64
}

// NewGlobal returns a global scheduler.
func NewGlobal(env transport.Env, cfg GlobalConfig) *Global {
	if cfg.Bandwidth == 0 {
		cfg.Bandwidth = 1.25e9 // 10 Gbps
	}
	if cfg.StartupGrace == 0 {
		cfg.StartupGrace = defaultStartupGrace
	}
	g := &Global{env: env, cfg: cfg, index: make(map[transport.NodeID]*nodeView)}
	if cfg.StartupGrace > 0 && cfg.Layout != nil && len(cfg.Layout.Raylets) > 0 {
		g.starting = true
		env.After(cfg.StartupGrace, g.started)
	}
	return g
}

// started ends start-up: the spills held since are placed, in the order
// they came.
func (g *Global) started() {
	if !g.starting {
		return
	}
	g.starting = false
	early := g.early
	g.early = nil
	for _, m := range early {
		g.place(m)
	}
	g.retryGroups()
	for _, q := range g.earlyViews {
		g.env.Send(q.from, g.clusterView(q.seq))
	}
	g.earlyViews = nil
}

// earlyView is a ClusterQuery held through start-up.
type earlyView struct {
	from transport.NodeID
	seq  uint64
}

// allRegistered reports whether every raylet of the layout has registered.
// It resumes where the last call stopped (regNext): O(1) amortized per
// registration, O(N) over a start-up of N raylets.
func (g *Global) allRegistered() bool {
	rs := g.cfg.Layout.Raylets
	for g.regNext < len(rs) {
		g.regLooks++
		if g.index[rs[g.regNext]] == nil {
			return false
		}
		g.regNext++
	}
	return true
}

// Handle implements transport.Handler.
func (g *Global) Handle(from transport.NodeID, m transport.Message) {
	g.env.Charge(g.cfg.Costs.Message)
	switch m := m.(type) {
	case *transport.RegisterNode:
		if g.cfg.Layout.IsGCS(from) && g.isNode(m.Node) { // forwarded by the node table
			g.register(m.Node, m.Incarnation, m.Total)
		}
	case *transport.NodeDead:
		if !g.cfg.Layout.IsGCS(from) {
			return // the node table's verdict, published by the GCS
		}
		if g.deadInc == nil {
			g.deadInc = make(map[transport.NodeID]uint64)
		}
		g.deadInc[m.Node] = max(g.deadInc[m.Node], m.Incarnation)
		if v := g.index[m.Node]; v != nil && v.inc <= m.Incarnation && !v.dead {
			g.setDead(v, true)
			g.deadTarget(v)
		}
		g.groupsLost(m.Node, m.Incarnation)
		if m.Left {
			g.jobEnded(func(spec *transport.TaskSpec) bool { return spec.JobNode() == m.Node })
		}
	case *transport.JobEnd:
		if from == m.Job.Node() && m.Job != 0 && g.isNode(from) { // a driver returned: its node says so
			g.jobEnded(func(spec *transport.TaskSpec) bool { return spec.Job() == m.Job })
		}
	case *transport.Heartbeat:
		// Forwarded by the node table, or from the node itself (a raylet
		// that corrects a stale placement, see node.Raylet).
		if !g.isNode(m.Node) || (from != m.Node && !g.cfg.Layout.IsGCS(from)) {
			return
		}
		if v := g.index[m.Node]; v == nil || m.Incarnation > v.inc {
			// A node we never heard register (the forwarded registration
			// was lost with a GCS replica), or a newer incarnation whose
			// registration and its predecessor's death are still on their
			// way (heartbeats are datagrams and overtake them): its
			// heartbeat registers it, so placements name the live
			// incarnation and its owners do not count them as lost.
			g.register(m.Node, m.Incarnation, m.Total)
		}
		if v := g.index[m.Node]; v != nil && !v.dead && v.inc == m.Incarnation {
			v.beat(m)
			if len(g.infeasible) > 0 {
				g.retryOn(v)
			}
			if len(g.groupOrder) > 0 {
				g.retryGroups()
			}
			if from != m.Node { // once per heartbeat period: the node table's copy
				switch {
				case m.QueueLen > 0:
					g.noteBacklog(v)
					g.offerRoom(v)
				case len(g.backlogged) > 0 && hasRoom(v.avail):
					g.offerRoomTo(v)
				}
			}
		}
	case *transport.SpillTask:
		if m.Spec.IsCreation() && transport.IsRestart(m.Spec.Attempt) && !g.takeRestart(from, &m.Spec) {
			return
		}
		if g.starting {
			// Placing now would choose among the nodes whose registration
			// happened to arrive first: a burst submitted at start-up would
			// all land on one node.
			g.early = append(g.early, m)
			return
		}
		if g.isNode(from) {
			g.spiller = from
		}
		g.place(m)
		g.spiller = 0
	case *transport.RespillTask:
		if !g.isNode(from) || m.Spec.IsCreation() {
			return // only a raylet re-spills, and never an actor's creation
		}
		if g.starting {
			g.early = append(g.early, &m.SpillTask) // placed as a spill, after start-up
			return
		}
		g.spiller, g.respill = from, true
		g.place(&m.SpillTask)
		g.spiller, g.respill = 0, false
	case *transport.CancelTask:
		drop := func(s *transport.SpillTask) bool {
			if s.Spec.ID != m.Task || s.Spec.IsCreation() { // actors end by Kill, not Cancel
				return false
			}
			if s.Spec.Rebuild && !m.Rebuild {
				return false // a cancel of the finished run the rebuild remakes: a no-op
			}
			g.env.Send(s.Spec.Owner, &transport.PlaceTask{Spec: s.Spec, Reason: ReasonCancelled})
			delete(g.warned, s.Spec.ID) // held no more: its warning's record goes with it
			return true
		}
		g.infeasible = slices.DeleteFunc(g.infeasible, drop)
		g.early = slices.DeleteFunc(g.early, drop)
	case *transport.GroupCreate:
		g.onGroupCreate(from, m)
	case *transport.GroupRemove:
		g.onGroupRemove(from, m)
	case *transport.BundlePrepared:
		g.onBundlePrepared(from, m)
	case *transport.GroupWatch:
		g.onGroupWatch(from, m)
	case *transport.GroupLookup:
		g.onGroupLookup(from, m)
	case *transport.ClusterQuery:
		if !g.isNode(from) {
			return
		}
		if g.starting {
			// The view would list the raylets whose registration
			// happened to arrive first: answered once start-up ends.
			g.earlyViews = append(g.earlyViews, earlyView{from, m.Seq})
			return
		}
		g.env.Send(from, g.clusterView(m.Seq))
	}
}

// clusterView is the scheduler's view of the raylets (ray.Nodes): each it
// has heard register, at its latest incarnation, in registration order,
// as of its last heartbeat.
func (g *Global) clusterView(seq uint64) *transport.ClusterView {
	m := &transport.ClusterView{Seq: seq, Nodes: make([]transport.NodeView, 0, len(g.nodes))}
	for _, v := range g.nodes {
		m.Nodes = append(m.Nodes, transport.NodeView{Node: v.id, Incarnation: v.inc, Alive: !v.dead,
			Total: v.total, Available: v.avail, QueueLen: uint32(min(max(v.queue, 0), 1<<32-1))})
	}
	return m
}

// jobEnded hands the tasks held here (infeasible, or early) of an ended
// job, those of matches, back to their owners as cancelled: the job ended
// with its driver's return (transport.JobEnd) or the driver node's goodbye
// (transport.TaskSpec.Job; node.Raylet.endJob ends what the raylets hold).
// A driver node declared dead by silence may be cut off and rejoin: its
// held tasks stay, and a raylet refuses one placed once the job has ended
// there. An actor's creation stays: the actor table or its creator's
// raylet ends the actor.
func (g *Global) jobEnded(of func(spec *transport.TaskSpec) bool) {
	drop := func(s *transport.SpillTask) bool {
		if s.Spec.Actor != 0 || !of(&s.Spec) {
			return false
		}
		g.env.Send(s.Spec.Owner, &transport.PlaceTask{Spec: s.Spec, Reason: ReasonCancelled})
		delete(g.warned, s.Spec.ID)
		return true
	}
	g.infeasible = slices.DeleteFunc(g.infeasible, drop)
	g.early = slices.DeleteFunc(g.early, drop)
}

// setDead marks v dead or alive, keeping g.live (the views alive, in
// registration order) in step.
func (g *Global) setDead(v *nodeView, dead bool) {
	if v.dead == dead {
		return
	}
	v.dead = dead
	i, found := slices.BinarySearchFunc(g.live, v.ord, func(x *nodeView, ord int) int { return cmp.Compare(x.ord, ord) })
	switch {
	case dead && found:
		g.live = slices.Delete(g.live, i, i+1)
	case !dead && !found:
		g.live = slices.Insert(g.live, i, v)
	}
}

// register adds (or renews) a node incarnation in the view.
func (g *Global) register(id transport.NodeID, inc uint64, total transport.Resources) {
	if dead, ok := g.deadInc[id]; ok && inc <= dead {
		return // an incarnation published dead: older news (see deadInc)
	}
	v := g.index[id]
	if v == nil {
		v = &nodeView{id: id, ord: len(g.nodes), dead: true} // alive below
		g.index[id] = v
		g.nodes = append(g.nodes, v)
	}
	if inc < v.inc {
		return
	}
	if inc > v.inc && v.inc != 0 {
		// A new incarnation: the raylet dropped its old one's bundles.
		g.groupsLost(id, v.inc)
	}
	if inc > v.inc {
		v.inflight = v.inflight[:0] // placements on an earlier incarnation
	}
	g.setDead(v, false)
	v.inc, v.gone = inc, false
	g.ownersKnown(id, inc)
	v.total, v.avail, v.queue = total, total, 0
	for _, p := range v.inflight { // a registration again: what is on its way still is
		v.avail = v.avail.Sub(p.res)
	}
	v.queue += len(v.inflight)
	if g.starting {
		if g.allRegistered() {
			g.started()
		}
		return
	}
	g.retryInfeasible()
	g.retryGroups()
}

// takeRestart reports whether a GCS restart of an actor is to be placed.
// From the GCS, a restart not newer than the latest one seen is a restart
// handed over again (see restarts). Only the actor's shard decides
// restarts: a raylet may hand back the latest one (it could not take it),
// but a number it made up must not pass for the latest.
func (g *Global) takeRestart(from transport.NodeID, spec *transport.TaskSpec) bool {
	last, had := g.restarts[spec.Actor]
	if !g.cfg.Layout.IsGCS(from) {
		return had && spec.Attempt == last
	}
	if had && spec.Attempt <= last {
		return false
	}
	if g.restarts == nil {
		g.restarts = make(map[transport.ActorID]uint32)
	}
	g.restarts[spec.Actor] = spec.Attempt
	return true
}

// isNode reports whether id can be a node: not the scheduler itself nor a
// GCS endpoint (a registration naming one would have tasks placed on it,
// and lost).
func (g *Global) isNode(id transport.NodeID) bool {
	return id != 0 && id != g.env.Self() && id != g.cfg.Layout.Scheduler && !g.cfg.Layout.IsGCS(id)
}

// addBytes adds an argument's size to a sum, saturating: sizes come from
// the wire, and a made-up one must not wrap the sum.
func addBytes(sum, size int64) int64 {
	if size <= 0 {
		return sum
	}
	return sum + min(size, math.MaxInt64-sum)
}

// ReasonCancelled in a PlaceTask sent to a task's owner means the task was
// cancelled while the global scheduler held it: the owner stores the error.
// ReasonUnschedulable means no node can ever run it (a hard affinity to a
// node the cluster does not have, or one too small for it): the owner
// fails it with ErrKindUnschedulable, as Ray fails such a task.
//
// ReasonRespill begins the reason of a re-spilled task's placement on
// another node than its sender ("respill (bottom-up)"): the raylet there
// does not re-spill it again. ReasonRespillBack begins that of one placed
// back on its sender (the room it was sent for was taken meanwhile, or
// the policy prefers the sender), which may send it again.
const (
	ReasonCancelled     = "cancelled"
	ReasonUnschedulable = "unschedulable"
	ReasonRespill       = "respill"
	ReasonRespillBack   = "respill back"
)

func (g *Global) place(m *transport.SpillTask) {
	g.env.Charge(g.cfg.Costs.Schedule)
	spec := &m.Spec
	if why, removed := g.removedGroup(spec); removed {
		g.failRemoved(m, why)
		return
	}
	d := Decision{Spec: spec, Bandwidth: g.cfg.Bandwidth, QueueLimit: g.cfg.SpillThreshold}
	// need is what a node must have for the task to be placed there: its
	// resources, and a CPU free for Ray's default actor, which it does
	// not hold (transport.TaskSpec.Placement).
	need := spec.Placement()
	for _, l := range m.Locs {
		d.ArgBytes = addBytes(d.ArgBytes, l.Size)
	}
	// A soft affinity to a live node that can run the task binds as Ray's
	// does: the task runs there only, waiting for its resources if they
	// are busy (an actor held here until they free up, as a hard one is);
	// it goes elsewhere only when the target is dead, unknown or too small.
	soft := false
	if spec.Strategy == transport.StrategyNodeSoft {
		v := g.index[spec.Target]
		soft = v != nil && !v.dead && need.Fits(v.total)
	}
	g.cands = g.cands[:0]
	known, sum := 0, 0.0     // candidates reporting a mean task time, and their sum
	knownBW, sumBW := 0, 0.0 // and a mean bandwidth
	for _, v := range g.live {
		if v.dead || !need.Fits(v.total) {
			continue
		}
		// An actor keeps its resources for life: place it only where they
		// are free now, or it may wait forever behind other actors. So
		// does a task of a group that captures child tasks (see
		// placedOnFree).
		if placedOnFree(spec) && !need.Fits(v.avail) {
			continue
		}
		// A captured task its node spilled does not fit there now,
		// whatever the view says: the raylet tells its free resources
		// before the spill, but in a heartbeat, a datagram the spill can
		// overtake (or that is lost), and a captured task placed back
		// there waits behind its blocked ancestors for good. It goes to
		// another node with room, or is held until a heartbeat shows one
		// (the spiller's included: a held task's retry names no spiller).
		if v.id == g.spiller && placedOnFree(spec) && !spec.IsCreation() && !g.respill {
			continue
		}
		if (spec.Strategy == transport.StrategyNodeHard || soft) && v.id != spec.Target {
			continue
		}
		c := Candidate{Node: v.id, Total: v.total, Available: v.avail, QueueLen: v.queue, MeanTaskTime: v.meanTask, Bandwidth: float64(v.meanBW)}
		if g.respill {
			// A queued task handed back (RespillTask) goes where its
			// resources are free now, or stays with its sender, whose
			// queue it waits in (nothing free there for it: that is why
			// it came) and which may still be the best, holding its
			// inputs: the policy chooses, as Ray's raylet re-runs its
			// policy over its queue.
			if v.id == g.spiller {
				c.Available = transport.Resources{}
			} else if !need.Fits(v.avail) {
				continue
			}
		}
		for _, l := range m.Locs {
			if slices.Contains(l.Nodes, v.id) {
				c.LocalBytes = addBytes(c.LocalBytes, l.Size)
			}
		}
		if c.MeanTaskTime > 0 {
			known++
			sum += float64(c.MeanTaskTime)
		}
		if c.Bandwidth > 0 {
			knownBW++
			sumBW += c.Bandwidth
		}
		g.cands = append(g.cands, c)
	}
	if len(g.cands) == 0 {
		g.holdInfeasible(m)
		return
	}
	if knownBW > 0 {
		// A node that has pulled nothing yet counts at the others' mean
		// bandwidth; the configured one stands until any is measured.
		d.Bandwidth = sumBW / float64(knownBW)
	}
	if known > 0 && known < len(g.cands) {
		// A node that has not finished a task yet reports no mean, which
		// would make its whole queue free (its first tasks may be long,
		// and it would win every placement while its queue grows): it is
		// estimated at the mean of the nodes that know theirs.
		mean := time.Duration(sum / float64(known))
		for i := range g.cands {
			if g.cands[i].MeanTaskTime <= 0 {
				g.cands[i].MeanTaskTime = mean
			}
		}
	}
	i, reason := -1, g.cfg.Policy.Name()
	if spec.Strategy == transport.StrategyNodeSoft {
		i = slices.IndexFunc(g.cands, func(c Candidate) bool { return c.Node == spec.Target })
		reason = "affinity"
	}
	if spec.Strategy == transport.StrategySpread {
		i = g.pickSpread(spec)
		reason = "spread"
	}
	if i < 0 {
		var bad string
		i, bad = g.pick(&d)
		if bad != "" {
			g.holdBadPick(m, bad)
			return
		}
		reason = g.cfg.Policy.Name()
	}
	delete(g.warned, spec.ID) // placed now: a later hold warns again
	g.placed++
	target := g.cands[i].Node
	if g.respill {
		if target == g.spiller {
			reason = ReasonRespillBack + " (" + reason + ")"
		} else {
			reason = ReasonRespill + " (" + reason + ")"
		}
		if v := g.index[g.spiller]; v != nil && v.queue > 0 {
			v.queue-- // it left the sender's queue (placed back there, it counts again below)
		}
	}
	// Count the task in the view at once, so a burst of spills between two
	// heartbeats spreads instead of piling onto one node.
	g.index[target].queue++
	g.index[target].avail = g.index[target].avail.Sub(spec.Resources)
	if t := g.index[target]; !t.offered.IsZero() {
		t.offered = nonNegative(t.offered.Sub(spec.Resources))
	}
	inc := g.index[target].inc
	g.index[target].inflight = append(g.index[target].inflight, inflight{seq: g.placed, res: spec.Resources})
	g.env.Send(target, &transport.PlaceTask{Spec: m.Spec, Reason: reason, Incarnation: inc, Seq: g.placed})
	// The owner learns where its task went, so it can retry it if that node
	// dies.
	g.env.Send(spec.Owner, &transport.TaskPlaced{Task: spec.ID, Node: target, Incarnation: inc, Attempt: spec.Attempt, Rebuild: spec.Rebuild})
}

// offerRoom answers the heartbeat of node q, which reported a queue, with
// the other live nodes that have resources free (ClusterRoom), as Ray's
// raylets see the cluster's resources through their resource view and
// spill queued tasks to a node with room. The view is this scheduler's
// (heartbeats less its placements since), and a re-spill is placed only
// where it still shows room (see place). Room offered once is not offered
// again until the node's next heartbeat (nodeView.offered, less what
// placements took of it since): two offers of the same room, to two
// raylets or twice to one before its re-spills came, sent twice the
// tasks it holds, and the second half back (228 of 356 re-spills in
// scenarios/autoscale-backlog.yaml). Nothing is sent when no other node
// has room, nor during start-up (the spills then wait for every node: see
// place).
func (g *Global) offerRoom(q *nodeView) {
	if g.starting {
		return
	}
	g.room = g.room[:0]
	for _, v := range g.live {
		if v == q || v.dead || !hasRoom(v.avail) {
			continue
		}
		room := v.avail
		if !v.offered.IsZero() {
			room = nonNegative(room.Sub(v.offered))
			if !hasRoom(room) {
				continue
			}
		}
		g.room = append(g.room, transport.NodeRoom{Node: v.id, Available: room})
		v.offered = v.offered.Add(room)
		if len(g.room) == transport.MaxRoomNodes {
			break
		}
	}
	if len(g.room) == 0 {
		return
	}
	g.env.Charge(g.cfg.Costs.Schedule)
	g.env.Send(q.id, &transport.ClusterRoom{Nodes: slices.Clone(g.room)})
}

// nonNegative is r with its negative amounts zero.
func nonNegative(r transport.Resources) transport.Resources {
	r.CPU, r.GPU = max(r.CPU, 0), max(r.GPU, 0)
	if slices.ContainsFunc(r.Custom, func(q transport.Quantity) bool { return q.Amount < 0 }) {
		r.Custom = slices.Clone(r.Custom)
		for i := range r.Custom {
			r.Custom[i].Amount = max(r.Custom[i].Amount, 0)
		}
	}
	return r
}

// noteBacklog records that v's heartbeat reported a queue (offerRoomTo).
func (g *Global) noteBacklog(v *nodeView) {
	if !slices.Contains(g.backlogged, v) {
		g.backlogged = append(g.backlogged, v)
	}
}

// offerRoomTo offers the room node v's heartbeat shows to the node with
// the longest queue per CPU (of those whose last heartbeat reported one;
// the first of them on a tie), at once: waiting for that node's own
// heartbeat left v idle for up to a heartbeat period each time a task
// ended there, and a backlog drained at the pace of heartbeats.
func (g *Global) offerRoomTo(v *nodeView) {
	var best *nodeView
	g.backlogged = slices.DeleteFunc(g.backlogged, func(b *nodeView) bool { return b.dead || b.queue <= 0 })
	for _, b := range g.backlogged {
		if b == v {
			continue
		}
		if best == nil || shorterPerCPU(&Candidate{Total: best.total, QueueLen: best.queue}, &Candidate{Total: b.total, QueueLen: b.queue}) {
			best = b
		}
	}
	if best != nil {
		g.offerRoom(best)
	}
}

// hasRoom reports whether r has any resource free (a positive amount).
func hasRoom(r transport.Resources) bool {
	if r.CPU > 0 || r.GPU > 0 {
		return true
	}
	for _, q := range r.Custom {
		if q.Amount > 0 {
			return true
		}
	}
	return false
}

// pickSpread is Ray's spread policy: round-robin over the candidates,
// taking the first from the turn's start whose resources are free now, or
// the turn's own when none has them free.
func (g *Global) pickSpread(spec *transport.TaskSpec) int {
	n := uint64(len(g.cands))
	start := g.spread % n
	i := int(start)
	for k := range n {
		if j := int((start + k) % n); spec.Placement().Fits(g.cands[j].Available) {
			i = j
			break
		}
	}
	g.spread = uint64(i) + 1
	return i
}

// pick asks the policy for a candidate of g.cands. A policy may be a
// program's own (ray.Config.PolicyImpl): an index out of range, or a
// panic inside Pick, is no candidate (bad says what it answered), never a
// crash of the scheduler's loop.
func (g *Global) pick(d *Decision) (i int, bad string) {
	defer func() {
		if p := recover(); p != nil {
			i, bad = -1, fmt.Sprintf("panicked: %v", p)
		}
	}()
	i = g.cfg.Policy.Pick(d, g.cands, g.env.Rand())
	if i < 0 || i >= len(g.cands) {
		return -1, fmt.Sprintf("answered index %d of %d candidates", i, len(g.cands))
	}
	return i, ""
}

// holdBadPick holds a task the policy's Pick placed nowhere (see pick) as
// an infeasible one is held: it is placed again, the policy asked again,
// when a heartbeat shows a node that could take it. The scheduler warns
// once per run (a broken policy would otherwise warn for every task), and
// the task's owner hears why, once per hold, as for an infeasible task (a
// Get that times out says so).
func (g *Global) holdBadPick(m *transport.SpillTask, bad string) {
	spec := &m.Spec
	detail := fmt.Sprintf("the scheduling policy %q %s: the task is held, and placed again when a heartbeat shows a node that can take it", g.cfg.Policy.Name(), bad)
	if !g.badPickWarned {
		g.badPickWarned = true
		g.emit(transport.Event{Kind: transport.EvWarning, Node: g.env.Self(), Task: spec.ID, Detail: detail})
	}
	g.infeasible = append(g.infeasible, m)
	if g.warned[spec.ID] {
		return
	}
	if g.warned == nil {
		g.warned = make(map[transport.TaskID]bool)
	}
	g.warned[spec.ID] = true
	g.env.Send(spec.Owner, &transport.TaskInfeasible{Task: spec.ID, Attempt: spec.Attempt, Rebuild: spec.Rebuild,
		Detail: transport.CutInfeasible(detail)})
}

func (g *Global) holdInfeasible(m *transport.SpillTask) {
	spec := &m.Spec
	if spec.Strategy == transport.StrategyNodeHard {
		// Only its target can run it. A target the cluster does not have,
		// or one too small for it, never will: the task fails, as Ray's
		// does (TaskUnschedulableError). So does one declared dead and not
		// back within DeadTargetGrace, as a dead Ray node never comes back
		// (see deadTarget); within it, the task waits for the node. One
		// not registered yet may come: the task waits for it, with a
		// warning.
		var fail string
		v := g.index[spec.Target]
		switch {
		case v == nil && (g.cfg.Layout == nil || !slices.Contains(g.cfg.Layout.Raylets, spec.Target)):
			fail = fmt.Sprintf("its hard affinity's node %d is not in the cluster (node IDs count from 1: ray.RayletID(i) is the i-th node's)", spec.Target)
		case v != nil && v.gone && !g.heldForDeadTarget(spec):
			fail = g.deadTargetMsg(spec.Target)
		case v != nil && !spec.Placement().Fits(v.total):
			fail = fmt.Sprintf("its hard affinity's node %d has not %s (%s)", spec.Target, asked(spec), spec.Placement().Missing(v.total))
		}
		if fail != "" {
			g.failUnschedulable(m, fail)
			return
		}
	}
	g.infeasible = append(g.infeasible, m)
	if g.warned[m.Spec.ID] {
		return
	}
	var detail string
	if spec.Strategy == transport.StrategyNodeHard {
		switch v := g.index[spec.Target]; {
		case v == nil:
			detail = fmt.Sprintf("its hard affinity's node %d has not registered", spec.Target)
		case v.dead:
			detail = fmt.Sprintf("its hard affinity's node %d is dead: held for %v for it to come back", spec.Target, g.cfg.DeadTargetGrace)
		default:
			return // an actor waits for the target's resources to free up
		}
	} else {
		live, fits := false, false
		for _, v := range g.live {
			live = live || !v.dead
			fits = fits || (!v.dead && spec.Placement().Fits(v.total))
		}
		if !live || fits || (g.liveGroup(spec) && g.groupMayHold(spec)) {
			// No node has registered yet (start-up), all are down, an
			// actor waits for resources to free up, or a task waits for
			// its placement group's bundles (the group warns if it cannot
			// be placed): wait quietly, retried on the next registration
			// or heartbeat.
			return
		}
		detail = "no node has " + asked(spec) + " (" + g.missingOn(spec.Placement()) + ")" + g.largest()
	}
	if g.warned == nil {
		g.warned = make(map[transport.TaskID]bool)
	}
	g.warned[spec.ID] = true
	g.emit(transport.Event{Kind: transport.EvTaskInfeasible, Node: g.env.Self(), Task: spec.ID, Detail: detail})
	// Its owner hears it too, once a hold (Ray's driver prints the
	// warning): a Get of its results that times out says why. The task
	// stays held, and runs once a node that can run it joins.
	g.env.Send(spec.Owner, &transport.TaskInfeasible{Task: spec.ID, Attempt: spec.Attempt, Rebuild: spec.Rebuild,
		Detail: transport.CutInfeasible(detail)})
}

// largest names the live node with the most CPUs (then GPUs; the first
// registered on a tie) and what it has, for an infeasible warning ("" when
// none is alive).
func (g *Global) largest() string {
	var best *nodeView
	for _, v := range g.live {
		if v.dead {
			continue
		}
		if best == nil || v.total.CPU > best.total.CPU || v.total.CPU == best.total.CPU && v.total.GPU > best.total.GPU {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return fmt.Sprintf("; the largest node, %d, has %s", best.id, best.total)
}

// failUnschedulable fails a task with a hard affinity no node can meet:
// its owner stores ErrKindUnschedulable (and buries an actor whose
// creation it was).
func (g *Global) failUnschedulable(m *transport.SpillTask, why string) {
	g.emit(transport.Event{Kind: transport.EvTaskInfeasible, Node: g.env.Self(), Task: m.Spec.ID, Detail: why + ": the task fails"})
	g.env.Send(m.Spec.Owner, &transport.PlaceTask{Spec: m.Spec, Reason: ReasonUnschedulable + ": " + why})
}

// deadTargetMsg says why a task pinned to a dead node fails.
func (g *Global) deadTargetMsg(target transport.NodeID) string {
	back := ""
	if g.cfg.DeadTargetGrace > 0 {
		back = fmt.Sprintf(" and not back within %v", g.cfg.DeadTargetGrace)
	}
	return fmt.Sprintf("its hard affinity's node %d is dead (declared dead by the node table%s; a task or actor pinned to a dead node fails, as Ray's, whose dead nodes never come back)", target, back)
}

// heldForDeadTarget reports whether a task pinned to a dead node is held
// for the node's return instead of failing: a GCS restart of an actor
// (transport.IsRestart) whose owner, the creator's node that takes the
// failure and buries the actor, is not alive in the view (a detached
// actor's creator gone): nobody would take the failure. Held, the restart
// is placed when the node registers again (a simulated restart under the
// same NodeID), as before.
func (g *Global) heldForDeadTarget(spec *transport.TaskSpec) bool {
	if !spec.IsCreation() || !transport.IsRestart(spec.Attempt) {
		return false
	}
	v := g.index[spec.Owner]
	return v == nil || v.dead
}

// deadTarget starts the grace (DeadTargetGrace) of a node just declared
// dead: past it, with the node not registered again, the node is gone
// for the tasks pinned to it (failDeadTarget).
func (g *Global) deadTarget(v *nodeView) {
	if g.cfg.DeadTargetGrace <= 0 {
		v.gone = true
		g.failDeadTarget(v.id)
		return
	}
	inc := v.inc
	g.env.After(g.cfg.DeadTargetGrace, func() {
		if v.dead && !v.gone && v.inc == inc {
			v.gone = true
			g.failDeadTarget(v.id)
		}
	})
}

// failDeadTarget fails, in the order they were held, the held tasks and
// actor creations pinned by a hard affinity to a node just declared dead
// and gone (see deadTarget; an actor waiting there for its resources, a
// task held for the node's return): as Ray fails a task whose hard
// affinity names a dead node (TaskUnschedulableError,
// ActorUnschedulableError), a dead node never coming back there. A node
// that restarts under the same NodeID (the simulator's restart, a fenced
// node rejoining) within the grace takes them; after it, it is a live
// target again once it registers: what is placed from then on goes
// there. Only the held tasks are looked at, not
// every task (those queued on the dead node died with it, and their
// owners retry them, which fails them here).
func (g *Global) failDeadTarget(node transport.NodeID) {
	if len(g.infeasible) == 0 {
		return
	}
	var failed []*transport.SpillTask
	g.infeasible = slices.DeleteFunc(g.infeasible, func(s *transport.SpillTask) bool {
		if s.Spec.Strategy == transport.StrategyNodeHard && s.Spec.Target == node && !g.heldForDeadTarget(&s.Spec) {
			failed = append(failed, s)
			return true
		}
		return false
	})
	for _, s := range failed {
		delete(g.warned, s.Spec.ID)
		g.failUnschedulable(s, g.deadTargetMsg(node))
	}
}

// retryOn places again the held tasks node v could take now, as its
// heartbeat tells: those its total fits and, for an actor, whose resources
// it has free. Re-placing every held task on every heartbeat charged a
// scheduling decision each time: thousands of tasks no node can run kept
// the scheduler saturated (Ray, too, looks at its infeasible queue again
// only when the cluster's resources change).
func (g *Global) retryOn(v *nodeView) {
	var again []*transport.SpillTask
	kept := g.infeasible[:0]
	for _, m := range g.infeasible {
		s := &m.Spec
		if need := s.Placement(); (s.Strategy != transport.StrategyNodeHard || s.Target == v.id) && need.Fits(v.total) &&
			(!placedOnFree(s) || need.Fits(v.avail)) {
			again = append(again, m)
		} else {
			kept = append(kept, m)
		}
	}
	clear(g.infeasible[len(kept):])
	g.infeasible = kept
	for _, m := range again {
		g.place(m)
	}
}

// placedOnFree reports whether a task goes only to a node whose resources
// for it are free now (in the view), held here until one has them: an
// actor's creation (it keeps them for life), and a task of a placement
// group that captures child tasks. Such a group's parents wait in Get
// for children in the same group while keeping their bundles (as Ray's
// do), so a child queued on a node whose bundles its blocked ancestors
// hold would wait for good, while another node's bundles of the group
// (placed again after a death, say) were free. Ray's default actor
// (transport.ActorSpec.ScheduleCPU) keeps nothing for life: it is placed
// as a task is, and waits in its node's queue for the CPU it needs to
// start (held here until a node had one free, it waited for a backlog
// of tasks to drain: 550ms instead of a few in the quickstart).
func placedOnFree(spec *transport.TaskSpec) bool {
	if spec.IsCreation() {
		return !spec.Act.ScheduleCPU
	}
	if !spec.CaptureChildTasks {
		return false
	}
	_, ok := transport.GroupOf(spec.Resources)
	return ok
}

// retryInfeasible places again the held tasks that a node has free
// resources for now (a node joined); the others stay held until a
// heartbeat (retryOn). Placed at once, every held task went to the first
// of several nodes joining at about the same time (an autoscaler's launch,
// a restart of many) and queued there behind its resources while the
// others, registered a moment later, stayed idle; by the next heartbeat
// they are all known, and the placements spread.
func (g *Global) retryInfeasible() {
	held := g.infeasible
	g.infeasible = nil
	for _, m := range held {
		if g.freeFor(&m.Spec) {
			g.place(m)
		} else {
			g.infeasible = append(g.infeasible, m)
		}
	}
}

// freeFor reports whether a live node the task may run on has its
// resources free now, in the view.
func (g *Global) freeFor(spec *transport.TaskSpec) bool {
	for _, v := range g.live {
		if !v.dead && spec.Placement().Fits(v.avail) && (spec.Strategy != transport.StrategyNodeHard || v.id == spec.Target) {
			return true
		}
	}
	return false
}

// asked names what a task asks a node for: its resources, and for Ray's
// default actor the CPU it needs free to be placed (and does not hold).
func asked(spec *transport.TaskSpec) string {
	need := spec.Placement()
	if need.CPU == spec.Resources.CPU {
		return need.String()
	}
	return need.String() + " (an actor with no resource option needs 1 CPU to be placed, 0 to run)"
}

// Infeasible returns the tasks held because no node can run them.
func (g *Global) Infeasible() []*transport.TaskSpec {
	out := make([]*transport.TaskSpec, len(g.infeasible))
	for i, m := range g.infeasible {
		out[i] = &m.Spec
	}
	return out
}

// emit records a trace event through a buffer the scheduler owns (no
// allocation per event).
func (g *Global) emit(ev transport.Event) {
	g.evbuf = ev
	g.env.Emit(&g.evbuf)
}

// missingOn names what the live nodes lack of r, one entry per distinct
// gap (the first node with it named), at most three: in a mixed cluster the
// warning shows the real gap (a task asking 8 CPUs and a GPU, beside a node
// with 4 CPUs and a GPU and one with 16 CPUs, lacks a node with both), and
// in a cluster of identical nodes it stays one entry.
func (g *Global) missingOn(r transport.Resources) string {
	const most = 3
	var gaps []string
	seen := map[string]bool{}
	more := 0
	for _, v := range g.live {
		if v.dead {
			continue
		}
		miss := r.Missing(v.total)
		if seen[miss] {
			continue
		}
		seen[miss] = true
		if len(gaps) == most {
			more++
			continue
		}
		gaps = append(gaps, fmt.Sprintf("node %d: %s", v.id, miss))
	}
	out := strings.Join(gaps, "; ")
	if more > 0 {
		out += fmt.Sprintf("; %d other gaps", more)
	}
	return out
}
