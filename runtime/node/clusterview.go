package node

import (
	"context"

	"raysim/runtime/transport"
)

// ClusterView asks the global scheduler for its view of the cluster's
// raylets (ray.Nodes, ray.ClusterResources): every raylet it has heard
// register, at its latest incarnation, alive or declared dead, with its
// last heartbeat's totals and free resources. The question is asked again every
// lookupTimeout until answered (a lost query or answer); ctx's end and a
// driver's abandoned cluster end the wait with their error.
func (c *Caller) ClusterView(ctx context.Context) (view *transport.ClusterView, err error) {
	var unwatch func() bool
	defer func() {
		if unwatch != nil {
			unwatch()
		}
	}()
	c.r.env.Await(func(wake func()) {
		r := c.r
		if r.abandon.err != nil {
			err = r.abandon.err
			wake()
			return
		}
		if r.views == nil {
			r.views = make(map[uint64]func(*transport.ClusterView))
		}
		r.viewSeq++
		seq := r.viewSeq
		done := false
		unblock := func() {}
		finish := func(v *transport.ClusterView, e error) {
			if done {
				return
			}
			done = true
			delete(r.views, seq)
			unblock()
			view, err = v, e
			wake()
		}
		r.views[seq] = func(v *transport.ClusterView) { finish(v, nil) }
		unblock = c.onAbandon(func() { finish(nil, r.abandon.err) })
		unwatch = c.watch(ctx, func(cerr error) { finish(nil, cerr) })
		r.askView(seq)
	})
	return view, err
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
