package scheduler

import (
	"cmp"
	"fmt"
	"slices"

	"raysim/runtime/transport"
)

// Placement groups (Ray's placement_group) are placed here, from one
// place: the global scheduler picks nodes for a group's bundles from its
// view of the nodes' free resources, and reserves them in two phases, as
// Ray's GCS does with the raylets. Each chosen raylet is asked to set its
// bundles aside (BundlePrepare); once every one has (BundlePrepared OK),
// each is told to commit (BundleCommit), which renames the set-aside
// resources for the group's tasks (transport.BundleResources). If one
// refuses (its free resources changed since its last heartbeat) or dies,
// the others release theirs (BundleRelease) and the group stays pending, to
// be placed again on a later heartbeat. A round number ties answers to
// their round: an answer of an aborted round, or one that overtook a death,
// is ignored. Messages between the scheduler and a raylet are ordered (one
// connection), so a release always follows the prepare it undoes.
//
// A node's death unplaces the bundles it held (a rejoin under a new
// incarnation too: the raylet drops its bundles), and they are placed again
// elsewhere under the group's strategy, as Ray reschedules them; the tasks
// that ran there follow the ordinary retry rules (their retries wait, held,
// until the bundle is back). Removal releases every bundle; the raylets
// end the tasks and actors that ran in them.

// group is the scheduler's record of a placement group.
type group struct {
	id       transport.GroupID
	name     string
	strategy uint8
	owner    transport.NodeID
	// ownerInc is the owner's incarnation when it created the group (0:
	// not known) and byDriver whether a driver created it: such a group
	// ends with its owner's node, as Ray's ends with its driver, unless
	// detached (Ray's lifetime="detached": only a removal ends it).
	ownerInc uint64
	byDriver bool
	detached bool
	bundles  []transport.Resources
	// at is where each bundle is committed (node 0: not placed).
	at []bundleAt
	// round is the reservation in flight (0: none) and prep its nodes.
	round uint64
	prep  []prepared
	// watchers are the other nodes waiting for its state (GroupWatch,
	// GroupRemove), each once, told when it is ready or removed.
	watchers []transport.NodeID
	// ready: every bundle was committed once (the owner was told);
	// removed: the owner removed it; warned: its pending warning is out.
	ready, removed, warned bool
	// rejected says why its creation was refused (a live group's name, bad
	// bundles): it is kept as removed, so that tasks submitted to it fail
	// saying so instead of waiting for bundles that never come.
	rejected string
}

type bundleAt struct {
	node transport.NodeID
	inc  uint64
}

// prepared is one node's part of a reservation round.
type prepared struct {
	node     transport.NodeID
	inc      uint64
	indices  []uint32
	answered bool
}

// groupLabel names a group in events and errors: its ID and name.
func (gr *group) label() string {
	if gr.name != "" {
		// (Its name travels qualified by its namespace: the name alone.)
		return fmt.Sprintf("placement group %s (%q)", gr.id, transport.ActorNameOf(gr.name))
	}
	return "placement group " + gr.id.String()
}

// missing lists the bundles not committed anywhere.
func (gr *group) missing() []int {
	var out []int
	for i, a := range gr.at {
		if a.node == 0 {
			out = append(out, i)
		}
	}
	return out
}

// onGroupCreate takes a group from its owner's raylet: a bad request is
// rejected (the owner's API checks first; this guards the wire), a
// duplicate (a resend) ignored.
func (g *Global) onGroupCreate(from transport.NodeID, m *transport.GroupCreate) {
	if !g.isNode(from) || m.Group == 0 {
		return
	}
	if gr := g.groups[m.Group]; gr != nil {
		g.recreateGroup(from, gr, m)
		return
	}
	reject := ""
	switch {
	case len(m.Bundles) == 0:
		reject = "no bundles"
	case m.Strategy > transport.GroupStrictSpread:
		reject = fmt.Sprintf("unknown strategy %d", m.Strategy)
	}
	for i, b := range m.Bundles {
		if reject == "" && b.IsZero() {
			reject = fmt.Sprintf("bundle %d asks for nothing", i)
		}
	}
	if reject == "" {
		reject = g.nameTaken(m.Name)
	}
	if g.groups == nil {
		g.groups = make(map[transport.GroupID]*group)
	}
	if reject != "" {
		g.reject(from, &group{id: m.Group, name: m.Name, owner: from}, reject)
		return
	}
	gr := &group{id: m.Group, name: m.Name, strategy: m.Strategy, owner: from, ownerInc: g.incOf(from), byDriver: m.ByDriver,
		detached: m.Detached, bundles: m.Bundles, at: make([]bundleAt, len(m.Bundles))}
	g.groups[m.Group] = gr
	g.groupOrder = append(g.groupOrder, gr)
	g.placeGroup(gr)
}

