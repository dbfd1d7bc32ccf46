package node

import (
	"fmt"
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
// the node table answers every heartbeat it takes with that plus how long
// the heartbeat waited for it (HeartbeatAck.From), and the node starts
// tasks and actor calls only until then plus NodeTimeout less a margin:
// cut off, it stops before it can be declared dead, and starts again when
// an answer renews the lease (or, declared dead, when it rejoins). Work
// already running goes on.
//
// Safety needs no agreement between clocks: the node table took the
// heartbeat no earlier than From, on the node's clock, and measures the
// silence after it on its own monotonic clock (transport.Monotonic), which
// clock skew does not move; only the clocks' rates must agree within the
// margin. Every replica of a chain took the heartbeat after its head, whose
// wait is the one credited (Heartbeat.Held). A backlogged node table
// credits the heartbeats' wait in its queue (transport.Waiter; on TCP,
// from when the heartbeat was read off its connection), so its lateness
// fences nobody. What it cannot credit is time on the wire, and a chain's
// lag past its head: a node whose heartbeat and its answer take longer than
// the lease term together holds no lease, and starts nothing, though the
// node table hears it in time; renewLease warns with the round trip. (With
// a heartbeat every 100ms, the next answer must come within the term less
// that period to keep the lease unbroken: ~775ms at the default timeout.)
type lease struct {
	until  time.Duration // since the raylet was born (Raylet.since)
	fenced bool          // until has passed: dispatch and actors start nothing
	armed  bool          // a timer is set to check the lease
	late   bool          // an answer came too late to renew it (warned; see renewLease)
	// waiters: work that found the node fenced and waits for a renewal
	// (a restarted actor's Restore or replayed call: whenLeased).
	waiters []func()
}

// leaseTerm is how long after From (see HeartbeatAck) the node may start
// work on the strength of an answer: NodeTimeout less an eighth (875ms at
// the default), a margin for the clocks' rates and for the start of a task
// after its check (a worker goroutine on TCP).
func (r *Raylet) leaseTerm() time.Duration {
	return r.cfg.NodeTimeout - r.cfg.NodeTimeout/8
}

// renewLease extends the lease to the term after from, an answer's From
// (or now, when an incarnation begins: the node table can declare it dead
// only after it registered), as times since the raylet was born. A fenced
// node starts work again. A time not yet come is no heartbeat of the
// node's: it is ignored.
func (r *Raylet) renewLease(from time.Duration) {
	now := r.since()
	if from > now {
		return
	}
	until := from + r.leaseTerm()
	if until <= now {
		if !r.lease.late {
			r.lease.late = true // once until an answer renews: one a heartbeat period would flood the trace
			r.emit(transport.Event{Kind: transport.EvWarning, Node: r.self, Detail: fmt.Sprintf(
				"lease: an answer of the node table came %v after its heartbeat left (not counting the heartbeat's wait at the node table), past the lease term %v: the node holds no lease while answers come that late (a node timeout longer than the round trip avoids it)",
				now-from, r.leaseTerm())})
		}
		return
	}
	r.lease.late = false
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
		ws := r.lease.waiters
		r.lease.waiters = nil
		for _, f := range ws {
			f()
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
