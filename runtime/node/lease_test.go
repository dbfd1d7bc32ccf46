package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestFencedNodeStartsNothing: a node the node table has not answered for
// most of its timeout starts no task (it may be declared dead any moment,
// and a task placed on a zombie read the zombie's own copy of a value the
// task table never recorded: zombie-serves-unrecorded-value in
// scenarios/check). Only the node table's answer to a heartbeat renews the
// lease, and then the queued task starts.
func TestFencedNodeStartsNothing(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	env.now = env.now.Add(100 * time.Second)
	sent := r.since()
	r.Handle(50, &transport.HeartbeatAck{Node: r.self, Incarnation: 1, From: sent})
	env.now = env.now.Add(r.leaseTerm() - time.Millisecond)
	r.checkLease()
	require.False(t, r.lease.fenced, "fenced before the lease ran out")
	env.now = env.now.Add(time.Millisecond)
	r.checkLease()
	require.True(t, r.lease.fenced)

	spec := transport.TaskSpec{ID: 42, Func: "f", NumReturns: 1, Owner: 9, Resources: transport.MakeResources(1, 0, nil)}
	r.Handle(60, &transport.PlaceTask{Spec: spec, Reason: "bottom-up", Incarnation: 1})
	state := func() string {
		for _, v := range r.Tasks() {
			if v.ID == spec.ID {
				return v.State
			}
		}
		return "gone"
	}
	require.Equal(t, "queued", state(), "a fenced node started a task")

	now := r.since()
	r.Handle(7, &transport.HeartbeatAck{Node: r.self, Incarnation: 1, From: now})  // a raylet's: not the node table's
	r.Handle(50, &transport.HeartbeatAck{Node: r.self, Incarnation: 0, From: now}) // another incarnation's
	r.Handle(50, &transport.HeartbeatAck{Node: r.self, Incarnation: 1, From: now - r.leaseTerm()})
	r.Handle(50, &transport.HeartbeatAck{Node: r.self, Incarnation: 1, From: now + time.Hour}) // not sent yet: forged
	require.Equal(t, "queued", state(), "the lease was renewed by an answer that does not renew it")

	r.Handle(50, &transport.HeartbeatAck{Node: r.self, Incarnation: 1, From: now})
	require.False(t, r.lease.fenced)
	require.NotEqual(t, "queued", state(), "the renewed lease did not start the queued task")
}
