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

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// multiFuncs are the semantic suite's functions of several returns
// (Ray's num_returns).
type multiFuncs struct {
	// divmod returns a/b and a%b; b == 0 is an error, b < 0 a panic.
	divmod *ray.Func2[int, int]
	// label returns x, "x=<x>" and x > 0: three returns of three types.
	label *ray.Func3[int, string, bool]
	// split computes for a millisecond and returns as many values as its
	// call asks for, x+i for return i; with x < 0 it returns one more than
	// asked (a wrong count).
	split *ray.FuncN[int]
	// hold computes for ms milliseconds and returns ms twice.
	hold *ray.Func2[int, int]
	// blobs returns a Blob of a MB and one of b MB (virtual sizes).
	blobs *ray.Func2[ray.Blob, ray.Blob]
	// runs counts every run of divmod and split.
	runs atomic.Int64
	// step adds by to a counter and returns its value before and after
	// (by < 0 is an error); steps adds 1 as many times as its call has
	// returns and returns each value it passed (one more with k < 0).
	step  *ray.ActorMethod2[counter, int, int]
	steps *ray.ActorMethodN[counter, int]
	// The two-argument methods: scale multiplies the counter by a and adds
	// b, returning its new value (Method2); scale2 returns it before and
	// after (Method2x2); trio returns it, its label and whether it is
	// positive, without changing it (Method0x3), after adding a
	// (Method1x3), after multiplying by a and adding b (Method2x3);
	// range2 adds a then returns n values from it stepping by b
	// (Method2xN).
	scale  *ray.ActorMethod[counter, int]
	scale2 *ray.ActorMethod2[counter, int, int]
	trio0  *ray.ActorMethod3[counter, int, string, bool]
	trio1  *ray.ActorMethod3[counter, int, string, bool]
	trio2  *ray.ActorMethod3[counter, int, string, bool]
	range2 *ray.ActorMethodN[counter, int]
}

// addMethods registers multiFuncs' methods of class cls.
func (m *multiFuncs) addMethods(cls *ray.ActorClass[counter]) {
	m.step = ray.Method1x2(cls, "step", func(ctx context.Context, c *counter, by int) (int, int, error) {
		if by < 0 {
			return 0, 0, fmt.Errorf("step by %d", by)
		}
		c.n += by
		return c.n - by, c.n, nil
	})
	m.scale = ray.Method2(cls, "scale", func(ctx context.Context, c *counter, a, b int) (int, error) {
		c.n = c.n*a + b
		return c.n, nil
	})
	m.scale2 = ray.Method2x2(cls, "scale2", func(ctx context.Context, c *counter, a, b int) (int, int, error) {
		before := c.n
		c.n = c.n*a + b
		return before, c.n, nil
	})
	trio := func(c *counter) (int, string, bool, error) { return c.n, fmt.Sprintf("n=%d", c.n), c.n > 0, nil }
	m.trio0 = ray.Method0x3(cls, "trio0", func(ctx context.Context, c *counter) (int, string, bool, error) { return trio(c) })
	m.trio1 = ray.Method1x3(cls, "trio1", func(ctx context.Context, c *counter, a int) (int, string, bool, error) {
		c.n += a
		return trio(c)
	})
	m.trio2 = ray.Method2x3(cls, "trio2", func(ctx context.Context, c *counter, a int, b string) (int, string, bool, error) {
		if b == "" {
			return 0, "", false, errors.New("trio2: empty label")
		}
		c.n *= a
		n, l, pos, err := trio(c)
		return n, b + l, pos, err
	})
	m.range2 = ray.Method2xN(cls, "range2", func(ctx context.Context, c *counter, a, step int) ([]int, error) {
		c.n += a
		out := make([]int, ray.ReturnsOf(ctx))
		for i := range out {
			out[i] = c.n + i*step
		}
		return out, nil
	})
	m.steps = ray.Method1xN(cls, "steps", func(ctx context.Context, c *counter, k int) ([]int, error) {
		n := ray.ReturnsOf(ctx)
		if k < 0 {
			n++
		}
		var out []int
		for range n {
			c.n++
			out = append(out, c.n)
		}
		return out, nil
	})
}

