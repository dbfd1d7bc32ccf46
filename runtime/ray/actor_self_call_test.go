package ray_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

type selfCaller struct{ me ray.ActorHandle[selfCaller] }

// TestActorWaitingOnItselfWarns: a method that calls its own actor and
// Gets the result deadlocks, as in Ray for a synchronous actor (the call
// runs only once the method returns). It hung without a word; the Get now
// warns (EvWarning, once per Get), naming the actor. The driver's timeout
// still ends its own wait, and a method that calls itself without waiting
// (fire and forget) is not warned about.
func TestActorWaitingOnItselfWarns(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "SelfCaller", func(ctx context.Context) (*selfCaller, error) { return &selfCaller{}, nil })
	one := ray.Method0(cls, "one", func(ctx context.Context, s *selfCaller) (int, error) { return 1, nil })
	set := ray.Method1(cls, "set", func(ctx context.Context, s *selfCaller, h ray.ActorHandle[selfCaller]) (int, error) {
		s.me = h
		return 0, nil
	})
	kick := ray.Method0(cls, "kick", func(ctx context.Context, s *selfCaller) (int, error) {
		one.Remote(ctx, s.me)
		return 0, nil
	})
	outer := ray.Method0(cls, "outer", func(ctx context.Context, s *selfCaller) (int, error) {
		return ray.Get(ctx, one.Remote(ctx, s.me))
	})
	var warned []string
	onEvent := func(ev *transport.Event) {
		if ev.Kind == transport.EvWarning && strings.Contains(ev.Detail, "its own actor") {
			warned = append(warned, ev.Detail)
		}
	}
	c, err := ray.NewSim(ray.Config{Nodes: withW(1), Seed: 1, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.New(ctx)
		_, err := ray.Get(ctx, set.Remote(ctx, h, h))
		require.NoError(t, err)
		_, err = ray.GetTimeout(ctx, kick.Remote(ctx, h), 5*time.Second)
		require.NoError(t, err)
		require.Empty(t, warned, "a self-call nobody waits for")
		_, err = ray.GetTimeout(ctx, outer.Remote(ctx, h), 5*time.Second)
		require.True(t, errors.Is(err, ray.ErrTimeout), "got %v", err)
		require.Len(t, warned, 1)
		require.Contains(t, warned[0], h.ID().String())
		return nil
	}))
}
