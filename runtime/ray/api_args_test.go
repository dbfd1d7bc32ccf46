package ray_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// argFuncs are functions whose parameters are of the types an untyped
// constant converts to (argCases).
type argFuncs struct {
	dur    *ray.Func[int64]   // time.Duration -> its nanoseconds
	half   *ray.Func[float64] // float64 -> half of it
	narrow *ray.Func[int64]   // int32, uint -> their sum
	named  *ray.Func[string]  // a named string type -> its value
	anyArg *ray.Func[string]  // any -> the type it decoded as
	ptr    *ray.Func[int]     // *int -> its value, or -1 for nil
}

type color string

func newArgFuncs(reg *ray.Registry) *argFuncs {
	return &argFuncs{
		dur:  ray.Register1(reg, "args.dur", func(ctx context.Context, d time.Duration) (int64, error) { return int64(d), nil }),
		half: ray.Register1(reg, "args.half", func(ctx context.Context, x float64) (float64, error) { return x / 2, nil }),
		narrow: ray.Register2(reg, "args.narrow", func(ctx context.Context, a int32, b uint) (int64, error) {
			return int64(a) + int64(b), nil
		}),
		named:  ray.Register1(reg, "args.named", func(ctx context.Context, c color) (string, error) { return string(c), nil }),
		anyArg: ray.Register1(reg, "args.any", func(ctx context.Context, v any) (string, error) { return typeName(v), nil }),
		ptr: ray.Register1(reg, "args.ptr", func(ctx context.Context, p *int) (int, error) {
			if p == nil {
				return -1, nil
			}
			return *p, nil
		}),
	}
}

func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "int64"
	case string:
		return "string"
	}
	return "other"
}

// The argument, option and nil-receiver checks of Remote and New join the
// semantic suite: they are API behaviour, the same on both transports.
func init() {
	semanticCases = append(semanticCases, argCases...)
}

