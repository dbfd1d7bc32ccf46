package ray_test

import (
	"context"
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

// genFuncs are the semantic suite's generator functions (Ray's streaming
// generators).
type genFuncs struct {
	// count yields 10*i for i from 0 to n-1, each after ms milliseconds
	// of Compute; runs counts its runs.
	count *ray.GenFunc[int]
	runs  atomic.Int64
	// failAfter yields 0 to |k|-1, then returns an error (k >= 0) or
	// panics (k < 0).
	failAfter *ray.GenFunc[int]
	// hold yields 1 to k, then computes for an hour (a cancel ends it),
	// then yields k+1.
	hold *ray.GenFunc[int]
	// drain iterates count(n, 1) on node 1 from a task and returns the
	// sum of its items and the nodes they were made on.
	drain *ray.Func[[]int]
	// where yields the node it runs on, n times.
	where *ray.GenFunc[uint64]
	// ticks adds 1 to a counter k times, yielding each value, and fails
	// after them with k < 0 (|k| ticks).
	ticks *ray.ActorGenMethod[counter, int]
	// paced yields 0 to n-1, counting in made each item it is about to
	// yield; a yield that fails ends it, its error kept in pacedErr.
	paced    *ray.GenFunc[int]
	made     atomic.Int64
	pacedErr atomic.Value
	// shrink yields 10*i for i from 0 to n-1, each after ms milliseconds
	// of Compute, on its first run, two items fewer on every later run (a
	// generator that is not deterministic); shrinkRuns counts its runs.
	shrink     *ray.GenFunc[int]
	shrinkRuns atomic.Int64
	// own submits paced(10) with backpressure 1 to node 1, takes one
	// item, then computes for an hour: the stream's owner is its node.
	own *ray.Func[int]
	// takeOne submits paced(10) with backpressure 1 to node 1, takes one
	// item and returns, its stream unfinished.
	takeOne *ray.Func[int]
}

// addMethods registers genFuncs' methods of class cls.
func (g *genFuncs) addMethods(cls *ray.ActorClass[counter]) {
	g.ticks = ray.MethodGen1(cls, "ticks", func(ctx context.Context, c *counter, k int, yield func(int) error) error {
		for range max(k, -k) {
			c.n++
			if err := yield(c.n); err != nil {
				return err
			}
		}
		if k < 0 {
			return fmt.Errorf("ticks: %d", k)
		}
		return nil
	})
}

func newGenFuncs(reg *ray.Registry) *genFuncs {
	g := &genFuncs{}
	g.count = ray.RegisterGen2(reg, "countGen", func(ctx context.Context, n, ms int, yield func(int) error) error {
		g.runs.Add(1)
		for i := range n {
			if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return err
			}
			if err := yield(10 * i); err != nil {
				return err
			}
		}
		return nil
	})
	g.failAfter = ray.RegisterGen1(reg, "failAfterGen", func(ctx context.Context, k int, yield func(int) error) error {
		for i := range max(k, -k) {
			if err := yield(i); err != nil {
				return err
			}
		}
		if k < 0 {
			panic(fmt.Sprintf("failAfter %d", -k))
		}
		return fmt.Errorf("failed after %d", k)
	})
	g.hold = ray.RegisterGen1(reg, "holdGen", func(ctx context.Context, k int, yield func(int) error) error {
		for i := 1; i <= k; i++ {
			if err := yield(i); err != nil {
				return err
			}
		}
		if err := ray.Compute(ctx, time.Hour); err != nil {
			return err
		}
		return yield(k + 1)
	})
	g.drain = ray.Register1(reg, "drainGen", func(ctx context.Context, n int) ([]int, error) {
		st := g.count.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, n, 1)
		sum, items := 0, 0
		for ref, err := range st.All(ctx) {
			if err != nil {
				return nil, err
			}
			v, err := ray.Get(ctx, ref)
			if err != nil {
				return nil, err
			}
			sum += v
			items++
		}
		return []int{sum, items}, nil
	})
	g.paced = ray.RegisterGen1(reg, "pacedGen", func(ctx context.Context, n int, yield func(int) error) error {
		for i := range n {
			g.made.Add(1)
			if err := yield(i); err != nil {
				g.pacedErr.Store(err.Error())
				return err
			}
		}
		return nil
	})
	g.shrink = ray.RegisterGen2(reg, "shrinkGen", func(ctx context.Context, n, ms int, yield func(int) error) error {
		if g.shrinkRuns.Add(1) > 1 {
			n -= 2
		}
		for i := range n {
			if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return err
			}
			if err := yield(10 * i); err != nil {
				return err
			}
		}
		return nil
	})
	g.own = ray.Register0(reg, "ownGen", func(ctx context.Context) (int, error) {
		st := g.paced.Options(ray.GeneratorBackpressure(1), ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 10)
		if _, err := st.Next(ctx); err != nil {
			return 0, err
		}
		return 0, ray.Compute(ctx, time.Hour)
	})
	g.takeOne = ray.Register0(reg, "takeOneGen", func(ctx context.Context) (int, error) {
		st := g.paced.Options(ray.GeneratorBackpressure(1), ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 10)
		_, err := st.Next(ctx)
		return 0, err
	})
	g.where = ray.RegisterGen1(reg, "whereGen", func(ctx context.Context, n int, yield func(uint64) error) error {
		for range n {
			if err := yield(uint64(ray.NodeOf(ctx))); err != nil {
				return err
			}
		}
		return nil
	})
	return g
}

