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