func newMultiFuncs(reg *ray.Registry) *multiFuncs {
	m := &multiFuncs{}
	m.divmod = ray.Register2x2(reg, "divmod", func(ctx context.Context, a, b int) (int, int, error) {
		m.runs.Add(1)
		switch {
		case b == 0:
			return 0, 0, fmt.Errorf("divmod %d by zero", a)
		case b < 0:
			panic(fmt.Sprintf("divmod by %d", b))
		}
		return a / b, a % b, nil
	})
	m.label = ray.Register1x3(reg, "label", func(ctx context.Context, x int) (int, string, bool, error) {
		return x, fmt.Sprintf("x=%d", x), x > 0, nil
	})
	m.split = ray.Register1xN(reg, "split", func(ctx context.Context, x int) ([]int, error) {
		m.runs.Add(1)
		if err := ray.Compute(ctx, time.Millisecond); err != nil { // its ctx is the task's
			return nil, err
		}
		n := ray.ReturnsOf(ctx)
		if x < 0 {
			n++
		}
		out := make([]int, n)
		for i := range out {
			out[i] = x + i
		}
		return out, nil
	})
	m.hold = ray.Register1x2(reg, "hold", func(ctx context.Context, ms int) (int, int, error) {
		if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return 0, 0, err
		}
		return ms, ms, nil
	})
	m.blobs = ray.Register2x2(reg, "blobs", func(ctx context.Context, a, b int64) (ray.Blob, ray.Blob, error) {
		return ray.Blob{Bytes: a << 20, Sum: uint64(a)}, ray.Blob{Bytes: b << 20, Sum: uint64(b)}, nil
	})
	return m
}

func init() {
	semanticCases = append(semanticCases, multiCases...)
	semanticCases = append(semanticCases, multiActorCases...)
}

