// Package netsim is the deterministic network simulator every raysim
// component runs on: virtual time, one event loop, seeded randomness and
// injected faults. It imports nothing of the runtime; it carries opaque
// payloads (any) with a size in bytes, and an adapter on the runtime side
// binds it to the Env seam.
//
// # Time and order
//
// Every action — a delivery, a node timer, a coroutine resumption, a
// harness event (Sim.At) — is an event in one priority queue ordered by
// (virtual time, sequence number); the sequence number is the order of
// scheduling, so events due at the same time run in the order they were
// scheduled. Nothing reads the wall clock (except Stats), there is no global
// randomness and no map iteration order leaks, so the same Config.Seed and
// the same harness give the same event log on any machine and any
// GOMAXPROCS. Sim.Digest is a rolling hash of that log: a run's identity.
//
// # Links
//
// Each directed link has a model (Config.Link, or Sim.SetLink): latency
// (a Dist), jitter, bandwidth, loss, duplication and reordering. A message
// departs at max(now, the sender's busy-until); with a finite bandwidth it
// occupies the link for size/Bandwidth and cannot start transmitting before
// the previous message on that link has finished (a per-directed-link
// queue). It then travels latency + jitter (+ Degrade's extra). Links are
// FIFO: a message's delivery time is clamped to be no earlier than the
// previous in-order message on the link, so jitter never reorders. Only a
// message picked for reordering (probability Link.Reorder) gets an extra
// random delay and skips the clamp, so later messages may overtake it. A
// duplicate is delivered after its original.
//
// # Faults
//
// Partition (symmetric, between groups) and Cut (one way) drop messages at
// send time and when they arrive at the destination (before they wait for a
// busy or paused node: a message that arrived before a partition began is
// not lost to it); HealPartition ends one partition, Heal removes them all.
// Degrade adds delay and loss to a link until Restore. A degradation's
// bandwidth cap holds back the messages sent under it; when the cap changes
// or ends, those still queued or being transmitted are re-timed: the rest of
// their bytes go out at the new rate, so a short cap does not outlive
// itself (messages sent before a cap began keep their times). SetSkew
// offsets a node's wall clock (Now), not its monotonic one (Mono).
//
// Crash loses the node's state: its handler is dropped, its timers never
// fire, its coroutines are stopped, and messages to it — in flight at the
// crash, or sent while it is down — are dropped ("crashed"), even if it
// restarts before an in-flight message would have arrived. What is NOT lost:
// messages that had left the node before it crashed stay in flight and are
// delivered, as on a real network. A message that had not left — sent after
// a Charge and waiting for the node's busy-until, or still being
// transmitted on a link of finite bandwidth — is dropped when it would have
// arrived (DropUnsent), and the crash frees the node's links, both ways, so
// its next incarnation does not queue behind the dead one's bytes. Restart
// builds a new incarnation with the node's factory (fresh state) and a new
// random stream derived from (Seed, id, incarnation).
//
// Pause stalls a node (a GC pause): nothing of it runs until the pause
// ends, and nothing is lost — its deliveries, timers and coroutine resumes
// wait and then run in their original order.
//
// # Service time
//
// A node is single-threaded. Node.Charge(d) makes it busy for d more,
// counted from max(now, busy-until): deliveries, timers and resumes that
// come due meanwhile wait (in order) until it is free, and messages it sends
// after the Charge depart at the busy-until time. This is how a component
// saturates: past its service rate its queue, and so its latency, grows.
//
// # Coroutines
//
// Blocking user code runs in cooperative coroutines (Node.Go) built on
// iter.Pull: exactly one goroutine runs at a time, the loop or one
// coroutine. A coroutine runs until it calls Node.Await, which runs
// register(wake) synchronously and hands control back to the loop; wake,
// called from anywhere on the loop, schedules the resumption as an event on
// the node at the then-current virtual time. When its node crashes (or the
// Sim is closed) a coroutine is stopped: Await never returns, the coroutine
// unwinds (its deferred calls run) and its goroutine exits. A panic inside a
// coroutine is re-raised on the loop as a *CoroutinePanic.
//
// # Cost
//
// The queue is a calendar queue whose buckets hold the 48-byte items
// themselves, in recycled fixed-size chunks; the current bucket is ordered
// by radix-sorting pointer-free (time, slot) entries (see queue.go).
// Scheduling, popping and delivering do not allocate; a timer costs one
// allocation (its handle), an Await one (its wake func). The event log
// costs nothing beyond the digest when Config.OnEvent is nil; a component
// that only needs drops sets Config.OnDrop, which the other events do not
// call.
package netsim
