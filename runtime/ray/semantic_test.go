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
)

// counter is an actor used by the semantic suite.
type counter struct{ n int }

// suite is the set of remote functions and actors every semantic test uses.
type suite struct {
	reg       *ray.Registry
	double    *ray.Func[int]
	add       *ray.Func[int]
	sum       *ray.Func[int]
	fib       *ray.Func[int]
	fail      *ray.Func[int]
	boom      *ray.Func[int]
	slow      *ray.Func[int]
	waitOn    *ray.Func[int]
	parent    *ray.Func[int]
	gpu       *ray.Func[string]
	where     *ray.Func[uint64]
	makeRefs  *ray.Func[[]ray.Ref[int]]
	cancelPut *ray.Func[int]
	makeNamed *ray.Func[int]
	useGroup  *ray.Func[uint64]
	// countNodes counts the nodes ray.Nodes lists, from a task.
	countNodes *ray.Func[int]
	// tree runs on a node and, for depth > 0, submits a tree of depth-1
	// (CPUs 0.5; with how 1 Spread, with how 2 DefaultScheduling, else
	// no strategy) and returns its node followed by its child's list;
	// with how 3 it creates a counter (CPUs 0.5) instead and lists the
	// node the counter runs on and the node its sendWhere's task ran on.
	tree *ray.Func[[]uint64]
	// here is the node a counter runs on; sendWhere runs where (CPUs
	// 0.5, no strategy) from a counter's method and returns its node.
	here, sendWhere *ray.ActorMethod[counter, uint64]
	counter         *ray.ActorClass[counter]
	incr            *ray.ActorMethod[counter, int]
	get             *ray.ActorMethod[counter, int]
	nap             *ray.ActorMethod[counter, int]
	spin            *ray.ActorMethod[counter, int]
	spawn           *ray.ActorMethod[counter, int]
	// flaky fails (an error, or a panic when its argument is negative)
	// until it has run |k| times in all (flakyRuns counts every run), then
	// returns the run's number.
	flaky     *ray.Func[int]
	flakyRuns atomic.Int64
	// flakyParent submits a child (slow, taking ms) and fails, as flaky,
	// until it has run k times; then it returns the child's result. With
	// wait false a failing run leaves before its child is done.
	flakyParent *ray.Func[int]
	// broken is a class of counters whose constructor fails (brokenGet
	// its method); callBroken calls brokenGet from a task, callGet get.
	broken     *ray.ActorClass[counter]
	brokenGet  *ray.ActorMethod[counter, int]
	callBroken *ray.Func[int]
	callGet    *ray.Func[int]
	// gates is the threaded actor class of threadedCases.
	gates *gates
	// args are the functions of the argument checks' case (argCases).
	args *argFuncs
	// multi are the functions of several returns (multiCases).
	multi *multiFuncs
	// gen are the generator functions (genCases).
	gen *genFuncs
	// makeOwned creates, in a task, a counter on node 1 (see
	// fateshareCases) and returns its handle.
	makeOwned *ray.Func[ray.ActorHandle[counter]]
	// owner are the functions of ownerDeathCases.
	owner *ownerFuncs
	// jobObjs are the functions of the job-objects cases (jobObjectCases).
	jobObjs *jobObjFuncs
	// causes are the functions of the error causes' cases (causeCases).
	causes *causeFuncs
	// force are the functions of the force cancel's cases (forceCases).
	force *forceFuncs
	// gpuIDs are the functions of the GPU IDs' cases (gpuIDCases).
	gpuIDs *gpuIDFuncs
	// api are the functions of the actor API cases (actorAPICases).
	api *actorAPIFuncs
	// retryOn are the functions of the RetryExceptions-with-errors cases
	// (retryOnCases).
	retryOn *retryOnFuncs
	// ns are the functions of the namespace cases (namespaceCases).
	ns *nsFuncs
	// byID are the functions of the by-ID handle cases (byIDCases).
	byID *byIDFuncs
	// typed are the functions of the typed error cases (typedErrorCases).
	typed *typedFuncs
	// crash crashes node i of the case's cluster (not the driver's, 0);
	// nil where the runner cannot (a run of many cases on one cluster).
	crash func(i int)
	// drive runs f as a driver of its own (its own job) on node i of the
	// case's cluster and returns once it has returned, with its error;
	// nil where the runner cannot.
	drive func(ctx context.Context, i int, f func(ctx context.Context) error) error
}

// spinSteps bounds the spin method: a run that never sees its cancel
// counts them all.
const spinSteps = 5000

