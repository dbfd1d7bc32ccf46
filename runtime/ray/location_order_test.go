package ray_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/costs"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestHeldLocationLeavesBeforeARefToIt: in netsim a raylet holds the
// object locations it adds until its loop is free (gcs.Client.AddObject).
// A ref to such an object must not leave the node first — here a child
// task that takes a Put's ref as its argument, spilled to another node in
// the same turn — or a crash between the two sends leaves a reader
// elsewhere waiting for an object the GCS never hears of. Zero costs make
// the task's Put and submissions happen in one turn (nothing charged, no
// yield), as a burst does.
func TestHeldLocationLeavesBeforeARefToIt(t *testing.T) {
	reg := ray.NewRegistry()
	leaf := ray.Register0(reg, "leaf", func(ctx context.Context) (int, error) { return 1, nil })
	child := ray.Register1(reg, "child", func(ctx context.Context, x int) (int, error) { return x, nil })
	var put transport.ObjectID
	parent := ray.Register0(reg, "parent", func(ctx context.Context) (int, error) {
		leaf.Remote(ctx) // the submission queue's turn is armed first
		x, err := ray.Put(ctx, 5)
		if err != nil {
			return 0, err
		}
		put = x.ObjectID()
		child.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, x)
		return 0, nil
	})
	zero := costs.Zero()
	var order []string // what node 1 sent that names the Put object, in order
	onNet := func(ev *netsim.Event) {
		if ev.Kind != netsim.EvSend || ev.From != netsim.NodeID(ray.RayletID(1)) || put == (transport.ObjectID{}) {
			return
		}
		f, ok := ev.Payload.(interface{ Message() transport.Message })
		if !ok {
			return
		}
		switch m := f.Message().(type) {
		case *transport.GcsAddObject:
			if m.Object == put {
				order = append(order, "location")
			}
		case *transport.GcsAddObjects:
			if slices.ContainsFunc(m.Objects, func(o transport.GcsAddObject) bool { return o.Object == put }) {
				order = append(order, "location")
			}
		case *transport.SpillTask:
			if slices.ContainsFunc(m.Spec.Args, func(a transport.Arg) bool { return a.IsRef && a.Ref == put }) {
				order = append(order, "ref")
			}
		}
	}
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w1", CPUs: 2}, {Name: "w2", CPUs: 1}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, GCSShards: 16, Costs: &zero, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.GetTimeout(ctx, parent.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx), time.Second)
		return err
	}))
	require.NotEmpty(t, order)
	require.Equal(t, "location", order[0], "what node 1 sent of the Put object, in order: %v", order)
	require.Contains(t, order, "ref")
}
