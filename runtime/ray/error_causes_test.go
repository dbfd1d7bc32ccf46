package ray_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// causeFuncs are the functions of causeCases.
type causeFuncs struct {
	// relay reads a counter's get through hops more relays (each placed
	// with Spread, so the hops cross nodes) and returns its error wrapped
	// (%w) with its hop.
	relay *ray.Func[int]
	// late returns, wrapped, the ErrTimeout of a Get of a task no node
	// can run.
	late *ray.Func[int]
	// relayPair is relay for a function of two returns.
	relayPair *ray.Func2[int, int]
	// failing is a counter's method that fails.
	failing *ray.ActorMethod[counter, int]
	// userFail fails with a user error (userErr); userRelay reads it
	// through hops more relays on other nodes, as relay does; quota is a
	// counter's method that fails with errQuota; userGen a generator that
	// yields one item, then fails with errQuota.
	userFail  *ray.Func[int]
	userRelay *ray.Func[int]
	quota     *ray.ActorMethod[counter, int]
	userGen   *ray.GenFunc[int]
}

// The user errors of causeCases: errQuota and errBusy are registered
// (ray.RegisterError), errPlain is not.
var (
	errQuota = errors.New("quota exceeded")
	errBusy  = errors.New("busy")
	errPlain = errors.New("plain")
)

// userErr is the error userFail returns for kind.
func userErr(kind int) error {
	switch kind {
	case 0:
		return fmt.Errorf("user: %w", errQuota)
	case 1:
		return fmt.Errorf("user: %w and %w", errQuota, errBusy)
	case 2:
		return fmt.Errorf("user: %w", errPlain)
	default:
		return fmt.Errorf("user: a NUL \x00 in the text, then %w", errBusy)
	}
}

func newCauseFuncs(s *suite) *causeFuncs {
	f := &causeFuncs{}
	f.relay = ray.Register2(s.reg, "causes.relay", func(ctx context.Context, h ray.ActorHandle[counter], hops int) (int, error) {
		var v int
		var err error
		if hops == 0 {
			v, err = ray.Get(ctx, s.get.Remote(ctx, h))
		} else {
			v, err = ray.Get(ctx, f.relay.Options(ray.Spread()).Remote(ctx, h, hops-1))
		}
		if err != nil {
			return 0, fmt.Errorf("relay %d: %w", hops, err)
		}
		return v, nil
	})
	f.late = ray.Register0(s.reg, "causes.late", func(ctx context.Context) (int, error) {
		_, err := ray.GetTimeout(ctx, s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1), 10*time.Millisecond)
		return 0, fmt.Errorf("late: %w", err)
	})
	f.relayPair = ray.Register1x2(s.reg, "causes.relayPair", func(ctx context.Context, h ray.ActorHandle[counter]) (int, int, error) {
		v, err := ray.Get(ctx, s.get.Remote(ctx, h))
		return v, v, err
	})
	f.failing = ray.Method0(s.counter, "failing", func(ctx context.Context, c *counter) (int, error) {
		return 0, fmt.Errorf("counter at %d fails", c.n)
	})
	ray.RegisterError(s.reg, "test.quota", errQuota)
	ray.RegisterError(s.reg, "test.busy", errBusy)
	f.userFail = ray.Register1(s.reg, "causes.userFail", func(ctx context.Context, kind int) (int, error) {
		return 0, userErr(kind)
	})
	f.userRelay = ray.Register2(s.reg, "causes.userRelay", func(ctx context.Context, kind, hops int) (int, error) {
		var err error
		if hops == 0 {
			_, err = ray.Get(ctx, f.userFail.Options(ray.Spread()).Remote(ctx, kind))
		} else {
			_, err = ray.Get(ctx, f.userRelay.Options(ray.Spread()).Remote(ctx, kind, hops-1))
		}
		return 0, fmt.Errorf("relay %d: %w", hops, err)
	})
	f.quota = ray.Method0(s.counter, "quota", func(ctx context.Context, c *counter) (int, error) {
		return 0, fmt.Errorf("counter at %d: %w", c.n, errQuota)
	})
	f.userGen = ray.RegisterGen0(s.reg, "causes.userGen", func(ctx context.Context, yield func(int) error) error {
		if err := yield(1); err != nil {
			return err
		}
		return fmt.Errorf("gen: %w", errQuota)
	})
	return f
}

