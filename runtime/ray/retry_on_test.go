package ray_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// retryOnFuncs are the functions of retryOnCases.
type retryOnFuncs struct {
	// flaky fails with userErr(kind) (a panic for kind -1) until it has
	// run k times in all (runs counts every run), then returns the run's
	// number.
	flaky *ray.Func[int]
	runs  atomic.Int64
	// nested submits flaky(0, 2) with RetryExceptions(errQuota) from a
	// task, and returns its result.
	nested *ray.Func[int]
}

func newRetryOnFuncs(s *suite) *retryOnFuncs {
	f := &retryOnFuncs{}
	f.flaky = ray.Register2(s.reg, "retryOn.flaky", func(ctx context.Context, kind, k int) (int, error) {
		n := int(f.runs.Add(1))
		if n <= k {
			if kind < 0 {
				panic(fmt.Sprintf("retryOn run %d", n))
			}
			return 0, fmt.Errorf("run %d: %w", n, userErr(kind))
		}
		return n, nil
	})
	f.nested = ray.Register0(s.reg, "retryOn.nested", func(ctx context.Context) (int, error) {
		return ray.Get(ctx, f.flaky.Options(ray.RetryExceptions(errQuota), ray.MaxRetries(3)).Remote(ctx, 0, 2))
	})
	return f
}

// retryOnCases: Ray's retry_exceptions takes a list of exception types,
// and retries only failures of those (python/ray/remote_function.py:
// "retry_exceptions: ... or a list of retryable exceptions"). raysim's
// RetryExceptions retried every failure; given registered errors
// (ray.RegisterError) it now retries only failures whose error matches
// one of them (errors.Is, as a reader sees it after the hop), the spec
// carrying their names to where the task runs.
var retryOnCases = []semanticCase{
	{"retry exceptions of the given registered errors only", func(t *testing.T, ctx context.Context, s *suite) {
		f := s.retryOn
		runs := func(kind, k int, opts ...ray.Option) (int, int, error) {
			t.Helper()
			f.runs.Store(0)
			v, err := ray.GetTimeout(ctx, f.flaky.Options(append([]ray.Option{ray.MaxRetries(3)}, opts...)...).Remote(ctx, kind, k), 30*time.Second)
			return v, int(f.runs.Load()), err
		}
		for _, tc := range []struct {
			what    string
			kind, k int
			opts    []ray.Option
			retried bool
		}{
			{"a listed error", 0, 2, []ray.Option{ray.RetryExceptions(errQuota)}, true},
			{"an error not listed", 0, 2, []ray.Option{ray.RetryExceptions(errBusy)}, false},
			{"an error wrapping a listed one among others", 1, 2, []ray.Option{ray.RetryExceptions(errBusy)}, true},
			{"one of two listed", 0, 2, []ray.Option{ray.RetryExceptions(errBusy, errQuota)}, true},
			{"a listed error after a NUL in the text", 3, 2, []ray.Option{ray.RetryExceptions(errBusy)}, true},
			{"an unregistered error, with a list", 2, 2, []ray.Option{ray.RetryExceptions(errQuota)}, false},
			{"a panic, with a list", -1, 2, []ray.Option{ray.RetryExceptions(errQuota)}, false},
			{"an unregistered error, without a list", 2, 2, []ray.Option{ray.RetryExceptions()}, true},
			{"the last RetryExceptions counts", 2, 2, []ray.Option{ray.RetryExceptions(errQuota), ray.RetryExceptions()}, true},
			{"and the other way round", 2, 2, []ray.Option{ray.RetryExceptions(), ray.RetryExceptions(errQuota)}, false},
		} {
			v, n, err := runs(tc.kind, tc.k, tc.opts...)
			if tc.retried {
				require.NoError(t, err, tc.what)
				assert.Equal(t, 3, v, tc.what)
				assert.Equal(t, 3, n, tc.what)
				continue
			}
			require.ErrorIs(t, err, ray.ErrTaskFailed, tc.what)
			assert.Equal(t, 1, n, "%s: one run", tc.what)
			if tc.kind == 0 {
				assert.ErrorIs(t, err, errQuota, tc.what)
			}
		}
		// The list's retries are bounded by MaxRetries as any.
		_, n, err := runs(0, 10, ray.RetryExceptions(errQuota), ray.MaxRetries(1))
		require.ErrorIs(t, err, errQuota)
		assert.Equal(t, 2, n)
		// From a task: the spec is made with its node's registry.
		f.runs.Store(0)
		v, err := ray.GetTimeout(ctx, f.nested.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		// An error not registered has no name to travel by: refused.
		_, err = ray.Get(ctx, f.flaky.Options(ray.RetryExceptions(errPlain)).Remote(ctx, 0, 0))
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
		_, err = ray.Get(ctx, f.flaky.Options(ray.RetryExceptions(nil)).Remote(ctx, 0, 0))
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
		// Actors still refuse it.
		h := s.counter.Options(ray.RetryExceptions(errQuota)).New(ctx, 0)
		assert.ErrorIs(t, h.Err(), ray.ErrInvalidOption)
	}},
}

func init() { semanticCases = append(semanticCases, retryOnCases...) }

// sliceErr is an error of an uncomparable type (a slice field), used by
// value: == on two interfaces holding it panics.
type sliceErr struct{ parts []string }

func (e sliceErr) Error() string { return strings.Join(e.parts, ",") }

// TestRetryExceptionsUncomparableError: RetryExceptions given an error
// value of an uncomparable type refuses it with ErrInvalidOption (it
// cannot be "that very value") instead of panicking in Remote, registered
// or not; a registered comparable error beside it still works.
func TestRetryExceptionsUncomparableError(t *testing.T) {
	reg := ray.NewRegistry()
	ray.RegisterError(reg, "slice", sliceErr{[]string{"a"}})
	ray.RegisterError(reg, "quota", errQuota)
	f := ray.Register0(reg, "f", func(ctx context.Context) (int, error) { return 1, nil })
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.Get(ctx, f.Options(ray.RetryExceptions(sliceErr{[]string{"a"}})).Remote(ctx))
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
		assert.ErrorContains(t, err, "not comparable")
		_, err = ray.Get(ctx, f.Options(ray.RetryExceptions(errQuota, sliceErr{[]string{"b"}})).Remote(ctx))
		assert.ErrorIs(t, err, ray.ErrInvalidOption)
		v, err := ray.Get(ctx, f.Options(ray.RetryExceptions(errQuota)).Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		return nil
	}))
}

// TestRegisterErrorRefusesWireInvalidNames: RegisterError refuses a name
// the wire refuses (empty, a NUL byte, over transport.MaxErrorName bytes):
// accepted, a RetryExceptions spec naming it could not cross TCP (the
// frame is refused at decode and the task never runs). A name of exactly
// the limit is fine.
func TestRegisterErrorRefusesWireInvalidNames(t *testing.T) {
	for _, name := range []string{"", "a\x00b", strings.Repeat("x", transport.MaxErrorName+1)} {
		msg := ""
		func() {
			defer func() { msg = fmt.Sprint(recover()) }()
			ray.RegisterError(ray.NewRegistry(), name, errors.New("e"))
		}()
		assert.Contains(t, msg, fmt.Sprint(transport.MaxErrorName), "name of %d bytes: the panic names the limit", len(name))
	}
	assert.NotPanics(t, func() {
		ray.RegisterError(ray.NewRegistry(), strings.Repeat("x", transport.MaxErrorName), errors.New("e"))
	})
}