func init() { semanticCases = append(semanticCases, genCases...) }

// collect takes every item of st and reads it.
func collect[R any](t *testing.T, ctx context.Context, st *ray.Stream[R]) []R {
	t.Helper()
	var out []R
	for ref, err := range st.All(ctx) {
		require.NoError(t, err)
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// genCases are the semantic cases of generator tasks.
var genCases = []semanticCase{
	{"generator: items in order, on another node, from a task, and the empty stream", func(t *testing.T, ctx context.Context, s *suite) {
		st := s.gen.count.Options(ray.Resource("special", 1)).Remote(ctx, 5, 1)
		require.NoError(t, st.Err())
		assert.Equal(t, []int{0, 10, 20, 30, 40}, collect(t, ctx, st))
		_, err := st.Next(ctx)
		require.ErrorIs(t, err, ray.ErrStreamEnd, "after the end, the end again")
		n, err := ray.Get(ctx, st.Ref())
		require.NoError(t, err)
		assert.Equal(t, 5, n, "the end holds the count")
		// Each item is made where the generator runs.
		for _, node := range collect(t, ctx, s.gen.where.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, 3)) {
			assert.Equal(t, uint64(ray.RayletID(2)), node)
		}
		// Consumed by a task on another node than the generator's.
		got, err := ray.Get(ctx, s.gen.drain.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, 4))
		require.NoError(t, err)
		assert.Equal(t, []int{60, 4}, got)
		// The empty stream ends at once.
		empty := s.gen.count.Remote(ctx, 0, 1)
		_, err = empty.Next(ctx)
		require.ErrorIs(t, err, ray.ErrStreamEnd)
		_, err = empty.NextTimeout(ctx, 0)
		require.ErrorIs(t, err, ray.ErrStreamEnd)
		// Arguments are checked at submission: every Next says so.
		bad := s.gen.count.Remote(ctx, "five", 1)
		require.ErrorIs(t, bad.Err(), ray.ErrBadArgs)
		_, err = bad.Next(ctx)
		require.ErrorIs(t, err, ray.ErrBadArgs)
		var nilGen *ray.GenFunc[int]
		_, err = nilGen.Remote(ctx).Next(ctx)
		require.ErrorIs(t, err, ray.ErrUnknownFunction)
	}},
	{"generator: an item is read while the task runs; a timeout; a cancel ends the stream", func(t *testing.T, ctx context.Context, s *suite) {
		st := s.gen.hold.Remote(ctx, 1)
		ref, err := st.NextTimeout(ctx, 30*time.Second)
		require.NoError(t, err)
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1, v, "the first item, yielded before an hour's compute")
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{st.Ref()}, 1, 0)
		require.NoError(t, err)
		assert.Empty(t, ready, "the task still runs")
		_, err = st.NextTimeout(ctx, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout, "the second item is an hour away")
		require.NoError(t, st.Cancel(ctx))
		ref, err = st.NextTimeout(ctx, 30*time.Second)
		require.NoError(t, err, "the cancel is the next item")
		_, err = ray.GetTimeout(ctx, ref, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		_, err = st.Next(ctx)
		require.ErrorIs(t, err, ray.ErrStreamEnd)
		// Items yielded before the cancel and not yet taken come first:
		// the task's GCS shard records them before its end.
		st = s.gen.hold.Remote(ctx, 3)
		third := ray.RefOf[int](transport.ObjectID{Task: st.Task(), Index: 3})
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{third}, 1, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, ready, 1, "the third item is yielded")
		require.NoError(t, ray.Cancel(ctx, third), "a cancel through an item's ref")
		var got []int
		for ref, err := range st.All(ctx) {
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			if err != nil {
				require.ErrorIs(t, err, ray.ErrCancelled)
				got = append(got, -1)
				continue
			}
			got = append(got, v)
		}
		assert.Equal(t, []int{1, 2, 3, -1}, got)
	}},
	{"generator: an error mid-stream is the item after the values yielded before it", func(t *testing.T, ctx context.Context, s *suite) {
		for _, k := range []int{3, 0, -2} {
			st := s.gen.failAfter.Remote(ctx, k)
			for i := range max(k, -k) {
				ref, err := st.Next(ctx)
				require.NoError(t, err)
				v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
				require.NoError(t, err)
				assert.Equal(t, i, v)
			}
			ref, err := st.Next(ctx)
			require.NoError(t, err, "k=%d: the error is an item", k)
			_, err = ray.GetTimeout(ctx, ref, 30*time.Second)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			if k >= 0 {
				assert.Contains(t, err.Error(), fmt.Sprintf("failed after %d", k))
			} else {
				assert.Contains(t, err.Error(), "panic: failAfter 2")
			}
			_, err = st.Next(ctx)
			require.ErrorIs(t, err, ray.ErrStreamEnd, "k=%d", k)
		}
	}},
	{"generator: an item freed while the generator runs is rebuilt when read again", func(t *testing.T, ctx context.Context, s *suite) {
		st := s.gen.count.Options(ray.Resource("special", 1)).Remote(ctx, 3, 500)
		first, err := st.NextTimeout(ctx, 30*time.Second)
		require.NoError(t, err)
		v, err := ray.GetTimeout(ctx, first, 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 0, v)
		runs := s.gen.runs.Load()
		require.NoError(t, ray.Free(ctx, first))
		v, err = ray.GetTimeout(ctx, first, 30*time.Second)
		require.NoError(t, err, "the freed item, rebuilt (its run has gone past it)")
		assert.Equal(t, 0, v)
		assert.Equal(t, runs+1, s.gen.runs.Load(), "rebuilt by a second run")
		assert.Equal(t, []int{10, 20}, collect(t, ctx, st), "the stream goes on")
	}},
	{"generator: an actor's generator method streams in the actor's order", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.Options(ray.Resource("special", 1)).New(ctx, 100)
		a := s.gen.ticks.Remote(ctx, h, 3)
		b := s.gen.ticks.Remote(ctx, h, -2)
		v, err := ray.Get(ctx, s.incr.Remote(ctx, h, 10))
		require.NoError(t, err)
		assert.Equal(t, 115, v, "the calls ran in order")
		assert.Equal(t, []int{101, 102, 103}, collect(t, ctx, a))
		var got []int
		for ref, err := range b.All(ctx) {
			require.NoError(t, err)
			x, err := ray.Get(ctx, ref)
			if err != nil {
				require.ErrorIs(t, err, ray.ErrTaskFailed)
				assert.Contains(t, err.Error(), "ticks: -2")
				got = append(got, -1)
				continue
			}
			got = append(got, x)
		}
		assert.Equal(t, []int{104, 105, -1}, got, "two items, then the error")
		bad := s.gen.ticks.Remote(ctx, h, "three")
		require.ErrorIs(t, bad.Err(), ray.ErrBadArgs)
	}},
	{"generator: retried from the start when its node dies mid-stream, no item twice or missed", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		st := s.gen.count.Options(ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRetries(2)).Remote(ctx, 10, 100)
		var got []int
		for range 3 {
			ref, err := st.NextTimeout(ctx, 30*time.Second)
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			require.NoError(t, err)
			got = append(got, v)
		}
		require.Equal(t, int64(1), s.gen.runs.Load())
		s.crash(1)
		got = append(got, collect(t, ctx, st)...)
		assert.Equal(t, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}, got)
		assert.Equal(t, int64(2), s.gen.runs.Load(), "one retry")
	}},
	{"generator: a lost item is rebuilt by running the generator again", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		st := s.gen.count.Options(ray.NodeAffinity(ray.RayletID(1), true)).Remote(ctx, 4, 1)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{st.Ref()}, 1, 30*time.Second) // done; no item fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		var refs []ray.Ref[int]
		for ref, err := range st.All(ctx) {
			require.NoError(t, err)
			refs = append(refs, ref)
		}
		require.Len(t, refs, 4)
		runs := s.gen.runs.Load()
		s.crash(1) // the only copies go
		vs, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err, "the items, rebuilt")
		assert.Equal(t, []int{0, 10, 20, 30}, vs)
		assert.Equal(t, runs+1, s.gen.runs.Load(), "one rebuild run")
	}},
}

