package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/objstore"
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

// TestStalePlacementOfEarlierRebuildIsNotTheNextRebuilds: as
// TestStalePlacementIsNotTheRebuilds, one rebuild later. Every rebuild of
// a task starts from the task table's spec, so two rebuilds named the
// same submission (Attempt, Rebuild): the placement of the first, held up,
// was taken for the second's, which was charged the first's node death
// and given up while it ran on. Found in review.
func TestStalePlacementOfEarlierRebuildIsNotTheNextRebuilds(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const task, node = transport.TaskID(42), transport.NodeID(7)
	spec := transport.TaskSpec{ID: task, Func: "f", NumReturns: 1, Owner: 9, Strategy: transport.StrategySpread, MaxRetries: 2} // spilled
	obj := spec.Return(0)
	r.need(obj, waitFunc(func(*objstore.Entry) {})) // a reader here
	// Rebuild 1, placed on node 7's incarnation 1 (its TaskPlaced held
	// up), finishes. The task table numbers the task's re-executions.
	r.Handle(50, &transport.ObjectLost{Object: obj})
	spec.Attempt = 1
	r.Handle(50, &transport.TaskInfo{Task: task, Found: true, Recorded: true, Spec: spec, Claim: transport.ClaimRun})
	first := *r.owned[task].spec
	require.True(t, r.owned[task].rebuilt)
	r.Handle(50, &transport.TaskDone{Task: task, Node: node})
	// Node 7's incarnation 1 dies with the only copy: rebuild 2.
	r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 1})
	r.Handle(50, &transport.ObjectLost{Object: obj})
	spec.Attempt = 2
	r.Handle(50, &transport.TaskInfo{Task: task, Found: true, Recorded: true, Spec: spec, Claim: transport.ClaimRun})
	// Rebuild 1's placement arrives at last.
	r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 1, Attempt: first.Attempt, Rebuild: true})
	e, _ := r.store.Get(obj)
	require.Nil(t, e, "the reader was given %v", e)
	o := r.owned[task]
	require.NotNil(t, o, "rebuild 2 was charged rebuild 1's node death")
	require.Zero(t, o.node)
	// Its retries are the task's, shared with the first rebuild: one node
	// death (the task's two spent) ends it.
	r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 2, Attempt: o.spec.Attempt, Rebuild: true})
	require.Equal(t, uint64(2), o.inc)
	r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 2})
	require.Nil(t, r.owned[task])
	e, _ = r.store.Get(obj)
	require.NotNil(t, e)
	require.Equal(t, transport.ErrKindObjectLost, e.Value.ErrKind)
}

// TestPlacementOfHighAttemptIsNotLost: bit 30 of an attempt does not
// travel in TaskPlaced (it carries Rebuild), so an owned spec with it set
// (a corrupt or hostile one in the task table, rebuilt from) matched no
// placement: the owner never learned where its task went, nor retried it
// when that node died. Found in review.
func TestPlacementOfHighAttemptIsNotLost(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const task, node = transport.TaskID(42), transport.NodeID(7)
	spec := &transport.TaskSpec{ID: task, Func: "f", NumReturns: 1, Owner: r.self, Attempt: 1 << 30}
	r.own(spec)
	m, err := roundTrip(&transport.TaskPlaced{Task: task, Node: node, Incarnation: 1, Attempt: spec.Attempt, Rebuild: spec.Rebuild})
	require.NoError(t, err)
	r.Handle(60, m)
	require.Equal(t, node, r.owned[task].node, "its own placement was ignored")
}

// TestRebuildPlacedOnKnownDeadNodeIsFree: a result lost with a node's
// death is rebuilt (the task table charges the rebuild: Attempt 1 of
// max_retries 1), and the global scheduler, not yet told of the death,
// places the rebuild on the dead incarnation. The owner knew that
// incarnation dead before it submitted the rebuild: the rebuild never ran
// there and its retry is free. Before, the same death was charged a second
// time and the reader got ErrObjectLost "its task's retries are spent"
// after one node failure
// (scenarios/check/testdata/rebuild-placed-on-known-dead-node.yaml). A
// death heard after the submission may have ended its run, and is charged.
func TestRebuildPlacedOnKnownDeadNodeIsFree(t *testing.T) {
	const task, node = transport.TaskID(42), transport.NodeID(7)
	rebuild := func(t *testing.T, deathFirst bool) (*Raylet, transport.ObjectID) {
		r, _ := hostileRaylet(t, 0)
		spec := transport.TaskSpec{ID: task, Func: "f", NumReturns: 1, Owner: 9, Strategy: transport.StrategySpread, MaxRetries: 1} // spilled
		obj := spec.Return(0)
		r.need(obj, waitFunc(func(*objstore.Entry) {})) // a reader here
		if deathFirst {
			r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 1}) // the copy's node
		}
		r.Handle(50, &transport.ObjectLost{Object: obj})
		spec.Attempt = 1 // the table charged the rebuild
		r.Handle(50, &transport.TaskInfo{Task: task, Found: true, Recorded: true, Spec: spec, Claim: transport.ClaimRun})
		require.True(t, r.owned[task].rebuilt)
		if !deathFirst {
			r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 1})
		}
		o := r.owned[task]
		r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 1, Attempt: o.spec.Attempt, Rebuild: true})
		return r, obj
	}

	t.Run("known before the submission", func(t *testing.T) {
		r, obj := rebuild(t, true)
		if e, _ := r.store.Get(obj); e != nil {
			t.Fatalf("the reader was given %q: the death the rebuild was charged for was charged again", e.Value.Data)
		}
		o := r.owned[task]
		require.NotNil(t, o)
		require.Zero(t, o.node, "not retried")
		// A real failure of the rebuild still ends it: its one retry is spent.
		r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 2, Attempt: o.spec.Attempt, Rebuild: true})
		require.Equal(t, uint64(2), o.inc)
		r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 2})
		require.Nil(t, r.owned[task])
		e, _ := r.store.Get(obj)
		require.NotNil(t, e)
		require.Equal(t, transport.ErrKindObjectLost, e.Value.ErrKind)
	})
	t.Run("heard after the submission", func(t *testing.T) {
		r, obj := rebuild(t, false)
		require.Nil(t, r.owned[task], "a death heard after the rebuild was submitted was not charged")
		e, _ := r.store.Get(obj)
		require.NotNil(t, e)
		require.Equal(t, transport.ErrKindObjectLost, e.Value.ErrKind)
	})
}

// TestPlainTaskPlacedOnKnownDeadNodeIsCharged: the free retry of
// TestRebuildPlacedOnKnownDeadNodeIsFree is a rebuild's only. A node the
// node table declared dead may still run (cut off from the GCS, reachable
// from the global scheduler) and run what is placed on its incarnation: a
// plain task with max_retries 0 placed there, known dead before it was
// submitted, is not retried free (it could run twice) but charged, and
// its owner asks the task table whether its run finished (review32b #2).
// (Fails before: it was resubmitted.)
func TestPlainTaskPlacedOnKnownDeadNodeIsCharged(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const task, node = transport.TaskID(42), transport.NodeID(7)
	r.Handle(50, &transport.NodeDead{Node: node, Incarnation: 1})
	spec := &transport.TaskSpec{ID: task, Func: "f", NumReturns: 1, Owner: r.self}
	o := r.own(spec)
	r.Handle(60, &transport.TaskPlaced{Task: task, Node: node, Incarnation: 1, Attempt: spec.Attempt})
	require.False(t, o.retried, "a max_retries 0 task placed on a zombie was retried free")
	_, asked := r.asking[task]
	require.True(t, asked, "its owner does not ask the task table whether it finished")
}
