package node

// Abandoning the cluster: a driver whose session has lost the cluster's
// head cannot learn any object's location, actor or name again (all of
// them live in the GCS), so its blocked calls would wait forever. Ray's
// driver likewise fails once the GCS has been unreachable past its
// reconnect timeout.

import (
	"maps"
	"slices"
)

// abandonment is a raylet's record of its blocked driver calls, for Abandon.
type abandonment struct {
	err   error             // set by Abandon
	next  uint64            // the next call's key
	calls map[uint64]func() // blocked driver calls by key, each ending its call with err
}

// Abandon ends every driver call blocked on this raylet (Get, Wait,
// LookupActor) with err, and makes every later one that cannot be
// answered from this node alone return err at once. A driver process's
// session calls it once the head has stopped answering (ray.Connect's head
// timeout). It must run on the loop; a second call changes nothing.
func (r *Raylet) Abandon(err error) {
	if r.abandon.err != nil || err == nil {
		return
	}
	r.abandon.err = err
	for _, k := range slices.Sorted(maps.Keys(r.abandon.calls)) {
		end := r.abandon.calls[k]
		delete(r.abandon.calls, k)
		end()
	}
}

// Abandoned is the error Abandon was given (nil if it was not called). It
// must run on the loop.
func (r *Raylet) Abandoned() error { return r.abandon.err }

// onAbandon registers end to be called by Abandon for a blocked driver
// call; the returned func unregisters it once the call is done some other
// way. Tasks' and actors' calls are not registered: they run on the nodes
// of the cluster, and end with their node.
func (c *Caller) onAbandon(end func()) (done func()) {
	if !c.driver {
		return func() {}
	}
	a := &c.r.abandon
	if a.calls == nil {
		a.calls = make(map[uint64]func())
	}
	k := a.next
	a.next++
	a.calls[k] = end
	return func() { delete(a.calls, k) }
}