// backpressureCases are the semantic cases of generator backpressure
// (GeneratorBackpressure) and of a re-run that yields fewer items.
var backpressureCases = []semanticCase{
	{"generator: with backpressure n the generator runs at most n items ahead of its caller", func(t *testing.T, ctx context.Context, s *suite) {
		const n, items = 2, 8
		// settle waits until made stops moving (the generator blocked, or
		// done) and returns it.
		settle := func() int64 {
			last := int64(-1)
			for range 400 {
				require.NoError(t, ray.Compute(ctx, 20*time.Millisecond))
				cur := s.gen.made.Load()
				if cur == last {
					return cur
				}
				last = cur
			}
			return last
		}
		for _, node := range []int{0, 1} { // its owner's node, another
			s.gen.made.Store(0)
			st := s.gen.paced.Options(ray.GeneratorBackpressure(n), ray.NodeAffinity(ray.RayletID(node), false)).Remote(ctx, items)
			require.NoError(t, st.Err())
			assert.Equal(t, int64(n), settle(), "node %d: none taken: n items made, then the generator waits", node)
			for taken := 1; taken <= items; taken++ {
				ref, err := st.NextTimeout(ctx, 30*time.Second)
				require.NoError(t, err)
				v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
				require.NoError(t, err)
				require.Equal(t, taken-1, v)
				assert.Equal(t, int64(min(items, taken+n)), settle(), "node %d: %d taken", node, taken)
			}
			_, err := st.NextTimeout(ctx, 30*time.Second)
			require.ErrorIs(t, err, ray.ErrStreamEnd)
		}
		// Without it the generator runs to its end at once.
		s.gen.made.Store(0)
		st := s.gen.paced.Remote(ctx, items)
		assert.Equal(t, int64(items), settle())
		assert.Len(t, collect(t, ctx, st), items)
		// Only generator tasks take it, n >= 1 or -1.
		_, err := ray.Get(ctx, s.double.Options(ray.GeneratorBackpressure(1)).Remote(ctx, 1))
		require.ErrorIs(t, err, ray.ErrInvalidOption)
		assert.Contains(t, err.Error(), "GeneratorBackpressure")
		for _, bad := range []int{0, -2} {
			_, err = s.gen.paced.Options(ray.GeneratorBackpressure(bad)).Remote(ctx, 1).Next(ctx)
			require.ErrorIs(t, err, ray.ErrInvalidOption)
		}
		assert.Len(t, collect(t, ctx, s.gen.paced.Options(ray.GeneratorBackpressure(-1)).Remote(ctx, 3)), 3, "-1: none")
	}},
	{"generator: with backpressure, retried from the start when its node dies, every item once", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		st := s.gen.count.Options(ray.GeneratorBackpressure(2), ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRetries(2)).Remote(ctx, 8, 10)
		var got []int
		for range 3 {
			ref, err := st.NextTimeout(ctx, 30*time.Second)
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			require.NoError(t, err)
			got = append(got, v)
		}
		s.crash(1)
		got = append(got, collect(t, ctx, st)...)
		assert.Equal(t, []int{0, 10, 20, 30, 40, 50, 60, 70}, got)
		assert.Equal(t, int64(2), s.gen.runs.Load(), "one retry")
	}},
	{"generator: an actor's generator method with backpressure; a cancel ends its blocked yield", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 0)
		st := s.gen.ticks.Options(ray.GeneratorBackpressure(1)).Remote(ctx, h, 5)
		require.NoError(t, st.Err())
		item := func(i uint32) ray.Ref[int] { return ray.RefOf[int](transport.ObjectID{Task: st.Task(), Index: i}) }
		located := func(i uint32, timeout time.Duration) bool {
			ready, _, err := ray.Wait(ctx, []ray.Ref[int]{item(i)}, 1, timeout)
			require.NoError(t, err)
			return len(ready) == 1
		}
		require.True(t, located(1, 30*time.Second))
		assert.False(t, located(2, 300*time.Millisecond), "the method waits for the first to be taken")
		ref, err := st.NextTimeout(ctx, 30*time.Second)
		require.NoError(t, err)
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		require.True(t, located(2, 30*time.Second), "taken: the next is made")
		assert.False(t, located(3, 300*time.Millisecond))
		require.NoError(t, st.Cancel(ctx))
		var got []int
		for ref, err := range st.All(ctx) {
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			if err != nil {
				require.ErrorIs(t, err, ray.ErrCancelled)
				got = append(got, -1)
				continue
			}
			got = append(got, v)
		}
		assert.Equal(t, []int{2, -1}, got, "the item made before the cancel, then the cancel")
		n, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the method stopped at its blocked yield; the actor goes on")
		_, err = ray.Get(ctx, s.incr.Options(ray.GeneratorBackpressure(1)).Remote(ctx, h, 1))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "not for other methods")
	}},
	{"generator: a cancel ends a generator blocked by backpressure", func(t *testing.T, ctx context.Context, s *suite) {
		s.gen.made.Store(0)
		st := s.gen.paced.Options(ray.GeneratorBackpressure(1), ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 5)
		ref, err := st.NextTimeout(ctx, 30*time.Second)
		require.NoError(t, err)
		v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 0, v)
		second := ray.RefOf[int](transport.ObjectID{Task: st.Task(), Index: 2})
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{second}, 1, 30*time.Second)
		require.NoError(t, err)
		require.Len(t, ready, 1, "the second item is yielded (and its yield blocks)")
		require.NoError(t, st.Cancel(ctx))
		var got []int
		for ref, err := range st.All(ctx) {
			require.NoError(t, err)
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			if err != nil {
				require.ErrorIs(t, err, ray.ErrCancelled)
				got = append(got, -1)
				continue
			}
			got = append(got, v)
		}
		assert.Equal(t, []int{1, -1}, got, "the item stored before the block, then the cancel")
		assert.Equal(t, int64(2), s.gen.made.Load(), "the generator stopped at its blocked yield")
		assert.Contains(t, s.gen.pacedErr.Load(), "cancelled")
	}},
	{"generator: a task that ends with its stream unfinished lets its generator run on", func(t *testing.T, ctx context.Context, s *suite) {
		s.gen.made.Store(0)
		_, err := ray.GetTimeout(ctx, s.gen.takeOne.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		for i := 0; i < 3000 && s.gen.made.Load() < 10; i++ {
			require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
		}
		assert.Equal(t, int64(10), s.gen.made.Load(), "its caller gone, the generator is no longer held back")
	}},
	{"generator: a poll (NextTimeout 0) of a stream whose end is made on another node reads the end", func(t *testing.T, ctx context.Context, s *suite) {
		st := s.gen.count.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 2, 1)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{st.Ref()}, 1, 30*time.Second) // located here, not fetched
		require.NoError(t, err)
		require.Len(t, ready, 1)
		var got []int
		for range 2 {
			ref, err := st.NextTimeout(ctx, 0)
			require.NoError(t, err, "the end is made: no timeout")
			v, err := ray.GetTimeout(ctx, ref, 30*time.Second)
			require.NoError(t, err)
			got = append(got, v)
		}
		assert.Equal(t, []int{0, 10}, got)
		_, err = st.NextTimeout(ctx, 0)
		require.ErrorIs(t, err, ray.ErrStreamEnd)
	}},
	{"generator: a re-run that yields fewer items fails the readers of the others", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		st := s.gen.shrink.Options(ray.NodeAffinity(ray.RayletID(1), true)).Remote(ctx, 4, 0)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{st.Ref()}, 1, 30*time.Second) // done; no item fetched here
		require.NoError(t, err)
		require.Len(t, ready, 1)
		var refs []ray.Ref[int]
		for ref, err := range st.All(ctx) {
			require.NoError(t, err)
			refs = append(refs, ref)
		}
		require.Len(t, refs, 4)
		s.crash(1) // the only copies go
		_, err = ray.GetTimeout(ctx, refs[3], 30*time.Second)
		require.ErrorIs(t, err, ray.ErrStreamReplayInconsistent, "the fourth item: the re-run yielded two")
		require.ErrorIs(t, err, ray.ErrObjectLost)
		assert.Contains(t, err.Error(), "yielded 2 items")
		v, err := ray.GetTimeout(ctx, refs[1], 30*time.Second)
		require.NoError(t, err, "the second item, rebuilt")
		assert.Equal(t, 10, v)
	}},
	{"generator: a retry that yields fewer items fails the readers of the others", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		// The generator's node dies mid-stream: the caller took three
		// items, the retry yields two.
		st := s.gen.shrink.Options(ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRetries(2)).Remote(ctx, 4, 100)
		var refs []ray.Ref[int]
		for range 3 {
			ref, err := st.NextTimeout(ctx, 30*time.Second)
			require.NoError(t, err)
			refs = append(refs, ref)
		}
		s.crash(1)
		_, err := ray.GetTimeout(ctx, refs[2], 30*time.Second)
		require.ErrorIs(t, err, ray.ErrStreamReplayInconsistent, "the third item: the retry yielded two")
		v, err := ray.GetTimeout(ctx, refs[1], 30*time.Second)
		require.NoError(t, err, "the second item, the retry's")
		assert.Equal(t, 10, v)
		_, err = st.NextTimeout(ctx, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrStreamEnd, "the retry's end: two items, both taken")
	}},
}

