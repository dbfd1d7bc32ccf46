package node

import (
	"context"
	"time"

	"raysim/runtime/transport"
)

// ClusterView asks the global scheduler for its view of the cluster's
// raylets (ray.Nodes, ray.ClusterResources): every raylet it has heard
// register, at its latest incarnation, alive or declared dead, with its
// last heartbeat's totals and free resources. The question is asked again every
// lookupTimeout until answered (a lost query or answer); ctx's end and a
// driver's abandoned cluster end the wait with their error.
func (c *Caller) ClusterView(ctx context.Context) (view *transport.ClusterView, err error) {
	err = c.awaitAnswer(ctx, func(finish func(error), _ *bool) (forget func()) {
		r := c.r
		if r.views == nil {
			r.views = make(map[uint64]func(*transport.ClusterView))
		}
		r.viewSeq++
		seq := r.viewSeq
		r.views[seq] = func(v *transport.ClusterView) {
			view = v
			finish(nil)
		}
		r.askView(seq)
		return func() { delete(r.views, seq) } // its asking stops with it
	})
	return view, err
}

// awaitAnswer blocks the caller until a question start asks (on the loop)
// is answered, the driver's cluster is abandoned, or, on TCP, ctx ends.
// start registers its waiter, sends the question and returns how to forget
// the waiter (nil: nothing to); the waiter calls finish(nil) once the
// answer is in. ended is true once the wait is over (a waiter list may
// drop such waiters). The error is the abandonment's or ctx's, or nil.
func (c *Caller) awaitAnswer(ctx context.Context, start func(finish func(error), ended *bool) (forget func())) (err error) {
	var cw ctxWatch
	defer cw.end()
	c.r.env.Await(func(wake func()) {
		r := c.r
		if r.abandon.err != nil {
			err = r.abandon.err
			wake()
			return
		}
		done := false
		unblock, forget := func() {}, func() {}
		finish := func(e error) {
			if done {
				return
			}
			done = true
			unblock()
			forget()
			err = e
			wake()
		}
		if f := start(finish, &done); f != nil {
			forget = f
		}
		if done {
			forget()
			return
		}
		unblock = c.onAbandon(func() { finish(r.abandon.err) })
		cw.unwatch = c.watch(ctx, finish)
	})
	return err
}

// askView sends the query numbered seq, and again while it is unanswered.
func (r *Raylet) askView(seq uint64) {
	r.send(r.cfg.Layout.Scheduler, &transport.ClusterQuery{Seq: seq})
	r.env.After(lookupTimeout, func() {
		if r.views[seq] != nil && r.abandon.err == nil {
			r.askView(seq)
		}
	})
}

// onClusterView hands the scheduler's answer to the caller that asked; a
// second answer to a resent query finds none and is dropped.
func (r *Raylet) onClusterView(m *transport.ClusterView) {
	if f := r.views[m.Seq]; f != nil {
		f(m)
	}
}

// confirmScheduled asks the global scheduler for its view until it lists
// this incarnation alive, then calls Config.OnScheduled (once: the
// question is not asked again).
func (r *Raylet) confirmScheduled() {
	if r.views == nil {
		r.views = make(map[uint64]func(*transport.ClusterView))
	}
	r.viewSeq++
	seq := r.viewSeq
	r.views[seq] = func(v *transport.ClusterView) {
		delete(r.views, seq) // answered: askView stops asking
		for _, n := range v.Nodes {
			if n.Node == r.self && n.Incarnation >= r.cfg.Incarnation && n.Alive {
				r.cfg.OnScheduled()
				return
			}
		}
		r.env.After(scheduledRetry, r.confirmScheduled)
	}
	r.askView(seq)
}

// scheduledRetry is how long confirmScheduled waits to ask again when the
// scheduler's view does not list this node yet (its registration is on
// its way from the node table).
const scheduledRetry = 10 * time.Millisecond