func newSuite() *suite {
	s := &suite{reg: ray.NewRegistry()}
	s.gates = newGates(s.reg)
	s.args = newArgFuncs(s.reg)
	s.multi = newMultiFuncs(s.reg)
	s.makeOwned = newMakeOwned(s)
	s.gen = newGenFuncs(s.reg)
	s.owner = newOwnerFuncs(s.reg)
	s.jobObjs = newJobObjFuncs(s.reg)
	s.force = newForceFuncs(s)
	s.gpuIDs = newGPUIDFuncs(s.reg)
	s.double = ray.Register1(s.reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	s.countNodes = ray.Register0(s.reg, "countNodes", func(ctx context.Context) (int, error) {
		nodes, err := ray.Nodes(ctx)
		return len(nodes), err
	})
	// makeNamed creates a counter named "race" holding x and reads it:
	// x, or -1 when New refused the name, or -2 when the actor was ended.
	s.makeNamed = ray.Register1(s.reg, "makeNamed", func(ctx context.Context, x int) (int, error) {
		h := s.counter.Options(ray.ActorName("race")).New(ctx, x)
		if errors.Is(h.Err(), ray.ErrActorNameTaken) {
			return -1, nil
		}
		v, err := ray.Get(ctx, s.get.Remote(ctx, h))
		if errors.Is(err, ray.ErrActorDied) {
			return -2, nil
		}
		return v, err
	})
	s.cancelPut = ray.Register1(s.reg, "cancelPut", func(ctx context.Context, x int) (int, error) {
		ref, err := ray.Put(ctx, x)
		if err != nil {
			return 0, err
		}
		if err := ray.Cancel(ctx, ref); !errors.Is(err, ray.ErrInvalidOption) {
			return 0, fmt.Errorf("cancel of a put ref: %v, want ErrInvalidOption", err)
		}
		return ray.Get(ctx, ref)
	})
	s.add = ray.Register2(s.reg, "add", func(ctx context.Context, a, b int) (int, error) { return a + b, nil })
	s.sum = ray.RegisterN(s.reg, "sum", func(ctx context.Context, xs []int) (int, error) {
		t := 0
		for _, x := range xs {
			t += x
		}
		return t, nil
	})
	s.fib = ray.Register1(s.reg, "fib", func(ctx context.Context, n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		a, b := s.fib.Remote(ctx, n-1), s.fib.Remote(ctx, n-2)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{a, b}, -1)
		if err != nil {
			return 0, err
		}
		return vs[0] + vs[1], nil
	})
	s.fail = ray.Register1(s.reg, "fail", func(ctx context.Context, x int) (int, error) { return 0, fmt.Errorf("bad input %d", x) })
	s.flaky = ray.Register1(s.reg, "flaky", func(ctx context.Context, k int) (int, error) {
		n := int(s.flakyRuns.Add(1))
		switch {
		case k >= 0 && n <= k:
			return 0, fmt.Errorf("flaky run %d", n)
		case k < 0 && n <= -k:
			panic(fmt.Sprintf("flaky run %d", n))
		}
		return n, nil
	})
	s.flakyParent = ray.Register2(s.reg, "flakyParent", func(ctx context.Context, k int, wait bool) (int, error) {
		child := s.slow.Remote(ctx, 20)
		n := int(s.flakyRuns.Add(1))
		if n <= k && !wait {
			return 0, fmt.Errorf("flaky parent run %d", n)
		}
		v, err := ray.Get(ctx, child)
		if err != nil || n <= k {
			return 0, fmt.Errorf("flaky parent run %d (child: %v)", n, err)
		}
		return v + n, nil
	})
	s.boom = ray.Register0(s.reg, "boom", func(ctx context.Context) (int, error) { panic("kaboom") })
	s.slow = ray.Register1(s.reg, "slow", func(ctx context.Context, ms int) (int, error) {
		if err := ray.Compute(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return 0, err
		}
		return ms, nil
	})
	// waitOn blocks for good on a task no node can run (it needs a
	// resource none has), in Get (how > 0) or in Wait (how < 0).
	s.waitOn = ray.Register1(s.reg, "waitOn", func(ctx context.Context, how int) (int, error) {
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		if how < 0 {
			_, _, err := ray.Wait(ctx, []ray.Ref[int]{never}, 1, -1)
			return 0, err
		}
		return ray.Get(ctx, never)
	})
	// parent holds the GPU through a 10 s child: submitted at once and
	// waited for (first 0), or submitted after a 10 s Compute (first 1).
	s.parent = ray.Register1(s.reg, "parent", func(ctx context.Context, first int) (int, error) {
		if first == 1 {
			_ = ray.Compute(ctx, 10*time.Second) // a cancel ends it; the child is submitted all the same
		}
		return ray.Get(ctx, s.slow.Options(ray.GPUs(1)).Remote(ctx, 10000))
	})
	s.gpu = ray.Register0(s.reg, "gpu", func(ctx context.Context) (string, error) { return "gpu ok", nil })
	s.where = ray.Register0(s.reg, "where", func(ctx context.Context) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	// useGroup is handed a placement group: with how 0 it waits for the
	// group and returns where a task in its bundle 0 runs; with how 1 it
	// removes the group.
	s.useGroup = ray.Register2(s.reg, "useGroup", func(ctx context.Context, pg *ray.PlacementGroup, how int) (uint64, error) {
		if how == 1 {
			return 0, ray.RemovePlacementGroup(ctx, pg)
		}
		if err := pg.Wait(ctx, 10*time.Second); err != nil {
			return 0, err
		}
		return ray.Get(ctx, s.where.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx))
	})
	s.tree = ray.Register2(s.reg, "tree", func(ctx context.Context, depth, how int) ([]uint64, error) {
		out := []uint64{uint64(ray.NodeOf(ctx))}
		if depth == 0 {
			return out, nil
		}
		if how == 3 {
			h := s.counter.Options(ray.CPUs(0.5)).New(ctx, 0)
			a, err := ray.Get(ctx, s.here.Remote(ctx, h))
			if err != nil {
				return nil, err
			}
			b, err := ray.Get(ctx, s.sendWhere.Remote(ctx, h))
			return append(out, a, b), err
		}
		o := []ray.Option{ray.CPUs(0.5)}
		switch how {
		case 1:
			o = append(o, ray.Spread())
		case 2:
			o = append(o, ray.DefaultScheduling())
		}
		kids, err := ray.Get(ctx, s.tree.Options(o...).Remote(ctx, depth-1, 0))
		return append(out, kids...), err
	})
	s.makeRefs = ray.Register1(s.reg, "makeRefs", func(ctx context.Context, n int) ([]ray.Ref[int], error) {
		var refs []ray.Ref[int]
		for i := 0; i < n; i++ {
			refs = append(refs, s.double.Remote(ctx, i))
		}
		return refs, nil
	})
	s.counter = ray.RegisterActor1(s.reg, "Counter", func(ctx context.Context, start int) (*counter, error) { return &counter{n: start}, nil })
	s.incr = ray.Method1(s.counter, "incr", func(ctx context.Context, c *counter, by int) (int, error) {
		c.n += by
		return c.n, nil
	})
	s.get = ray.Method0(s.counter, "get", func(ctx context.Context, c *counter) (int, error) { return c.n, nil })
	s.here = ray.Method0(s.counter, "here", func(ctx context.Context, c *counter) (uint64, error) { return uint64(ray.NodeOf(ctx)), nil })
	s.sendWhere = ray.Method0(s.counter, "sendWhere", func(ctx context.Context, c *counter) (uint64, error) {
		return ray.Get(ctx, s.where.Options(ray.CPUs(0.5)).Remote(ctx))
	})
	s.nap = ray.Method1(s.counter, "nap", func(ctx context.Context, c *counter, ms int) (int, error) {
		return c.n, ray.Compute(ctx, time.Duration(ms)*time.Millisecond)
	})
	// spin counts a step a millisecond until it is cancelled.
	s.spin = ray.Method0(s.counter, "spin", func(ctx context.Context, c *counter) (int, error) {
		for i := 0; i < spinSteps && !ray.Cancelled(ctx); i++ {
			c.n++
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return 0, err
			}
		}
		return c.n, nil
	})
	// spawn waits on a 10 s child that holds the GPU.
	s.spawn = ray.Method0(s.counter, "spawn", func(ctx context.Context, c *counter) (int, error) {
		return ray.Get(ctx, s.slow.Options(ray.GPUs(1)).Remote(ctx, 10000))
	})
	s.broken = ray.RegisterActor1(s.reg, "BrokenCounter", func(ctx context.Context, start int) (*counter, error) {
		return nil, fmt.Errorf("no counter from %d today", start)
	})
	s.brokenGet = ray.Method0(s.broken, "get", func(ctx context.Context, c *counter) (int, error) { return c.n, nil })
	s.callBroken = ray.Register1(s.reg, "callBroken", func(ctx context.Context, h ray.ActorHandle[counter]) (int, error) {
		return ray.Get(ctx, s.brokenGet.Remote(ctx, h))
	})
	s.callGet = ray.Register1(s.reg, "callGet", func(ctx context.Context, h ray.ActorHandle[counter]) (int, error) {
		return ray.Get(ctx, s.get.Remote(ctx, h))
	})
	s.multi.addMethods(s.counter)
	s.gen.addMethods(s.counter)
	s.causes = newCauseFuncs(s) // after counter: it adds a method
	s.api = newActorAPIFuncs(s)
	s.retryOn = newRetryOnFuncs(s) // after causes: it fails with their registered errors
	s.ns = newNSFuncs(s)
	s.byID = newByIDFuncs(s)
	s.typed = newTypedFuncs(s)
	return s
}

