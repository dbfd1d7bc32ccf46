package ray_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// gpuIDFuncs are the functions of the GPU ID tests.
type gpuIDFuncs struct {
	// ids returns the caller's GPU IDs after holding them ms.
	ids *ray.Func[[]int]
	// holder is an actor that keeps its constructor's GPU IDs; its
	// method mine returns them and the method's own.
	holder *ray.ActorClass[gpuHolder]
	mine   *ray.ActorMethod[gpuHolder, [][]int]
}

type gpuHolder struct{ ctor []int }

func newGPUIDFuncs(reg *ray.Registry) *gpuIDFuncs {
	f := &gpuIDFuncs{}
	f.ids = ray.Register1(reg, "gpuids.ids", func(ctx context.Context, ms int) ([]int, error) {
		ids, err := ray.GPUIDs(ctx)
		if err != nil {
			return nil, err
		}
		if ms > 0 {
			if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return nil, err
			}
		}
		return append([]int{}, ids...), nil // [] not null: an empty list decodes as one
	})
	f.holder = ray.RegisterActor0(reg, "gpuids.Holder", func(ctx context.Context) (*gpuHolder, error) {
		ids, err := ray.GPUIDs(ctx)
		return &gpuHolder{ctor: append([]int{}, ids...)}, err
	})
	f.mine = ray.Method0(f.holder, "mine", func(ctx context.Context, h *gpuHolder) ([][]int, error) {
		ids, err := ray.GPUIDs(ctx)
		return [][]int{h.ctor, append([]int{}, ids...)}, err
	})
	return f
}

// QA28b finding 13: GPUs are placed per device (fractions included) but a
// task could not learn which (Ray's ray.get_gpu_ids()). GPUIDs tells.
var gpuIDCases = []semanticCase{
	{"GPUIDs: the devices a task or actor holds", func(t *testing.T, ctx context.Context, s *suite) {
		f := s.gpuIDs
		ids, err := ray.GPUIDs(ctx)
		require.NoError(t, err)
		assert.Empty(t, ids, "a driver holds no GPU")
		v, err := ray.GetTimeout(ctx, f.ids.Remote(ctx, 0), 10*time.Second)
		require.NoError(t, err)
		assert.Empty(t, v, "a task asking for no GPU")
		v, err = ray.GetTimeout(ctx, f.ids.Options(ray.GPUs(1)).Remote(ctx, 0), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0}, v, "the gpu node's only GPU")
		// Two halves share the device, at once.
		a, b := f.ids.Options(ray.GPUs(0.5)).Remote(ctx, 200), f.ids.Options(ray.GPUs(0.5)).Remote(ctx, 200)
		vs, err := ray.GetAll(ctx, []ray.Ref[[]int]{a, b}, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, [][]int{{0}, {0}}, vs)
		h := f.holder.Options(ray.GPUs(1)).New(ctx)
		m, err := ray.GetTimeout(ctx, f.mine.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, [][]int{{0}, {0}}, m, "an actor's constructor and method see its GPU")
		require.NoError(t, ray.Kill(ctx, h))
	}},
}

func init() { semanticCases = append(semanticCases, gpuIDCases...) }