var argCases = []semanticCase{
	{"argument checks at Remote", func(t *testing.T, ctx context.Context, s *suite) {
		// A wrong number of arguments is refused at once, in Go's terms.
		r := s.add.Remote(ctx, 1)
		require.ErrorIs(t, r.Err(), ray.ErrBadArgs)
		assert.ErrorContains(t, r.Err(), "add takes 2 arguments (int, int), got 1")
		_, err := ray.Get(ctx, r)
		assert.ErrorIs(t, err, ray.ErrBadArgs, "Get returns the submission's error")
		assert.ErrorContains(t, s.double.Remote(ctx).Err(), "double takes 1 argument (int), got 0")
		assert.ErrorIs(t, s.double.Remote(ctx, 1, 2).Err(), ray.ErrBadArgs)
		// Types that never decode into the parameter's are refused.
		r = s.add.Remote(ctx, "x", 2)
		require.ErrorIs(t, r.Err(), ray.ErrBadArgs)
		assert.ErrorContains(t, r.Err(), "argument 1 of add: got string, want int")
		assert.ErrorContains(t, s.add.Remote(ctx, 1, true).Err(), "argument 2 of add: got bool, want int")
		assert.ErrorContains(t, s.add.Remote(ctx, nil, 1).Err(), "argument 1 of add: got nil, want int")
		// Numbers convert as untyped constants would, when nothing is lost.
		v, err := ray.Get(ctx, s.add.Remote(ctx, 2.0, int64(3)))
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		assert.ErrorContains(t, s.add.Remote(ctx, 1.5, 2).Err(), "1.5 (float64) does not convert to int without loss")
		d, err := ray.Get(ctx, s.args.dur.Remote(ctx, 5))
		require.NoError(t, err)
		assert.Equal(t, int64(5), d)
		h, err := ray.Get(ctx, s.args.half.Remote(ctx, 5))
		require.NoError(t, err)
		assert.Equal(t, 2.5, h)
		n, err := ray.Get(ctx, s.args.narrow.Remote(ctx, 7, 8))
		require.NoError(t, err)
		assert.Equal(t, int64(15), n)
		assert.ErrorIs(t, s.args.narrow.Remote(ctx, 1, -1).Err(), ray.ErrBadArgs, "-1 is no uint")
		assert.ErrorIs(t, s.args.narrow.Remote(ctx, math.MaxInt32+1, 1).Err(), ray.ErrBadArgs, "overflows an int32")
		assert.ErrorIs(t, s.args.narrow.Remote(ctx, uint64(math.MaxUint64), 1).Err(), ray.ErrBadArgs)
		c, err := ray.Get(ctx, s.args.named.Remote(ctx, "red"))
		require.NoError(t, err)
		assert.Equal(t, "red", c)
		// An interface parameter takes anything; a nil pointer is a nil.
		a, err := ray.Get(ctx, s.args.anyArg.Remote(ctx, "x"))
		require.NoError(t, err)
		assert.Equal(t, "string", a)
		p, err := ray.Get(ctx, s.args.ptr.Remote(ctx, nil))
		require.NoError(t, err)
		assert.Equal(t, -1, p)
		seven := 7
		p, err = ray.Get(ctx, s.args.ptr.Remote(ctx, &seven))
		require.NoError(t, err)
		assert.Equal(t, 7, p)
		// A Ref of the parameter's type passes; a Ref of another basic type
		// is refused.
		v, err = ray.Get(ctx, s.add.Remote(ctx, s.double.Remote(ctx, 2), 1))
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		i64, err := ray.Put(ctx, int64(4))
		require.NoError(t, err)
		v, err = ray.Get(ctx, s.add.Remote(ctx, i64, 1))
		require.NoError(t, err, "int64 and int share a wire form")
		assert.Equal(t, 5, v)
		assert.ErrorContains(t, s.args.half.Remote(ctx, i64).Err(), "argument 1 of args.half: got a Ref of int64, want float64 (or a Ref of it)",
			"a stored object is not converted")
		str, err := ray.Put(ctx, "x")
		require.NoError(t, err)
		r = s.add.Remote(ctx, 1, str)
		require.ErrorIs(t, r.Err(), ray.ErrBadArgs)
		assert.ErrorContains(t, r.Err(), "argument 2 of add: got a Ref of string, want int")
		// RegisterN takes any number (checked as the task decodes them).
		v, err = ray.Get(ctx, s.sum.Remote(ctx, 1, 2, 3))
		require.NoError(t, err)
		assert.Equal(t, 6, v)
		// Methods and constructors are checked the same way.
		ctr := s.counter.New(ctx)
		require.ErrorIs(t, ctr.Err(), ray.ErrBadArgs)
		assert.ErrorContains(t, ctr.Err(), "Counter takes 1 argument (int), got 0")
		assert.ErrorContains(t, s.counter.New(ctx, "x").Err(), "argument 1 of Counter: got string, want int")
		ctr = s.counter.New(ctx, int64(10))
		require.NoError(t, ctr.Err())
		assert.ErrorContains(t, s.incr.Remote(ctx, ctr).Err(), "Counter.incr takes 1 argument (int), got 0")
		assert.ErrorContains(t, s.get.Remote(ctx, ctr, 1).Err(), "Counter.get takes no arguments, got 1")
		assert.ErrorContains(t, s.incr.Remote(ctx, ctr, "1").Err(), "argument 1 of Counter.incr: got string, want int")
		v, err = ray.Get(ctx, s.incr.Remote(ctx, ctr, 2.0))
		require.NoError(t, err)
		assert.Equal(t, 12, v)
	}},
	{"options refused where they do not apply", func(t *testing.T, ctx context.Context, s *suite) {
		for _, tc := range []struct {
			opt  ray.Option
			name string
		}{
			{ray.ActorName("x"), "ActorName"},
			{ray.MaxRestarts(2), "MaxRestarts"},
			{ray.CheckpointEvery(2), "CheckpointEvery"},
			{ray.ReplayMethods(), "ReplayMethods"},
			{ray.MaxConcurrency(2), "MaxConcurrency"},
		} {
			err := s.double.Options(tc.opt).Remote(ctx, 1).Err()
			assert.ErrorIs(t, err, ray.ErrInvalidOption, "%s on a task", tc.name)
			assert.ErrorContains(t, err, tc.name+": for an actor's creation")
		}
		h := s.counter.New(ctx, 0)
		require.NoError(t, h.Err())
		for _, tc := range []struct {
			opt  ray.Option
			name string
		}{
			{ray.ActorName("x"), "ActorName"},
			{ray.GPUs(1), "GPUs"},
			{ray.CPUs(1), "CPUs"},
			{ray.Resource("w", 1), "Resource"},
			{ray.Spread(), "Spread"},
			{ray.NodeAffinity(ray.RayletID(1), true), "NodeAffinity"},
			{ray.DefaultScheduling(), "DefaultScheduling"},
			{ray.MaxRestarts(1), "MaxRestarts"},
			{ray.RetryExceptions(), "RetryExceptions"},
			{ray.MaxConcurrency(2), "MaxConcurrency"},
		} {
			err := s.incr.Options(tc.opt).Remote(ctx, h, 1).Err()
			assert.ErrorIs(t, err, ray.ErrInvalidOption, "%s on a method", tc.name)
			assert.ErrorContains(t, err, tc.name+": ")
		}
		// What a method takes: Name, Duration, MaxRetries.
		v, err := ray.Get(ctx, s.incr.Options(ray.Name("bump"), ray.Duration(time.Millisecond), ray.MaxRetries(1)).Remote(ctx, h, 1))
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		// An actor of a class whose instances keep no checkpoint.
		err = s.counter.Options(ray.CheckpointEvery(2)).New(ctx, 0).Err()
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
		assert.ErrorContains(t, err, "CheckpointEvery: Counter's instances (*ray_test.counter) do not implement Checkpointer")
		require.NoError(t, s.counter.Options(ray.CheckpointEvery(0)).New(ctx, 0).Err(), "0: no checkpoints")
		assert.ErrorIs(t, s.counter.Options(ray.RetryExceptions()).New(ctx, 0).Err(), ray.ErrInvalidOption)
		// What tasks take still passes.
		v, err = ray.Get(ctx, s.double.Options(ray.Name("d"), ray.Duration(time.Millisecond), ray.MaxRetries(1), ray.RetryExceptions(), ray.CPUs(0.5), ray.Spread()).Remote(ctx, 1))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
	}},
	{"nil functions, classes and methods", func(t *testing.T, ctx context.Context, s *suite) {
		var f *ray.Func[int]
		assert.ErrorIs(t, f.Remote(ctx, 1).Err(), ray.ErrUnknownFunction)
		assert.ErrorIs(t, f.Options(ray.CPUs(1)).Remote(ctx, 1).Err(), ray.ErrUnknownFunction)
		assert.Equal(t, "", f.Name())
		var c *ray.ActorClass[counter]
		assert.ErrorIs(t, c.New(ctx, 1).Err(), ray.ErrUnknownFunction)
		assert.ErrorIs(t, c.Options(ray.MaxRestarts(1)).New(ctx, 1).Err(), ray.ErrUnknownFunction)
		_, err := ray.GetActor(ctx, c, "x")
		assert.ErrorIs(t, err, ray.ErrUnknownFunction)
		var m *ray.ActorMethod[counter, int]
		h := s.counter.New(ctx, 0)
		assert.ErrorIs(t, m.Remote(ctx, h, 1).Err(), ray.ErrUnknownFunction)
		assert.ErrorIs(t, m.Options(ray.Name("x")).Remote(ctx, h, 1).Err(), ray.ErrUnknownFunction)
	}},
}

