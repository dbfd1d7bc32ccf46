package ray_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestLargeNodeCapacityOverTCP: a node may offer a lot of a resource (Ray
// counts memory in bytes: 2e12 is 2 TB). The wire's bound on amounts was
// first set below that, and such a node's registration was refused at
// decode: the cluster waited for it until it timed out (found in review).
func TestLargeNodeCapacityOverTCP(t *testing.T) {
	reg := ray.NewRegistry()
	one := ray.Register1(reg, "one", func(ctx context.Context, x int) (int, error) { return x, nil })
	cfg := ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2, Resources: map[string]float64{"memory": 2e12}}}, Seed: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ray.NewTCP(ctx, cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		v, err := ray.GetTimeout(ctx, one.Options(ray.Resource("memory", 1e9)).Remote(ctx, 7), 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, 7, v)
		return nil
	}))
}

// TestNodeCapacityChecked: a capacity no node can have is refused when the
// cluster is made, with the node and the resource named, rather than by
// the wire later (a cluster waiting for a node whose registration never
// decodes).
func TestNodeCapacityChecked(t *testing.T) {
	for _, n := range []ray.NodeConfig{
		{Name: "nan", CPUs: math.NaN()},
		{Name: "neg", CPUs: 1, GPUs: -1},
		{Name: "huge", CPUs: 1, Resources: map[string]float64{"memory": 1e20}},
	} {
		_, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{n}}, ray.NewRegistry())
		require.ErrorContains(t, err, n.Name)
	}
}

// TestNodeCustomResourceNamesChecked: a node's custom resources may not be
// named CPU or GPU (nor have no name), as a task's may not (Resource) and
// as a scenario's nodes may not: NodeConfig{Resources: {"GPU": 1}} made a
// custom resource no task can ask for, beside a GPU count of zero, and
// every GPU task on the cluster waited as infeasible. Ray refuses these
// names in a node's resources too (use num_cpus, num_gpus).
func TestNodeCustomResourceNamesChecked(t *testing.T) {
	for _, name := range []string{"CPU", "GPU", ""} {
		n := ray.NodeConfig{Name: "odd", CPUs: 1, Resources: map[string]float64{name: 1}}
		_, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{n}}, ray.NewRegistry())
		require.ErrorContains(t, err, "odd", "resource name %q", name)
	}
}

// TestNodeGPUCountBounded: a raylet keeps one entry per GPU device, so a
// node configured with 10^12 GPUs (CheckAmount allows ~1.15e14) tried to
// allocate terabytes as it started. A node's GPUs are bounded
// (MaxNodeGPUs), with an error naming the node.
func TestNodeGPUCountBounded(t *testing.T) {
	n := ray.NodeConfig{Name: "gpu-farm", CPUs: 1, GPUs: 1e12}
	_, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{n}}, ray.NewRegistry())
	require.ErrorContains(t, err, "gpu-farm")
	n.GPUs = ray.MaxNodeGPUs
	_, err = ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{n}}, ray.NewRegistry())
	require.NoError(t, err)
}