// recreateGroup takes a second creation of a group's ID. IDs are derived
// from the creator's task ID, and links deliver no duplicates, so it is
// its creator's code run again: a retry of the task on another node after
// its node died, or a rebuild from lineage. The group is the new run's: a
// live one is handed over (its owner is now the sender, told its state), a
// removed one is created afresh, as the new run's own group would be in
// Ray (where IDs are random).
func (g *Global) recreateGroup(from transport.NodeID, gr *group, m *transport.GroupCreate) {
	if !gr.removed {
		gr.owner, gr.ownerInc, gr.byDriver, gr.detached = from, g.incOf(from), m.ByDriver, m.Detached
		if gr.ready {
			g.env.Send(from, &transport.GroupState{Group: gr.id, State: transport.GroupReady})
		}
		return
	}
	if len(m.Bundles) == 0 || len(m.Bundles) > transport.MaxBundles || m.Strategy > transport.GroupStrictSpread ||
		slices.ContainsFunc(m.Bundles, transport.Resources.IsZero) {
		g.reject(from, gr, "bad bundles or strategy")
		return
	}
	if taken := g.nameTaken(m.Name); taken != "" {
		gr.name, gr.owner = m.Name, from
		g.reject(from, gr, taken)
		return
	}
	*gr = group{id: m.Group, name: m.Name, strategy: m.Strategy, owner: from, ownerInc: g.incOf(from), byDriver: m.ByDriver,
		detached: m.Detached, bundles: m.Bundles, at: make([]bundleAt, len(m.Bundles))}
	g.groupOrder = append(g.groupOrder, gr)
	g.placeGroup(gr)
}

// placeGroup starts a reservation round for a group's bundles that are
// not placed, if none is in flight and the nodes' free resources (as the
// view has them) fit them under the group's strategy; otherwise the group
// stays pending, with one warning.
func (g *Global) placeGroup(gr *group) {
	if gr.removed || gr.round != 0 || g.starting { // start-up: placed once the nodes are in (started)
		return
	}
	if gr.removed || gr.round != 0 {
		return
	}
	missing := gr.missing()
	if len(missing) == 0 {
		return
	}
	g.env.Charge(g.cfg.Costs.Schedule)
	nodes := g.pickBundles(gr, missing)
	if nodes == nil {
		if !gr.warned {
			gr.warned = true
			detail := fmt.Sprintf("%s is pending: its %s bundles %s do not fit the free resources of the %d live nodes",
				gr.label(), transport.GroupStrategyName(gr.strategy), g.bundleShapes(gr, missing), g.liveNodes())
			g.emit(transport.Event{Kind: transport.EvWarning, Node: g.env.Self(), Task: transport.TaskID(gr.id), Detail: detail})
		}
		return
	}
	gr.warned = false
	g.groupRounds++
	gr.round = g.groupRounds
	gr.prep = gr.prep[:0]
	for k, i := range missing {
		v := nodes[k]
		j := slices.IndexFunc(gr.prep, func(p prepared) bool { return p.node == v.id })
		if j < 0 {
			gr.prep = append(gr.prep, prepared{node: v.id, inc: v.inc})
			j = len(gr.prep) - 1
		}
		gr.prep[j].indices = append(gr.prep[j].indices, uint32(i))
		v.avail = v.avail.Sub(gr.bundles[i]) // set aside in the view at once
	}
	for _, p := range gr.prep {
		m := &transport.BundlePrepare{Group: gr.id, Round: gr.round, Incarnation: p.inc}
		for _, i := range p.indices {
			m.Bundles = append(m.Bundles, transport.Bundle{Index: i, Resources: gr.bundles[i]})
		}
		g.env.Send(p.node, m)
	}
}

