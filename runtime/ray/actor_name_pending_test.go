package ray_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNamedActorFoundWhileCreating: as in Ray, a named actor is registered
// under its name as its creation is submitted, so GetActor finds it at
// once and a second New with the name is refused at once. The lookup left
// before the submission did (submissions are queued in bursts; Get, Wait,
// Cancel and Kill take the queue first, the lookup did not): GetActor
// right after New reported ErrActorNotFound, and a second New with the
// name went ahead, its actor then ended by the name's shard (its calls
// ErrActorDied). The lookup now takes the queued submissions first.
func TestNamedActorFoundWhileCreating(t *testing.T) {
	for _, g := range []struct{ shards, replicas int }{{1, 1}, {4, 1}, {3, 3}} {
		t.Run(fmt.Sprintf("shards=%d,replicas=%d", g.shards, g.replicas), func(t *testing.T) {
			namedActorFoundWhileCreating(t, ray.Config{Nodes: withW(1), Seed: 1, GCSShards: g.shards, GCSReplicas: g.replicas})
		})
	}
}

func namedActorFoundWhileCreating(t *testing.T, cfg ray.Config) {
	reg, cls, echo := echoActors()
	c, err := ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.ActorName("n"), ray.Resource("w", 1)).New(ctx)
		g, err := ray.GetActor(ctx, cls, "n")
		require.NoError(t, err, "looked up while its creation is on its way")
		require.Equal(t, h.ID(), g.ID())
		v, err := ray.GetTimeout(ctx, echo.Remote(ctx, g, 4), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 4, v)

		h1 := cls.Options(ray.ActorName("m")).New(ctx)
		h2 := cls.Options(ray.ActorName("m")).New(ctx)
		require.True(t, errors.Is(h2.Err(), ray.ErrActorNameTaken), "second New with the name: %v", h2.Err())
		v, err = ray.GetTimeout(ctx, echo.Remote(ctx, h1, 5), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 5, v)
		return nil
	}))
}
