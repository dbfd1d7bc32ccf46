package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNodeJoinsLater: a node with a Start joins the simulated cluster then
// (NodeConfig.Start): before it, it does not exist, and a task needing
// its resource waits as an infeasible one does; once it has registered,
// the task runs there. The first node must start with the cluster, and a
// TCP cluster refuses a later start.
func TestNodeJoinsLater(t *testing.T) {
	reg := ray.NewRegistry()
	where := ray.Register0(reg, "where", func(ctx context.Context) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "late", CPUs: 1, Resources: map[string]float64{"accel": 1}, Start: 500 * time.Millisecond}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, MaxVirtual: time.Minute}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.Nil(t, c.Raylet(1), "not joined yet")
	var at time.Duration
	var ran uint64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		start := ray.Mono(ctx)
		_, err := ray.GetTimeout(ctx, where.Options(ray.Resource("accel", 1)).Remote(ctx), 100*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout, "no node has accel before the late one joins")
		ran, err = ray.Get(ctx, where.Options(ray.Resource("accel", 1)).Remote(ctx))
		at = ray.Mono(ctx).Sub(start)
		return err
	}))
	assert.Equal(t, uint64(ray.RayletID(1)), ran, "it ran on the late node")
	assert.GreaterOrEqual(t, at, 500*time.Millisecond, "not before the node joined")
	assert.NotNil(t, c.Raylet(1))

	_, err = ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", Start: time.Second}}}, reg)
	assert.ErrorContains(t, err, "the first node starts with the cluster")
	_, err = ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "x", Start: -time.Second}}}, reg)
	assert.ErrorContains(t, err, "want 0")
	_, err = ray.NewTCP(context.Background(), ray.Config{Nodes: nodes}, reg)
	assert.ErrorContains(t, err, "a node joining later is the simulator's")
}

// TestStandbyNodeLaunchedAndTerminated: a standby node (NodeConfig.Standby)
// is not there until Launch; a task needing its resource waits for it;
// Terminate declares it dead at once (its goodbye) and stops it; a second
// Launch brings it back as a new incarnation.
func TestStandbyNodeLaunchedAndTerminated(t *testing.T) {
	reg := ray.NewRegistry()
	where := ray.Register0(reg, "where", func(ctx context.Context) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "pool", CPUs: 1, Resources: map[string]float64{"accel": 1}, Standby: true}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, MaxVirtual: time.Minute}, reg)
	require.NoError(t, err)
	defer c.Close()
	sim := c.Netsim()
	sim.At(300*time.Millisecond, func() { require.NoError(t, c.Launch(1)) })
	var dead time.Duration
	require.NoError(t, c.Run(func(ctx context.Context) error {
		accel := where.Options(ray.Resource("accel", 1))
		_, err := ray.GetTimeout(ctx, accel.Remote(ctx), 100*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout, "no accel before the launch")
		v, err := ray.Get(ctx, accel.Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, uint64(ray.RayletID(1)), v)
		assert.Error(t, c.Launch(1), "it is up")
		require.NoError(t, c.Terminate(1))
		start := ray.Mono(ctx)
		for c.Global().Loads()[1].Dead == false {
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		dead = ray.Mono(ctx).Sub(start)
		require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
		assert.Nil(t, c.Raylet(1), "stopped")
		require.NoError(t, c.Launch(1))
		v, err = ray.Get(ctx, accel.Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, uint64(ray.RayletID(1)), v, "back")
		return nil
	}))
	assert.Less(t, dead, 500*time.Millisecond, "declared dead on its goodbye, not after the 1s node timeout")
	_, err = ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", Standby: true}}}, reg)
	assert.ErrorContains(t, err, "the first node starts with the cluster")
}

// TestTerminateRefusesADriversNode: Terminate of the node running Run's
// driver (or any driver) is refused: the driver vanished mid-function and
// Run returned nil (QA). Out of range is an error too.
func TestTerminateRefusesADriversNode(t *testing.T) {
	reg := ray.NewRegistry()
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "w"}}, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		assert.ErrorContains(t, c.Terminate(0), "drivers run there")
		assert.ErrorContains(t, c.Terminate(7), "the cluster has nodes 0 to 1")
		assert.NoError(t, c.Terminate(1))
		return nil
	}))
}
