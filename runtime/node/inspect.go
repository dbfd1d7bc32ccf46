package node

import (
	"cmp"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Read-only views of a raylet's state, for state dumps (raysim replay
// --until). They copy what they return and change nothing.

// TaskView is a task accepted by a raylet and not finished.
type TaskView struct {
	ID      transport.TaskID
	Name    string
	State   string // "waiting-args", "queued", "running", "blocked" (in Get/Wait), "cancelled"
	Missing int    // arguments not yet local
	Actor   transport.ActorID
	Start   time.Time // when it started running
}

// Tasks lists the raylet's accepted, unfinished tasks in ID order.
func (r *Raylet) Tasks() []TaskView {
	out := make([]TaskView, 0, r.tasks.Len())
	for _, t := range r.tasks.All() {
		v := TaskView{ID: t.spec.ID, Name: t.spec.Name, Missing: int(t.missing), Actor: t.spec.Actor}
		if t.running {
			v.Start = r.born.Add(t.start)
		}
		switch {
		case t.cancelled:
			v.State = "cancelled"
		case t.running && t.borrowed:
			v.State = "blocked"
		case t.running:
			v.State = "running"
		case t.missing > 0:
			v.State = "waiting-args"
		default:
			v.State = "queued"
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b TaskView) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// FetchView is an object being pulled to this node.
type FetchView struct {
	Object     transport.ObjectID
	Source     transport.NodeID
	Pulling    bool
	Got, Total int64
	Readers    int // who waits for it here (Get, WaitLocal, a task's argument); 0 once all left
}

// Fetches lists the objects being fetched, in ID order.
func (r *Raylet) Fetches() []FetchView {
	ids := r.store.Awaiting()
	out := make([]FetchView, 0, len(ids))
	for _, id := range ids {
		f := r.fetchOf(id)
		v := FetchView{Object: id, Pulling: f.pulling}
		if f.first != nil {
			v.Readers = 1
		}
		if f.more != nil {
			v.Readers += len(*f.more)
		}
		if f.pull != nil {
			v.Source, v.Got, v.Total = f.source, f.got, f.total
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b FetchView) int { return transport.CompareObjects(a.Object, b.Object) })
	return out
}

// ActorView is an actor hosted by this raylet.
type ActorView struct {
	ID     transport.ActorID
	Queued int  // method calls waiting
	Busy   bool // a method is running
	Dead   bool
}

// RouteView is what this raylet knows of an actor it calls (see route).
type RouteView struct {
	Actor    transport.ActorID
	Node     transport.NodeID
	Inc      uint64
	State    uint8 // transport.ActorAlive...
	Restarts uint32
	Pending  int  // calls waiting for the actor's next known location
	LookedUp bool // subscribed to the actor's state
	Asking   bool // a lookup is out
}

// Routes lists the routes to actors this raylet calls, in actor order.
func (r *Raylet) Routes() []RouteView {
	out := make([]RouteView, 0, len(r.routes))
	for id, rt := range r.routes {
		out = append(out, RouteView{Actor: id, Node: rt.node, Inc: rt.inc, State: rt.state, Restarts: rt.restarts,
			Pending: len(rt.pending), LookedUp: rt.lookedUp, Asking: rt.asking})
	}
	slices.SortFunc(out, func(a, b RouteView) int { return cmp.Compare(a.Actor, b.Actor) })
	return out
}

// Actors lists the hosted actors in ID order.
func (r *Raylet) Actors() []ActorView {
	out := make([]ActorView, 0, len(r.actors))
	for id, a := range r.actors {
		out = append(out, ActorView{ID: id, Queued: len(a.queue), Busy: a.cur != nil || len(a.running) > 0, Dead: a.dead})
	}
	slices.SortFunc(out, func(a, b ActorView) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// LocatedWaiters is how many registrations wait for an object's location
// (a Wait's, on objects neither here nor located yet).
func (r *Raylet) LocatedWaiters() int {
	n := 0
	for _, ws := range r.located {
		n += len(ws)
	}
	return n
}

// Locating is how many objects this raylet is asking the GCS where they
// are (subscribe, relocate; loop only; tests).
func (r *Raylet) Locating() int { return len(r.locating) }

// LocationsKnown is how many objects this raylet keeps locations of
// (onLocated; loop only; tests).
func (r *Raylet) LocationsKnown() int { return len(r.locations) }
