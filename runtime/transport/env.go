// Package transport is the seam between raysim's components and the world
// outside them. A component (GCS shard, scheduler, raylet) is an event-driven
// state machine: it reacts to messages through Handler and reaches everything
// else — time, timers, randomness, the network, blocking user code — through
// Env. netsim provides an Env in virtual time (runtime/transport/sim binds it);
// the TCP host provides one on the wall clock (runtime/transport/tcp). The same
// component code runs unchanged on both.
//
// The package also holds the message types and their versioned binary codec,
// so that whatever runs in the simulator is exactly what can cross TCP.
package transport

import (
	"math/rand/v2"
	"time"
)

// NodeID names an endpoint of the cluster: a raylet, a GCS shard, the global
// scheduler. IDs are small dense integers assigned by the cluster builder.
type NodeID uint32

// Handler is a component: it reacts to one message at a time, on its node's
// loop. It never blocks and never starts goroutines.
type Handler interface {
	Handle(from NodeID, m Message)
}

// Timer is a pending callback started by Env.After.
type Timer interface {
	// Stop cancels the timer; it reports whether the timer was still pending.
	Stop() bool
}

// Env is all a component may use of the world outside it. Every method except
// Await must be called from the component's own loop (inside Handle, a timer
// callback, or a Go/Await registration callback).
type Env interface {
	// Self is the node this environment belongs to.
	Self() NodeID
	// Now is virtual time in netsim (including the node's clock skew) and the
	// wall clock on TCP.
	Now() time.Time
	// After runs f on the component's loop after d.
	After(d time.Duration, f func()) Timer
	// Rand is the node's random source: seeded from the run seed in netsim.
	Rand() *rand.Rand
	// Send delivers m to a node, best effort (links may drop, partitions cut).
	Send(to NodeID, m Message)
	// Charge accounts d of CPU work by the component: in netsim the node is
	// busy (handles nothing else) for d more; on TCP it is a no-op, the work
	// took real time.
	Charge(d time.Duration)
	// Go starts blocking user code (a task, an actor, a driver) off the loop:
	// a coroutine resumed by the event loop in netsim, a goroutine on TCP.
	Go(f func())
	// Await is called from code started by Go, never from the loop. It runs
	// register on the loop, passing a wake function, and blocks the caller
	// until wake is called (wake may be called at most once, from the loop,
	// possibly inside register itself).
	Await(register func(wake func()))
	// Post, like Await, is called from code started by Go: it runs f on the
	// loop without waiting for it (fire and forget, as a core worker
	// submits a task). Posts and Awaits of one caller run in call order.
	Post(f func())
	// Emit records a trace event (task and object lifecycle, placements...).
	// It must not retain ev after returning.
	Emit(ev *Event)
}

// Monotonic is implemented by an Env whose clock for measuring intervals
// is not its wall clock. Mono reads the node's monotonic clock, which clock
// skew and steps do not move: in netsim, virtual time without the node's
// skew (netsim's skew_clock offsets Now only); on TCP, time.Now, whose
// monotonic reading Sub and Since use. Components measure every interval
// (a heartbeat's silence, a lease, a resend's timeout, a task's run time)
// between two Mono readings, never between two Now readings: a wall clock
// stepped between them would stretch or shrink it. Now is for values that
// are wall times (user code's clock, a client's first request number).
type Monotonic interface {
	Env
	Mono() time.Time
	// Since is Mono().Sub(t) for t a Mono reading, as cheaply as the Env
	// can tell it (on TCP time.Since reads the monotonic clock alone, ~25
	// against ~50 ns for time.Now).
	Since(t time.Time) time.Duration
}

// Waiter is implemented by an Env that tells how long the message being
// handled waited for its node after it arrived (netsim's: a node busy with
// earlier work, or paused, takes what arrives meanwhile later); 0 outside
// the handling of a message. The node table credits it to the lease of the
// node whose heartbeat waited (see HeartbeatAck): a backlogged node table
// takes heartbeats late, and declares deaths that much later.
type Waiter interface {
	Env
	Waited() time.Duration
}

// Waited is how long the message env is handling waited for its node (see
// Waiter); 0 for an Env that cannot tell.
func Waited(env Env) time.Duration {
	if w, ok := env.(Waiter); ok {
		return w.Waited()
	}
	return 0
}

// Clock reads an Env's monotonic clock (see Monotonic), or its Now when
// it has none; components keep one, made once, to measure intervals.
type Clock struct {
	env  Env
	mono Monotonic
}

// NewClock returns env's monotonic clock.
func NewClock(env Env) Clock {
	m, _ := env.(Monotonic)
	return Clock{env: env, mono: m}
}

// Now reads the clock.
func (c Clock) Now() time.Time {
	if c.mono != nil {
		return c.mono.Mono()
	}
	return c.env.Now()
}

// Since is the time since t, a reading of the clock.
func (c Clock) Since(t time.Time) time.Duration {
	if c.mono != nil {
		return c.mono.Since(t)
	}
	return c.env.Now().Sub(t)
}

// InlinePoster is implemented by an Env whose Post runs f at once, on the
// calling goroutine (netsim's: user code holds the loop's only baton).
// Code on a hot path may then call the loop's code itself and save the
// closure a Post costs.
type InlinePoster interface {
	Env
	PostsInline()
}

// QueuedTimer is implemented by an Env whose After(0, f) runs f on the loop
// once the items already queued for it have run, for the cost of one event
// (netsim's). A component may then hold messages until the loop is next
// free and send them as one. On TCP After(0) costs a runtime timer and a
// goroutine, and a connection's writer already coalesces the frames queued
// for it, so there components send at once.
type QueuedTimer interface {
	Env
	TimersQueued()
}

// WireMeter is implemented by an Env whose Send charges the network for
// each message's encoded size (netsim's): a sender may then measure what it
// builds while it is in cache (GcsAddTasks.Add), which spares Send an
// encoding. On TCP the writer encodes each frame once anyway.
type WireMeter interface {
	Env
	MetersWire()
}
