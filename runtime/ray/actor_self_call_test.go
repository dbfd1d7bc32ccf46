package ray_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
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

// TestActorWaitingOnItselfInWaitWarns: a method that Waits for a call on
// its own actor waits for what cannot come while it waits (the call runs
// once the method returns), as its Get did: the Wait warns too, once, when
// the calls on its own actor leave it fewer refs than it waits for (it can
// then end only by its timeout). A Wait that other refs can satisfy, and a
// poll (timeout 0), are not warned about. Both transports.
func TestActorWaitingOnItselfInWaitWarns(t *testing.T) {
	for _, transportName := range []string{"sim", "tcp"} {
		t.Run(transportName, func(t *testing.T) {
			reg := ray.NewRegistry()
			quick := ray.Register0(reg, "quick", func(ctx context.Context) (int, error) { return 7, nil })
			cls := ray.RegisterActor0(reg, "SelfWaiter", func(ctx context.Context) (*selfCaller, error) { return &selfCaller{}, nil })
			one := ray.Method0(cls, "one", func(ctx context.Context, s *selfCaller) (int, error) { return 1, nil })
			set := ray.Method1(cls, "set", func(ctx context.Context, s *selfCaller, h ray.ActorHandle[selfCaller]) (int, error) {
				s.me = h
				return 0, nil
			})
			// waitSelf Waits on a call on its own actor: alone, with a
			// timeout (0); beside a task that finishes, for one (1); as a
			// poll (2); beside the task, done already, for both, with a
			// timeout (3). It returns how many were ready.
			waitSelf := ray.Method1(cls, "waitSelf", func(ctx context.Context, s *selfCaller, how int) (int, error) {
				self := one.Remote(ctx, s.me)
				refs, k, timeout := []ray.Ref[int]{self}, 1, 200*time.Millisecond
				switch how {
				case 1:
					refs, timeout = append(refs, quick.Remote(ctx)), -1
				case 2:
					timeout = 0
				case 3:
					q := quick.Remote(ctx)
					if _, err := ray.Get(ctx, q); err != nil { // ready before the Wait, however slow the host
						return 0, err
					}
					refs, k = append(refs, q), 2
				}
				ready, _, err := ray.Wait(ctx, refs, k, timeout)
				return len(ready), err
			})
			var mu sync.Mutex
			var warned []string
			onEvent := func(ev *transport.Event) {
				if ev.Kind == transport.EvWarning && strings.Contains(ev.Detail, "its own actor") {
					mu.Lock()
					warned = append(warned, ev.Detail)
					mu.Unlock()
				}
			}
			warnings := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(warned)
			}
			cfg := ray.Config{Nodes: withW(1), Seed: 1, OnEvent: onEvent}
			var run func(func(context.Context) error) error
			if transportName == "sim" {
				c, err := ray.NewSim(cfg, reg)
				require.NoError(t, err)
				defer c.Close()
				run = c.Run
			} else {
				c, err := ray.NewTCP(context.Background(), cfg, reg)
				require.NoError(t, err)
				defer func() { require.NoError(t, c.Close()) }()
				run = c.Run
			}
			require.NoError(t, run(func(ctx context.Context) error {
				h := cls.New(ctx)
				_, err := ray.Get(ctx, set.Remote(ctx, h, h))
				require.NoError(t, err)
				for how, want := range []struct{ ready, warnings int }{{0, 1}, {1, 1}, {0, 1}, {1, 2}} {
					n, err := ray.GetTimeout(ctx, waitSelf.Remote(ctx, h, how), 10*time.Second)
					require.NoError(t, err, "wait %d", how)
					require.Equal(t, want.ready, n, "wait %d", how)
					require.Len(t, warnings(), want.warnings, "wait %d: %v", how, warnings())
				}
				for _, w := range warnings() {
					require.Contains(t, w, h.ID().String())
					require.Contains(t, w, "Wait")
				}
				return nil
			}))
		})
	}
}