// TestRegistrationMistakesPanic: an empty name, a nil function or
// constructor, a nil registry or class panic at registration, as a name
// registered twice does, with a message saying what is wrong.
func TestRegistrationMistakesPanic(t *testing.T) {
	reg := ray.NewRegistry()
	fn := func(ctx context.Context) (int, error) { return 0, nil }
	assert.PanicsWithValue(t, `ray: registering a func(context.Context) (int, error) with an empty name`, func() { ray.Register0(reg, "", fn) })
	assert.PanicsWithValue(t, `ray: registering "nilfn" with a nil function`, func() { ray.Register0[int](reg, "nilfn", nil) })
	assert.PanicsWithValue(t, `ray: registering "nil1" with a nil function`, func() { ray.Register1[int, int](reg, "nil1", nil) })
	assert.PanicsWithValue(t, `ray: registering "nilraw" with a nil function`, func() { ray.RegisterRaw[int](reg, "nilraw", nil) })
	assert.PanicsWithValue(t, `ray: registering "x" in a nil *Registry (make one with NewRegistry)`, func() { ray.Register0(nil, "x", fn) })
	assert.PanicsWithValue(t, `ray: registering "NilCtor" with a nil function`, func() { ray.RegisterActor0[counter](reg, "NilCtor", nil) })
	cls := ray.RegisterActor0(reg, "C", func(ctx context.Context) (*counter, error) { return &counter{}, nil })
	assert.PanicsWithValue(t, `ray: registering a method of "C" with an empty name`, func() {
		ray.Method0(cls, "", func(ctx context.Context, c *counter) (int, error) { return 0, nil })
	})
	assert.PanicsWithValue(t, `ray: registering "C.m" with a nil function`, func() { ray.Method0[counter, int](cls, "m", nil) })
	assert.PanicsWithValue(t, `ray: registering method "m" of a nil *ActorClass`, func() {
		ray.Method0(nil, "m", func(ctx context.Context, c *counter) (int, error) { return 0, nil })
	})
	assert.PanicsWithValue(t, `ray: "C" registered twice`, func() { ray.Register0(reg, "C", fn) })
	// None of the refused registrations left a trace: the names are free.
	assert.NotPanics(t, func() { ray.Register0(reg, "nilfn", fn) })
	assert.Equal(t, []string{"C=func(context.Context) (*ray_test.counter, error)", "nilfn=func(context.Context) (int, error)"}, reg.Signatures())
	_ = errors.New
}
