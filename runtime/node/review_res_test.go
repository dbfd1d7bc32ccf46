package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// Cases from a review of 11c2cf6 (per-device GPUs, promised resources of
// queued creations). Each fails on the code as reviewed.

// creationSpec is an actor creation of type "A" (oneActorRegistry)
// asking for res, with the given by-reference arguments.
func creationSpec(id transport.TaskID, res transport.Resources, refs ...transport.ObjectID) transport.TaskSpec {
	s := transport.TaskSpec{ID: id, Func: "A", NumReturns: 1, Owner: 9, Resources: res,
		Actor: transport.ActorID(id), Act: &transport.ActorSpec{Creation: true}}
	for _, ref := range refs {
		s.Args = append(s.Args, transport.Arg{IsRef: true, Ref: ref})
	}
	return s
}

func spilledIDs(sent []transport.Message) []transport.TaskID {
	var out []transport.TaskID
	for _, m := range sent {
		if s, ok := m.(*transport.SpillTask); ok {
			out = append(out, s.Spec.ID)
		}
	}
	return out
}

// TestPromisedCreationKeepsAWholeGPU: a creation waiting for its argument
// promises its resources (r.promised) so that no other actor is accepted
// on them, but the promise is kept on the sum of the GPUs only, not on
// the devices. Node with 3 GPUs; two actors hold 0.7 GPU each (devices 0
// and 1: 0.3 left on each); actor X, asking a whole GPU, is accepted and
// waits for its argument: device 2 is the only one it can have. Actor Y,
// asking 0.5 GPU, then passes both checks (free sum 3-1.4-1 = 0.6; a
// device has 0.5 free) and takes device 2, the only one with 0.5 free.
// When X's argument comes no device is whole: X waits in its class queue
// for as long as the two actors live (for good), the very stranding the
// promise was made to prevent; Y should have been spilled.
func TestPromisedCreationKeepsAWholeGPU(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	r.cfg.Registry = oneActorRegistry{}
	r.cfg.Resources = transport.MakeResources(8, 3, nil)
	r.total = r.cfg.Resources // the node's total (no bundles)
	r.avail = r.cfg.Resources
	r.gpus = newGPUs(r.cfg.Resources.GPU)
	for _, id := range []transport.TaskID{40, 41} {
		s := creationSpec(id, transport.MakeResources(0, 0.7, nil))
		r.Handle(60, &transport.PlaceTask{Spec: s, Reason: "bottom-up", Incarnation: 1})
		require.NotNil(t, r.actors[transport.ActorID(id)], "actor %d started", id)
	}
	require.Equal(t, []int64{transport.Units(0.3), transport.Units(0.3), transport.Units(1)}, r.gpus)

	arg := transport.ObjectID{Task: 500}
	x := creationSpec(42, transport.MakeResources(0, 1, nil), arg)
	r.Handle(60, &transport.PlaceTask{Spec: x, Reason: "bottom-up", Incarnation: 1})
	_, queued := r.tasks.Get(x.ID)
	require.True(t, queued, "X waits for its argument here")

	env.sent = nil
	y := creationSpec(43, transport.MakeResources(0, 0.5, nil))
	r.Handle(60, &transport.PlaceTask{Spec: y, Reason: "bottom-up", Incarnation: 1})

	r.put(arg, transport.Value{Data: []byte("x")}, false) // X's argument comes
	require.NotNil(t, r.actors[transport.ActorID(x.ID)],
		"X, accepted first and promised a whole GPU, never starts: Y took the only whole device (devices free %v; Y spilled: %v; tasks %v)",
		r.gpus, spilledIDs(env.sent), r.Tasks())
}