// liveNodes counts the nodes not known dead.
func (g *Global) liveNodes() int {
	n := 0
	for _, v := range g.live {
		if !v.dead {
			n++
		}
	}
	return n
}

// bundleShapes lists some bundles' shapes, for warnings.
func (g *Global) bundleShapes(gr *group, idx []int) string {
	s := "["
	for k, i := range idx {
		if k > 0 {
			s += ", "
		}
		if k == 8 {
			s += fmt.Sprintf("... %d more", len(idx)-k)
			break
		}
		s += fmt.Sprintf("{%s}", gr.bundles[i])
	}
	return s + "]"
}

// pickBundles chooses a node for each missing bundle (in order) under the
// group's strategy, from the live nodes' free resources in the view, or
// returns nil when they do not fit now. Nodes are tried in registration
// order: the choice depends on nothing but the view (no map order).
func (g *Global) pickBundles(gr *group, missing []int) []*nodeView {
	var live []*nodeView
	for _, v := range g.live {
		if !v.dead {
			live = append(live, v)
		}
	}
	free := make([]transport.Resources, len(live))
	used := make([]bool, len(live)) // holds a bundle of the group (committed, or chosen now)
	for k, v := range live {
		free[k] = v.avail
		for _, a := range gr.at {
			if a.node == v.id && a.inc == v.inc {
				used[k] = true
			}
		}
	}
	out := make([]*nodeView, len(missing))
	take := func(k, n int) {
		free[k] = free[k].Sub(gr.bundles[missing[n]])
		used[k] = true
		out[n] = live[k]
	}
	fits := func(k, n int) bool { return gr.bundles[missing[n]].Fits(free[k]) }
	switch gr.strategy {
	case transport.GroupStrictPack, transport.GroupPack:
		// All on one node: the node holding the group's other bundles if
		// any (STRICT_PACK: that node or none), else the first that fits.
		var sum transport.Resources
		for _, i := range missing {
			sum = sum.Add(gr.bundles[i])
		}
		anyUsed := slices.Contains(used, true)
		for k := range live {
			if (anyUsed && !used[k]) || !sum.Fits(free[k]) {
				continue
			}
			for n := range missing {
				take(k, n)
			}
			return out
		}
		if gr.strategy == transport.GroupStrictPack {
			return nil
		}
		if anyUsed { // the group's node is full: PACK may use others
			for k := range live {
				if !used[k] && sum.Fits(free[k]) {
					for n := range missing {
						take(k, n)
					}
					return out
				}
			}
		}
		// PACK, best effort: each bundle on a node already used if it
		// fits, else on the first that fits.
		for _, n := range largestFirst(gr, missing) {
			k := -1
			for i := range live {
				if used[i] && fits(i, n) {
					k = i
					break
				}
			}
			for i := range live {
				if k < 0 && fits(i, n) {
					k = i
				}
			}
			if k < 0 {
				return nil
			}
			take(k, n)
		}
		return out
	default: // SPREAD, STRICT_SPREAD
		for _, n := range largestFirst(gr, missing) {
			k := -1
			for i := range live {
				if !used[i] && fits(i, n) {
					k = i
					break
				}
			}
			if k < 0 && gr.strategy == transport.GroupSpread {
				for i := range live { // best effort: share a node
					if fits(i, n) {
						k = i
						break
					}
				}
			}
			if k < 0 {
				return nil
			}
			take(k, n)
		}
		return out
	}
}