// multiCases are the semantic cases of tasks with several returns: each
// return its own object, on netsim and on loopback TCP alike.
var multiCases = []semanticCase{
	{"num_returns: each return its own object", func(t *testing.T, ctx context.Context, s *suite) {
		q, r := s.multi.divmod.Remote(ctx, 17, 5)
		require.NoError(t, q.Err())
		require.NotEqual(t, q.ObjectID(), r.ObjectID())
		assert.Equal(t, q.ObjectID().Task, r.ObjectID().Task, "one task makes both")
		vr, err := ray.Get(ctx, r) // the second first
		require.NoError(t, err)
		vq, err := ray.Get(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, []int{3, 2}, []int{vq, vr})
		x, l, pos := s.multi.label.Options(ray.Spread()).Remote(ctx, 4)
		vx, err := ray.Get(ctx, x)
		require.NoError(t, err)
		vl, err := ray.Get(ctx, l)
		require.NoError(t, err)
		vp, err := ray.Get(ctx, pos)
		require.NoError(t, err)
		assert.Equal(t, 4, vx)
		assert.Equal(t, "x=4", vl)
		assert.True(t, vp)
		refs, err := s.multi.split.Remote(ctx, 4, 10)
		require.NoError(t, err)
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{10, 11, 12, 13}, vs)
		one, err := s.multi.split.Remote(ctx, 1, 7) // num_returns=1: one object
		require.NoError(t, err)
		v, err := ray.Get(ctx, one[0])
		require.NoError(t, err)
		assert.Equal(t, 7, v)
	}},
	{"num_returns: wait and pass one return to another task", func(t *testing.T, ctx context.Context, s *suite) {
		q, r := s.multi.divmod.Options(ray.Spread()).Remote(ctx, 23, 7)
		ready, notReady, err := ray.Wait(ctx, []ray.Ref[int]{r, q}, 2, 10*time.Second)
		require.NoError(t, err)
		assert.Len(t, ready, 2)
		assert.Empty(t, notReady)
		// Each return is an argument on its own, on any node.
		sum, err := ray.Get(ctx, s.add.Options(ray.Spread()).Remote(ctx, q, r))
		require.NoError(t, err)
		assert.Equal(t, 3+2, sum)
		d, err := ray.Get(ctx, s.double.Remote(ctx, r))
		require.NoError(t, err)
		assert.Equal(t, 4, d)
		// A return waited for before its task has run.
		refs, err := s.multi.split.Remote(ctx, 3, 100)
		require.NoError(t, err)
		ready, _, err = ray.Wait(ctx, refs[2:], 1, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, refs[2:], ready)
		// Refs travel inside values and keep their index.
		all, err := ray.Get(ctx, s.sum.Remote(ctx, refs[0], refs[1], refs[2]))
		require.NoError(t, err)
		assert.Equal(t, 303, all)
	}},
	{"num_returns: free one return, the other stays readable", func(t *testing.T, ctx context.Context, s *suite) {
		q, r := s.multi.divmod.Remote(ctx, 9, 4)
		_, err := ray.Get(ctx, q)
		require.NoError(t, err)
		runs := s.multi.runs.Load()
		require.NoError(t, ray.Free(ctx, q))
		v, err := ray.GetTimeout(ctx, r, 10*time.Second)
		require.NoError(t, err, "the other return after a free of the first")
		assert.Equal(t, 1, v)
		assert.Equal(t, runs, s.multi.runs.Load(), "reading the return not freed ran the task again")
		// The freed return is rebuilt from lineage: the task runs again.
		v, err = ray.GetTimeout(ctx, q, 10*time.Second)
		require.NoError(t, err, "the freed return, rebuilt")
		assert.Equal(t, 2, v)
		assert.Greater(t, s.multi.runs.Load(), runs, "the freed return was not rebuilt by a run")
	}},
	{"num_returns: an error or a cancel fails every return", func(t *testing.T, ctx context.Context, s *suite) {
		q, r := s.multi.divmod.Remote(ctx, 1, 0)
		_, err := ray.Get(ctx, r)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "divmod 1 by zero")
		_, err = ray.Get(ctx, q)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "divmod 1 by zero")
		// So does a panic.
		q, r = s.multi.divmod.Remote(ctx, 1, -3)
		for _, ref := range []ray.Ref[int]{q, r} {
			_, err = ray.Get(ctx, ref)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "panic: divmod by -3")
		}
		// A cancel through either return cancels the task: both are
		// ErrCancelled.
		a, b := s.multi.hold.Remote(ctx, 100_000)
		require.NoError(t, ray.Cancel(ctx, b))
		_, err = ray.GetTimeout(ctx, a, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		_, err = ray.GetTimeout(ctx, b, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		// An argument that does not decode: ErrDecode on each.
		q, r = s.multi.divmod.Remote(ctx, ray.RefOf[int](mustPut(ctx, t, "seven")), 2)
		_, err = ray.Get(ctx, q)
		require.ErrorIs(t, err, ray.ErrDecode)
		_, err = ray.Get(ctx, r)
		require.ErrorIs(t, err, ray.ErrDecode)
		// Checked at submission as any function's arguments.
		q, r = s.multi.divmod.Remote(ctx, 1)
		require.ErrorIs(t, q.Err(), ray.ErrBadArgs)
		require.ErrorIs(t, r.Err(), ray.ErrBadArgs)
		_, err = ray.Get(ctx, r)
		require.ErrorIs(t, err, ray.ErrBadArgs)
	}},
	{"num_returns: a wrong count fails every return", func(t *testing.T, ctx context.Context, s *suite) {
		refs, err := s.multi.split.Remote(ctx, 2, -5) // makes 3
		require.NoError(t, err)
		for i, ref := range refs {
			_, err := ray.Get(ctx, ref)
			require.ErrorIs(t, err, ray.ErrTaskFailed, "return %d", i)
			assert.Contains(t, err.Error(), "split returned 3 values, but num_returns is 2")
		}
		_, err = s.multi.split.Remote(ctx, 0, 1)
		require.ErrorIs(t, err, ray.ErrReturnCount)
		require.ErrorIs(t, err, ray.ErrInvalidOption)
		_, err = s.multi.split.Remote(ctx, transport.MaxReturns+1, 1)
		require.ErrorIs(t, err, ray.ErrReturnCount)
	}},
	{"num_returns: each return has its own size", func(t *testing.T, ctx context.Context, s *suite) {
		a, b := s.multi.blobs.Remote(ctx, 3, 1)
		va, err := ray.Get(ctx, a)
		require.NoError(t, err)
		vb, err := ray.Get(ctx, b)
		require.NoError(t, err)
		assert.Equal(t, ray.Blob{Bytes: 3 << 20, Sum: 3}, va)
		assert.Equal(t, ray.Blob{Bytes: 1 << 20, Sum: 1}, vb)
	}},
}