// TestGPUIDsManyDevices: on a node of three GPUs, concurrent tasks get
// distinct devices, a request of two gets two, fractions share the first
// device with room; a placement group's bundle holds devices of its own,
// out of which each of its tasks gets what it asks for; on the simulator
// and on TCP alike.
func TestGPUIDsManyDevices(t *testing.T) {
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "gpus", CPUs: 8, GPUs: 3}}
	body := func(t *testing.T, ctx context.Context, f *gpuIDFuncs) {
		gpu := func(n float64) *ray.Func[[]int] { return f.ids.Options(ray.GPUs(n)) }
		// Three wholes at once: each its own device.
		refs := []ray.Ref[[]int]{gpu(1).Remote(ctx, 300), gpu(1).Remote(ctx, 300), gpu(1).Remote(ctx, 300)}
		vs, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		var all []int
		for _, v := range vs {
			require.Len(t, v, 1)
			all = append(all, v...)
		}
		slices.Sort(all)
		assert.Equal(t, []int{0, 1, 2}, all, "three concurrent one-GPU tasks")
		// Two at once, with a half: distinct devices, the half on the third.
		two, half := gpu(2).Remote(ctx, 1000), gpu(0.5).Remote(ctx, 1000) // long enough to overlap on TCP
		v2, err := ray.GetTimeout(ctx, two, 30*time.Second)
		require.NoError(t, err)
		vh, err := ray.GetTimeout(ctx, half, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, v2, 2)
		require.Len(t, vh, 1)
		assert.NotEqual(t, v2[0], v2[1])
		assert.NotContains(t, v2, vh[0], "a half shares no device with a whole request")
		// A bundle of two GPUs holds two devices. As Ray's, a task in it
		// gets the GPUs it asks for out of them: two tasks of one GPU
		// each, at once, one device each; a task outside the group gets
		// the third. (Each got both of the bundle's devices.)
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2, GPU: 2}}, ray.Pack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, 30*time.Second))
		in1, in2 := gpu(1).Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 1000), gpu(1).Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 1000)
		out := gpu(1).Remote(ctx, 300)
		vin, err := ray.GetAll(ctx, []ray.Ref[[]int]{in1, in2}, 30*time.Second)
		require.NoError(t, err)
		vout, err := ray.GetTimeout(ctx, out, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, vin[0], 1, "a task of one GPU in a bundle of two")
		require.Len(t, vin[1], 1, "a task of one GPU in a bundle of two")
		assert.NotEqual(t, vin[0][0], vin[1][0], "two tasks at once in the bundle share a device")
		bundle := []int{vin[0][0], vin[1][0]}
		slices.Sort(bundle)
		require.Len(t, vout, 1)
		assert.NotContains(t, bundle, vout[0], "a task outside the group got a device of its bundle")
		both, err := ray.GetTimeout(ctx, gpu(2).Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 0), 30*time.Second)
		require.NoError(t, err)
		slices.Sort(both)
		assert.Equal(t, bundle, both, "a task of two GPUs gets the bundle's two")
		anyIn, err := ray.GetTimeout(ctx, gpu(0.5).Options(ray.InPlacementGroup(pg, -1)).Remote(ctx, 0), 30*time.Second)
		require.NoError(t, err)
		require.Len(t, anyIn, 1, "a half in any bundle of the group")
		assert.Contains(t, bundle, anyIn[0], "a task in any bundle of the group")
		noGPU, err := ray.GetTimeout(ctx, f.ids.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 0), 30*time.Second)
		require.NoError(t, err)
		assert.Empty(t, noGPU, "a task of the group asking for no GPU")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
		// Its devices are free again: three wholes run at once.
		refs = []ray.Ref[[]int]{gpu(1).Remote(ctx, 300), gpu(1).Remote(ctx, 300), gpu(1).Remote(ctx, 300)}
		vs, err = ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		all = all[:0]
		for _, v := range vs {
			all = append(all, v...)
		}
		slices.Sort(all)
		assert.Equal(t, []int{0, 1, 2}, all, "the removed bundle's devices came back")
	}
	run := func(t *testing.T, tcp bool) {
		reg := ray.NewRegistry()
		f := newGPUIDFuncs(reg)
		cfg := ray.Config{Nodes: nodes, Seed: 1}
		var runner interface {
			Run(func(context.Context) error) error
		}
		if tcp {
			c, err := ray.NewTCP(context.Background(), cfg, reg)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()
			runner = c
		} else {
			cfg.WireCheck = true
			c, err := ray.NewSim(cfg, reg)
			require.NoError(t, err)
			defer c.Close()
			runner = c
		}
		require.NoError(t, runner.Run(func(ctx context.Context) error {
			body(t, ctx, f)
			return nil
		}))
	}
	t.Run("sim", func(t *testing.T) { run(t, false) })
	t.Run("tcp", func(t *testing.T) { run(t, true) })
}
