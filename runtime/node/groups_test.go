package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestBundleLedger: on fuzzRaylet's raylet (bundle 0 of group 1 committed,
// a task of it placed; bundle 1 of group 2 set aside), a prepare from
// anyone but the scheduler, for another incarnation, or naming an index
// twice sets nothing aside; the release of group 1 cancels its task and
// gives the node its resources back once the task returns; and after both
// releases the node's total and free resources are its own again.
func TestBundleLedger(t *testing.T) {
	r, env := fuzzRaylet(t)
	own := transport.MakeResources(6, 1, nil)
	cpu := transport.MakeResources(1, 0, nil)
	require.Equal(t, own.Sub(cpu).Add(transport.BundleResources(1, 0, cpu)), r.Total())
	task, ok := r.tasks.Get(fzPlaced + 1)
	require.True(t, ok, "the group's task was accepted")
	require.True(t, task.running, "and runs on the bundle's CPU")

	before := r.Available()
	sent := env.Sent
	for _, m := range []struct {
		from transport.NodeID
		msg  *transport.BundlePrepare
	}{
		{fzPeer, &transport.BundlePrepare{Group: 3, Round: 3, Incarnation: 1, Bundles: []transport.Bundle{{Index: 0, Resources: cpu}}}},
		{60, &transport.BundlePrepare{Group: 3, Round: 3, Incarnation: 2, Bundles: []transport.Bundle{{Index: 0, Resources: cpu}}}},
		{60, &transport.BundlePrepare{Group: 3, Round: 3, Incarnation: 1, Bundles: []transport.Bundle{{Index: 0, Resources: cpu}, {Index: 0, Resources: cpu}}}},
		{60, &transport.BundlePrepare{Group: 3, Round: 3, Incarnation: 1, Bundles: []transport.Bundle{{Index: 0, Resources: transport.MakeResources(64, 0, nil)}}}},
	} {
		r.Handle(m.from, m.msg)
	}
	require.Equal(t, before, r.Available(), "nothing set aside")
	require.Equal(t, sent+3, env.Sent, "the scheduler's three prepares answered (refused); the peer's ignored")

	r.Handle(60, &transport.BundleRelease{Group: 1, Indices: []uint32{0}})
	require.True(t, task.cancelled, "the removed group's running task is cancelled")
	r.Handle(60, &transport.BundleRelease{Group: 2, Indices: []uint32{1}})
	require.Equal(t, own, r.Total())
	r.finish(task, transport.Value{}) // it returns: what it held comes back
	r.compactAvail()
	free := r.Available()
	for _, q := range free.Custom {
		require.False(t, transport.IsBundleResource(q.Name), "a group's resource left in %v", free)
	}
}

// TestRejoinRespillsGroupTasks: a node that rejoins drops its bundles; a
// task of its own queued in one (behind the group's running task) goes
// back to the scheduler, which holds it until the bundle is placed again,
// instead of waiting here for good for resources the node no longer has.
func TestRejoinRespillsGroupTasks(t *testing.T) {
	r, _ := fuzzRaylet(t)
	cpu := transport.MakeResources(1, 0, nil)
	own := &transport.TaskSpec{ID: fzOwned + 5, Parent: fzDriver, Func: "f", NumReturns: 1, Owner: fzSelf, Resources: transport.InBundle(1, 0, cpu)}
	r.submit(own)
	q, ok := r.tasks.Get(own.ID)
	require.True(t, ok, "queued here, where its bundle is")
	require.False(t, q.running, "behind the group's running task")
	r.rejoin()
	_, ok = r.tasks.Get(own.ID)
	require.False(t, ok, "still queued on a node without its bundle")
	require.NotNil(t, r.owned[own.ID], "spilled, and owned for retries")
	require.Equal(t, transport.MakeResources(6, 1, nil), r.Total())
}
