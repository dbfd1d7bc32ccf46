package ray_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// A task's owner (the node that submitted it) retries it when its node
// dies. When the owner dies first and then the node running the task, a
// reader holding a ref to the task's result waited for good on both
// transports (QA28b finding 1): nobody retried the task, nobody failed
// the reader. raysim keeps lineage in the GCS, so a ref outlives its
// owner: the reader rebuilds the result from lineage, charged to the
// task's max_retries, or gets ErrObjectLost saying the owner died once
// they are spent. These cases join the semantic suite (both transports);
// they need a runner that can crash nodes.
func init() { semanticCases = append(semanticCases, ownerDeathCases...) }

// ownerFuncs are the functions of ownerDeathCases.
type ownerFuncs struct {
	// work counts its runs, computes for orphanWorkMs, and returns x.
	work *ray.Func[int]
	runs atomic.Int64
	// submit submits work(x), soft-pinned to node 2 with the given
	// max_retries, and returns its ref without waiting for it: its node
	// is the child's owner.
	submit *ray.Func[ray.Ref[int]]
	// submitHere is submit pinning work to its own node: the child's
	// owner runs it.
	submitHere *ray.Func[ray.Ref[int]]
	// put puts x and returns its ref: its node is the object's owner.
	put *ray.Func[ray.Ref[int]]
	// lostHow reads refs[0] and says how it failed: "owner died",
	// "lost", or "read" when it did not.
	lostHow *ray.Func[string]
}

func newOwnerFuncs(reg *ray.Registry) *ownerFuncs {
	f := &ownerFuncs{}
	f.work = ray.Register1(reg, "ownerWork", func(ctx context.Context, x int) (int, error) {
		f.runs.Add(1)
		if err := ray.Compute(ctx, orphanWorkMs*time.Millisecond); err != nil {
			return 0, err
		}
		return x, nil
	})
	f.submit = ray.Register2(reg, "ownerSubmit", func(ctx context.Context, x, retries int) (ray.Ref[int], error) {
		ref := f.work.Options(ray.NodeAffinity(ray.RayletID(2), true), ray.MaxRetries(retries)).Remote(ctx, x)
		return ref, ref.Err()
	})
	f.submitHere = ray.Register2(reg, "ownerSubmitHere", func(ctx context.Context, x, retries int) (ray.Ref[int], error) {
		ref := f.work.Options(ray.NodeAffinity(ray.NodeOf(ctx), true), ray.MaxRetries(retries)).Remote(ctx, x)
		return ref, ref.Err()
	})
	f.put = ray.Register1(reg, "ownerPut", func(ctx context.Context, x int) (ray.Ref[int], error) {
		return ray.Put(ctx, x)
	})
	f.lostHow = ray.Register1(reg, "ownerLostHow", func(ctx context.Context, refs []ray.Ref[int]) (string, error) {
		_, err := ray.GetTimeout(ctx, refs[0], 30*time.Second)
		switch {
		case errors.Is(err, ray.ErrOwnerDied):
			return "owner died", nil
		case errors.Is(err, ray.ErrObjectLost):
			return "lost", nil
		}
		return "read", err
	})
	return f
}

// orphanWorkMs is how long the child computes: past the node timeout (1 s
// in netsim, 3 s on TCP) and the readers' grace (1 s), so that it still
// runs when its owner is declared dead.
const orphanWorkMs = 5000

// startOrphan has a task on node 1 submit work to node 2 and return its
// ref; it returns the ref once work runs on node 2.
func startOrphan(t *testing.T, ctx context.Context, s *suite, x, retries int) ray.Ref[int] {
	t.Helper()
	return startChild(t, ctx, s, s.owner.submit, x, retries)
}

// startChild has submit run on node 1 and returns its child's ref once
// the child runs.
func startChild(t *testing.T, ctx context.Context, s *suite, submit *ray.Func[ray.Ref[int]], x, retries int) ray.Ref[int] {
	t.Helper()
	child, err := ray.Get(ctx, submit.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, x, retries))
	require.NoError(t, err)
	for i := 0; s.owner.runs.Load() == 0; i++ {
		require.Less(t, i, 3000, "the child never started")
		require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
	}
	return child
}

