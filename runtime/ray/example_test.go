package ray_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// Remote functions are registered by name (every node runs the same
// binary, so a function is found by name and signature), submitted with
// Remote, and their typed refs read with Get. On a simulated cluster the
// driver runs in virtual time: the same seed gives the same run.
func Example() {
	reg := ray.NewRegistry()
	square := ray.Register1(reg, "square", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	sum := ray.RegisterN(reg, "sum", func(ctx context.Context, xs []int) (int, error) {
		t := 0
		for _, x := range xs {
			t += x
		}
		return t, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}, {Name: "worker", CPUs: 4}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		var refs []any
		for i := 1; i <= 4; i++ {
			refs = append(refs, square.Remote(ctx, i))
		}
		// Refs are arguments too: sum runs once every square is
		// done, fetching them from wherever they were made.
		total, err := ray.Get(ctx, sum.Remote(ctx, refs...))
		if err != nil {
			return err
		}
		fmt.Println("1+4+9+16 =", total)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output: 1+4+9+16 = 30
}

// Wait returns the refs that are ready and those that are not, after
// numReturns are ready or the timeout passes (virtual time in the
// simulator). ray.Duration declares a task's running time to the
// simulator.
func ExampleWait() {
	reg := ray.NewRegistry()
	echo := ray.Register1(reg, "echo", func(ctx context.Context, s string) (string, error) { return s, nil })
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		fast := echo.Options(ray.Duration(10*time.Millisecond)).Remote(ctx, "fast")
		slow := echo.Options(ray.Duration(time.Second)).Remote(ctx, "slow")
		ready, notReady, err := ray.Wait(ctx, []ray.Ref[string]{slow, fast}, 1, 100*time.Millisecond)
		if err != nil {
			return err
		}
		first, err := ray.Get(ctx, ready[0])
		if err != nil {
			return err
		}
		fmt.Println("ready:", first, "- not ready:", len(notReady))
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output: ready: fast - not ready: 1
}

type tally struct{ n int }

// An actor class is a constructor and methods on its state; its methods
// run one at a time, in each caller's submission order. A named actor is
// found again with GetActor; Kill ends it.
func ExampleRegisterActor1() {
	reg := ray.NewRegistry()
	counters := ray.RegisterActor1(reg, "Counter", func(ctx context.Context, start int) (*tally, error) {
		return &tally{n: start}, nil
	})
	add := ray.Method1(counters, "add", func(ctx context.Context, c *tally, d int) (int, error) {
		c.n += d
		return c.n, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		h := counters.Options(ray.ActorName("tally")).New(ctx, 100)
		for i := 1; i <= 3; i++ {
			add.Remote(ctx, h, i)
		}
		same, err := ray.GetActor(ctx, counters, "tally")
		if err != nil {
			return err
		}
		v, err := ray.Get(ctx, add.Remote(ctx, same, 0))
		if err != nil {
			return err
		}
		fmt.Println("tally:", v)
		if err := ray.Kill(ctx, h); err != nil {
			return err
		}
		_, err = ray.Get(ctx, add.Remote(ctx, h, 1))
		fmt.Println("after Kill:", errors.Is(err, ray.ErrActorDied))
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// tally: 106
	// after Kill: true
}

// A task can submit tasks of its own and wait for them: a task blocked in
// Get gives its CPU back meanwhile, so deep trees do not deadlock even on
// one CPU.
func ExampleGet_nested() {
	reg := ray.NewRegistry()
	var fib *ray.Func[int]
	fib = ray.Register1(reg, "fib", func(ctx context.Context, n int) (int, error) {
		if n < 2 {
			return n, nil
		}
		a, b := fib.Remote(ctx, n-1), fib.Remote(ctx, n-2)
		x, err := ray.Get(ctx, a)
		if err != nil {
			return 0, err
		}
		y, err := ray.Get(ctx, b)
		return x + y, err
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, fib.Remote(ctx, 10))
		fmt.Println("fib(10) =", v)
		return err
	})
	if err != nil {
		panic(err)
	}
	// Output: fib(10) = 55
}

// A task whose node dies is retried elsewhere, as MaxRetries allows. Here
// soft node affinity puts the task on the worker (node 2), which crashes
// 10ms into its 50ms run; the task runs again on the head (node 1).
func ExampleMaxRetries() {
	reg := ray.NewRegistry()
	where := ray.Register0(reg, "where", func(ctx context.Context) (string, error) {
		if err := ray.Compute(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
		return fmt.Sprint("ran on node ", ray.NodeOf(ctx)), nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "worker", CPUs: 1}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	worker := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(10*time.Millisecond, func() { c.Netsim().Crash(worker) })
	err = c.Run(func(ctx context.Context) error {
		ref := where.Options(ray.NodeAffinity(ray.RayletID(1), true), ray.MaxRetries(3)).Remote(ctx)
		v, err := ray.Get(ctx, ref)
		fmt.Println(v, err)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output: ran on node 1 <nil>
}

// A placement group reserves bundles of resources all or none, packed on
// a node or spread across nodes; tasks and actors then run in a bundle.
func ExampleNewPlacementGroup() {
	reg := ray.NewRegistry()
	node := ray.Register0(reg, "node", func(ctx context.Context) (int, error) { return int(ray.NodeOf(ctx)), nil })
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 2}, {CPU: 2}}, ray.StrictSpread)
		if err != nil {
			return err
		}
		if err := pg.Wait(ctx, time.Second); err != nil {
			return err
		}
		x, err := ray.Get(ctx, node.Options(ray.InPlacementGroup(pg, 0), ray.CPUs(2)).Remote(ctx))
		if err != nil {
			return err
		}
		y, err := ray.Get(ctx, node.Options(ray.InPlacementGroup(pg, 1), ray.CPUs(2)).Remote(ctx))
		if err != nil {
			return err
		}
		fmt.Println("bundles on two nodes:", x != y)
		return ray.RemovePlacementGroup(ctx, pg)
	})
	if err != nil {
		panic(err)
	}
	// Output: bundles on two nodes: true
}

// The same code runs on a real cluster: NewTCP starts one in this process
// over loopback TCP (Connect joins one started with raysim start).
func ExampleNewTCP() {
	reg := ray.NewRegistry()
	square := ray.Register1(reg, "square", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "worker", CPUs: 2}}}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, square.Remote(ctx, 12))
		fmt.Println("12*12 =", v)
		return err
	})
	if err != nil {
		panic(err)
	}
	// Output: 12*12 = 144
}

