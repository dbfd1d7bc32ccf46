package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestShapesOfOddNamesDoNotShareAClass: tasks wait in one FIFO per
// resource shape (a scheduling class), so a task that does not fit never
// holds up a task of another shape. The class key of a shape with custom
// resources was its String(), "CPU=0 GPU=0 a=1 b=2", which two different
// shapes can share when a name holds a space or '=' (Resource refuses
// neither): {a: 1, b: 2} and {"a=1 b": 2}. The second, whose resource is
// free, waited behind the first, whose "a" a running task holds.
func TestShapesOfOddNamesDoNotShareAClass(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	r.cfg.Resources = transport.MakeResources(2, 0, map[string]float64{"a": 1, "b": 2, "a=1 b": 2})
	r.total = r.cfg.Resources                                                                // the node's total (no bundles)
	r.avail = r.cfg.Resources.Sub(transport.MakeResources(0, 0, map[string]float64{"a": 1})) // a running task holds "a"
	x := transport.TaskSpec{ID: 40, Func: "f", NumReturns: 1, Owner: 9, Resources: transport.MakeResources(0, 0, map[string]float64{"a": 1, "b": 2})}
	y := transport.TaskSpec{ID: 41, Func: "f", NumReturns: 1, Owner: 9, Resources: transport.MakeResources(0, 0, map[string]float64{"a=1 b": 2})}
	require.NotEqual(t, x.Resources, y.Resources)
	r.Handle(60, &transport.PlaceTask{Spec: x, Reason: "bottom-up", Incarnation: 1})
	r.Handle(60, &transport.PlaceTask{Spec: y, Reason: "bottom-up", Incarnation: 1})
	ty, ok := r.tasks.Get(y.ID)
	require.True(t, ok)
	require.True(t, ty.running, "a task whose resources are free waits behind one of another shape (avail %v)", r.avail)
}