// multiActorCases are the semantic cases of actor methods with several
// returns.
var multiActorCases = []semanticCase{
	{"actor methods of two arguments and of three returns", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 2)
		v, err := ray.Get(ctx, s.multi.scale.Remote(ctx, h, 3, 1)) // 2*3+1
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		before, after := s.multi.scale2.Remote(ctx, h, 2, 0)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{before, after}, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{7, 14}, vs)
		get3 := func(n ray.Ref[int], l ray.Ref[string], p ray.Ref[bool]) (int, string, bool) {
			t.Helper()
			vs, err := ray.GetObjects(ctx, []ray.ObjectRef{n, l, p}, -1)
			require.NoError(t, err)
			return vs[0].(int), vs[1].(string), vs[2].(bool)
		}
		n, l, p := get3(s.multi.trio0.Remote(ctx, h))
		assert.Equal(t, 14, n)
		assert.Equal(t, "n=14", l)
		assert.True(t, p)
		n, l, p = get3(s.multi.trio1.Remote(ctx, h, -20))
		assert.Equal(t, -6, n)
		assert.Equal(t, "n=-6", l)
		assert.False(t, p)
		n, l, p = get3(s.multi.trio2.Options(ray.Name("trio")).Remote(ctx, h, -1, "got "))
		assert.Equal(t, 6, n)
		assert.Equal(t, "got n=6", l)
		assert.True(t, p)
		refs, err := s.multi.range2.Remote(ctx, h, 4, 4, 5) // 4 returns: n 6+4, then steps of 5
		require.NoError(t, err)
		vs, err = ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{10, 15, 20, 25}, vs)
		// Arguments are checked at the call as for one-argument methods;
		// an error fails all three returns.
		bad := s.multi.scale.Remote(ctx, h, 1)
		require.ErrorIs(t, bad.Err(), ray.ErrBadArgs)
		_, bl, _ := s.multi.trio2.Remote(ctx, h, 1, 2)
		require.ErrorIs(t, bl.Err(), ray.ErrBadArgs)
		e1, e2, e3 := s.multi.trio2.Remote(ctx, h, 1, "")
		for _, r := range []ray.ObjectRef{e1, e2, e3} {
			_, err := ray.GetObjects(ctx, []ray.ObjectRef{r}, -1)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "empty label")
		}
		var nilMethod *ray.ActorMethod3[counter, int, string, bool]
		x, _, _ := nilMethod.Remote(ctx, h)
		require.ErrorIs(t, x.Err(), ray.ErrUnknownFunction)
	}},
	{"num_returns: actor methods", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 10)
		before, after := s.multi.step.Remote(ctx, h, 5)
		va, err := ray.Get(ctx, after)
		require.NoError(t, err)
		vb, err := ray.Get(ctx, before)
		require.NoError(t, err)
		assert.Equal(t, []int{10, 15}, []int{vb, va})
		refs, err := s.multi.steps.Remote(ctx, h, 3, 0)
		require.NoError(t, err)
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{16, 17, 18}, vs)
		// A return passed to a task, and to the actor's own method.
		d, err := ray.Get(ctx, s.double.Remote(ctx, refs[1]))
		require.NoError(t, err)
		assert.Equal(t, 34, d)
		b2, a2 := s.multi.step.Remote(ctx, h, refs[0])
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{a2, b2}, 2, 10*time.Second)
		require.NoError(t, err)
		assert.Len(t, ready, 2)
		v, err := ray.Get(ctx, a2)
		require.NoError(t, err)
		assert.Equal(t, 18+16, v)
		// An error fails both; a wrong count fails every return.
		b3, a3 := s.multi.step.Remote(ctx, h, -1)
		_, err = ray.Get(ctx, a3)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		_, err = ray.Get(ctx, b3)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "step by -1")
		refs, err = s.multi.steps.Remote(ctx, h, 2, -1)
		require.NoError(t, err)
		for _, ref := range refs {
			_, err = ray.Get(ctx, ref)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "returned 3 values, but num_returns is 2")
		}
		_, err = s.multi.steps.Remote(ctx, h, 0, 0)
		require.ErrorIs(t, err, ray.ErrReturnCount)
		// Free one return of a call: the other stays readable.
		b4, a4 := s.multi.step.Remote(ctx, h, 1)
		_, err = ray.Get(ctx, a4)
		require.NoError(t, err)
		require.NoError(t, ray.Free(ctx, a4))
		v, err = ray.GetTimeout(ctx, b4, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 37, v, "the counter before the step: 34, then the 3 steps of the call that failed")
		// A threaded actor's method (run on a pool worker).
		th := s.counter.Options(ray.MaxConcurrency(2)).New(ctx, 0)
		b5, a5 := s.multi.step.Remote(ctx, th, 2)
		vs, err = ray.GetAll(ctx, []ray.Ref[int]{b5, a5}, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 2}, vs)
	}},
}

