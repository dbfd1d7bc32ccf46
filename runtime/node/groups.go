package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Placement groups on a raylet: the bundles the global scheduler reserves
// here (see scheduler/groups.go for the protocol), and, for the groups this
// node's callers created, what the scheduler said of them.
//
// Resources are a ledger. A prepared bundle's resources leave avail (no
// other task can start on them); committing renames them: the node's total
// and avail lose the bundle's resources and gain its renamed ones
// (transport.BundleResources), which the group's tasks ask for
// (transport.InBundle). A release reverses whichever step was done. A task
// of the group still running when its bundle is released (ended by the
// release, but a running task gives back what it holds only when it
// returns) brings its renamed resources back to an avail that no longer
// counts them: their amount there is negative until it does, then zero,
// and zero entries of names the node no longer has are dropped.

// ErrGroupRemoved: the placement group was removed (its Wait).
var ErrGroupRemoved = errors.New("ray: placement group removed")

// ErrGroupInvalid: a placement group the API refuses, or one the global
// scheduler rejected (no bundles, an empty bundle, an unknown strategy:
// what the API's checks refuse first).
var ErrGroupInvalid = errors.New("ray: invalid placement group")

// heldBundle is a bundle reserved on this node.
type heldBundle struct {
	group transport.GroupID
	index uint32
	res   transport.Resources // what it takes of the node
	named transport.Resources // what committing adds (renamed)
	// gpus are the devices it holds of the node's GPUs for res.GPU, set
	// aside with it (as Ray's bundle holds GPU instances); gpuFree is the
	// amount of each not held by a task or actor running in the bundle:
	// each takes the GPUs it asked for out of them (takeGroupGPUs), and
	// reads those (Caller.GPUIDs).
	gpus      []gpuShare
	gpuFree   []int64
	round     uint64
	committed bool
}

// ownedGroup is a group a caller on this node created, or one a caller
// here was handed and waits for or removes (watched): the scheduler's last
// word on it, and the callers waiting for one.
type ownedGroup struct {
	state   uint8
	detail  string
	waiters []groupWaiter
	// watched: not created here, so the scheduler pushes nothing unasked:
	// while callers wait (active), it is asked again every lookupTimeout
	// (GroupWatch, or GroupRemove once removing), as it does not answer
	// for a group whose creation has not reached it yet.
	watched, removing, asking bool
	active                    int
}

// groupWaiter is a blocked Wait or Remove of a group: f checks the state
// again; over says the call has ended (its timeout, its ctx), and it is
// dropped at the next registration rather than kept until the state
// changes (a loop of short Waits would pile up).
type groupWaiter struct {
	over *bool
	f    func()
}

// whyGroupRemoved is killActor's why for an actor of a removed group: final,
// as a ray.Kill is (the actor table does not restart it).
const whyGroupRemoved = "its placement group was removed"

// GroupWaiters is the number of calls registered as waiting for a group
// here, ended ones not yet dropped included (loop only; tests).
func (r *Raylet) GroupWaiters(id transport.GroupID) int {
	if og := r.groups[id]; og != nil {
		return len(og.waiters)
	}
	return 0
}

// GroupRecords is the number of groups this raylet keeps a record of
// (loop only; tests).
func (r *Raylet) GroupRecords() int { return len(r.groups) }

// Total is the node's resources as the scheduler sees them: its own, with
// those of the committed bundles renamed (loop only).
func (r *Raylet) Total() transport.Resources { return r.total }

// onBundlePrepare sets a group's bundles aside if they all fit what the
// node has free now (its incarnation the one they were meant for), and
// answers.
func (r *Raylet) onBundlePrepare(m *transport.BundlePrepare) {
	ok := m.Incarnation == r.cfg.Incarnation && len(m.Bundles) > 0 && !r.lease.fenced
	var sum transport.Resources
	for i, b := range m.Bundles {
		if !ok {
			break
		}
		dup := slices.ContainsFunc(m.Bundles[:i], func(o transport.Bundle) bool { return o.Index == b.Index })
		if dup || r.heldBundle(m.Group, b.Index) >= 0 || b.Resources.IsZero() {
			ok = false
		}
		sum = sum.Add(b.Resources)
	}
	ok = ok && sum.Fits(r.free()) && r.creationGPUsFit(sum.GPU)
	var devices [][]gpuShare
	if ok && sum.GPU > 0 {
		devices, ok = r.bundleGPUs(m.Bundles)
	}
	if ok {
		r.avail = r.avail.Sub(sum)
		for i, b := range m.Bundles {
			h := &heldBundle{group: m.Group, index: b.Index, res: b.Resources,
				named: transport.BundleResources(m.Group, int(b.Index), b.Resources), round: m.Round}
			if devices != nil {
				h.gpus = devices[i]
				h.gpuFree = make([]int64, len(h.gpus))
				for j, sh := range h.gpus {
					r.gpus[sh.dev] -= sh.amount
					h.gpuFree[j] = sh.amount
				}
			}
			r.bundles = append(r.bundles, h)
		}
	}
	r.send(r.cfg.Layout.Scheduler, &transport.BundlePrepared{Group: m.Group, Round: m.Round, Incarnation: m.Incarnation, OK: ok})
}

