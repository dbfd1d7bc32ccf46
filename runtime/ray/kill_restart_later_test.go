package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestCallAfterKillAllowRestartWaits: a call made right after
// Kill(h, AllowRestart()) by the same caller waits for the restart and
// runs on the new instance, as AllowRestart's doc says, with Ray's
// default of no retries for methods (no MaxRetries). It failed with
// ErrActorDied ("is not on node N ... 0 retries allowed"): the caller's
// route still pointed at the ended instance, and the bounce was charged
// as a death (qaapi #2). Sim (the actor on the caller's node and on
// another) and TCP.
func TestCallAfterKillAllowRestartWaits(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		for _, node := range []int{0, 1} {
			t.Run(fmt.Sprintf("tcp=%v/node=%d", tcp, node), func(t *testing.T) {
				reg := ray.NewRegistry()
				cls := ray.RegisterActor0(reg, "Phoenix", func(ctx context.Context) (*nilCtorState, error) { return &nilCtorState{}, nil })
				inc := ray.Method0(cls, "inc", func(ctx context.Context, s *nilCtorState) (int, error) { s.n++; return s.n, nil })
				cfg := ray.Config{Nodes: withW(1), Seed: 1}
				var run func(func(context.Context) error) error
				if tcp {
					c, err := ray.NewTCP(context.Background(), cfg, reg)
					require.NoError(t, err)
					defer func() { require.NoError(t, c.Close()) }()
					run = c.Run
				} else {
					c, err := ray.NewSim(cfg, reg)
					require.NoError(t, err)
					defer c.Close()
					run = c.Run
				}
				require.NoError(t, run(func(ctx context.Context) error {
					h := cls.Options(ray.MaxRestarts(1), ray.NodeAffinity(ray.RayletID(node), false)).New(ctx)
					v, err := ray.GetTimeout(ctx, inc.Remote(ctx, h), 30*time.Second)
					require.NoError(t, err)
					require.Equal(t, 1, v)
					require.NoError(t, ray.Kill(ctx, h, ray.AllowRestart()))
					v, err = ray.GetTimeout(ctx, inc.Remote(ctx, h), 30*time.Second)
					require.NoError(t, err, "a call after the kill waits for the restart")
					require.Equal(t, 1, v, "the restarted instance starts from its constructor")
					// Restarts spent: the next such kill ends it, and a later
					// call fails rather than wait.
					require.NoError(t, ray.Kill(ctx, h, ray.AllowRestart()))
					_, err = ray.GetTimeout(ctx, inc.Remote(ctx, h), 30*time.Second)
					require.ErrorIs(t, err, ray.ErrActorDied)
					return nil
				}))
			})
		}
	}
}
