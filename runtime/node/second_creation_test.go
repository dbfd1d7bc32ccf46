package node

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// oneActorRegistry registers one actor type, "A", with no methods.
type oneActorRegistry struct{}

func (oneActorRegistry) Func(string) (Func, bool)           { return nil, false }
func (oneActorRegistry) MultiFunc(string) (MultiFunc, bool) { return nil, false }
func (oneActorRegistry) Actor(name string) (*ActorType, bool) {
	if name != "A" {
		return nil, false
	}
	return &ActorType{New: func(context.Context, []transport.Value) (any, error) { return struct{}{}, nil }}, true
}
func (oneActorRegistry) Digest() uint64 { return 1 }

// TestSecondCreationEndsHostedInstance: a creation of an actor this raylet
// already hosts (a retry its creator sent on the actor table's word that
// the actor was never seen alive, the first attempt's news still on its
// way) replaced the hosted instance in the raylet's table without ending
// it. The first instance ran on unseen: the calls it held were neither
// run for good nor bounced, and the table's answers to its method-log
// writes went to the second, so a result it held was never published
// (the fault search's stale-creation-run-at-rejoin, whose
// caller waited for good). The raylet now ends the hosted instance first,
// as a worker crash would, and bounces its calls to their owners.
func TestSecondCreationEndsHostedInstance(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	r.cfg.Registry = oneActorRegistry{}
	creation := transport.TaskSpec{ID: 42, Func: "A", NumReturns: 1, Owner: 9, Actor: 42, Act: &transport.ActorSpec{Creation: true}}
	r.Handle(60, &transport.PlaceTask{Spec: creation, Reason: "bottom-up", Incarnation: 1})
	first := r.actors[42]
	require.NotNil(t, first, "the first creation started")

	call := transport.TaskSpec{ID: 100, Func: "m", NumReturns: 1, Owner: 9, Actor: 42, Act: &transport.ActorSpec{Caller: 77, Seq: 0}}
	r.Handle(9, &transport.ActorCall{Spec: call, Incarnation: 1})
	require.Len(t, first.queue, 1, "the call waits for the first instance")

	env.sent = nil
	creation.Attempt = 1
	r.Handle(60, &transport.PlaceTask{Spec: creation, Reason: "bottom-up", Incarnation: 1})
	require.NotSame(t, first, r.actors[42], "the second creation started")
	require.True(t, first.dead, "the first instance runs on beside the second")
	bounced := false
	for _, m := range env.sent {
		if b, ok := m.(*transport.CallBounced); ok && b.Task == call.ID {
			bounced = b.Dropped
		}
	}
	require.True(t, bounced, "the call the first instance held was neither run nor bounced to its owner")
}

// TestDuplicateCreationKeepsHostedInstance: a copy of the hosted
// instance's own creation (a duplicated frame), or an older attempt's,
// starts nothing and leaves the instance and its calls alone.
func TestDuplicateCreationKeepsHostedInstance(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	r.cfg.Registry = oneActorRegistry{}
	creation := transport.TaskSpec{ID: 42, Func: "A", NumReturns: 1, Owner: 9, Actor: 42, Attempt: 1, Act: &transport.ActorSpec{Creation: true}}
	r.Handle(60, &transport.PlaceTask{Spec: creation, Reason: "bottom-up", Incarnation: 1})
	first := r.actors[42]
	require.NotNil(t, first, "the creation started")
	call := transport.TaskSpec{ID: 100, Func: "m", NumReturns: 1, Owner: 9, Actor: 42, Act: &transport.ActorSpec{Caller: 77, Seq: 0}}
	r.Handle(9, &transport.ActorCall{Spec: call, Incarnation: 1})
	free := r.avail

	for _, attempt := range []uint32{1, 0} {
		env.sent = nil
		creation.Attempt = attempt
		r.Handle(60, &transport.PlaceTask{Spec: creation, Reason: "bottom-up", Incarnation: 1})
		require.Same(t, first, r.actors[42], "attempt %d replaced the instance", attempt)
		require.False(t, first.dead)
		require.Len(t, first.queue, 1, "the instance's call is gone")
		require.Equal(t, free, r.avail, "attempt %d holds resources", attempt)
		_, queued := r.tasks.Get(creation.ID)
		require.False(t, queued, "attempt %d waits to run", attempt)
	}
}