// heldBundle is the position of a group's bundle in r.bundles, or -1.
func (r *Raylet) heldBundle(g transport.GroupID, index uint32) int {
	return slices.IndexFunc(r.bundles, func(b *heldBundle) bool { return b.group == g && b.index == index })
}

// onBundleCommit makes the bundles set aside in a round usable by their
// group's tasks.
func (r *Raylet) onBundleCommit(m *transport.BundleCommit) {
	changed := false
	for _, b := range r.bundles {
		if b.group == m.Group && b.round == m.Round && !b.committed {
			b.committed, changed = true, true
			r.avail = r.avail.Add(b.named)
			r.total = r.total.Sub(b.res).Add(b.named)
		}
	}
	if changed {
		r.dispatch() // a task of the group placed here ahead of the commit
	}
}

// onBundleRelease gives back a group's bundles; once the node holds none
// of a group it had committed, the tasks and actors running in it end.
func (r *Raylet) onBundleRelease(m *transport.BundleRelease) {
	committed := false
	for _, i := range m.Indices {
		if k := r.heldBundle(m.Group, i); k >= 0 {
			committed = r.releaseBundle(k) || committed
		}
	}
	r.compactAvail()
	if committed && !slices.ContainsFunc(r.bundles, func(b *heldBundle) bool { return b.group == m.Group }) {
		r.endGroup(m.Group)
	}
	r.dispatch()
}

// releaseBundle undoes r.bundles[k]'s reservation and reports whether it
// was committed.
func (r *Raylet) releaseBundle(k int) bool {
	b := r.bundles[k]
	r.bundles = slices.Delete(r.bundles, k, k+1)
	for _, sh := range b.gpus {
		r.gpus[sh.dev] += sh.amount
	}
	// b keeps its devices and their free amounts: a task still running
	// in it (until its group's end reaches it) reads and gives back
	// its own, which nobody takes again (b is no longer in r.bundles).
	if b.committed {
		r.avail = r.avail.Sub(b.named).Add(b.res)
		r.total = r.total.Sub(b.named).Add(b.res)
		return true
	}
	r.avail = r.avail.Add(b.res)
	return false
}

// dropBundles releases every bundle (a rejoin: the scheduler places them
// again elsewhere, and the tasks that ran in them are retried by their
// owners as with any node's death).
func (r *Raylet) dropBundles() {
	for len(r.bundles) > 0 {
		r.releaseBundle(len(r.bundles) - 1)
	}
	r.compactAvail()
}

// respillUnfit hands the queued tasks that no longer fit this node back
// to the global scheduler: a task of a group queued here when a rejoin
// dropped the node's bundles would wait for good for resources the node
// no longer has (the scheduler holds it until its bundle is placed again,
// wherever that is). Running tasks run on.
func (r *Raylet) respillUnfit() {
	var unfit []*task
	for _, t := range r.tasks.All() {
		if !t.running && t.actor == nil && !t.spec.Resources.Fits(r.total) {
			unfit = append(unfit, t)
		}
	}
	slices.SortFunc(unfit, func(a, b *task) int { return cmp.Compare(a.spec.ID, b.spec.ID) })
	for _, t := range unfit {
		r.dropQueued(t)
		r.spill(t.spec)
	}
}

