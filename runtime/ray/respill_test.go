package ray_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// respillEvents folds a run's events into what the re-spill tests look
// at (netsim: one goroutine at a time).
type respillEvents struct {
	runs      map[transport.TaskID]int // task.running per task
	finished  map[transport.TaskID]int
	respilled int
	ranOn     map[transport.NodeID]int // runs of the workload's tasks per node
}

func (e *respillEvents) event(ev *transport.Event) {
	if e.runs == nil {
		e.runs, e.finished, e.ranOn = map[transport.TaskID]int{}, map[transport.TaskID]int{}, map[transport.NodeID]int{}
	}
	switch ev.Kind {
	case transport.EvTaskRunning:
		if ev.Detail == "respill.work" {
			e.runs[ev.Task]++
			e.ranOn[ev.Node]++
		}
	case transport.EvTaskFinished:
		e.finished[ev.Task]++
	case transport.EvTaskPlaced:
		if strings.HasPrefix(ev.Detail, "respilled") {
			e.respilled++
		}
	}
}

// TestQueuedBacklogMovesToLaterNode: a burst queued on a 2-CPU head (the
// only node up: it keeps what it can run) moves, in part, onto a 4-CPU
// node that joins later (ray.NodeConfig.Start): the head's raylet
// re-spills its queued tasks once the scheduler's answer to its heartbeat
// shows the new node's room. Every result is right, every task ran once,
// and the burst ends well before the 3 s the head alone takes. Before,
// the late node ran nothing.
func TestQueuedBacklogMovesToLaterNode(t *testing.T) {
	reg := ray.NewRegistry()
	work := ray.Register1(reg, "respill.work", func(ctx context.Context, i int) (int, error) {
		if err := ray.Compute(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
		return 3 * i, nil
	})
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "late", CPUs: 4, Start: 300 * time.Millisecond}}
	var ev respillEvents
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, MaxVirtual: time.Minute, OnEvent: ev.event}, reg)
	require.NoError(t, err)
	defer c.Close()
	const n = 60
	var took time.Duration
	require.NoError(t, c.Run(func(ctx context.Context) error {
		start := ray.Mono(ctx)
		refs := make([]ray.Ref[int], n)
		for i := range refs {
			refs[i] = work.Remote(ctx, i)
		}
		got, err := ray.GetAll(ctx, refs, time.Minute)
		if err != nil {
			return err
		}
		took = ray.Mono(ctx).Sub(start)
		for i, v := range got {
			assert.Equal(t, 3*i, v, "result %d", i)
		}
		return nil
	}))
	require.Len(t, ev.runs, n)
	for id, k := range ev.runs {
		assert.Equal(t, 1, k, "task %v ran once", id)
	}
	head, late := transport.NodeID(ray.RayletID(0)), transport.NodeID(ray.RayletID(1))
	assert.Greater(t, ev.ranOn[late], n/3, "the late node took a share of the backlog: %v", ev.ranOn)
	assert.Equal(t, n, ev.ranOn[head]+ev.ranOn[late])
	assert.Positive(t, ev.respilled)
	assert.LessOrEqual(t, ev.respilled, n-6, "at most what fit elsewhere moved, not the tasks the head ran first")
	assert.Less(t, took, 2*time.Second, "the head alone takes 3s")
	assert.Positive(t, c.Raylet(0).Stats.Respilled)
}

// TestRespillKeepsAffinityAndCancels: queued tasks with a hard node
// affinity to the head stay there when a node joins with room (only the
// free tasks move), and tasks cancelled while the backlog is being moved
// end cancelled (none runs after its cancel, none twice) while every
// other result is right.
func TestRespillKeepsAffinityAndCancels(t *testing.T) {
	reg := ray.NewRegistry()
	work := ray.Register1(reg, "respill.work", func(ctx context.Context, i int) (int, error) {
		if err := ray.Compute(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
		return 3 * i, nil
	})
	where := ray.Register1(reg, "respill.where", func(ctx context.Context, i int) (uint64, error) {
		if err := ray.Compute(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
		return uint64(ray.NodeOf(ctx)), nil
	})
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "late", CPUs: 4, Start: 300 * time.Millisecond}}
	var ev respillEvents
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, WireCheck: true, MaxVirtual: time.Minute, OnEvent: ev.event}, reg)
	require.NoError(t, err)
	defer c.Close()
	head := transport.NodeID(ray.RayletID(0))
	pinned := where.Options(ray.NodeAffinity(head, false))
	const n = 40
	require.NoError(t, c.Run(func(ctx context.Context) error {
		refs := make([]ray.Ref[int], n)
		var at []ray.Ref[uint64]
		for i := range refs {
			at = append(at, pinned.Remote(ctx, i))
			refs[i] = work.Remote(ctx, i)
		}
		if err := ray.Compute(ctx, 350*time.Millisecond); err != nil { // the late node is up, the re-spill under way
			return err
		}
		for i := 3; i < n; i += 6 { // every sixth task
			require.NoError(t, ray.Cancel(ctx, refs[i]))
		}
		for i, ref := range refs {
			v, err := ray.Get(ctx, ref)
			if i%6 == 3 {
				// Queued still (on the head or moved to the late node):
				// the cancel finds it waiting, and it never runs.
				assert.ErrorIs(t, err, ray.ErrCancelled, "task %d", i)
				continue
			}
			require.NoError(t, err, "task %d", i)
			assert.Equal(t, 3*i, v, "task %d", i)
		}
		got, err := ray.GetAll(ctx, at, time.Minute)
		require.NoError(t, err)
		for i, v := range got {
			assert.Equal(t, uint64(head), v, "pinned task %d ran on the head", i)
		}
		return nil
	}))
	for id, k := range ev.runs {
		assert.Equal(t, 1, k, "task %v ran once", id)
	}
	assert.Positive(t, ev.respilled)
	late := transport.NodeID(ray.RayletID(1))
	assert.Positive(t, ev.ranOn[late], "free tasks moved")
}