// QA28b finding 9: a task that returned (wrapped) the ErrActorDied it got
// gave its reader an ErrTaskFailed only: the runtime's error kinds were
// lost after one hop. They travel as the error value's causes now.
var causeCases = []semanticCase{
	{"error causes: the runtime's sentinels a task's error wraps match across hops", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 3)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		require.NoError(t, ray.Kill(ctx, h))
		for hops := range 3 {
			_, err := ray.GetTimeout(ctx, s.causes.relay.Remote(ctx, h, hops), 30*time.Second)
			require.Error(t, err, "%d hops", hops)
			assert.ErrorIs(t, err, ray.ErrTaskFailed, "%d hops", hops)
			assert.ErrorIs(t, err, ray.ErrActorDied, "%d hops: the cause", hops)
			assert.NotErrorIs(t, err, ray.ErrObjectLost, "%d hops: no other cause", hops)
			assert.Contains(t, err.Error(), "relay 0: ray: actor died")
			var te *ray.TaskError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, []error{ray.ErrActorDied}, te.Causes)
		}
		// Of a function of two returns, both.
		a, b := s.causes.relayPair.Remote(ctx, h)
		for _, r := range []ray.Ref[int]{a, b} {
			_, err := ray.GetTimeout(ctx, r, 30*time.Second)
			assert.ErrorIs(t, err, ray.ErrActorDied, "a return of a function of two")
		}
		// A Get's timeout in the task.
		_, err = ray.GetTimeout(ctx, s.causes.late.Remote(ctx), 30*time.Second)
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.ErrorIs(t, err, ray.ErrTimeout, "the task's timeout")
		// A task's own error has no cause.
		_, err = ray.GetTimeout(ctx, s.fail.Remote(ctx, 1), 30*time.Second)
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		for _, k := range []error{ray.ErrActorDied, ray.ErrObjectLost, ray.ErrTimeout, ray.ErrCancelled} {
			assert.False(t, errors.Is(err, k), "a plain task error is no %v", k)
		}
	}},
	{"error causes: registered user errors match across hops (ray.RegisterError)", func(t *testing.T, ctx context.Context, s *suite) {
		for hops := range 3 {
			for kind, want := range [][]error{{errQuota}, {errQuota, errBusy}, nil, {errBusy}} {
				_, err := ray.GetTimeout(ctx, s.causes.userRelay.Remote(ctx, kind, hops), 30*time.Second)
				require.Error(t, err)
				assert.ErrorIs(t, err, ray.ErrTaskFailed, "hops %d kind %d", hops, kind)
				var te *ray.TaskError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, want, te.Causes, "hops %d kind %d", hops, kind)
				for _, u := range []error{errQuota, errBusy, errPlain} {
					assert.Equal(t, slices.Contains(want, u), errors.Is(err, u), "hops %d kind %d: %v", hops, kind, u)
				}
				// The message is the text alone (a NUL of it escaped), the
				// names behind it kept off.
				assert.NotContains(t, err.Error(), "\x00", "hops %d kind %d", hops, kind)
				text := strings.ReplaceAll(userErr(kind).Error(), "\x00", `\x00`)
				assert.Contains(t, err.Error(), text, "hops %d kind %d", hops, kind)
			}
		}
		// An actor's method.
		h := s.counter.New(ctx, 5)
		_, err := ray.GetTimeout(ctx, s.causes.quota.Remote(ctx, h), 30*time.Second)
		assert.ErrorIs(t, err, errQuota, "a method's error")
		assert.Contains(t, err.Error(), "counter at 5: quota exceeded")
		// A generator's failure, after its item.
		st := s.causes.userGen.Remote(ctx)
		var errs []error
		for ref, err := range st.All(ctx) {
			if err == nil {
				_, err = ray.GetTimeout(ctx, ref, 30*time.Second)
			}
			errs = append(errs, err)
		}
		require.Len(t, errs, 2)
		assert.NoError(t, errs[0])
		assert.ErrorIs(t, errs[1], errQuota, "a generator's error")
	}},
}

func init() { semanticCases = append(semanticCases, causeCases...) }