// compactAvail drops the zero amounts of renamed resources the node no
// longer has (see the ledger above), so heartbeats do not carry them for
// good.
func (r *Raylet) compactAvail() {
	zero := func(q transport.Quantity) bool { return q.Amount == 0 && transport.IsBundleResource(q.Name) }
	// Custom lists may share their arrays (Add and Sub return one operand's
	// list when the other has none): edit copies.
	if slices.ContainsFunc(r.total.Custom, zero) {
		r.total.Custom = slices.DeleteFunc(slices.Clone(r.total.Custom), zero)
	}
	gone := func(q transport.Quantity) bool {
		return zero(q) && !slices.ContainsFunc(r.total.Custom, func(t transport.Quantity) bool { return t.Name == q.Name })
	}
	if slices.ContainsFunc(r.avail.Custom, gone) {
		r.avail.Custom = slices.DeleteFunc(slices.Clone(r.avail.Custom), gone)
	}
	if len(r.total.Custom) == 0 {
		r.total.Custom = nil // as a node without custom resources has it
	}
	if len(r.avail.Custom) == 0 {
		r.avail.Custom = nil
	}
}

// endGroup ends what runs here in a removed group, as Ray does: its tasks
// are cancelled (queued ones never run; running ones are interrupted, and
// their result is ErrCancelled), its actors killed for good.
func (r *Raylet) endGroup(g transport.GroupID) {
	marker := transport.BundleResourceName("bundle", g, -1)
	in := func(spec *transport.TaskSpec) bool {
		return slices.ContainsFunc(spec.Resources.Custom, func(q transport.Quantity) bool { return q.Name == marker })
	}
	var actors []transport.ActorID
	for id, a := range r.actors {
		if a.creation != nil && in(a.creation.spec) {
			actors = append(actors, id)
		}
	}
	slices.Sort(actors)
	var tasks []transport.TaskID
	for id, t := range r.tasks.All() {
		if in(t.spec) && !slices.Contains(actors, id) {
			tasks = append(tasks, id)
		}
	}
	slices.Sort(tasks)
	for _, id := range actors {
		r.killActor(id, whyGroupRemoved)
	}
	for _, id := range tasks {
		t, ok := r.tasks.Get(id)
		if !ok {
			continue
		}
		if t.spec.IsCreation() {
			if !t.running { // an actor not started: it never will
				r.dropQueued(t)
				r.actorDiedDetail(t.spec.Actor, t.spec.A().Name, transport.DetailRayKill, whyGroupRemoved, 0)
			}
			continue
		}
		r.cancelLocal(id, true, cancelGroup)
	}
}

// onGroupState takes the scheduler's word on a group created or watched
// here. The record stays after a final word (removed, rejected): a later
// Wait, even with no timeout, answers from it.
func (r *Raylet) onGroupState(m *transport.GroupState) {
	og := r.groups[m.Group]
	if og == nil || og.state == transport.GroupRemoved || og.state == transport.GroupRejected {
		return
	}
	og.state, og.detail = m.State, m.Detail
	waiters := og.waiters
	og.waiters = nil
	for _, w := range waiters {
		w.f()
	}
	if m.State == transport.GroupRemoved || m.State == transport.GroupRejected {
		r.groupsOver = append(r.groupsOver, m.Group)
		r.forgetGroups()
	}
}

// maxGroupsOver bounds the removed and rejected groups a raylet keeps the
// record of (forgetGroups).
const maxGroupsOver = 1024

// forgetGroups drops the records of the oldest groups over (removed or
// rejected) beyond maxGroupsOver, as the scheduler forgets them
// (scheduler keepRemoved): a group per job created and removed no longer
// grows the map for good (QA31). A record a caller still waits on is kept
// for now (queued again). A forgotten group is asked of the scheduler
// again by a later Wait (watchGroup), which answers while it knows it.
func (r *Raylet) forgetGroups() {
	for n := len(r.groupsOver) - maxGroupsOver; n > 0; n-- {
		id := r.groupsOver[0]
		r.groupsOver = r.groupsOver[1:]
		og := r.groups[id]
		if og == nil || og.state != transport.GroupRemoved && og.state != transport.GroupRejected {
			continue
		}
		if og.active > 0 || len(og.waiters) > 0 {
			r.groupsOver = append(r.groupsOver, id)
			continue
		}
		delete(r.groups, id)
	}
}

