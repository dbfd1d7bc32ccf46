package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// ioCompute is the actor option of the concurrency group cases: two
// groups, "io" and "compute", of one method at a time each.
func ioCompute() ray.Option { return ray.ConcurrencyGroups(map[string]int{"io": 1, "compute": 1}) }

// inGroup is the option of a method call in the named concurrency group.
func inGroup(name string) ray.Option { return ray.ConcurrencyGroup(name) }

// groupsBesideEachOther checks on h (groups "io" and "compute" of limit 1,
// the default group of 1) that a method blocked in "io" holds up neither
// "compute" nor the default group, though a later "io" call of the same
// caller waits for it: a method handle's group (Options) is its calls',
// and a call's own Options choose another.
func groupsBesideEachOther(t *testing.T, ctx context.Context, s *suite, h ray.ActorHandle[gate]) {
	t.Helper()
	ioSpin := s.gates.spin.Options(inGroup("io"))
	ioEnter := s.gates.enter.Options(inGroup("io"))
	blocked := ioSpin.Remote(ctx, h, 10000)
	queued := ioEnter.Remote(ctx, h, enterArgs{Tag: 2, Ms: 1}) // behind blocked in "io"
	v, err := ray.GetTimeout(ctx, ioEnter.Options(inGroup("compute")).Remote(ctx, h, enterArgs{Tag: 1, Ms: 1}), 30*time.Second)
	require.NoError(t, err, "a compute call runs while io is blocked")
	assert.Equal(t, 1, v)
	v, err = ray.GetTimeout(ctx, s.gates.enter.Remote(ctx, h, enterArgs{Tag: 3, Ms: 1}), 30*time.Second)
	require.NoError(t, err, "a default group call runs while io is blocked")
	assert.Equal(t, 3, v)
	_, err = ray.GetTimeout(ctx, queued, 50*time.Millisecond)
	require.ErrorIs(t, err, ray.ErrTimeout, "io runs one method at a time: the second waits")
	_, err = ray.GetTimeout(ctx, blocked, 0)
	require.ErrorIs(t, err, ray.ErrTimeout, "the io method still runs")
	require.NoError(t, ray.Cancel(ctx, blocked))
	_, err = ray.GetTimeout(ctx, blocked, 30*time.Second)
	require.ErrorIs(t, err, ray.ErrCancelled)
	v, err = ray.GetTimeout(ctx, queued, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 3, 2}, order, "the compute and default calls overtook the io call queued before them")
}

