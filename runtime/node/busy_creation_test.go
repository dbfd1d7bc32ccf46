package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestCreationPlacedOnBusyNodeGoesBack: the global scheduler places an
// actor only where its resources are free, by its view; a heartbeat sent
// before another actor took them can make that view stale. The raylet
// accepted such a creation and queued it behind actors that hold their
// resources for life, possibly for good, while another node had room; it
// hands it back now (a local submission already spilled it), unless it is
// pinned here (hard affinity).
func TestCreationPlacedOnBusyNodeGoesBack(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	r.avail = transport.Resources{} // an actor holds the node's CPU
	spec := transport.TaskSpec{ID: 42, Func: "A", NumReturns: 1, Owner: 9, Resources: transport.MakeResources(1, 0, nil),
		Actor: 42, Act: &transport.ActorSpec{Creation: true}}
	r.Handle(60, &transport.PlaceTask{Spec: spec, Reason: "bottom-up", Incarnation: 1})
	spilled := false
	for _, m := range env.sent {
		if s, ok := m.(*transport.SpillTask); ok && s.Spec.ID == spec.ID {
			spilled = true
		}
	}
	require.True(t, spilled, "a creation placed on a node without its resources free was queued there")
	for _, v := range r.Tasks() {
		require.NotEqual(t, spec.ID, v.ID, "the creation is queued here too")
	}

	env.sent = nil
	spec.ID, spec.Actor, spec.Strategy, spec.Target = 43, 43, transport.StrategyNodeHard, r.self
	r.Handle(60, &transport.PlaceTask{Spec: spec, Reason: "affinity", Incarnation: 1})
	queued := false
	for _, v := range r.Tasks() {
		queued = queued || v.ID == spec.ID
	}
	require.True(t, queued, "a creation pinned here (hard affinity) waits here")
}