// largestFirst orders the positions in missing by their bundles' size,
// largest first (GPUs, then CPUs, then custom amounts; ties in bundle
// order), so that a greedy choice seats the bundles that fit fewer nodes
// before the small ones take those nodes: STRICT_SPREAD of {4 CPUs} and
// {1 CPU} over nodes of 4 and 1 CPUs fits only that way round.
func largestFirst(gr *group, missing []int) []int {
	order := make([]int, len(missing))
	for n := range order {
		order[n] = n
	}
	size := func(r transport.Resources) (int64, int64, int64) {
		var custom int64
		for _, q := range r.Custom {
			custom += q.Amount
		}
		return r.GPU, r.CPU, custom
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ga, ca, xa := size(gr.bundles[missing[a]])
		gb, cb, xb := size(gr.bundles[missing[b]])
		switch {
		case ga != gb:
			return cmp.Compare(gb, ga)
		case ca != cb:
			return cmp.Compare(cb, ca)
		}
		return cmp.Compare(xb, xa)
	})
	return order
}

// onBundlePrepared takes a raylet's answer to a reservation round: a
// refusal aborts the round, the last acceptance commits it.
func (g *Global) onBundlePrepared(from transport.NodeID, m *transport.BundlePrepared) {
	gr := g.groups[m.Group]
	if gr == nil || gr.removed || gr.round == 0 || m.Round != gr.round {
		return // an aborted round's, or a stranger's
	}
	j := slices.IndexFunc(gr.prep, func(p prepared) bool { return p.node == from && p.inc == m.Incarnation })
	if j < 0 || gr.prep[j].answered {
		return
	}
	gr.prep[j].answered = true
	if !m.OK {
		g.abortRound(gr)
		return
	}
	for _, p := range gr.prep {
		if !p.answered {
			return
		}
	}
	// Every node has set its bundles aside: commit.
	gr.round = 0
	for _, p := range gr.prep {
		g.env.Send(p.node, &transport.BundleCommit{Group: gr.id, Round: m.Round})
		v := g.index[p.node]
		for _, i := range p.indices {
			gr.at[i] = bundleAt{node: p.node, inc: p.inc}
			named := transport.BundleResources(gr.id, int(i), gr.bundles[i])
			if v != nil && v.inc == p.inc {
				v.total = v.total.Sub(gr.bundles[i]).Add(named)
				v.avail = v.avail.Add(named)
			}
		}
	}
	if !gr.ready {
		gr.ready = true
		g.tellGroup(gr, transport.GroupReady)
	}
	// Tasks of the group held until its bundles existed go now.
	if len(g.infeasible) > 0 {
		for _, p := range gr.prep {
			if v := g.index[p.node]; v != nil && !v.dead && v.inc == p.inc {
				g.retryOn(v)
			}
		}
	}
	gr.prep = gr.prep[:0]
}

// abortRound ends a group's reservation round: every node of it releases
// what it set aside (a node that refused, or has not answered, holds
// nothing of it once the release, which follows the prepare, is done).
func (g *Global) abortRound(gr *group) {
	for _, p := range gr.prep {
		g.env.Send(p.node, &transport.BundleRelease{Group: gr.id, Indices: p.indices})
	}
	gr.round = 0
	gr.prep = gr.prep[:0]
}

// onGroupRemove removes a group at its owner's request: its bundles are
// released (the raylets end what runs in them), tasks held for it fail,
// and the owner is told.
func (g *Global) onGroupRemove(from transport.NodeID, m *transport.GroupRemove) {
	gr := g.groups[m.Group]
	if gr == nil || !g.isNode(from) {
		return
	}
	if from != gr.owner {
		g.watch(gr, from) // it hears the removal
	}
	if gr.removed {
		g.env.Send(from, &transport.GroupState{Group: gr.id, State: transport.GroupRemoved})
		return
	}
	g.removeGroup(gr, "placement group removed")
}

// onGroupWatch answers a node waiting for a group's state: now if it is
// ready or removed, else once it is. An unknown group is not answered
// (the asker asks again: its creation may still be on its way).
func (g *Global) onGroupWatch(from transport.NodeID, m *transport.GroupWatch) {
	gr := g.groups[m.Group]
	if gr == nil || !g.isNode(from) {
		return
	}
	switch {
	case gr.removed:
		g.env.Send(from, &transport.GroupState{Group: gr.id, State: transport.GroupRemoved})
	case gr.ready:
		g.env.Send(from, &transport.GroupState{Group: gr.id, State: transport.GroupReady})
	case from != gr.owner:
		g.watch(gr, from)
	}
}