// groupCases are the concurrency group cases of the semantic suite: they
// run on netsim (TestSemanticsSim) and on loopback TCP (TestSemanticsTCP).
var groupCases = []semanticCase{
	{"concurrency groups: a blocked group holds up no other", func(t *testing.T, ctx context.Context, s *suite) {
		groupsBesideEachOther(t, ctx, s, s.gates.cls.Options(ioCompute()).New(ctx))
	}},
	{"concurrency groups: two groups of one run a method each at once", func(t *testing.T, ctx context.Context, s *suite) {
		// Each returns once two methods have started: in one group of
		// one (or on an actor of one at a time) the first would wait for
		// good (here: fail after its steps).
		h := s.gates.cls.Options(ioCompute()).New(ctx)
		io := s.gates.meet.Options(inGroup("io")).Remote(ctx, h, meetArgs{N: 2, Steps: 10000})
		compute := s.gates.meet.Options(inGroup("compute")).Remote(ctx, h, meetArgs{N: 2, Steps: 10000})
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{io, compute}, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{2, 2}, vs)
		most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, most)
	}},
	{"concurrency groups: a group's limit holds", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.gates.cls.Options(ray.ConcurrencyGroups(map[string]int{"io": 2})).New(ctx)
		io := s.gates.meet.Options(inGroup("io"))
		// Two at once reach the limit...
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{io.Remote(ctx, h, meetArgs{N: 2, Steps: 10000}), io.Remote(ctx, h, meetArgs{N: 2, Steps: 10000})}, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{2, 2}, vs)
		// ...and ten never pass it.
		var refs []ray.Ref[int]
		for i := range 10 {
			refs = append(refs, s.gates.enter.Options(inGroup("io")).Remote(ctx, h, enterArgs{Tag: i, Ms: 20}))
		}
		_, err = ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, most, "io methods in flight at once")
		order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, order)

		// The default group runs MaxConcurrency (1 here) at a time
		// beside the groups: the first of two waits for the second in
		// vain.
		d := s.gates.cls.Options(ray.ConcurrencyGroups(map[string]int{"io": 2})).New(ctx)
		first := s.gates.meet.Remote(ctx, d, meetArgs{N: 2, Steps: 200})
		second := s.gates.meet.Remote(ctx, d, meetArgs{N: 2, Steps: 200})
		_, err = ray.GetTimeout(ctx, first, 30*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "only 1 of 2 methods started")
		v, err := ray.GetTimeout(ctx, second, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
	}},
	{"concurrency groups: a call waiting for its argument holds up only its group", func(t *testing.T, ctx context.Context, s *suite) {
		// A caller's calls start in their order within a group: the
		// second io call waits for the first's argument though io has
		// room; the compute call does not.
		h := s.gates.cls.Options(ioCompute()).New(ctx)
		_, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second) // it lives
		require.NoError(t, err)
		arg := s.gates.later.Remote(ctx, enterArgs{Tag: 1, Ms: 1}, 1000)
		first := s.gates.enter.Options(inGroup("io")).Remote(ctx, h, arg)
		second := s.gates.enter.Options(inGroup("io")).Remote(ctx, h, enterArgs{Tag: 2, Ms: 1})
		v, err := ray.GetTimeout(ctx, s.gates.enter.Options(inGroup("compute")).Remote(ctx, h, enterArgs{Tag: 3, Ms: 1}), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		made, _, err := ray.Wait(ctx, []ray.Ref[enterArgs]{arg}, 1, 0)
		require.NoError(t, err)
		assert.Empty(t, made, "the compute call ran before the io call's argument was made")
		_, err = ray.GetTimeout(ctx, second, 0)
		require.ErrorIs(t, err, ray.ErrTimeout, "the second io call waits for the first")
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{first, second}, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, vs)
		order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{3, 1, 2}, order)
		assert.Equal(t, 3, order[0], "the compute call started first")
	}},
	{"concurrency groups: a call naming an unknown group fails, the actor lives on", func(t *testing.T, ctx context.Context, s *suite) {
		for _, cls := range []*ray.ActorClass[gate]{
			s.gates.cls.Options(ioCompute()),
			s.gates.cls, // no groups at all
			s.gates.cls.Options(ray.MaxConcurrency(2)),
		} {
			h := cls.New(ctx)
			bad := s.gates.enter.Options(inGroup("nope")).Remote(ctx, h, enterArgs{Tag: 1, Ms: 1})
			next := s.gates.enter.Remote(ctx, h, enterArgs{Tag: 2, Ms: 1})
			_, err := ray.GetTimeout(ctx, bad, 30*time.Second)
			require.ErrorIs(t, err, ray.ErrUnknownConcurrencyGroup)
			assert.NotErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), `no concurrency group "nope"`)
			v, err := ray.GetTimeout(ctx, next, 30*time.Second)
			require.NoError(t, err, "the caller's next call runs")
			assert.Equal(t, 2, v)
			order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, []int{2}, order, "the call in no group never ran")
		}
	}},
	{"concurrency groups: a restarted actor keeps its groups", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		h := s.gates.cls.Options(ioCompute(), ray.MaxRestarts(1), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx)
		at, err := ray.GetTimeout(ctx, s.gates.where.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(1)), at)
		s.crash(1)
		at, err = ray.GetTimeout(ctx, s.gates.where.Options(ray.MaxRetries(3)).Remote(ctx, h), 60*time.Second)
		require.NoError(t, err, "the actor came back")
		require.NotEqual(t, uint64(ray.RayletID(1)), at, "elsewhere")
		groupsBesideEachOther(t, ctx, s, h)
	}},
}