// mustPut puts v and returns its object's ID.
func mustPut[T any](ctx context.Context, t *testing.T, v T) transport.ObjectID {
	ref, err := ray.Put(ctx, v)
	require.NoError(t, err)
	return ref.ObjectID()
}

// TestMultiReturnSizes: each return of a task is stored and announced with
// its own value's size (a Blob's virtual size), not the first's, in the
// trace's object.created events and the object table.
func TestMultiReturnSizes(t *testing.T) {
	s := newSuite()
	sizes := map[transport.ObjectID]int64{}
	cfg := ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true, OnEvent: func(ev *transport.Event) {
		if ev.Kind == transport.EvObjectCreated {
			sizes[ev.Object] = ev.Bytes
		}
	}}
	c, err := ray.NewSim(cfg, s.reg)
	require.NoError(t, err)
	defer c.Close()
	var a, b ray.Ref[ray.Blob]
	require.NoError(t, c.Run(func(ctx context.Context) error {
		a, b = s.multi.blobs.Remote(ctx, 3, 1)
		_, err := ray.GetAll(ctx, []ray.Ref[ray.Blob]{a, b}, -1)
		return err
	}))
	assert.Equal(t, int64(3<<20), sizes[a.ObjectID()])
	assert.Equal(t, int64(1<<20), sizes[b.ObjectID()])
}

// TestMultiReturnRebuiltAfterNodeDeath: the node that ran a task of two
// returns (and so holds their only copies) dies; a read of each return
// rebuilds it from lineage, by running the task again elsewhere, and a
// return read after the rebuild is the rebuild's copy (no second run).
func TestMultiReturnRebuiltAfterNodeDeath(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		q, r := s.multi.divmod.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1)).Remote(ctx, 47, 10)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{q, r}, 2, 10*time.Second) // done; no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 2)
		refs, err := s.multi.split.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1)).Remote(ctx, 3, 5)
		require.NoError(t, err)
		ready, _, err = ray.Wait(ctx, refs, 3, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, ready, 3)
		runs := s.multi.runs.Load()
		c.Netsim().Crash(netsim.NodeID(w1)) // the only copies go
		v, err := ray.GetTimeout(ctx, r, 20*time.Second)
		require.NoError(t, err, "the second return, rebuilt")
		assert.Equal(t, 7, v)
		v, err = ray.GetTimeout(ctx, q, 20*time.Second)
		require.NoError(t, err, "the first return, rebuilt")
		assert.Equal(t, 4, v)
		vs, err := ray.GetAll(ctx, refs, 20*time.Second)
		require.NoError(t, err, "a FuncN's returns, rebuilt")
		assert.Equal(t, []int{5, 6, 7}, vs)
		assert.Equal(t, runs+2, s.multi.runs.Load(), "one rebuild run per task")
		return nil
	})
}