// reject refuses a group's creation, telling its creator why, and keeps
// it as a removed group (gr, in g.groups, not in groupOrder): a task or an
// actor submitted to it fails as unschedulable, naming why, where it
// waited for good for bundles that never come (QA). It is forgotten in
// time as a removed group is (keepRemoved).
func (g *Global) reject(from transport.NodeID, gr *group, why string) {
	gr.removed, gr.rejected = true, why
	g.groups[gr.id] = gr
	g.keepRemoved(gr)
	g.env.Send(from, &transport.GroupState{Group: gr.id, State: transport.GroupRejected, Detail: why})
}

// keepRemoved notes a group just removed or rejected, and forgets the
// oldest such groups beyond maxRemoved, as Ray's GCS keeps a bounded
// number of removed placement groups: a driver per request creating and
// removing a group (or a node sending refused creations without end)
// cannot grow the map for good. A forgotten group is unknown again: a
// task submitted to it, or a Wait on it from a node that forgot it too,
// waits as for a group not yet created (the Wait's timeout ends it).
func (g *Global) keepRemoved(gr *group) {
	g.removedQ = append(g.removedQ, gr.id)
	for len(g.removedQ) > maxRemoved {
		old := g.removedQ[0]
		g.removedQ = g.removedQ[1:]
		// Created again since (recreateGroup), it is live, or queued
		// again when removed again: kept.
		if o := g.groups[old]; o != nil && o.removed && !slices.Contains(g.removedQ, old) {
			delete(g.groups, old)
		}
	}
}

// maxRemoved bounds the removed and refused groups kept (see keepRemoved).
const maxRemoved = 1024

// nameTaken says why a creation of a group named name is refused: a live
// group holds the name, as Ray's GCS refuses a second live placement
// group of a name in a namespace ("" when it is free, or empty). Names
// travel qualified by their namespace (transport.QualifiedName): the
// same name in two namespaces is two names. A removed group's name is
// free again.
func (g *Global) nameTaken(name string) string {
	if name == "" {
		return ""
	}
	for _, gr := range g.groupOrder { // the live groups
		if gr.name == name && !gr.removed {
			where := ""
			if ns, _ := transport.SplitActorName(name); ns != "" {
				where = fmt.Sprintf(" in namespace %q", ns)
			}
			return fmt.Sprintf("name %q is taken%s by the live %s", transport.ActorNameOf(name), where, gr.label())
		}
	}
	return ""
}

// onGroupLookup answers a node looking a group up by its qualified name
// (Ray's get_placement_group, in a namespace): the live group of that
// name (names are unique among live groups of a namespace: nameTaken),
// or not found.
func (g *Global) onGroupLookup(from transport.NodeID, m *transport.GroupLookup) {
	if !g.isNode(from) {
		return
	}
	ans := &transport.GroupFound{Name: m.Name}
	if m.Name != "" {
		for _, gr := range g.groupOrder {
			if gr.name == m.Name && !gr.removed {
				ans.Found, ans.Group, ans.Strategy, ans.Bundles = true, gr.id, gr.strategy, slices.Clone(gr.bundles)
				break
			}
		}
	}
	g.env.Send(from, ans)
}

// watch adds a node to a group's watchers (once: at most one entry per
// node of the cluster).
func (g *Global) watch(gr *group, node transport.NodeID) {
	if !slices.Contains(gr.watchers, node) {
		gr.watchers = append(gr.watchers, node)
	}
}

// tellGroup tells a group's owner and watchers its new state.
func (g *Global) tellGroup(gr *group, state uint8) {
	g.env.Send(gr.owner, &transport.GroupState{Group: gr.id, State: state})
	for _, w := range gr.watchers {
		if w != gr.owner {
			g.env.Send(w, &transport.GroupState{Group: gr.id, State: state})
		}
	}
	if state == transport.GroupRemoved {
		gr.watchers = nil // nothing more will change
	}
}