type sim struct{ id int }

// An ActorPool spreads calls over a set of actors, one call per actor at
// a time, and returns results in submission order (GetNext) or as they
// finish (GetNextUnordered): here four rollouts on two simulator actors.
func ExampleActorPool() {
	reg := ray.NewRegistry()
	sims := ray.RegisterActor1(reg, "Sim", func(ctx context.Context, id int) (*sim, error) { return &sim{id: id}, nil })
	rollout := ray.Method1(sims, "rollout", func(ctx context.Context, s *sim, seed int) (string, error) {
		return fmt.Sprintf("seed %d on sim %d", seed, s.id), ray.Compute(ctx, time.Duration(seed)*time.Millisecond)
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		pool := ray.NewActorPool[sim, string](sims.New(ctx, 0), sims.New(ctx, 1))
		for _, seed := range []int{40, 10, 20, 30} {
			pool.Submit(ctx, func(ctx context.Context, a ray.ActorHandle[sim]) ray.Ref[string] {
				return rollout.Remote(ctx, a, seed)
			})
		}
		for pool.HasNext() {
			v, err := pool.GetNext(ctx, -1)
			if err != nil {
				return err
			}
			fmt.Println(v)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// seed 40 on sim 0
	// seed 10 on sim 1
	// seed 20 on sim 0
	// seed 30 on sim 1
}

// A function of several returns (Ray's num_returns) makes one object per
// return, each its own ref: got, waited for, passed to another task and
// freed on its own. Register1xN's functions return as many values as each
// call asks for.
func ExampleRegister2x2() {
	reg := ray.NewRegistry()
	divmod := ray.Register2x2(reg, "divmod", func(ctx context.Context, a, b int) (int, int, error) { return a / b, a % b, nil })
	double := ray.Register1(reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
	chunks := ray.Register1xN(reg, "chunks", func(ctx context.Context, s string) ([]string, error) {
		n := ray.ReturnsOf(ctx) // the call's number of returns
		out := make([]string, n)
		for i := range out {
			out[i] = s[i*len(s)/n : (i+1)*len(s)/n]
		}
		return out, nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		q, r := divmod.Remote(ctx, 17, 5)
		twice, err := ray.Get(ctx, double.Remote(ctx, r)) // one return as another task's argument
		if err != nil {
			return err
		}
		quot, err := ray.Get(ctx, q)
		if err != nil {
			return err
		}
		fmt.Println("17/5 =", quot, "remainder doubled =", twice)
		refs, err := chunks.Remote(ctx, 3, "abcdef")
		if err != nil {
			return err
		}
		parts, err := ray.GetAll(ctx, refs, -1)
		if err != nil {
			return err
		}
		fmt.Println(parts)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// 17/5 = 3 remainder doubled = 4
	// [ab cd ef]
}

// A generator task (Ray's streaming generator) yields its results one at a
// time, each its own object that the caller reads as soon as it is
// yielded, while the task still runs; an error it returns is the item
// after the values yielded before it, and Next says ErrStreamEnd at the
// end.
func ExampleRegisterGen1() {
	reg := ray.NewRegistry()
	squares := ray.RegisterGen1(reg, "squares", func(ctx context.Context, n int, yield func(int) error) error {
		for i := 1; i <= n; i++ {
			if err := ray.Compute(ctx, time.Second); err != nil { // a second of work per item
				return err
			}
			if err := yield(i * i); err != nil {
				return err // cancelled
			}
		}
		return errors.New("no more squares today")
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		start := ray.Now(ctx)
		for ref, err := range squares.Remote(ctx, 3).All(ctx) {
			if err != nil {
				return err
			}
			v, err := ray.Get(ctx, ref)
			if err != nil {
				fmt.Println("error:", errors.Is(err, ray.ErrTaskFailed))
				continue
			}
			fmt.Printf("%d after %v\n", v, ray.Now(ctx).Sub(start).Round(time.Second))
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// 1 after 1s
	// 4 after 2s
	// 9 after 3s
	// error: true
}

// An actor's concurrency groups (Ray's concurrency_groups) each run up to
// their limit of methods at once, beside each other and beside the
// default group (MaxConcurrency, 1 here): a method handle's
// ConcurrencyGroup option places its calls, and a call's own Options may
// choose another group. A slow "io" call holds up no "compute" call; on
// the simulator each declares its cost with Compute, in virtual time.
func ExampleConcurrencyGroups() {
	reg := ray.NewRegistry()
	type service struct{}
	cls := ray.RegisterActor0(reg, "Service", func(ctx context.Context) (*service, error) { return &service{}, nil })
	work := func(ctx context.Context, _ *service, ms int) (int, error) {
		return ms, ray.Compute(ctx, time.Duration(ms)*time.Millisecond)
	}
	fetch := ray.Method1(cls, "fetch", work).Options(ray.ConcurrencyGroup("io"))
	crunch := ray.Method1(cls, "crunch", work).Options(ray.ConcurrencyGroup("compute"))
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.ConcurrencyGroups(map[string]int{"io": 1, "compute": 2})).New(ctx)
		slow := fetch.Remote(ctx, h, 1000)
		start := ray.Now(ctx)
		refs := []ray.Ref[int]{
			crunch.Remote(ctx, h, 100),
			crunch.Remote(ctx, h, 100),
			fetch.Options(ray.ConcurrencyGroup("compute")).Remote(ctx, h, 100), // this call in "compute"
		}
		if _, err := ray.GetAll(ctx, refs, 10*time.Second); err != nil {
			return err
		}
		fmt.Println("three compute calls beside a slow io call, in", ray.Now(ctx).Sub(start).Round(100*time.Millisecond))
		if _, err := ray.Get(ctx, fetch.Options(ray.ConcurrencyGroup("disk")).Remote(ctx, h, 1)); errors.Is(err, ray.ErrUnknownConcurrencyGroup) {
			fmt.Println("no group disk")
		}
		_, err := ray.Get(ctx, slow)
		return err
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// three compute calls beside a slow io call, in 200ms
	// no group disk
}

// GetIfExists finds the named actor or creates it (Ray's
// get_if_exists=True), and ExitActor lets a method end its own actor
// (Ray's exit_actor): its call and later ones fail with ErrActorDied.
func ExampleGetIfExists() {
	reg := ray.NewRegistry()
	counters := ray.RegisterActor1(reg, "Counter", func(ctx context.Context, start int) (*tally, error) {
		return &tally{n: start}, nil
	})
	add := ray.Method1(counters, "add", func(ctx context.Context, c *tally, d int) (int, error) {
		c.n += d
		return c.n, nil
	})
	quit := ray.Method0(counters, "quit", func(ctx context.Context, c *tally) (int, error) {
		return c.n, ray.ExitActor(ctx)
	})
	c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}}, Seed: 1}, reg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	err = c.Run(func(ctx context.Context) error {
		named := counters.Options(ray.ActorName("tally"), ray.GetIfExists())
		a := named.New(ctx, 100) // created
		b := named.New(ctx, 5)   // found: 5 is not used
		add.Remote(ctx, a, 1)
		v, err := ray.Get(ctx, add.Remote(ctx, b, 1))
		if err != nil {
			return err
		}
		fmt.Println("one actor:", a.ID() == b.ID(), v)
		_, err = ray.Get(ctx, quit.Remote(ctx, a))
		fmt.Println("quit:", errors.Is(err, ray.ErrActorDied))
		_, err = ray.Get(ctx, add.Remote(ctx, b, 1))
		fmt.Println("after:", errors.Is(err, ray.ErrActorDied))
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// one actor: true 102
	// quit: true
	// after: true
}