func init() { semanticCases = append(semanticCases, groupCases...) }

// TestConcurrencyGroupsRefused: ConcurrencyGroups takes named groups of
// limits 1 and more, on an actor's creation only, not beside
// ReplayMethods or CheckpointEvery, and not beyond the bounds of the
// wire; ConcurrencyGroup a method call only, of a name within the bound:
// each is refused with ErrInvalidOption, nothing created or called.
func TestConcurrencyGroupsRefused(t *testing.T) {
	s := newSuite()
	durable := ray.RegisterActor0(s.reg, "DurableCounter", func(ctx context.Context) (*durableCounter, error) { return &durableCounter{}, nil })
	many := map[string]int{}
	for i := range transport.MaxConcurrencyGroups + 1 {
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = 1
	}
	long := string(make([]byte, transport.MaxConcurrencyGroupName+1))
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		for _, tc := range []struct {
			name string
			opts []ray.Option
		}{
			{"limit 0", []ray.Option{ray.ConcurrencyGroups(map[string]int{"io": 0})}},
			{"negative limit", []ray.Option{ray.ConcurrencyGroups(map[string]int{"io": -1})}},
			{"limit above the bound", []ray.Option{ray.ConcurrencyGroups(map[string]int{"io": transport.MaxActorConcurrency + 1})}},
			{"limits above the bound together", []ray.Option{ray.ConcurrencyGroups(map[string]int{"a": transport.MaxActorConcurrency / 2, "b": transport.MaxActorConcurrency / 2})}},
			{"with max concurrency above the bound", []ray.Option{ray.MaxConcurrency(transport.MaxActorConcurrency), ray.ConcurrencyGroups(map[string]int{"io": 1})}},
			{"empty name", []ray.Option{ray.ConcurrencyGroups(map[string]int{"": 1})}},
			{"name too long", []ray.Option{ray.ConcurrencyGroups(map[string]int{long: 1})}},
			{"too many groups", []ray.Option{ray.ConcurrencyGroups(many)}},
			{"with replay", []ray.Option{ray.ConcurrencyGroups(map[string]int{"io": 1}), ray.ReplayMethods()}},
			{"a call's group on a creation", []ray.Option{ray.ConcurrencyGroup("io")}},
		} {
			h := s.gates.cls.Options(tc.opts...).New(ctx)
			require.ErrorIs(t, h.Err(), ray.ErrInvalidOption, tc.name)
			t.Logf("%s: %v", tc.name, h.Err())
		}
		d := durable.Options(ray.CheckpointEvery(2), ray.ConcurrencyGroups(map[string]int{"io": 1})).New(ctx)
		require.ErrorIs(t, d.Err(), ray.ErrInvalidOption, "with checkpoints")
		t.Logf("with checkpoints: %v", d.Err())
		d = durable.Options(ray.CheckpointEvery(2)).New(ctx)
		require.NoError(t, d.Err(), "checkpoints without groups")
		h := s.gates.cls.Options(ray.ConcurrencyGroups(map[string]int{})).New(ctx)
		require.NoError(t, h.Err(), "no groups")
		_, err := ray.Get(ctx, s.gates.most.Options(ray.ConcurrencyGroups(map[string]int{"io": 1})).Remote(ctx, h))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "groups on a method call")
		_, err = ray.Get(ctx, s.gates.most.Options(ray.ConcurrencyGroup(long)).Remote(ctx, h))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "a call's group name too long")
		_, err = ray.Get(ctx, s.double.Options(ray.ConcurrencyGroup("io")).Remote(ctx, 1))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "a group on a task")
		_, err = ray.Get(ctx, s.double.Options(ray.ConcurrencyGroups(map[string]int{"io": 1})).Remote(ctx, 1))
		require.ErrorIs(t, err, ray.ErrInvalidOption, "groups on a task")
		v, err := ray.Get(ctx, s.gates.most.Options(ray.ConcurrencyGroup("")).Remote(ctx, h))
		require.NoError(t, err, `"" is the default group`)
		assert.Zero(t, v)
	})
}

