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

// actorAPIFuncs are the functions of actorAPICases: the actor APIs of QA28b
// finding 13 (GetIfExists, ExitActor, MaxPendingCalls, Kill with
// AllowRestart, ActorID and PlacementGroupID).
type actorAPIFuncs struct {
	// shared is a counter class whose constructor counts its runs
	// (sharedCtors).
	shared      *ray.ActorClass[counter]
	sharedCtors atomic.Int64
	sharedIncr  *ray.ActorMethod[counter, int]
	// getOrMake makes or finds the shared counter named "shared" (with
	// GetIfExists, starting at x), adds 1 to it and returns its ID.
	getOrMake *ray.Func[uint64]
	// quit is a counter's method that ends its actor (ExitActor) and
	// returns its count; exitTask checks that ExitActor in a task is
	// ErrNotInActor, and returns "ok".
	quit     *ray.ActorMethod[counter, int]
	gateQuit *ray.ActorMethod[gate, int]
	exitTask *ray.Func[string]
	// callFrom calls get on h from the task it runs in.
	callFrom *ray.Func[int]
	// whoAmI is the actor a counter's method and constructor see
	// (ray.ActorID; the counter keeps its constructor's in n), and
	// groupOf the placement group a counter's method or a task (inTask)
	// sees (ray.PlacementGroupID).
	whoAmI  *ray.ActorMethod[counter, uint64]
	ctorSaw *ray.ActorMethod[counter, int]
	seer    *ray.ActorClass[counter]
	groupOf *ray.ActorMethod[counter, uint64]
	inTask  *ray.Func[[]uint64]
	// overLimit makes three nap calls at once on h and returns which
	// were refused (1) or not (0).
	overLimit *ray.Func[[]int]
}

func newActorAPIFuncs(s *suite) *actorAPIFuncs {
	f := &actorAPIFuncs{}
	f.shared = ray.RegisterActor1(s.reg, "Shared", func(ctx context.Context, start int) (*counter, error) {
		f.sharedCtors.Add(1)
		return &counter{n: start}, nil
	})
	f.sharedIncr = ray.Method1(f.shared, "incr", func(ctx context.Context, c *counter, by int) (int, error) {
		c.n += by
		return c.n, nil
	})
	f.getOrMake = ray.Register1(s.reg, "getOrMake", func(ctx context.Context, x int) (uint64, error) {
		h := f.shared.Options(ray.ActorName("shared"), ray.GetIfExists()).New(ctx, x)
		if err := h.Err(); err != nil {
			return 0, err
		}
		if _, err := ray.Get(ctx, f.sharedIncr.Remote(ctx, h, 1)); err != nil {
			return 0, err
		}
		return uint64(h.ID()), nil
	})
	f.quit = ray.Method0(s.counter, "quit", func(ctx context.Context, c *counter) (int, error) {
		return c.n, ray.ExitActor(ctx)
	})
	f.gateQuit = ray.Method0(s.gates.cls, "quit", func(ctx context.Context, g *gate) (int, error) {
		return 0, ray.ExitActor(ctx)
	})
	f.exitTask = ray.Register0(s.reg, "exitTask", func(ctx context.Context) (string, error) {
		if err := ray.ExitActor(ctx); !errors.Is(err, ray.ErrNotInActor) {
			return "", fmt.Errorf("ExitActor in a task: %v, want ErrNotInActor", err)
		}
		return "ok", nil
	})
	f.seer = ray.RegisterActor0(s.reg, "Seer", func(ctx context.Context) (*counter, error) {
		return &counter{n: int(ray.ActorID(ctx))}, nil
	})
	f.whoAmI = ray.Method0(f.seer, "whoAmI", func(ctx context.Context, c *counter) (uint64, error) { return uint64(ray.ActorID(ctx)), nil })
	f.ctorSaw = ray.Method0(f.seer, "ctorSaw", func(ctx context.Context, c *counter) (int, error) { return c.n, nil })
	f.groupOf = ray.Method0(f.seer, "groupOf", func(ctx context.Context, c *counter) (uint64, error) {
		return uint64(ray.PlacementGroupID(ctx)), nil
	})
	f.inTask = ray.Register0(s.reg, "inTask", func(ctx context.Context) ([]uint64, error) {
		return []uint64{uint64(ray.ActorID(ctx)), uint64(ray.PlacementGroupID(ctx))}, nil
	})
	f.overLimit = ray.Register1(s.reg, "overLimit", func(ctx context.Context, h ray.ActorHandle[counter]) ([]int, error) {
		var out []int
		var refs []ray.Ref[int]
		for range 3 {
			r := s.nap.Remote(ctx, h, 100)
			if errors.Is(r.Err(), ray.ErrPendingCallsLimitExceeded) {
				out = append(out, 1)
				continue
			}
			out = append(out, 0)
			refs = append(refs, r)
		}
		_, err := ray.GetAll(ctx, refs, -1)
		return out, err
	})
	f.callFrom = ray.Register1(s.reg, "callFrom", func(ctx context.Context, h ray.ActorHandle[counter]) (int, error) {
		return ray.Get(ctx, s.get.Remote(ctx, h))
	})
	return f
}