func init() { semanticCases = append(semanticCases, backpressureCases...) }

// TestGeneratorBackpressureOwnerDies: a generator blocked by backpressure
// whose owner (the node of the task that iterates it) dies ends: its
// yield fails with ErrStreamOwnerDied once the GCS declares the owner dead, as
// Ray's raylet kills the workers of a dead owner's tasks. Before, nothing
// would ever have let it go on.
func TestGeneratorBackpressureOwnerDies(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		s.gen.own.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx)
		for s.gen.made.Load() < 2 { // one taken, the second yielded: it blocks
			require.NoError(t, ray.Compute(ctx, 10*time.Millisecond))
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		require.Nil(t, s.gen.pacedErr.Load(), "blocked, not ended")
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(2)))
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // the node timeout is 1s
		assert.Equal(t, int64(2), s.gen.made.Load(), "the generator stopped at its blocked yield")
		assert.Contains(t, s.gen.pacedErr.Load(), ray.ErrStreamOwnerDied.Error())
		return nil
	}))
}

// TestGeneratorRetriedAfterNodeDeath: a generator on a worker whose node
// dies after the caller took some items is retried on the other worker
// from the start; the caller goes on from the first item it had not
// taken, and the items it took from the dead run read the retry's copies.
func TestGeneratorRetriedAfterNodeDeath(t *testing.T) {
	s := newSuite()
	faultSim(t, s, ray.Config{Nodes: withW(2)}, func(ctx context.Context, c *ray.Sim) error {
		w1 := ray.RayletID(1)
		st := s.gen.count.Options(ray.NodeAffinity(w1, true), ray.Resource("w", 1), ray.MaxRetries(2)).Remote(ctx, 6, 100)
		var taken []ray.Ref[int]
		for range 3 { // taken, not read: their only copies are on w1
			ref, err := st.Next(ctx)
			require.NoError(t, err)
			taken = append(taken, ref)
		}
		c.Netsim().Crash(netsim.NodeID(w1))
		vs, err := ray.GetAll(ctx, taken, 30*time.Second)
		require.NoError(t, err, "the items taken from the dead run")
		assert.Equal(t, []int{0, 10, 20}, vs)
		assert.Equal(t, []int{30, 40, 50}, collect(t, ctx, st))
		assert.Equal(t, int64(2), s.gen.runs.Load(), "one retry, no rebuild")
		assert.Equal(t, uint64(1), uint64(c.Raylet(0).Stats.Retried), "the owner retried it once")
		return nil
	})
}