// semanticCase is one test body, run against every transport.
type semanticCase struct {
	name string
	run  func(t *testing.T, ctx context.Context, s *suite)
}

// caseNodes names, by case name, the cases that run on another cluster
// than testNodes, and that cluster.
var caseNodes = map[string][]ray.NodeConfig{}

// cluster is the nodes the case runs on.
func (tc semanticCase) cluster() []ray.NodeConfig {
	if n, ok := caseNodes[tc.name]; ok {
		return n
	}
	return testNodes
}

var semanticCases = []semanticCase{
	{"tasks", func(t *testing.T, ctx context.Context, s *suite) {
		var refs []ray.Ref[int]
		for i := 0; i < 200; i++ {
			refs = append(refs, s.double.Remote(ctx, i))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		for i, v := range vs {
			assert.Equal(t, 2*i, v)
		}
	}},
	{"refs as args across nodes", func(t *testing.T, ctx context.Context, s *suite) {
		var parts []any
		for i := 0; i < 20; i++ {
			a := s.double.Options(ray.Spread()).Remote(ctx, i)
			parts = append(parts, s.add.Remote(ctx, a, 1))
		}
		total, err := ray.Get(ctx, s.sum.Remote(ctx, parts...))
		require.NoError(t, err)
		assert.Equal(t, 2*190+20, total)
	}},
	{"nested tasks", func(t *testing.T, ctx context.Context, s *suite) {
		v, err := ray.Get(ctx, s.fib.Remote(ctx, 10))
		require.NoError(t, err)
		assert.Equal(t, 55, v)
	}},
	{"refs returned inside results", func(t *testing.T, ctx context.Context, s *suite) {
		refs, err := ray.Get(ctx, s.makeRefs.Remote(ctx, 5))
		require.NoError(t, err)
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 2, 4, 6, 8}, vs)
	}},
	{"put and get", func(t *testing.T, ctx context.Context, s *suite) {
		ref, err := ray.Put(ctx, 21)
		require.NoError(t, err)
		v, err := ray.Get(ctx, s.double.Remote(ctx, ref))
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		back, err := ray.Get(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, 21, back)
	}},
	{"wait with k and timeout", func(t *testing.T, ctx context.Context, s *suite) {
		fast := s.slow.Remote(ctx, 1)
		slow := s.slow.Remote(ctx, 2000)
		ready, notReady, err := ray.Wait(ctx, []ray.Ref[int]{fast, slow}, 1, -1)
		require.NoError(t, err)
		assert.Equal(t, []ray.Ref[int]{fast}, ready)
		assert.Equal(t, []ray.Ref[int]{slow}, notReady)
		ready, notReady, err = ray.Wait(ctx, []ray.Ref[int]{fast, slow}, 2, 50*time.Millisecond)
		require.NoError(t, err)
		assert.Len(t, ready, 1)
		assert.Len(t, notReady, 1)
		_, err = ray.GetTimeout(ctx, slow, 10*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, slow))
	}},
	{"wait returns at most numReturns", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's wait: ready holds exactly numReturns refs when as many are
		// done, so a loop of Wait(rest, 1) takes one per round.
		refs := []ray.Ref[int]{s.double.Remote(ctx, 1), s.double.Remote(ctx, 2), s.double.Remote(ctx, 3)}
		_, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		ready, notReady, err := ray.Wait(ctx, refs, 1, -1)
		require.NoError(t, err)
		assert.Equal(t, refs[:1], ready)
		assert.Equal(t, refs[1:], notReady)
		rest, rounds := refs, 0
		for len(rest) > 0 {
			ready, rest, err = ray.Wait(ctx, rest, 1, -1)
			require.NoError(t, err)
			require.Len(t, ready, 1)
			rounds++
		}
		assert.Equal(t, 3, rounds)
		for _, k := range []int{0, -1, 4} {
			_, _, err = ray.Wait(ctx, refs, k, 0)
			assert.ErrorIs(t, err, ray.ErrBadWait, "numReturns %d", k)
		}
		ready, notReady, err = ray.Wait(ctx, []ray.Ref[int]{}, 1, -1)
		assert.NoError(t, err)
		assert.Empty(t, ready)
		assert.Empty(t, notReady)
	}},
	{"get of several ends at the first error", func(t *testing.T, ctx context.Context, s *suite) {
		// As Ray's get of a list: an error that has come is the answer,
		// whatever the other refs wait for (here: forever).
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		bad := s.fail.Remote(ctx, 1)
		for _, refs := range [][]ray.Ref[int]{{bad, never}, {never, bad}} {
			_, err := ray.GetAll(ctx, refs, 5*time.Second)
			assert.ErrorIs(t, err, ray.ErrTaskFailed)
		}
		require.NoError(t, ray.Cancel(ctx, never))
	}},
	{"cancel of a put ref", func(t *testing.T, ctx context.Context, s *suite) {
		// No task makes a Put object: its cancel is refused (Ray cancels
		// task refs only; QA28b finding 10: it returned nil and did
		// nothing), not a cancel of the task that put it (whose ID the
		// object's ID carries).
		v, err := ray.GetTimeout(ctx, s.cancelPut.Remote(ctx, 5), 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		ref, err := ray.Put(ctx, 6)
		require.NoError(t, err)
		err = ray.Cancel(ctx, ref)
		require.ErrorIs(t, err, ray.ErrInvalidOption)
		assert.Contains(t, err.Error(), "made by Put")
		v, err = ray.Get(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, 6, v)
	}},
	{"kill before the actor is created", func(t *testing.T, ctx context.Context, s *suite) {
		// As Ray's kill of an actor pending creation: the kill is not lost
		// because no node hosts the actor yet.
		h := s.counter.Options(ray.Resource("special", 1), ray.ActorName("early")).New(ctx, 1)
		require.NoError(t, ray.Kill(ctx, h))
		_, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied)
		_, err = ray.GetActor(ctx, s.counter, "early")
		assert.ErrorIs(t, err, ray.ErrActorNotFound)
		// Created after all or never: the only "special" is free again.
		v, err := ray.GetTimeout(ctx, s.double.Options(ray.Resource("special", 1)).Remote(ctx, 4), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 8, v)
		// And the name can be taken again.
		again := s.counter.Options(ray.ActorName("early")).New(ctx, 7)
		v, err = ray.Get(ctx, s.get.Remote(ctx, again))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		found, err := ray.GetActor(ctx, s.counter, "early")
		require.NoError(t, err)
		assert.Equal(t, again.ID(), found.ID())
		for _, h := range []ray.ActorHandle[counter]{
			s.counter.New(ctx, 1), // created here, killed before its creation runs
			s.counter.Options(ray.Resource("nowhere", 1)).New(ctx, 1), // infeasible
		} {
			require.NoError(t, ray.Kill(ctx, h))
			_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
			assert.ErrorIs(t, err, ray.ErrActorDied)
		}
	}},
	{"actor names are unique", func(t *testing.T, ctx context.Context, s *suite) {
		a := s.counter.Options(ray.ActorName("dup")).New(ctx, 1)
		v, err := ray.Get(ctx, s.get.Remote(ctx, a))
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		b := s.counter.Options(ray.ActorName("dup")).New(ctx, 50)
		assert.ErrorIs(t, b.Err(), ray.ErrActorNameTaken)
		found, err := ray.GetActor(ctx, s.counter, "dup")
		require.NoError(t, err)
		assert.Equal(t, a.ID(), found.ID(), "the name stays with the first actor")
		require.NoError(t, ray.Kill(ctx, a))
		c := s.counter.Options(ray.ActorName("dup")).New(ctx, 3)
		require.NoError(t, c.Err(), "a killed actor's name is free")
		v, err = ray.Get(ctx, s.get.Remote(ctx, c))
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		// Two creators at once, on two nodes: both may pass New's check;
		// the name's shard keeps the first, the other actor is ended.
		x := s.makeNamed.Options(ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx, 10)
		y := s.makeNamed.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 20)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{x, y}, 30*time.Second)
		require.NoError(t, err)
		won := 0
		for _, v := range vs {
			if v == 10 || v == 20 {
				won++
			} else {
				assert.Contains(t, []int{-1, -2}, v)
			}
		}
		assert.Equal(t, 1, won, "exactly one creator gets the name: %v", vs)
		t.Logf("race: %v", vs)
		holder, err := ray.GetActor(ctx, s.counter, "race")
		require.NoError(t, err)
		hv, err := ray.Get(ctx, s.get.Remote(ctx, holder))
		require.NoError(t, err)
		assert.Contains(t, vs, hv, "the holder is the winner")
	}},
	{"actor ordering", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 100)
		var refs []ray.Ref[int]
		for i := 0; i < 50; i++ {
			refs = append(refs, s.incr.Remote(ctx, h, 1))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		for i, v := range vs {
			assert.Equal(t, 101+i, v)
		}
	}},
	{"named actors and kill", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.Options(ray.ActorName("global-counter")).New(ctx, 7)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h)) // wait until it lives
		require.NoError(t, err)
		found, err := ray.GetActor(ctx, s.counter, "global-counter")
		require.NoError(t, err)
		assert.Equal(t, h.ID(), found.ID())
		v, err := ray.Get(ctx, s.incr.Remote(ctx, found, 3))
		require.NoError(t, err)
		assert.Equal(t, 10, v)
		_, err = ray.GetActor(ctx, s.counter, "nobody")
		assert.ErrorIs(t, err, ray.ErrActorNotFound)
		require.NoError(t, ray.Kill(ctx, h))
		_, err = ray.Get(ctx, s.get.Remote(ctx, h))
		assert.ErrorIs(t, err, ray.ErrActorDied)
	}},
	{"get actor checks the class", func(t *testing.T, ctx context.Context, s *suite) {
		// The name is a Counter's: looked up as a BrokenCounter (the same
		// Go type, so the handle's type passes) GetActor refuses it, naming
		// both classes, instead of a handle whose first call fails.
		h := s.counter.Options(ray.ActorName("typed")).New(ctx, 5)
		found, err := ray.GetActor(ctx, s.broken, "typed")
		require.ErrorIs(t, err, ray.ErrActorClass)
		assert.Zero(t, found.ID())
		var ce *ray.ActorClassError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ray.ActorClassError{Name: "typed", Want: "BrokenCounter", Have: "Counter"}, *ce)
		assert.Contains(t, err.Error(), `"BrokenCounter"`)
		assert.Contains(t, err.Error(), `"Counter"`)
		// Once up too (its host's news carries the class as well), and the
		// right class still finds it.
		v, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		_, err = ray.GetActor(ctx, s.broken, "typed")
		require.ErrorIs(t, err, ray.ErrActorClass)
		found, err = ray.GetActor(ctx, s.counter, "typed")
		require.NoError(t, err)
		assert.Equal(t, h.ID(), found.ID())
	}},
	{"a failed constructor's error reaches the calls", func(t *testing.T, ctx context.Context, s *suite) {
		// As Ray's ActorDiedError: the actor died because of an error
		// raised in its creation task, and the calls say which.
		h := s.broken.New(ctx, 7)
		early := s.brokenGet.Remote(ctx, h) // before the constructor ran
		_, err := ray.GetTimeout(ctx, early, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), "no counter from 7 today")
		assert.Contains(t, err.Error(), "creation task")
		late := s.brokenGet.Remote(ctx, h) // the caller knows it dead
		_, err = ray.GetTimeout(ctx, late, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), "no counter from 7 today")
		// A caller on another node hears it from the actor table.
		_, err = ray.GetTimeout(ctx, s.callBroken.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, h), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "no counter from 7 today")
		// On the actor's own node, before and after its death is known.
		h = s.broken.Options(ray.Resource("special", 1)).New(ctx, 8)
		for range 2 {
			_, err = ray.GetTimeout(ctx, s.callBroken.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, h), 10*time.Second)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "no counter from 8 today")
		}
	}},
	{"a call after kill says killed", func(t *testing.T, ctx context.Context, s *suite) {
		// Hosted on the killer's node, on another node, and a call queued
		// behind a running one when the kill comes.
		for _, h := range []ray.ActorHandle[counter]{
			s.counter.New(ctx, 1),
			s.counter.Options(ray.Resource("special", 1)).New(ctx, 2),
		} {
			_, err := ray.Get(ctx, s.get.Remote(ctx, h)) // it lives
			require.NoError(t, err)
			busy := s.nap.Remote(ctx, h, 5000) // ended by the kill, not run out: long, so that a loaded machine still finds it running
			queued := s.incr.Remote(ctx, h, 1)
			_, err = ray.GetTimeout(ctx, busy, 50*time.Millisecond)
			require.ErrorIs(t, err, ray.ErrTimeout)
			require.NoError(t, ray.Kill(ctx, h))
			for _, ref := range []ray.Ref[int]{busy, queued, s.get.Remote(ctx, h)} {
				_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
				require.ErrorIs(t, err, ray.ErrActorDied)
				assert.Contains(t, err.Error(), "killed by ray.Kill")
				assert.NotContains(t, err.Error(), "not on node")
			}
			// A caller on another node hears it from the actor table.
			_, err = ray.GetTimeout(ctx, s.callGet.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, h), 10*time.Second)
			require.ErrorIs(t, err, ray.ErrTaskFailed)
			assert.Contains(t, err.Error(), "killed by ray.Kill")
		}
	}},
	{"resources and infeasible", func(t *testing.T, ctx context.Context, s *suite) {
		v, err := ray.Get(ctx, s.gpu.Options(ray.GPUs(0.5)).Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, "gpu ok", v)
		w, err := ray.Get(ctx, s.where.Options(ray.Resource("special", 1)).Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, uint64(ray.RayletID(1)), w)
		_, err = ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(8)).Remote(ctx), 100*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
	}},
	{"cancel a queued task", func(t *testing.T, ctx context.Context, s *suite) {
		ref := s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 500)
		queued := s.slow.Options(ray.Resource("special", 1)).Remote(ctx, 500)
		require.NoError(t, ray.Cancel(ctx, queued))
		_, err := ray.Get(ctx, queued)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		v, err := ray.Get(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, 500, v)
	}},
	{"cancel interrupts a running task", func(t *testing.T, ctx context.Context, s *suite) {
		// Each holds the one "special" for 10 s unless the cancel ends it:
		// in its Compute, its declared duration, its Get, its Wait.
		special := ray.Resource("special", 1)
		for i, submit := range []func() ray.Ref[int]{
			func() ray.Ref[int] { return s.slow.Options(special).Remote(ctx, 10000) },
			func() ray.Ref[int] { return s.double.Options(special, ray.Duration(10*time.Second)).Remote(ctx, 1) },
			func() ray.Ref[int] { return s.waitOn.Options(special).Remote(ctx, 1) },
			func() ray.Ref[int] { return s.waitOn.Options(special).Remote(ctx, -1) },
		} {
			running := submit()
			_, err := ray.GetTimeout(ctx, running, 50*time.Millisecond)
			require.ErrorIs(t, err, ray.ErrTimeout)
			require.NoError(t, ray.Cancel(ctx, running))
			_, err = ray.GetTimeout(ctx, running, 5*time.Second) // uninterrupted, the last two never end
			require.ErrorIs(t, err, ray.ErrCancelled, "task %d", i)
			v, err := ray.GetTimeout(ctx, s.slow.Options(special).Remote(ctx, 1), 5*time.Second)
			require.NoError(t, err, "a cancelled task (%d) was not interrupted: it still holds the resource", i)
			assert.Equal(t, 1, v)
		}
	}},
	{"cancel reaches a running task's children", func(t *testing.T, ctx context.Context, s *suite) {
		// As Ray's recursive cancel: the child running when its parent is
		// cancelled, and one the parent submits after, are cancelled.
		for first := range 2 {
			p := s.parent.Remote(ctx, first)
			_, err := ray.GetTimeout(ctx, p, 50*time.Millisecond)
			require.ErrorIs(t, err, ray.ErrTimeout)
			require.NoError(t, ray.Cancel(ctx, p))
			_, err = ray.GetTimeout(ctx, p, 5*time.Second)
			require.ErrorIs(t, err, ray.ErrCancelled)
			v, err := ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(1)).Remote(ctx), 5*time.Second)
			require.NoError(t, err, "the child (%d) of a cancelled task still holds the GPU", first)
			assert.Equal(t, "gpu ok", v)
		}
	}},
	{"cancel reaches a running actor call's children", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 0)
		call := s.spawn.Remote(ctx, h)
		_, err := ray.GetTimeout(ctx, call, 100*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout) // it runs, its child holds the GPU
		require.NoError(t, ray.Cancel(ctx, call))
		_, err = ray.GetTimeout(ctx, call, 5*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		v, err := ray.GetTimeout(ctx, s.gpu.Options(ray.GPUs(1)).Remote(ctx), 5*time.Second)
		require.NoError(t, err, "the child of a cancelled actor call still holds the GPU")
		assert.Equal(t, "gpu ok", v)
	}},
	{"cancel a queued actor call", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 100)
		busy := s.nap.Remote(ctx, h, 300) // holds the actor while the calls queue
		first := s.incr.Remote(ctx, h, 1)
		queued := s.incr.Remote(ctx, h, 10)
		last := s.incr.Remote(ctx, h, 1)
		require.NoError(t, ray.Cancel(ctx, queued))
		_, err := ray.Get(ctx, queued)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{busy, first, last}, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{100, 101, 102}, vs, "the cancelled call ran, or held up the caller's next")
	}},
	{"cancel a running actor call", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.New(ctx, 0)
		_, err := ray.Get(ctx, s.get.Remote(ctx, h)) // it lives
		require.NoError(t, err)
		running := s.spin.Remote(ctx, h)
		_, err = ray.GetTimeout(ctx, running, 50*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		require.NoError(t, ray.Cancel(ctx, running))
		_, err = ray.Get(ctx, running)
		assert.ErrorIs(t, err, ray.ErrCancelled)
		n, err := ray.Get(ctx, s.get.Remote(ctx, h)) // not interrupted: its steps stay
		require.NoError(t, err)
		assert.Less(t, n, spinSteps, "the method never saw its cancel")
	}},
	{"user errors and panics", func(t *testing.T, ctx context.Context, s *suite) {
		_, err := ray.Get(ctx, s.fail.Remote(ctx, 3))
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "bad input 3")
		_, err = ray.Get(ctx, s.boom.Remote(ctx))
		assert.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "kaboom")
		var te *ray.TaskError
		assert.True(t, errors.As(err, &te))
		// an error flows into dependent tasks' Get
		_, err = ray.Get(ctx, s.double.Remote(ctx, s.fail.Remote(ctx, 1)))
		assert.Error(t, err)
	}},
	{"free", func(t *testing.T, ctx context.Context, s *suite) {
		var refs []ray.Ref[int]
		for i := 0; i < 50; i++ {
			refs = append(refs, s.double.Options(ray.Spread()).Remote(ctx, i))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		// An argument freed while a task waits to read it stays for the task.
		slow := s.slow.Remote(ctx, 20)
		sum := s.add.Remote(ctx, refs[0], slow)
		require.NoError(t, ray.Free(ctx, refs...))
		v, err := ray.Get(ctx, sum)
		require.NoError(t, err)
		assert.Equal(t, 20, v)
		// A freed object read again is rebuilt from lineage.
		again, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		assert.Equal(t, vs, again)
	}},
}

