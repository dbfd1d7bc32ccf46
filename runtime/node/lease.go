package node

import (
	"maps"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// lease is how a raylet fences itself. The node table declares a node dead
// after NodeTimeout without a heartbeat; owners then retry or fail its
// tasks, and the task table may take an owner's failure where the node made
// a value. A node cut off from the node table does not know it was declared
// dead until it hears so, and meanwhile, a zombie, it would run what a
// scheduler not yet told placed there, reading its own copies of values the
// task table never recorded (one ref, two answers). So every heartbeat
// carries when the node sent it (Heartbeat.Sent, on its monotonic clock),
// every heartbeat the node table takes is answered with that
// (HeartbeatAck.Sent), and the node starts tasks and actor calls only until
// then plus NodeTimeout less a margin: cut off, it stops before it can be
// declared dead, and starts again when an answer renews the lease (or,
// declared dead, when it rejoins). Work already running goes on.
//
// Safety needs no agreement between clocks: the node table took the
// heartbeat after it was sent, and measures the silence after it on its own
// monotonic clock (transport.Monotonic), which clock skew does not move;
// only the clocks' rates must agree within the margin. Every replica of a
// chain answers with the same Sent, and took the heartbeat after it too.
// The price: a node table whose answers come back later than the lease
// (one backlogged by more than ~NodeTimeout/2) fences its nodes until it
// catches up; nobody is declared dead meanwhile, since it measures the
// silence from when it took each heartbeat.
type lease struct {
	until  time.Duration // since the raylet was born (Raylet.since)
	fenced bool          // until has passed: dispatch and actors start nothing
	armed  bool          // a timer is set to check the lease
}

// leaseTerm is how long after sending a heartbeat the node may start work
// on the strength of its answer: NodeTimeout less a quarter (750ms at the
// default), a margin for the clocks' rates and for the delivery that
// starts a task after the check.
func (r *Raylet) leaseTerm() time.Duration {
	return r.cfg.NodeTimeout - r.cfg.NodeTimeout/4
}

// renewLease extends the lease to the term after sent, when the node sent
// a heartbeat the node table answered (or now, when an incarnation begins:
// the node table can declare it dead only after it registered), as times
// since the raylet was born. A fenced node starts work again. A time not
// yet come is no heartbeat of the node's: it is ignored.
func (r *Raylet) renewLease(sent time.Duration) {
	now := r.since()
	if sent > now {
		return
	}
	until := sent + r.leaseTerm()
	if until <= r.lease.until {
		return
	}
	r.lease.until = until
	if !r.lease.armed {
		r.armLease()
	}
	if r.lease.fenced && now < until {
		r.lease.fenced = false
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Detail: "lease renewed: starting work again"})
		r.dispatch()
		for _, id := range slices.Sorted(maps.Keys(r.actors)) {
			r.pumpActor(r.actors[id])
		}
	}
}

func (r *Raylet) armLease() {
	r.lease.armed = true
	r.env.After(r.lease.until-r.since(), r.checkLease)
}

// checkLease fences the node once its lease has passed.
func (r *Raylet) checkLease() {
	r.lease.armed = false
	if r.since() < r.lease.until {
		r.armLease() // renewed meanwhile
		return
	}
	r.fence()
}

func (r *Raylet) fence() {
	if !r.lease.fenced {
		r.lease.fenced = true
		r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self,
			Detail: "fenced: the node table has not answered a heartbeat for most of its timeout; starting nothing until it does"})
	}
}

// leaseOut reports whether the node may start no work at now (since it was
// born), as it is about to: fenced, or past its lease though checkLease has
// not run yet (a node paused, or busy, takes the deliveries queued
// meanwhile before its timer, and one of them would start a task).
func (r *Raylet) leaseOut(now time.Duration) bool {
	if !r.lease.fenced && now >= r.lease.until {
		r.fence()
	}
	return r.lease.fenced
}