// CreateGroup creates a placement group of bundles (each non-zero) under
// a strategy (transport.GroupPack...): its ID is derived from the caller's
// task ID and submission counter, as a task's is, and the global
// scheduler is asked to place it. A detached group outlives its driver's
// node (see transport.GroupCreate). It returns at once.
func (c *Caller) CreateGroup(name string, strategy uint8, detached bool, bundles []transport.Resources) transport.GroupID {
	c.sub.Lock()
	id := transport.GroupID(transport.ChildTaskID(c.task, c.children))
	c.children++
	if c.driver && !detached {
		c.ownGroups = append(c.ownGroups, id)
	}
	c.sub.Unlock()
	m := &transport.GroupCreate{Group: id, Name: name, Strategy: strategy, ByDriver: c.driver, Detached: detached, Bundles: bundles}
	c.r.env.Await(func(wake func()) {
		r := c.r
		if r.groups == nil {
			r.groups = make(map[transport.GroupID]*ownedGroup)
		}
		r.groups[id] = &ownedGroup{}
		r.send(r.cfg.Layout.Scheduler, m)
		wake()
	})
	return id
}

// WaitGroup blocks until the group is ready (nil), removed
// (ErrGroupRemoved) or rejected (ErrGroupInvalid), or timeout (<0: none;
// virtual time in netsim) passes first (ErrTimeout). On TCP a done ctx ends
// it too. A group created elsewhere (handed to a caller here) is asked of
// the global scheduler (see ownedGroup.watched).
func (c *Caller) WaitGroup(ctx context.Context, id transport.GroupID, timeout time.Duration) error {
	return c.awaitGroup(ctx, id, timeout, func(s uint8) bool { return s != transport.GroupPending })
}

// RemoveGroup removes a group, created here or handed to a caller here:
// the scheduler releases its bundles, whose raylets end the tasks and
// actors running in them. It returns once the scheduler has removed it
// (on TCP, or when ctx is done first).
func (c *Caller) RemoveGroup(ctx context.Context, id transport.GroupID) error {
	c.r.env.Await(func(wake func()) {
		r := c.r
		og := r.groups[id]
		if og == nil {
			og = r.watchGroup(id)
		}
		if og.state != transport.GroupRemoved {
			og.removing = true
			r.drainSubmits() // the group's tasks submitted before go first (the scheduler fails them)
			r.send(r.cfg.Layout.Scheduler, &transport.GroupRemove{Group: id})
		}
		wake()
	})
	err := c.awaitGroup(ctx, id, -1, func(s uint8) bool { return s == transport.GroupRemoved || s == transport.GroupRejected })
	if errors.Is(err, ErrGroupRemoved) {
		return nil // what was asked
	}
	return err
}

// watchGroup records a group a caller here was handed (not created here)
// and asks the scheduler for its state.
func (r *Raylet) watchGroup(id transport.GroupID) *ownedGroup {
	if r.groups == nil {
		r.groups = make(map[transport.GroupID]*ownedGroup)
	}
	og := &ownedGroup{watched: true}
	r.groups[id] = og
	r.send(r.cfg.Layout.Scheduler, &transport.GroupWatch{Group: id})
	return og
}

// askGroup asks the scheduler again about a watched group while callers
// wait for it (see ownedGroup.watched).
func (r *Raylet) askGroup(id transport.GroupID, og *ownedGroup) {
	if !og.watched || og.asking {
		return
	}
	og.asking = true
	r.env.After(lookupTimeout, func() {
		og.asking = false
		if og.active == 0 || og.state == transport.GroupRemoved || og.state == transport.GroupRejected || r.groups[id] != og {
			return
		}
		if og.state == transport.GroupReady && !og.removing {
			return
		}
		if og.removing {
			r.send(r.cfg.Layout.Scheduler, &transport.GroupRemove{Group: id})
		} else {
			r.send(r.cfg.Layout.Scheduler, &transport.GroupWatch{Group: id})
		}
		r.askGroup(id, og)
	})
}