// groupsVirtualTime runs two 100 ms methods on an actor with opts, the
// first in group a and the second in b, and returns the virtual time
// from their submission until both are done, and the run's digest.
func groupsVirtualTime(t *testing.T, opts []ray.Option, a, b string) (time.Duration, uint64) {
	t.Helper()
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	var took time.Duration
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := s.gates.cls.Options(opts...).New(ctx)
		_, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second) // it lives
		require.NoError(t, err)
		start := ray.Now(ctx)
		refs := []ray.Ref[int]{
			s.gates.enter.Options(inGroup(a)).Remote(ctx, h, enterArgs{Tag: 1, Ms: 100}),
			s.gates.enter.Options(inGroup(b)).Remote(ctx, h, enterArgs{Tag: 2, Ms: 100}),
		}
		_, err = ray.GetAll(ctx, refs, 10*time.Second)
		require.NoError(t, err)
		took = ray.Now(ctx).Sub(start)
		return nil
	}))
	return took, c.Netsim().Digest()
}

// TestConcurrencyGroupsOverlapInVirtualTime: on netsim, two methods that
// declare 100 ms of compute (ray.Compute) in two groups of one take
// about 100 ms of virtual time together; in one group of one, 200 ms
// (one after the other), and in one group of two, 100 ms again. The runs
// replay bit for bit from their seed.
func TestConcurrencyGroupsOverlapInVirtualTime(t *testing.T) {
	groups := []ray.Option{ray.ConcurrencyGroups(map[string]int{"io": 1, "compute": 1, "wide": 2})}
	apart, digest := groupsVirtualTime(t, groups, "io", "compute")
	t.Logf("two groups of one: %v", apart)
	assert.GreaterOrEqual(t, apart, 100*time.Millisecond)
	assert.Less(t, apart, 150*time.Millisecond, "the two ran at once")
	together, _ := groupsVirtualTime(t, groups, "io", "io")
	t.Logf("one group of one: %v", together)
	assert.GreaterOrEqual(t, together, 200*time.Millisecond, "one after the other")
	wide, _ := groupsVirtualTime(t, groups, "wide", "wide")
	t.Logf("one group of two: %v", wide)
	assert.Less(t, wide, 150*time.Millisecond, "the two ran at once")
	_, again := groupsVirtualTime(t, groups, "io", "compute")
	assert.Equal(t, digest, again, "same seed, same digest")
}

// TestConcurrencyGroupStartOrder: within a group, each caller's calls
// start in their order (on netsim a method's code starts as the raylet
// starts it), though up to the group's limit run at once; another group's
// calls, interleaved with them, do not change it.
func TestConcurrencyGroupStartOrder(t *testing.T) {
	s := newSuite()
	semanticsSim(t, s, func(ctx context.Context, c *ray.Sim) {
		h := s.gates.cls.Options(ray.ConcurrencyGroups(map[string]int{"io": 3, "compute": 1})).New(ctx)
		var refs []ray.Ref[int]
		for i := range 12 {
			group := "io"
			if i%3 == 2 {
				group = "compute"
			}
			refs = append(refs, s.gates.enter.Options(inGroup(group)).Remote(ctx, h, enterArgs{Tag: i, Ms: 10 + 7*(i%4)}))
		}
		_, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		order, err := ray.GetTimeout(ctx, s.gates.order.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		var io, compute []int
		for _, tag := range order {
			if tag%3 == 2 {
				compute = append(compute, tag)
			} else {
				io = append(io, tag)
			}
		}
		assert.Equal(t, []int{0, 1, 3, 4, 6, 7, 9, 10}, io)
		assert.Equal(t, []int{2, 5, 8, 11}, compute)
		most, err := ray.GetTimeout(ctx, s.gates.most.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 4, most, "three io and one compute at once")
	})
}