// removeGroup removes a group (why: for the tasks that fail with it).
func (g *Global) removeGroup(gr *group, why string) {
	if gr.round != 0 {
		g.abortRound(gr)
	}
	gr.removed = true
	g.groupOrder = slices.DeleteFunc(g.groupOrder, func(x *group) bool { return x == gr })
	var nodes []bundleAt // in bundle order, each node once
	for _, a := range gr.at {
		if a.node != 0 && !slices.Contains(nodes, a) {
			nodes = append(nodes, a)
		}
	}
	for _, a := range nodes {
		rel := &transport.BundleRelease{Group: gr.id}
		v := g.index[a.node]
		for i, b := range gr.at {
			if b != a {
				continue
			}
			rel.Indices = append(rel.Indices, uint32(i))
			if v != nil && v.inc == a.inc {
				named := transport.BundleResources(gr.id, i, gr.bundles[i])
				v.total = v.total.Sub(named).Add(gr.bundles[i])
				v.avail = v.avail.Sub(named).Add(gr.bundles[i])
			}
		}
		g.env.Send(a.node, rel)
	}
	gr.at, gr.bundles, gr.prep = nil, nil, nil // a removed group keeps its ID and owner only
	g.keepRemoved(gr)
	g.failGroupTasks(gr, why)
	g.tellGroup(gr, transport.GroupRemoved)
	// What it held is free: groups waiting for room may fit now.
	g.retryGroups()
}

// failGroupTasks fails the held tasks of a removed group.
func (g *Global) failGroupTasks(gr *group, why string) {
	var failed []*transport.SpillTask
	g.infeasible = slices.DeleteFunc(g.infeasible, func(s *transport.SpillTask) bool {
		if id, ok := transport.GroupOf(s.Spec.Resources); ok && id == gr.id {
			failed = append(failed, s)
			return true
		}
		return false
	})
	for _, s := range failed {
		delete(g.warned, s.Spec.ID)
		g.failRemoved(s, why)
	}
}

// failRemoved fails a task of a removed group, as unschedulable.
func (g *Global) failRemoved(s *transport.SpillTask, why string) {
	g.env.Send(s.Spec.Owner, &transport.PlaceTask{Spec: s.Spec, Reason: ReasonUnschedulable + ": " + why})
}

// removedGroup reports whether a task's request names a removed (or
// rejected) group, and why it cannot run in it.
func (g *Global) removedGroup(spec *transport.TaskSpec) (why string, removed bool) {
	if len(g.groups) == 0 {
		return "", false
	}
	id, ok := transport.GroupOf(spec.Resources)
	if !ok || g.groups[id] == nil || !g.groups[id].removed {
		return "", false
	}
	if r := g.groups[id].rejected; r != "" {
		return "placement group rejected: " + r, true
	}
	return "placement group removed", true
}

// liveGroup reports whether a task's request names a group not removed:
// its task waits for the group's bundles quietly (no infeasible warning).
func (g *Global) liveGroup(spec *transport.TaskSpec) bool {
	if len(g.groups) == 0 {
		return false
	}
	id, ok := transport.GroupOf(spec.Resources)
	return ok && g.groups[id] != nil && !g.groups[id].removed
}

// groupMayHold reports whether a task of a live group may yet run in it:
// the group is not all placed (its bundles may land anywhere), or some
// node's bundles of it, together, hold the request. A task that fits none
// (a child captured into the group asking more than its bundles hold)
// would wait for good: it is held with an infeasible warning, as a task
// no node can hold is (and as Ray leaves such a task pending).
func (g *Global) groupMayHold(spec *transport.TaskSpec) bool {
	id, _ := transport.GroupOf(spec.Resources)
	gr := g.groups[id]
	if gr == nil || !gr.ready || gr.round != 0 || len(gr.missing()) > 0 {
		return true
	}
	var nodes []bundleAt
	var held []transport.Resources
	for i, a := range gr.at {
		k := slices.Index(nodes, a)
		if k < 0 {
			nodes, held = append(nodes, a), append(held, transport.Resources{})
			k = len(nodes) - 1
		}
		held[k] = held[k].Add(transport.BundleResources(gr.id, i, gr.bundles[i]))
	}
	return slices.ContainsFunc(held, spec.Resources.Fits)
}

