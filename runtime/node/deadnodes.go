package node

import (
	"math"
	"slices"

	"raysim/runtime/transport"
)

// maxDeadNodes bounds the dead nodes a raylet remembers by incarnation
// beyond those still in its layout (the address book): on a live cluster
// every driver session is a node of its own, with an ID the head never
// hands out again, and each one that left stayed in the raylet's table of
// deaths for good (QA31 finding 6, the stream left after the thirty-first
// session). As Ray's GCS keeps the latest deaths of actors, the latest
// 1,024 node deaths are kept exact; older ones of nodes no longer in the
// book are folded into spans of node IDs (deadNodes.gone).
const maxDeadNodes = 1024

// deadNodes is what a raylet knows of node incarnations declared dead
// (NodeDead). It answers two questions: is a death news or already known
// (onNodeDead acts on each death once), and is a message naming a node's
// incarnation — a placement (TaskPlaced), an actor's place (ActorLocation)
// — about an incarnation known dead (stale: refused, or its task retried).
//
// Per node, the highest incarnation declared dead (inc), in the order the
// nodes first died (order). Past maxDeadNodes entries plus the nodes the
// layout lists (never folded: a node of the book comes back as a newer
// incarnation, and a simulated cluster's nodes are all in it), the oldest
// death of a node no longer in the layout leaves inc for gone: spans of
// node IDs, each with the highest dead incarnation of the nodes folded
// into it. The head hands driver IDs out upward and they leave about in
// order, so the spans fold together; a folded node's incarnations up to
// its span's number are taken for dead, a bound above its own, so a stale
// message from a dead incarnation is still refused.
//
// A folded node that comes back — a named node rejoins under its ID, as a
// newer incarnation — is above its span's number on TCP (an incarnation is
// the clock at the raylet's start: deadNodes folds only deaths older than
// the latest 1,024), and the node table announces it to every raylet as
// the death of the incarnation below its new one (a restart's NodeDead),
// news here, which makes the node exact again. A death at or below the
// span's number is taken for one known (a new chain tail republishes every
// death it knows): not acted on again. Left alone: a node rejoining from a
// host whose clock is behind the clocks of the nodes folded with it (by
// more than the age of the latest 1,024 deaths) is taken for dead here
// until a death of it above its span's number. The zero value is not
// ready: use newDeadNodes.
type deadNodes struct {
	inc   map[transport.NodeID]uint64
	order []transport.NodeID
	gone  spanSet
}

func newDeadNodes() deadNodes {
	return deadNodes{inc: make(map[transport.NodeID]uint64)}
}

// known reports whether the death of node's incarnation inc is known
// already: an incarnation at or below the one declared dead, or, for a
// folded node, at or below its span's.
func (d *deadNodes) known(node transport.NodeID, inc uint64) bool {
	if dead, ok := d.inc[node]; ok {
		return inc <= dead
	}
	dead, ok := d.gone.at(uint64(node))
	return ok && inc <= dead
}

// upTo reports whether node's incarnation inc is known dead, and if so
// the highest incarnation of the node known dead (for a folded node, whose
// exact one is forgotten, inc itself: the span's number may be another
// node's).
func (d *deadNodes) upTo(node transport.NodeID, inc uint64) (uint64, bool) {
	if dead, ok := d.inc[node]; ok {
		return dead, inc <= dead
	}
	return inc, d.known(node, inc)
}

// set records inc as node's highest dead incarnation, taking the node out
// of gone if it was there, and folds the oldest deaths of nodes not in
// live into gone while more than maxDeadNodes plus len(live) nodes are kept
// exact. live is the layout's raylets, in node order.
func (d *deadNodes) set(node transport.NodeID, inc uint64, live []transport.NodeID) {
	if _, ok := d.inc[node]; !ok {
		d.gone.remove(uint64(node))
		d.order = append(d.order, node)
	}
	d.inc[node] = inc
	// At most len(live) of the oldest len(live)+1 entries are in the
	// layout: one pass finds one to fold, moving the others to the back.
	for len(d.inc) > maxDeadNodes+len(live) {
		n := d.order[0]
		d.order = d.order[1:]
		if _, inBook := slices.BinarySearch(live, n); inBook {
			d.order = append(d.order, n)
			continue
		}
		d.gone.add(uint64(n), d.inc[n], math.MaxInt) // a NodeID is below 2^32: never refused
		delete(d.inc, n)
	}
}

// entries is how many nodes the table holds: exact entries plus spans of
// folded ones (tests, the growth measurements).
func (d *deadNodes) entries() int { return len(d.inc) + len(d.gone) }

// DeadNodes is how many entries this raylet's table of node deaths holds:
// nodes kept by incarnation plus spans of gone ones (see deadNodes; loop
// only; tests and the growth measurements of docs/results.md).
func (r *Raylet) DeadNodes() int { return r.dead.entries() }
