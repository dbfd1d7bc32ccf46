package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestActorErrorsOnShardedGCS runs the semantic cases of GetActor's class
// check, a failed constructor's error and a kill's on a GCS of several
// replicated shards, where an actor's name lives on another shard than the
// actor: the class and the cause of death reach the name's shard too.
func TestActorErrorsOnShardedGCS(t *testing.T) {
	want := map[string]bool{
		"get actor checks the class":                     true,
		"a failed constructor's error reaches the calls": true,
		"a call after kill says killed":                  true,
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
				c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: int64(shards), GCSShards: shards, GCSReplicas: 2, WireCheck: true}, s.reg)
				require.NoError(t, err)
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