// TestMultiReturnRetriedAfterNodeDeath: a task of two returns whose node
// dies while it runs is retried elsewhere (MaxRetries), and both returns
// are the retry's.
func TestMultiReturnRetriedAfterNodeDeath(t *testing.T) {
	s := newSuite()
	var runs atomic.Int64
	slowPair := ray.Register1x2(s.reg, "slowPair", func(ctx context.Context, ms int) (int, uint64, error) {
		n := runs.Add(1)
		if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return 0, 0, err
		}
		return int(n), uint64(ray.NodeOf(ctx)), nil
	})
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		run, where := slowPair.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(2)).Remote(ctx, 500)
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // it runs on w1
		require.Equal(t, int64(1), runs.Load())
		c.Netsim().Crash(netsim.NodeID(w1))
		node, err := ray.GetTimeout(ctx, where, 30*time.Second)
		require.NoError(t, err, "the second return, from the retry")
		assert.NotEqual(t, uint64(w1), node)
		v, err := ray.GetTimeout(ctx, run, 30*time.Second)
		require.NoError(t, err, "the first return, from the retry")
		assert.Equal(t, 2, v)
		return nil
	})
}

// TestMultiReturnOptions: the options a task takes apply to one of several
// returns: MaxRetries with RetryExceptions retries its errors (every
// return then gets the run that succeeded), resources and a placement
// group's bundle place it, and options that apply to actors only are
// refused.
func TestMultiReturnOptions(t *testing.T) {
	s := newSuite()
	var runs atomic.Int64
	flaky := ray.Register1x2(s.reg, "flaky2", func(ctx context.Context, k int) (int, uint64, error) {
		if n := runs.Add(1); n <= int64(k) {
			return 0, 0, fmt.Errorf("flaky2 run %d", n)
		}
		return int(runs.Load()), uint64(ray.NodeOf(ctx)), nil
	})
	faultSim(t, s, ray.Config{}, func(ctx context.Context, c *ray.Sim) error {
		n, where := flaky.Options(ray.MaxRetries(3), ray.RetryExceptions(), ray.Resource("special", 1)).Remote(ctx, 2)
		v, err := ray.Get(ctx, n)
		require.NoError(t, err)
		assert.Equal(t, 3, v, "the third run's")
		node, err := ray.Get(ctx, where)
		require.NoError(t, err)
		special, _ := c.NodeIndex("special")
		assert.Equal(t, uint64(ray.RayletID(special)), node, "placed by its resources")
		runs.Store(0)
		n, _ = flaky.Options(ray.MaxRetries(1), ray.RetryExceptions()).Remote(ctx, 5)
		_, err = ray.Get(ctx, n)
		require.ErrorIs(t, err, ray.ErrTaskFailed, "retries spent")
		// In a placement group's bundle, reserved on the "special" node.
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1, Resources: map[string]float64{"special": 1}}}, ray.StrictPack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, 10*time.Second))
		runs.Store(0)
		n, where = flaky.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, 0)
		vs, err := ray.GetAll(ctx, []ray.Ref[uint64]{where}, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, uint64(ray.RayletID(special)), vs[0], "run in its bundle")
		v, err = ray.Get(ctx, n)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		a, b := flaky.Options(ray.MaxRestarts(1)).Remote(ctx, 0)
		require.ErrorIs(t, a.Err(), ray.ErrInvalidOption)
		require.ErrorIs(t, b.Err(), ray.ErrInvalidOption)
		var nilFunc *ray.Func2[int, int]
		a2, _ := nilFunc.Remote(ctx)
		require.True(t, errors.Is(a2.Err(), ray.ErrUnknownFunction))
		return nil
	})
}
