package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Cases from a review of the public API as a library user sees it.

type reviewBox struct{ n int }

// reviewSim runs body as the driver of a 2-node simulated cluster: "head"
// (2 CPUs) and "x" (2 CPUs and the only custom resource "x").
func reviewSim(t *testing.T, reg *ray.Registry, body func(ctx context.Context)) {
	t.Helper()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "x", CPUs: 2, Resources: map[string]float64{"x": 1}}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, MaxVirtual: time.Minute}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		body(ctx)
		return nil
	}))
}

// TestActorClassOptionsDoNotShareResources: Options "returns a copy of the
// class with actor options applied", so deriving a variant must leave the
// class it came from alone (as Func.Options does, cloning its custom
// resources). ActorClass.Options copies the struct but not the opts.Custom
// slice, and Resource overwrites an existing entry in place: deriving
// base.Options(Resource("x", 5)) turned base's own request into 5 "x",
// which no node has, so base.New(ctx) never came up and its calls hung.
func TestActorClassOptionsDoNotShareResources(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Box", func(ctx context.Context) (*reviewBox, error) { return &reviewBox{n: 1}, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, b *reviewBox) (int, error) { return b.n, nil })
	reviewSim(t, reg, func(ctx context.Context) {
		base := cls.Options(ray.Resource("x", 1))
		_ = base.Options(ray.Resource("x", 5)) // a variant nothing uses
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, base.New(ctx)), 5*time.Second)
		require.NoError(t, err, "deriving a variant changed the base class's resources")
		assert.Equal(t, 1, v)
	})
}

// TestActorHandlePassedToTask: Ray passes actor handles to tasks as
// arguments (the task calls the same actor). ActorHandle has no
// MarshalJSON (Ref does), so Encode writes it as "{}" without an error and
// the task decodes the zero handle; its Method.Remote then submits a plain
// task named after the method (Actor 0): "unknown function", or, when a
// remote function of that name is registered, that function runs and its
// value comes back as the method's — a wrong value, no error. A handle
// must survive Encode/Decode (its ID and name), and a call through it must
// reach the actor.
func TestActorHandlePassedToTask(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Box", func(ctx context.Context) (*reviewBox, error) { return &reviewBox{n: 1}, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, b *reviewBox) (int, error) { return b.n, nil })
	// An unrelated remote function that happens to share the method's name.
	ray.Register0(reg, "get", func(ctx context.Context) (int, error) { return 999, nil })
	via := ray.Register1(reg, "via", func(ctx context.Context, h ray.ActorHandle[reviewBox]) (int, error) {
		return ray.GetTimeout(ctx, get.Remote(ctx, h), 5*time.Second)
	})
	reviewSim(t, reg, func(ctx context.Context) {
		h := cls.New(ctx)
		v, err := ray.Encode(h)
		require.NoError(t, err)
		back, err := ray.Decode[ray.ActorHandle[reviewBox]](v)
		require.NoError(t, err)
		assert.Equal(t, h.ID(), back.ID(), "an actor handle lost its ID in Encode/Decode")

		got, err := ray.GetTimeout(ctx, via.Remote(ctx, h), 5*time.Second)
		require.NoError(t, err, "a method call through a handle passed to a task")
		assert.Equal(t, 1, got, "the call through the passed handle ran something else")
	})
}

// sentinels are the exported kinds Get's errors are documented to wrap.
var sentinels = []error{ray.ErrTaskFailed, ray.ErrCancelled, ray.ErrActorDied, ray.ErrObjectLost,
	ray.ErrObjectTooLarge, ray.ErrUnknownFunction, ray.ErrRetriesExhausted, ray.ErrTimeout, ray.ErrNotInRay,
	ray.ErrActorNotFound, ray.ErrBadWait, ray.ErrActorNameTaken, ray.ErrUnschedulable, ray.ErrInvalidOption, ray.ErrDecode,
	ray.ErrInvalidPlacementGroup, ray.ErrPlacementGroupRemoved, ray.ErrBadArgs}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestGetErrorsWrapASentinel: the package says "Sentinel errors; Get's
// errors wrap one of them (errors.Is)". Two of Get's errors wrap none, so a
// caller's errors.Is switch falls through: the error of a ref whose
// submission failed on a bad option (Options(CPUs(-1)): "ray: CPU: amount
// -1: want 0 to ...", from options.apply), and a value that does not decode
// into the ref's type ("ray: get ...: ray: decode *string: value has tag
// 1", from GetAll). Either gets a sentinel (an ErrInvalidOption, an
// ErrDecode, say) or the doc stops promising one.
func TestGetErrorsWrapASentinel(t *testing.T) {
	reg := ray.NewRegistry()
	one := ray.Register0(reg, "one", func(ctx context.Context) (int, error) { return 1, nil })
	reviewSim(t, reg, func(ctx context.Context) {
		_, err := ray.Get(ctx, one.Options(ray.CPUs(-1)).Remote(ctx))
		require.Error(t, err)
		assert.True(t, wrapsSentinel(err), "bad option: %v wraps no sentinel", err)

		r := one.Remote(ctx)
		_, err = ray.Get(ctx, ray.RefOf[string](r.ObjectID()))
		require.Error(t, err)
		assert.True(t, wrapsSentinel(err), "wrong type: %v wraps no sentinel", err)
	})
}

// TestResourceRequestsRefusedAsRay: Ray refuses, when the options are set,
// resource requests it cannot honour (python/ray/_private/ray_option_utils.py,
// docs "Resources": "The precision of the fractional resource requirement
// is 0.0001"; fractional GPUs must be below 1; custom resources may not be
// named CPU or GPU — "Use the 'num_cpus' and 'num_gpus' keyword instead").
// raysim accepts all of them: CPUs(0.00001) is rounded to 0 units
// (transport.Units) and the task silently needs no CPU at all, GPUs(1.5)
// is taken as 1.5 GPUs, and Resource("CPU", 1) asks for a custom resource
// no node has, so the task waits for good. Each should make the ref's Err.
func TestResourceRequestsRefusedAsRay(t *testing.T) {
	reg := ray.NewRegistry()
	one := ray.Register0(reg, "one", func(ctx context.Context) (int, error) { return 1, nil })
	reviewSim(t, reg, func(ctx context.Context) {
		for _, c := range []struct {
			name string
			o    ray.Option
		}{
			{"CPUs(0.00001)", ray.CPUs(0.00001)},
			{"GPUs(1.5)", ray.GPUs(1.5)},
			{`Resource("CPU", 1)`, ray.Resource("CPU", 1)},
			{`Resource("GPU", 1)`, ray.Resource("GPU", 1)},
			{`Resource("", 1)`, ray.Resource("", 1)},
		} {
			r := one.Options(c.o).Remote(ctx)
			if !assert.Error(t, r.Err(), "%s accepted", c.name) {
				_ = ray.Cancel(ctx, r)
			}
		}
		// What Ray accepts stays accepted.
		for _, o := range []ray.Option{ray.CPUs(1.5), ray.CPUs(0.0001), ray.Resource("x", 0.5)} {
			v, err := ray.GetTimeout(ctx, one.Options(o).Remote(ctx), 5*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 1, v)
		}
	})
}
