package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestStalePlacementIsNotTheRebuilds: the global scheduler's news of where
// it placed a task's first run, held up by a partition, reached the owner
// after the run had finished and its lost result was being rebuilt on the
// placed node's next incarnation. The owner took it for the rebuild's
// placement, charged the death of the node's old incarnation to the
// rebuild and failed it at once while it ran on to its value
// (scenarios/check/testdata/rebuild-failed-on-stale-death.yaml).
// TaskPlaced names the submission it places: the owner ignores another's.
func TestStalePlacementIsNotTheRebuilds(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const task, node = transport.TaskID(42), transport.NodeID(7)
	spec := &transport.TaskSpec{ID: task, Func: "f", NumReturns: 1, Owner: r.self, Rebuild: true}
	r.own(spec).rebuilt = true
	r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 1})

	r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 1}) // the first run's
	o := r.owned[task]
	require.NotNil(t, o, "the rebuild was failed on the first run's placement")
	require.Zero(t, o.node, "the first run's placement was taken for the rebuild's")

	r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 2, Rebuild: true})
	require.Equal(t, node, o.node)
	require.Equal(t, uint64(2), o.inc)
	r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 2})
	require.Nil(t, r.owned[task], "the rebuild's node died with no retry left: the rebuild is over")
}