var actorAPICases = []semanticCase{
	{"get if exists: racing creators on three nodes share one actor", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's .options(name=..., get_if_exists=True): racing creators
		// used to get ErrActorNameTaken, or a handle to an actor the
		// name's shard then ended (QA28b finding 13).
		var refs []ray.Ref[uint64]
		for i := range 6 {
			refs = append(refs, s.api.getOrMake.Options(ray.CPUs(0.5), ray.NodeAffinity(ray.RayletID(i%3), false)).Remote(ctx, 100*(i+1)))
		}
		ids, err := ray.GetAll(ctx, refs, 30*time.Second)
		require.NoError(t, err)
		for _, id := range ids[1:] {
			assert.Equal(t, ids[0], id, "every creator has the one actor: %v", ids)
		}
		assert.Equal(t, int64(1), s.api.sharedCtors.Load(), "one constructor ran")
		h, err := ray.GetActor(ctx, s.api.shared, "shared")
		require.NoError(t, err)
		assert.Equal(t, ids[0], uint64(h.ID()))
		v, err := ray.Get(ctx, s.api.sharedIncr.Remote(ctx, h, 0))
		require.NoError(t, err)
		assert.Equal(t, 6, v%100, "each creator's incr reached the one actor (%d)", v)
		// The driver finds it too, its arguments unused.
		again := s.api.shared.Options(ray.ActorName("shared"), ray.GetIfExists()).New(ctx, 1)
		require.NoError(t, again.Err())
		assert.Equal(t, h.ID(), again.ID())
		assert.Equal(t, int64(1), s.api.sharedCtors.Load())
		// A holder of another class is refused as GetActor refuses it.
		wrong := s.counter.Options(ray.ActorName("shared"), ray.GetIfExists()).New(ctx, 1)
		assert.ErrorIs(t, wrong.Err(), ray.ErrActorClass)
		// Without a name there is nothing to find.
		anon := s.api.shared.Options(ray.GetIfExists()).New(ctx, 1)
		assert.ErrorIs(t, anon.Err(), ray.ErrInvalidOption)
		_, err = ray.Get(ctx, s.double.Options(ray.GetIfExists()).Remote(ctx, 1))
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "not for tasks")
		// Once the holder is killed, the next one creates it anew.
		require.NoError(t, ray.Kill(ctx, h))
		fresh := s.api.shared.Options(ray.ActorName("shared"), ray.GetIfExists()).New(ctx, 7)
		require.NoError(t, fresh.Err())
		assert.NotEqual(t, h.ID(), fresh.ID())
		v, err = ray.Get(ctx, s.api.sharedIncr.Remote(ctx, fresh, 1))
		require.NoError(t, err)
		assert.Equal(t, 8, v)
	}},
	{"exit actor: a method ends its actor for good", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's ray.actor.exit_actor(): the exiting method's get and the
		// calls after it raise ActorDiedError, no restart follows.
		h := s.counter.Options(ray.MaxRestarts(3), ray.ActorName("quitter"), ray.NodeAffinity(ray.RayletID(1), false)).New(ctx, 5)
		v, err := ray.Get(ctx, s.incr.Remote(ctx, h, 1))
		require.NoError(t, err)
		assert.Equal(t, 6, v)
		busy := s.nap.Remote(ctx, h, 200) // holds the actor while quit and a call queue
		quit := s.api.quit.Remote(ctx, h)
		queued := s.get.Remote(ctx, h)
		v, err = ray.GetTimeout(ctx, busy, 10*time.Second)
		require.NoError(t, err, "a call that finished before the exit stands")
		assert.Equal(t, 6, v)
		for i, ref := range []ray.Ref[int]{quit, queued} {
			what := []string{"the exiting call", "a call queued behind it"}[i]
			_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
			require.ErrorIs(t, err, ray.ErrActorDied, what)
			assert.Contains(t, err.Error(), "exited itself", what)
		}
		// Later calls, here and from another node, fail the same way: no
		// restart, whatever MaxRestarts allows.
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), "exited itself")
		_, err = ray.GetTimeout(ctx, s.api.callFrom.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, h), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), "exited itself")
		_, err = ray.GetActor(ctx, s.counter, "quitter")
		assert.ErrorIs(t, err, ray.ErrActorNotFound, "its name is free")
		// A threaded actor: the methods running beside the exiting one
		// end with it.
		g := s.gates.cls.Options(ray.MaxConcurrency(2), ray.MaxRestarts(1)).New(ctx)
		long := s.gates.enter.Remote(ctx, g, enterArgs{Tag: 1, Ms: 500})
		gq := s.api.gateQuit.Remote(ctx, g)
		for i, ref := range []ray.Ref[int]{gq, long, s.gates.enter.Remote(ctx, g, enterArgs{Tag: 2, Ms: 1})} {
			_, err = ray.GetTimeout(ctx, ref, 10*time.Second)
			require.ErrorIs(t, err, ray.ErrActorDied, "threaded actor's call %d", i)
		}
		// Not in an actor's method: refused.
		assert.ErrorIs(t, ray.ExitActor(ctx), ray.ErrNotInActor, "in the driver")
		got, err := ray.GetTimeout(ctx, s.api.exitTask.Remote(ctx), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "ok", got)
	}},
	{"runtime context: the current actor and placement group", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's get_runtime_context().get_actor_id() and
		// get_current_placement_group().
		assert.Zero(t, ray.ActorID(ctx), "a driver is no actor")
		assert.Zero(t, ray.PlacementGroupID(ctx), "a driver runs in no group")
		h := s.api.seer.New(ctx)
		who, err := ray.Get(ctx, s.api.whoAmI.Remote(ctx, h))
		require.NoError(t, err)
		assert.Equal(t, uint64(h.ID()), who, "a method sees its actor")
		saw, err := ray.Get(ctx, s.api.ctorSaw.Remote(ctx, h))
		require.NoError(t, err)
		assert.Equal(t, int(h.ID()), saw, "the constructor sees its actor")
		g, err := ray.Get(ctx, s.api.groupOf.Remote(ctx, h))
		require.NoError(t, err)
		assert.Zero(t, g)
		v, err := ray.Get(ctx, s.api.inTask.Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, []uint64{0, 0}, v, "a task outside any group")
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}}, ray.Pack)
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, 10*time.Second))
		v, err = ray.Get(ctx, s.api.inTask.Options(ray.InPlacementGroup(pg, 1)).Remote(ctx))
		require.NoError(t, err)
		assert.Equal(t, []uint64{0, uint64(pg.ID())}, v, "a task in a group")
		ha := s.api.seer.Options(ray.CPUs(1), ray.InPlacementGroup(pg, 0)).New(ctx)
		g, err = ray.Get(ctx, s.api.groupOf.Remote(ctx, ha))
		require.NoError(t, err)
		assert.Equal(t, uint64(pg.ID()), g, "an actor in a group")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
	{"kill with restart allowed restarts the actor", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's ray.kill(actor, no_restart=False): the actor comes back
		// while its max_restarts allow (ray.Kill never restarted it). As
		// in Ray, a call that reaches the killed instance fails unless
		// retried: MaxRetries(1) is max_task_retries=1.
		for _, node := range []int{0, 1} {
			h := s.counter.Options(ray.MaxRestarts(1), ray.MaxRetries(1), ray.ActorName(fmt.Sprintf("phoenix%d", node)), ray.NodeAffinity(ray.RayletID(node), false)).New(ctx, 5)
			v, err := ray.Get(ctx, s.incr.Remote(ctx, h, 1))
			require.NoError(t, err)
			require.Equal(t, 6, v)
			require.NoError(t, ray.Kill(ctx, h, ray.AllowRestart()))
			v, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 30*time.Second)
			require.NoError(t, err, "node %d: a call after the kill waits for the restart", node)
			assert.Equal(t, 5, v, "node %d: the restarted actor starts from its constructor", node)
			found, err := ray.GetActor(ctx, s.counter, fmt.Sprintf("phoenix%d", node))
			require.NoError(t, err, "the name stays with the restarted actor")
			assert.Equal(t, h.ID(), found.ID())
			// No restart left: the next such kill ends it.
			require.NoError(t, ray.Kill(ctx, h, ray.AllowRestart()))
			_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 30*time.Second)
			assert.ErrorIs(t, err, ray.ErrActorDied, "node %d: its restarts spent", node)
		}
	}},
	{"max pending calls refuses calls beyond the bound at once", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's max_pending_calls and PendingCallsLimitExceeded.
		h := s.counter.Options(ray.MaxPendingCalls(2), ray.NodeAffinity(ray.RayletID(1), false)).New(ctx, 1)
		a, b := s.nap.Remote(ctx, h, 200), s.nap.Remote(ctx, h, 200)
		require.NoError(t, a.Err())
		require.NoError(t, b.Err())
		c := s.get.Remote(ctx, h)
		require.ErrorIs(t, c.Err(), ray.ErrPendingCallsLimitExceeded, "a third call while two run")
		_, err := ray.Get(ctx, c)
		assert.ErrorIs(t, err, ray.ErrPendingCallsLimitExceeded)
		_, err = ray.GetAll(ctx, []ray.Ref[int]{a, b}, 30*time.Second)
		require.NoError(t, err)
		v, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err, "calls are taken again once the earlier ones finished")
		assert.Equal(t, 1, v)
		// The bound travels with the handle; a task counts its own calls.
		got, err := ray.GetTimeout(ctx, s.api.overLimit.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 0, 1}, got)
		// Without the option, no bound.
		free := s.counter.New(ctx, 1)
		got, err = ray.GetTimeout(ctx, s.api.overLimit.Remote(ctx, free), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 0, 0}, got)
		for _, n := range []int{0, -2} {
			bad := s.counter.Options(ray.MaxPendingCalls(n)).New(ctx, 1)
			assert.ErrorIs(t, bad.Err(), ray.ErrInvalidOption, "MaxPendingCalls(%d)", n)
		}
		_, err = ray.Get(ctx, s.double.Options(ray.MaxPendingCalls(1)).Remote(ctx, 1))
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "not for tasks")
	}},
}

func init() { semanticCases = append(semanticCases, actorAPICases...) }

// TestGetIfExistsReplicatedGCS runs the GetIfExists race on a simulated
// cluster whose GCS shards are 2-replica chains, over a few seeds: the
// claim (a write, to the chain's head) and the lookup after it are
// ordered by the client's sequence numbers, so the answer still follows
// the claim.
func TestGetIfExistsReplicatedGCS(t *testing.T) {
	for seed := range int64(4) {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: seed + 1, WireCheck: true, GCSShards: 2, GCSReplicas: 2}, s.reg)
		require.NoError(t, err)
		require.NoError(t, c.Run(func(ctx context.Context) error {
			actorAPICases[0].run(t, ctx, s)
			return nil
		}))
		c.Close()
	}
}
