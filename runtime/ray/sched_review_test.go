package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Cases from a review of the scheduling and resource-accounting path. Each
// fails on the code as reviewed; see the comment of each for the cause.

// TestActorWaitingForArgsDoesNotStrandAnother: an actor keeps its
// resources for life, so a raylet keeps a creation only when its resources
// are free now (Raylet.schedule; PlaceTask for a placed one). But a
// creation accepted here and still waiting for a by-reference argument
// has taken nothing from r.avail yet: a second creation checked meanwhile
// sees the same CPU free and is accepted too. Once the argument comes the
// first actor takes the CPU and the second waits in its class queue for
// good (until the first dies), though node b's CPU is free all along. Ray
// would lease the second actor on b.
func TestActorWaitingForArgsDoesNotStrandAnother(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "a", CPUs: 1}, {Name: "b", CPUs: 1}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		arg := s.slow.Options(ray.CPUs(0)).Remote(ctx, 50) // ready in 50ms
		h1 := s.counter.Options(ray.CPUs(1)).New(ctx, arg)
		h2 := s.counter.Options(ray.CPUs(1)).New(ctx, arg)
		v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h1), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 50, v)
		v, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h2), 30*time.Second)
		require.NoError(t, err, "the second actor never started (node a: %v, avail %v; node b avail %v)",
			c.Raylet(0).Tasks(), c.Raylet(0).Available(), c.Raylet(1).Available())
		require.Equal(t, 50, v)
		return nil
	}))
}

// TestSpillAvoidsFullyBusyNode: the global scheduler's estimate is queue
// length × mean task time; the queue counts only tasks not yet running, so
// a node whose CPUs are all taken by long tasks and whose queue is empty
// estimates a zero wait, as an idle node does. The tie goes to the lower
// index: spilled short tasks are sent to node b (both CPUs busy for 10 s)
// while idle node c has CPUs free for all of them, and wait there 10 s.
// The scheduler has every node's Available from heartbeats and ignored it
// (Ray's default policy prefers nodes with the resources available).
func TestSpillAvoidsFullyBusyNode(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}, {Name: "c", CPUs: 8}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		b := ray.RayletID(1)
		for range 2 { // b's two CPUs busy for 10 s
			s.slow.Options(ray.NodeAffinity(b, false)).Remote(ctx, 10000)
		}
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // heartbeats report it
		var refs []ray.Ref[uint64]
		for range 20 { // node a keeps what its spill threshold allows, spills the rest
			refs = append(refs, s.where.Options(ray.Duration(10*time.Millisecond)).Remote(ctx))
		}
		on := map[uint64]int{}
		for _, r := range refs {
			n, err := ray.Get(ctx, r)
			require.NoError(t, err)
			on[n]++
		}
		require.Zero(t, on[uint64(b)], "short tasks were placed on node b, whose CPUs are busy for 10 s, while node c was idle (tasks per node %v; the last done at %v)",
			on, c.Netsim().Now())
		return nil
	}))
}

// TestCancelledQueuedTasksLeaveQueue: a cancel of a queued task takes it
// out of the raylet's task table but leaves it in its scheduling class's
// FIFO, and the ready count (QueueLen, heartbeated to the global scheduler
// and compared with the spill threshold) drops only when dispatch pops it
// — once the class head's resources are free. Behind a long task the
// cancelled tasks count as queued for as long as it runs.
func TestCancelledQueuedTasksLeaveQueue(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 1}}, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		long := s.slow.Remote(ctx, 10000)
		var queued []ray.Ref[int]
		for range 6 {
			queued = append(queued, s.slow.Remote(ctx, 10))
		}
		require.NoError(t, ray.Compute(ctx, 50*time.Millisecond))
		for _, r := range queued {
			require.NoError(t, ray.Cancel(ctx, r))
			_, err := ray.Get(ctx, r)
			require.ErrorIs(t, err, ray.ErrCancelled)
		}
		r := c.Raylet(0) // netsim: this coroutine holds the loop
		require.Zero(t, r.QueueLen(), "cancelled tasks still counted as queued (tasks: %v)", r.Tasks())
		return ray.Cancel(ctx, long)
	}))
}

// TestFractionalGPUsFitOneGPU: Ray treats GPU as a unit-instance resource
// (RayConfig predefined_unit_instance_resources, default "GPU"): a
// fractional request is served from one GPU, so on a node with 2 GPUs only
// two 0.6-GPU tasks run at once (0.4 is left on each). raysim keeps GPUs as
// one scalar (transport.Resources.Fits) and starts the third, which would
// straddle two GPUs, leaving 0.2 GPU. (raysim's own check of GPU requests,
// transport.CheckRequest — a fraction below 1 or a whole number — is Ray's
// rule for unit-instance resources.)
func TestFractionalGPUsFitOneGPU(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "g", CPUs: 4, GPUs: 2}}, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var refs []ray.Ref[int]
		for range 3 {
			refs = append(refs, s.slow.Options(ray.GPUs(0.6)).Remote(ctx, 1000))
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		running := 0
		for _, tv := range c.Raylet(0).Tasks() {
			if tv.State == "running" {
				running++
			}
		}
		require.LessOrEqual(t, running, 2, "three 0.6-GPU tasks run at once on 2 GPUs (available now: %v)", c.Raylet(0).Available())
		_, err := ray.GetAll(ctx, refs, -1)
		return err
	}))
}

// TestInfeasibleTasksDoNotSaturateScheduler: the global scheduler re-places
// every held infeasible task on every heartbeat of every node
// (Global.Handle, Heartbeat: retryInfeasible), each placement charging its
// scheduling cost, though a heartbeat that changes no node's total cannot
// make a task infeasible by total feasible. With 20,000 tasks held on a
// 3-node cluster (30 heartbeats/s) that is more work than the scheduler can
// do: its backlog grows without bound and a feasible task's placement
// waits longer and longer (0.6ms without them). Ray retries its infeasible
// queue when the cluster's resources change.
func TestInfeasibleTasksDoNotSaturateScheduler(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		for range 20000 {
			s.double.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		}
		require.NoError(t, ray.Compute(ctx, 2*time.Second))
		for i := range 3 {
			start := c.Netsim().Now()
			_, err := ray.GetTimeout(ctx, s.where.Options(ray.Spread()).Remote(ctx), 10*time.Second)
			require.NoError(t, err)
			took := c.Netsim().Now() - start
			require.Less(t, took, 50*time.Millisecond, "spread task %d (placed by the global scheduler) took %v with infeasible tasks held", i, took)
			require.NoError(t, ray.Compute(ctx, time.Second))
		}
		return nil
	}))
}