// testNodes is the cluster shape of the semantic suite: node 1 has the only
// "special" resource, node 2 the only GPU.
var testNodes = []ray.NodeConfig{
	{Name: "head", CPUs: 2},
	{Name: "special", CPUs: 2, Resources: map[string]float64{"special": 1}},
	{Name: "gpu", CPUs: 2, GPUs: 1},
}

func TestSemanticsSim(t *testing.T) {
	for _, tc := range semanticCases {
		t.Run(tc.name, func(t *testing.T) { runSimCase(t, tc, nil) })
	}
}

// runSimCase runs a semantic case on a fresh simulated cluster of its
// nodes (testNodes unless it names others), then after (if not nil) on the cluster.
func runSimCase(t *testing.T, tc semanticCase, after func(*testing.T, *ray.Sim)) {
	t.Helper()
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: tc.cluster(), Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	s.crash = func(i int) { c.Netsim().Crash(netsim.NodeID(ray.RayletID(i))) }
	s.drive = simDrive(c)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		tc.run(t, ctx, s)
		return nil
	}))
	if after != nil {
		after(t, c)
	}
}

// simDrive is a suite's drive on a simulated cluster: the case's driver
// computes a millisecond at a time (virtual) until the other returns.
func simDrive(c *ray.Sim) func(ctx context.Context, i int, f func(ctx context.Context) error) error {
	return func(ctx context.Context, i int, f func(ctx context.Context) error) error {
		done, ferr := false, error(nil)
		if err := c.Go(i, func(ctx context.Context) error { ferr, done = f(ctx), true; return nil }); err != nil {
			return err
		}
		for !done { // the driver's return and its job's end run on its coroutine, at once
			if err := ray.Compute(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		return ferr
	}
}

// TestWaitThatEndsLeavesNoWaiters: a Wait that ends without an object (its
// timeout; enough others ready) takes back its registration: before, each
// such Wait left a waiter on the object for good, and the node kept asking
// the GCS where it was.
func TestWaitThatEndsLeavesNoWaiters(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		never := s.slow.Options(ray.Resource("nowhere", 1)).Remote(ctx, 1)
		done := s.double.Remote(ctx, 1)
		_, err := ray.Get(ctx, done)
		require.NoError(t, err)
		for range 50 {
			ready, _, err := ray.Wait(ctx, []ray.Ref[int]{never}, 1, time.Millisecond)
			require.NoError(t, err)
			require.Empty(t, ready)
			ready, _, err = ray.Wait(ctx, []ray.Ref[int]{never, done}, 1, -1) // done is enough
			require.NoError(t, err)
			require.Equal(t, []ray.Ref[int]{done}, ready)
		}
		assert.Zero(t, c.Raylet(0).LocatedWaiters(), "waiters left by ended Waits") // netsim: this coroutine holds the loop
		return ray.Cancel(ctx, never)
	}))
}
