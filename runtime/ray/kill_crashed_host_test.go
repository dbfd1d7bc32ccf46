package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestKillWhileHostCrashedStaysDead: ray.Kill of an actor whose host has
// crashed but is not yet declared dead. The killer's route still said
// alive, so the kill went to the raylets only; the host was gone, and when
// the node table declared it dead the actor table restarted the actor: a
// killed actor came back, ran its constructor again and took calls. Ray's
// kill goes through the GCS every time, and the actor stays dead
// (no_restart). The killer now tells the actor table too.
func TestKillWhileHostCrashedStaysDead(t *testing.T) {
	s := newSuite()
	slow, get, made := slowCounter(s, 0)
	faultSim(t, s, ray.Config{Nodes: xNodes()}, func(ctx context.Context, c *ray.Sim) error {
		x1 := ray.RayletID(1)
		h := slow.Options(ray.NodeAffinity(x1, true), ray.MaxRestarts(3)).New(ctx, 5)
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, 5, v)
		c.Netsim().Crash(netsim.NodeID(x1))
		require.NoError(t, ray.Kill(ctx, h))
		require.NoError(t, ray.Compute(ctx, 5*time.Second)) // x1 is declared dead
		_, err = ray.GetTimeout(ctx, get.Remote(ctx, h), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrActorDied), "a call to the killed actor: %v", err)
		require.Equal(t, 1, *made, "constructor runs: the killed actor was restarted")
		return nil
	})
}
