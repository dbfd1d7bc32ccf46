package node

import (
	"context"

	"raysim/runtime/transport"
)

// ActorCalls returns the call defaults of actor id (ActorSpec.Calls:
// Ray's max_task_retries and max_pending_calls, which Ray keeps with the
// actor) for a handle rebuilt from the actor's ID (ray.ActorHandleOf),
// so that its calls behave as the creator's handle's: the creation's own
// where this node hosts the actor or owns its creation, the route's where
// this node has heard of the actor from the actor table, else the actor
// table's answer to a lookup by ID (which also subscribes the node to the
// actor, as the route of a call does). Each caller keeps what it was
// told (a handle's calls ask once). A table that has not yet heard of the
// creation (a handle rebuilt from an ID sent ahead of it) answers none.
func (c *Caller) ActorCalls(ctx context.Context, id transport.ActorID) (calls transport.CallDefaults, err error) {
	c.sub.Lock()
	calls, ok := c.knownCalls[id]
	c.sub.Unlock()
	if ok {
		return calls, nil
	}
	err = c.awaitAnswer(ctx, func(finish func(error), ended *bool) func() {
		r := c.r
		r.drainSubmits() // a creation just submitted is owned first
		if got, ok := r.callsOf(id); ok {
			calls = got
			finish(nil)
			return nil
		}
		first := len(r.callsWaiters[id]) == 0
		r.callsWaiters[id] = append(r.callsWaiters[id], func(info transport.ActorInfo) {
			if *ended {
				return
			}
			calls = info.Calls
			finish(nil)
		})
		if first {
			r.askCalls(id)
		}
		// A lookup by ID is answered once the actor is placed, which may
		// need this very task's CPU (the actor's creation queued behind it
		// on its node): a task waiting holds no CPU, as a blocked Get does,
		// and takes it back when the answer comes (oversubscribing for a
		// while, as Ray does). Found by the fault search: a caller task
		// on the one node with the actor's resources waited for good.
		if c.t != nil && !c.t.borrowed { // not one another wait of the task's released
			if c.release(); c.t.borrowed {
				return c.reacquire
			}
		}
		return nil
	})
	if err != nil {
		return transport.CallDefaults{}, err
	}
	c.sub.Lock()
	if c.knownCalls == nil {
		c.knownCalls = make(map[transport.ActorID]transport.CallDefaults)
	}
	c.knownCalls[id] = calls
	c.sub.Unlock()
	return calls, nil
}

// callsOf is what this node knows of actor id's call defaults, without
// asking: its creation's, where it hosts the actor or owns the creation,
// or what the actor table said (the route). Loop only.
func (r *Raylet) callsOf(id transport.ActorID) (transport.CallDefaults, bool) {
	if a, ok := r.actors[id]; ok {
		return a.creation.spec.A().Calls(), true
	}
	if o := r.owned[id]; o != nil && o.spec.IsCreation() {
		return o.spec.A().Calls(), true
	}
	if rt := r.routes[id]; rt != nil && rt.callsKnown {
		return rt.calls, true
	}
	return transport.CallDefaults{}, false
}

// askCalls asks actor id's shard for the actor (GcsLookupActor by ID),
// and again while someone waits for its call defaults (ActorCalls) and
// no answer has come.
func (r *Raylet) askCalls(id transport.ActorID) {
	r.gcs.Send(r.cfg.Layout.ShardOfTask(id), &transport.GcsLookupActor{Actor: id})
	r.env.After(lookupTimeout, func() {
		if len(r.callsWaiters[id]) > 0 && r.abandon.err == nil {
			r.askCalls(id)
		}
	})
}

// tellCalls hands an actor's info from the actor table to those waiting
// for its call defaults (ActorCalls), and keeps them on its route.
func (r *Raylet) tellCalls(rt *route, m *transport.ActorInfo) {
	rt.calls, rt.callsKnown = m.Calls, true
	ws, ok := r.callsWaiters[m.Actor]
	if !ok {
		return
	}
	delete(r.callsWaiters, m.Actor)
	for _, w := range ws {
		w(*m)
	}
}