// ownersKnown gives the groups created by a node not registered then (a
// driver's group at start-up) the incarnation now registered as their
// owner's.
func (g *Global) ownersKnown(id transport.NodeID, inc uint64) {
	for _, gr := range g.groupOrder {
		if gr.owner == id && gr.ownerInc == 0 {
			gr.ownerInc = inc
		}
	}
}

// incOf is a node's incarnation in the view (0: not known).
func (g *Global) incOf(id transport.NodeID) uint64 {
	if v := g.index[id]; v != nil {
		return v.inc
	}
	return 0
}

// groupsLost unplaces the bundles that lived on a node's incarnations up
// to inc (it died, or a later incarnation registered: a rejoined raylet
// drops its bundles), aborts rounds that counted on it, and places the
// bundles again. The groups a driver there created are removed, as Ray
// removes a driver's groups when it ends, but for detached ones (a group
// a task created lives on too: the task's retry elsewhere takes it over,
// see recreateGroup). A group whose owner's incarnation is not known goes
// too if the owner never registered in the view: a driver's raylet on a
// live cluster (its reports are kept from the scheduler, see
// deploy.Directory.Filter), which the node table declares dead when the
// driver ends; or if it registered later (a report that passed the filter
// before the directory knew the driver's role) with no incarnation newer
// than the dead one.
func (g *Global) groupsLost(node transport.NodeID, inc uint64) {
	var orphans []*group
	for _, gr := range g.groupOrder {
		if !gr.byDriver || gr.detached || gr.owner != node {
			continue
		}
		if gr.ownerInc != 0 && gr.ownerInc <= inc || gr.ownerInc == 0 && (g.index[node] == nil || g.index[node].inc <= inc) {
			orphans = append(orphans, gr)
		}
	}
	for _, gr := range orphans {
		g.removeGroup(gr, "placement group removed: its driver's node died")
	}
	for _, gr := range g.groupOrder {
		lost := false
		for i, a := range gr.at {
			if a.node == node && a.inc <= inc {
				gr.at[i] = bundleAt{}
				lost = true
			}
		}
		if gr.round != 0 && slices.ContainsFunc(gr.prep, func(p prepared) bool { return p.node == node && p.inc <= inc }) {
			g.abortRound(gr)
			lost = true
		}
		if lost {
			g.placeGroup(gr)
		}
	}
}

// retryGroups tries again to place the groups with bundles not placed
// (a heartbeat changed the view, a node joined, a group freed room).
func (g *Global) retryGroups() {
	for _, gr := range g.groupOrder {
		if gr.round == 0 && slices.ContainsFunc(gr.at, func(a bundleAt) bool { return a.node == 0 }) {
			g.placeGroup(gr)
		}
	}
}

// GroupInfo is a placement group as the scheduler sees it (tests, status).
type GroupInfo struct {
	ID transport.GroupID
	// Name is as it traveled: qualified by its namespace
	// (transport.QualifiedName), or "" for none.
	Name     string
	Ready    bool // every bundle was committed once
	Removed  bool
	Detached bool
	// Nodes is where each bundle is committed now (0: not placed).
	Nodes []transport.NodeID
	// Bundles are the resources of each bundle (shared: do not edit), and
	// Strategy the group's (transport.GroupPack...).
	Bundles  []transport.Resources
	Strategy uint8
}

// Groups returns the groups the scheduler knows, removed ones too, sorted
// by ID (loop only).
func (g *Global) Groups() []GroupInfo {
	var out []GroupInfo
	ids := make([]transport.GroupID, 0, len(g.groups))
	for id := range g.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		gr := g.groups[id]
		info := GroupInfo{ID: gr.id, Name: gr.name, Ready: gr.ready, Removed: gr.removed, Detached: gr.detached, Bundles: gr.bundles, Strategy: gr.strategy}
		for _, a := range gr.at {
			info.Nodes = append(info.Nodes, a.node)
		}
		out = append(out, info)
	}
	return out
}
