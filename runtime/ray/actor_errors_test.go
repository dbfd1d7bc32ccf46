package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestActorErrorsOnShardedGCS runs the semantic cases of GetActor's class
// check, a failed constructor's error, a kill's and an owner's death on a
// GCS of several replicated shards, where an actor's name lives on another
// shard than the actor: the class and the cause of death reach the name's
// shard too.
func TestActorErrorsOnShardedGCS(t *testing.T) {
	want := map[string]bool{
		"get actor checks the class":                     true,
		"a failed constructor's error reaches the calls": true,
		"a call after kill says killed":                  true,
		// the burial of an owner's actors on every replica of the actor's
		// chain, its name freed on the name's
		"an actor dies with its owner, a task's node, unless detached": true,
		// a driver's actors told dead to their shards, names freed on the
		// names' shards, at its return
		"a driver's return ends its job": true,
		// names qualified by namespace, on the names' shards
		"namespaces: a job's named actors are its own; another job finds them by naming the namespace": true,
		// listing names gathers every shard's, a page from each chain's tail
		"namespaces: list_named_actors lists the named actors not dead, of the caller's namespace or of all": true,
	}
	ran := 0
	for _, tc := range semanticCases {
		if !want[tc.name] {
			continue
		}
		ran++
		t.Run(tc.name, func(t *testing.T) {
			for _, shards := range []int{2, 3, 5} {
				s := newSuite()
				c, err := ray.NewSim(ray.Config{Nodes: tc.cluster(), Seed: int64(shards), GCSShards: shards, GCSReplicas: 2, WireCheck: true}, s.reg)
				require.NoError(t, err)
				s.crash = func(i int) { c.Netsim().Crash(netsim.NodeID(ray.RayletID(i))) }
				s.drive = simDrive(c)
				require.NoError(t, c.Run(func(ctx context.Context) error {
					tc.run(t, ctx, s)
					return nil
				}))
				c.Close()
			}
		})
	}
	require.Equal(t, len(want), ran, "a case was renamed")
}

// TestActorDiedWithNodeSaysWhy: an actor whose node dies with no restart
// left is dead for good, and its callers' errors say why, as Ray's
// ActorDiedError does ("its node died and its restarts are spent"): they
// said only that the actor was dead.
func TestActorDiedWithNodeSaysWhy(t *testing.T) {
	reg, cls, echo := echoActors()
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(0)).New(ctx)
		_, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 1), 5*time.Second)
		require.NoError(t, err)
		c.Netsim().Crash(netsim.NodeID(ray.RayletID(1)))
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // declared dead by now
		_, err = ray.GetTimeout(ctx, echo.Options(ray.MaxRetries(0)).Remote(ctx, h, 2), 5*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		require.ErrorContains(t, err, "its node 2 died and its restarts are spent (max_restarts 0)")
		return nil
	}))
}

// TestNameClashLoserSaysWhy: two creators race past the name check; the
// name's shard keeps the first, and the other actor is ended. Its calls
// say why (its name is taken by another live actor): its host's queued
// calls said "killed by ray.Kill", the table's kill of it carrying no
// cause.
func TestNameClashLoserSaysWhy(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "Named", func(ctx context.Context) (*durableCounter, error) { return &durableCounter{}, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, c *durableCounter) (int, error) { return 1, nil })
	race := ray.Register0(reg, "race", func(ctx context.Context) (string, error) {
		h := cls.Options(ray.ActorName("x"), ray.Resource("w", 1)).New(ctx)
		if h.Err() != nil {
			return "refused", nil
		}
		refs := make([]ray.Ref[int], 20)
		for i := range refs {
			refs[i] = get.Options(ray.Duration(time.Millisecond)).Remote(ctx, h)
		}
		if _, err := ray.GetAll(ctx, refs, 10*time.Second); err != nil {
			return err.Error(), nil
		}
		return "ok", nil
	})
	for seed := int64(1); seed <= 20; seed++ {
		c, err := ray.NewSim(ray.Config{Nodes: withW(2), Seed: seed, WireCheck: true}, reg)
		require.NoError(t, err)
		require.NoError(t, c.Run(func(ctx context.Context) error {
			a := race.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx)
			b := race.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx)
			got, err := ray.GetAll(ctx, []ray.Ref[string]{a, b}, 10*time.Second)
			require.NoError(t, err)
			for _, g := range got {
				if g != "ok" && g != "refused" {
					require.Contains(t, g, `its name "x" is taken by another live actor`, "seed %d", seed)
					require.NotContains(t, g, "ray.Kill", "seed %d", seed)
				}
			}
			return nil
		}))
		c.Close()
	}
}

// TestTableKillCauseReachesHostsCalls: the actor table's kill of an actor
// it holds dead for another reason than ray.Kill (its name taken by
// another, a refusal that can overtake the actor coming up) carries that
// cause, and the host fails the calls it holds with it: they said
// "killed by ray.Kill".
func TestTableKillCauseReachesHostsCalls(t *testing.T) {
	reg, cls, echo := echoActors()
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	const cause = `its name "x" is taken by another live actor`
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1)).New(ctx)
		_, err := ray.GetTimeout(ctx, echo.Remote(ctx, h, 0), 5*time.Second)
		require.NoError(t, err)
		refs := make([]ray.Ref[int], 5)
		for i := range refs {
			refs[i] = echo.Options(ray.Duration(10*time.Millisecond), ray.MaxRetries(0)).Remote(ctx, h, i)
		}
		require.NoError(t, ray.Compute(ctx, 5*time.Millisecond)) // the calls are at the host
		c.Raylet(1).Handle(ray.ShardID(0), &transport.KillActor{Actor: h.ID(), NoRestart: true, Cause: cause})
		for _, r := range refs {
			_, err := ray.GetTimeout(ctx, r, 5*time.Second)
			require.ErrorIs(t, err, ray.ErrActorDied)
			require.ErrorContains(t, err, cause)
		}
		return nil
	}))
}
