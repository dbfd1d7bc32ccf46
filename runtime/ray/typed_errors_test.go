package ray_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// Ray hands a reader the user's exception of its own class, with its
// arguments. raysim carried a registered sentinel's identity across the
// cluster (RegisterError) but not an error value of the program's own
// type: errors.As on it never matched after Get. RegisterErrorType
// carries such values, fields and all.

// quotaError is registered as a pointer type (the code returns &quotaError).
type quotaError struct {
	Resource string
	Limit    int
}

func (e *quotaError) Error() string {
	return fmt.Sprintf("quota of %s exceeded (%d)", e.Resource, e.Limit)
}

// codeError is registered as a value type.
type codeError struct{ Code int }

func (e codeError) Error() string { return fmt.Sprintf("code %d", e.Code) }

// plainTypedError is not registered: it travels as text.
type plainTypedError struct{ N int }

func (e plainTypedError) Error() string { return fmt.Sprintf("plain %d", e.N) }

// typedFuncs are the functions of the typed error cases (typedErrorCases).
type typedFuncs struct {
	// fail fails with typedErr(kind); relay fails with what a chain of
	// hops relays tasks, each wrapping the error its Get gave it, ends in.
	fail, retried *ray.Func[int]
	relay         *ray.Func[int]
	// quota is a counter's method failing with its count as the limit.
	quota *ray.ActorMethod[counter, int]
	// retriedRuns counts retried's runs.
	retriedRuns atomic.Int64
}

// typedErr is the error typedFuncs.fail returns for kind.
func typedErr(kind int) error {
	switch kind {
	case 0:
		return fmt.Errorf("wrapped: %w", &quotaError{Resource: "gpu", Limit: 4})
	case 1:
		return codeError{Code: 42}
	case 2:
		return errors.Join(&quotaError{Resource: "disk", Limit: 9}, fmt.Errorf("and %w", codeError{Code: 7}))
	default:
		return fmt.Errorf("wrapped: %w", plainTypedError{N: 3})
	}
}

func newTypedFuncs(s *suite) *typedFuncs {
	f := &typedFuncs{}
	ray.RegisterErrorType[*quotaError](s.reg, "test.quotaError")
	ray.RegisterErrorType[codeError](s.reg, "test.codeError")
	f.fail = ray.Register1(s.reg, "typed.fail", func(ctx context.Context, kind int) (int, error) { return 0, typedErr(kind) })
	f.relay = ray.Register2(s.reg, "typed.relay", func(ctx context.Context, kind, hops int) (int, error) {
		var err error
		if hops == 0 {
			_, err = ray.Get(ctx, f.fail.Options(ray.Spread()).Remote(ctx, kind))
		} else {
			_, err = ray.Get(ctx, f.relay.Options(ray.Spread()).Remote(ctx, kind, hops-1))
		}
		return 0, fmt.Errorf("relay %d: %w", hops, err)
	})
	f.quota = ray.Method0(s.counter, "typedQuota", func(ctx context.Context, c *counter) (int, error) {
		return 0, &quotaError{Resource: "actor", Limit: c.n}
	})
	f.retried = ray.Register0(s.reg, "typed.retried", func(ctx context.Context) (int, error) {
		return 0, codeError{Code: int(f.retriedRuns.Add(1))}
	})
	return f
}

var typedErrorCases = []semanticCase{
	{"typed user errors: errors.As gets the value, fields and all, across hops (ray.RegisterErrorType)", func(t *testing.T, ctx context.Context, s *suite) {
		for hops := range 3 {
			for kind := range 4 {
				_, err := ray.GetTimeout(ctx, s.typed.relay.Remote(ctx, kind, hops), 30*time.Second)
				require.Error(t, err)
				assert.ErrorIs(t, err, ray.ErrTaskFailed, "hops %d kind %d", hops, kind)
				assert.Contains(t, err.Error(), typedErr(kind).Error(), "the text, hops %d kind %d", hops, kind)
				assert.NotContains(t, err.Error(), "\x01", "the values kept off the text")
				var q *quotaError
				var c codeError
				var p plainTypedError
				switch kind {
				case 0:
					if assert.ErrorAs(t, err, &q, "hops %d", hops) {
						assert.Equal(t, quotaError{Resource: "gpu", Limit: 4}, *q)
					}
					assert.False(t, errors.As(err, &c))
				case 1:
					if assert.ErrorAs(t, err, &c, "hops %d", hops) {
						assert.Equal(t, 42, c.Code)
					}
					assert.ErrorIs(t, err, codeError{Code: 42}, "a comparable value matches errors.Is too")
					assert.False(t, errors.As(err, &q))
				case 2:
					if assert.ErrorAs(t, err, &q, "hops %d", hops) {
						assert.Equal(t, quotaError{Resource: "disk", Limit: 9}, *q)
					}
					if assert.ErrorAs(t, err, &c, "hops %d", hops) {
						assert.Equal(t, 7, c.Code)
					}
				default:
					assert.False(t, errors.As(err, &p), "an unregistered type travels as text")
				}
			}
		}
		// A method's error.
		h := s.counter.New(ctx, 5)
		_, err := ray.GetTimeout(ctx, s.typed.quota.Remote(ctx, h), 30*time.Second)
		var q *quotaError
		if assert.ErrorAs(t, err, &q, "a method's error") {
			assert.Equal(t, quotaError{Resource: "actor", Limit: 5}, *q)
		}
		// RetryExceptions with a value of a registered type retries the
		// failures that carry one.
		s.typed.retriedRuns.Store(0)
		_, err = ray.GetTimeout(ctx, s.typed.retried.Options(ray.MaxRetries(2), ray.RetryExceptions(codeError{})).Remote(ctx), 30*time.Second)
		var c codeError
		if assert.ErrorAs(t, err, &c) {
			assert.Equal(t, 3, c.Code, "the last of three runs' value")
		}
		assert.EqualValues(t, 3, s.typed.retriedRuns.Load(), "run, then retried twice")
		bad := s.typed.retried.Options(ray.RetryExceptions(plainTypedError{})).Remote(ctx)
		assert.ErrorIs(t, bad.Err(), ray.ErrInvalidOption, "an unregistered type")
	}},
}

func init() { semanticCases = append(semanticCases, typedErrorCases...) }

// TestRegisterErrorTypeRefusesAnInterface: an interface type names no
// value to decode into.
func TestRegisterErrorTypeRefusesAnInterface(t *testing.T) {
	assert.Panics(t, func() { ray.RegisterErrorType[error](ray.NewRegistry(), "any") })
	assert.Panics(t, func() { ray.RegisterErrorType[codeError](ray.NewRegistry(), "a\x01b") }, "a name with the value separator")
}