// awaitGroup blocks until done says the group's state is final for the
// caller, or timeout passes, or ctx ends (TCP), or the cluster is lost.
func (c *Caller) awaitGroup(ctx context.Context, id transport.GroupID, timeout time.Duration, done func(uint8) bool) error {
	var err error
	var cw ctxWatch
	defer cw.end()
	c.r.env.Await(func(wake func()) {
		r := c.r
		og := r.groups[id]
		if og == nil {
			og = r.watchGroup(id) // handed to a caller here
		}
		over, counted := false, false // counted: in og.active
		var timer transport.Timer
		unblock := func() {}
		var check func()
		finish := func(e error) {
			if over {
				return
			}
			over, err = true, e
			if counted {
				og.active--
			}
			unblock()
			if timer != nil {
				timer.Stop()
			}
			wake()
		}
		check = func() {
			if over {
				return
			}
			if !done(og.state) {
				og.waiters = append(og.waiters, groupWaiter{over: &over, f: check})
				return
			}
			switch og.state {
			case transport.GroupRemoved:
				finish(fmt.Errorf("%w: %s", ErrGroupRemoved, id))
			case transport.GroupRejected:
				finish(fmt.Errorf("%w: %s: %s", ErrGroupInvalid, id, og.detail))
			default:
				finish(nil)
			}
		}
		if done(og.state) {
			check()
			return
		}
		if r.abandon.err != nil {
			finish(r.abandon.err)
			return
		}
		if timeout == 0 {
			finish(fmt.Errorf("%w: %s is not ready", ErrTimeout, id))
			return
		}
		og.waiters = slices.DeleteFunc(og.waiters, func(w groupWaiter) bool { return *w.over })
		og.waiters = append(og.waiters, groupWaiter{over: &over, f: check})
		og.active, counted = og.active+1, true
		r.askGroup(id, og)
		unblock = c.onAbandon(func() { finish(r.abandon.err) })
		if timeout > 0 {
			timer = r.env.After(timeout, func() { finish(fmt.Errorf("%w: %s is not ready after %v", ErrTimeout, id, timeout)) })
		}
		cw.unwatch = c.watch(ctx, func(cerr error) { finish(cerr) })
	})
	return err
}

// LookupGroup asks the global scheduler for the live placement group
// named name (Ray's get_placement_group): found is false when none is
// (never created, or removed). It blocks until the answer comes (asked
// again every lookupTimeout while none has: a lost message, a scheduler
// not up yet), the cluster is lost, or, on TCP, ctx is done.
func (c *Caller) LookupGroup(ctx context.Context, name string) (found *transport.GroupFound, err error) {
	err = c.awaitAnswer(ctx, func(finish func(error), ended *bool) func() {
		r := c.r
		// A creation this caller just sent goes first (one ordered link
		// to the scheduler): a lookup right after it finds the group.
		if r.groupLookups == nil {
			r.groupLookups = make(map[string][]groupLookup)
			r.groupAsks = make(map[string]uint64)
		}
		first := len(r.groupLookups[name]) == 0
		r.groupLookups[name] = append(r.groupLookups[name], groupLookup{done: ended, f: func(f *transport.GroupFound) {
			found = f
			finish(nil)
		}})
		if first {
			// A new round of asking: an older round's timer stops (rounds
			// are numbered across names, so a name asked again after its
			// entry was dropped never matches an old timer).
			r.groupRound++
			r.groupAsks[name] = r.groupRound
			r.lookupGroup(name, r.groupRound)
		}
		return nil // the asking drops ended waiters (lookupGroup)
	})
	if err == nil && !found.Found {
		found = nil
	}
	return found, err
}

// groupLookup is a caller waiting in LookupGroup: done once it has ended
// (answered, or its ctx done, or the cluster lost).
type groupLookup struct {
	done *bool
	f    func(*transport.GroupFound)
}

// lookupGroup asks the scheduler for the group of a name, and asks again
// while someone waits and no answer has come (callers that have ended
// meanwhile are dropped, and with none left the asking stops).
func (r *Raylet) lookupGroup(name string, round uint64) {
	r.send(r.cfg.Layout.Scheduler, &transport.GroupLookup{Name: name})
	r.env.After(lookupTimeout, func() {
		if r.groupAsks[name] != round {
			return
		}
		waiting := slices.DeleteFunc(r.groupLookups[name], func(w groupLookup) bool { return *w.done })
		if len(waiting) == 0 {
			delete(r.groupLookups, name)
			delete(r.groupAsks, name)
			return
		}
		r.groupLookups[name] = waiting
		if r.abandon.err == nil {
			r.lookupGroup(name, round)
		}
	})
}

// onGroupFound hands the scheduler's answer to the callers waiting for
// the name; one no caller waits for (a resend's second answer) is dropped.
func (r *Raylet) onGroupFound(m *transport.GroupFound) {
	waiters := r.groupLookups[m.Name]
	if len(waiters) == 0 {
		return
	}
	delete(r.groupLookups, m.Name)
	delete(r.groupAsks, m.Name)
	for _, w := range waiters {
		w.f(m)
	}
}
