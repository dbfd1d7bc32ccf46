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
// task table never recorded (one ref, two answers). So every heartbeat the
// node table takes is answered with when it took it (HeartbeatAck.At), and
// the node starts tasks and actor calls only until that time plus
// NodeTimeout less a margin: cut off, it stops before it can be declared
// dead, and starts again when an answer renews the lease (or, declared
// dead, when it rejoins). Work already running goes on.
//
// The lease counts from when the node table took the heartbeat (on a
// chain, its head: Heartbeat.TakenAt, no later than any replica marks it
// seen), not from when the node sent it: a node table slow to take
// heartbeats (a backlogged shard, as in long scale runs) stretches its own
// timeout by its lateness and does not fence anyone. The price: it assumes
// the node's clock and the node table's differ by less than the margin (on
// TCP across machines; netsim's skew_clock fault can break it).
// Counting from the node's own sending of the heartbeat would need no such
// assumption, but would fence every node whenever the node table lags.
type lease struct {
	until  time.Duration // since the raylet was born (Raylet.since)
	fenced bool          // until has passed: dispatch and actors start nothing
	armed  bool          // a timer is set to check the lease
}

// leaseTerm is how long after the node table took a heartbeat the node may
// start work: NodeTimeout less a quarter (250ms at the default), a margin
// for clock skew on TCP and for the delivery that starts a task after the
// check.
func (r *Raylet) leaseTerm() time.Duration {
	return r.cfg.NodeTimeout - r.cfg.NodeTimeout/4
}

// renewLease extends the lease to the term after at, the node table's time
// of taking a heartbeat (or now, when an incarnation begins: the node
// table can declare it dead only after it registered). A fenced node starts
// work again.
func (r *Raylet) renewLease(at time.Time) {
	until := at.Sub(r.born) + r.leaseTerm()
	if until <= r.lease.until {
		return
	}
	r.lease.until = until
	if !r.lease.armed {
		r.armLease()
	}
	if r.lease.fenced && r.since() < until {
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