var ownerDeathCases = []semanticCase{
	{"owner death: a Put's object lost with the node that put it is ErrOwnerDied", func(t *testing.T, ctx context.Context, s *suite) {
		// QA28b finding 13 (R03): Ray's OwnerDiedError; raysim said
		// ErrObjectLost alone.
		if s.crash == nil {
			return
		}
		ref, err := ray.GetTimeout(ctx, s.owner.put.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 5), 30*time.Second)
		require.NoError(t, err)
		s.crash(1)
		_, err = ray.GetTimeout(ctx, ref, 60*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.ErrorIs(t, err, ray.ErrOwnerDied)
		assert.NotErrorIs(t, err, ray.ErrStreamOwnerDied)
		assert.Contains(t, err.Error(), "its owner died")
		// A Put freed is lost, but not with its owner: read twice (the
		// first read must not make the second an owner's death).
		mine, err := ray.Put(ctx, 6)
		require.NoError(t, err)
		require.NoError(t, ray.Free(ctx, mine))
		for i := range 2 {
			_, err = ray.GetTimeout(ctx, mine, 30*time.Second)
			require.ErrorIs(t, err, ray.ErrObjectLost, "read %d", i)
			assert.NotErrorIs(t, err, ray.ErrOwnerDied, "read %d", i)
		}
		// Nor read from another node, after the driver's reads.
		got, err := ray.GetTimeout(ctx, s.owner.lostHow.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, []ray.Ref[int]{mine}), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "lost", got)
	}},
	{"owner death: the owner and the node running its task die: a reader rebuilds the result", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		child := startOrphan(t, ctx, s, 7, 3)
		s.crash(1) // the owner
		s.crash(2) // the executor
		v, err := ray.GetTimeout(ctx, child, 60*time.Second)
		require.NoError(t, err, "waited for good before")
		assert.Equal(t, 7, v)
		assert.Equal(t, int64(2), s.owner.runs.Load(), "one run lost, one rebuild")
	}},
	{"owner death: with max_retries 0 the reader gets ErrObjectLost naming the dead owner", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		child := startOrphan(t, ctx, s, 8, 0)
		s.crash(1)
		s.crash(2)
		_, err := ray.GetTimeout(ctx, child, 60*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.ErrorIs(t, err, ray.ErrOwnerDied, "Ray's OwnerDiedError")
		assert.NotErrorIs(t, err, ray.ErrStreamOwnerDied)
		assert.Contains(t, err.Error(), fmt.Sprintf("its owner, node %d, died", ray.RayletID(1)))
		assert.Contains(t, err.Error(), "max_retries 0")
		assert.Equal(t, int64(1), s.owner.runs.Load(), "no rebuild with max_retries 0")
	}},
	{"owner death: only the owner dies: the run under way gives the value, not run twice", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		child := startOrphan(t, ctx, s, 9, 3)
		s.crash(1)
		v, err := ray.GetTimeout(ctx, child, 60*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 9, v)
		assert.Equal(t, int64(1), s.owner.runs.Load())
	}},
}

// simOwnerDeath runs body on a simulated cluster of testNodes and counts
// the rebuilds from lineage (object.reconstructed) of any task.
func simOwnerDeath(t *testing.T, body func(ctx context.Context, s *suite)) (rebuilds int) {
	t.Helper()
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvObjectReconstructed {
			rebuilds++
		}
	}}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	s.crash = func(i int) { c.Netsim().Crash(netsim.NodeID(ray.RayletID(i))) }
	require.NoError(t, c.Run(func(ctx context.Context) error {
		body(ctx, s)
		return nil
	}))
	return rebuilds
}

// TestOrphanRunAdopted: only the owner dies, the node running its task
// lives. The reader, told the owner died (ObjectOrphaned), claims the
// rebuild a second later; the executor told the task table first that it
// runs the task (GcsAdoptRun), so the claim waits for that run: no
// rebuild is started. Without the executor's word the reader rebuilt it
// (placed beside the run under way, on the task's soft target).
func TestOrphanRunAdopted(t *testing.T) {
	rebuilds := simOwnerDeath(t, func(ctx context.Context, s *suite) {
		child := startOrphan(t, ctx, s, 9, 3)
		s.crash(1)
		v, err := ray.GetTimeout(ctx, child, 60*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 9, v)
		require.NoError(t, ray.Compute(ctx, orphanWorkMs*time.Millisecond)) // a rebuild started would have run by now
		assert.Equal(t, int64(1), s.owner.runs.Load())
	})
	assert.Zero(t, rebuilds, "a rebuild of a task whose run was under way")
}

// TestOrphanRunOnItsOwnersNode: a task running on its owner's own node
// (a child a task submitted where it runs), whose ref the driver holds:
// the node dies, and the driver's Get waited for good before; it is
// rebuilt on another node.
func TestOrphanRunOnItsOwnersNode(t *testing.T) {
	rebuilds := simOwnerDeath(t, func(ctx context.Context, s *suite) {
		child := startChild(t, ctx, s, s.owner.submitHere, 11, 3)
		s.crash(1)
		v, err := ray.GetTimeout(ctx, child, 60*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 11, v)
		assert.Equal(t, int64(2), s.owner.runs.Load())
	})
	assert.Equal(t, 1, rebuilds)
}
