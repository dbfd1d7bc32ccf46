package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/ray"
)

type boundCounter struct{ n int }

// TestDeadActorsStayBounded: a stream of jobs that each create an actor,
// call it once and end keeps the GCS's resident entries bounded (at most
// gcs.DefaultDeadActors dead actors' entries, and no dead actor's creation
// task, in memory); a handle to an actor killed long before, whose entry
// left memory, still fails at once with ErrActorDied. (QA31 finding 5:
// Resident grew by 2 per actor.)
func TestDeadActorsStayBounded(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "BoundCounter", func(ctx context.Context) (*boundCounter, error) { return &boundCounter{}, nil })
	inc := ray.Method1(cls, "inc", func(ctx context.Context, c *boundCounter, d int) (int, error) { c.n += d; return c.n, nil })
	c, err := ray.NewSim(ray.Config{
		Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 4}, {Name: "w1", CPUs: 4}},
		Seed:       1,
		MaxVirtual: 100 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	var killed ray.ActorHandle[boundCounter]
	require.NoError(t, c.Run(func(ctx context.Context) error {
		killed = cls.Options(ray.Detached(), ray.ActorName("killed")).New(ctx)
		if _, err := ray.Get(ctx, inc.Remote(ctx, killed, 1)); err != nil {
			return err
		}
		return ray.Kill(ctx, killed)
	}))
	jobs := gcs.DefaultDeadActors + 500
	for k := 0; k < jobs; k++ {
		require.NoError(t, c.Run(func(ctx context.Context) error {
			h := cls.New(ctx)
			r := inc.Remote(ctx, h, 1)
			_, err := ray.Get(ctx, r)
			ray.Free(ctx, r)
			return err
		}), "job %d", k)
	}
	actors, resident := 0, 0
	for j := 0; j < c.Shards(); j++ {
		st := c.Shard(j).Stats()
		actors += st.Actors
		resident += st.ResidentActors
		require.LessOrEqual(t, st.ResidentActors, gcs.DefaultDeadActors+2, "shard %d: dead actors stay resident", j)
		require.LessOrEqual(t, st.ResidentTasks, 2, "shard %d: dead actors' creation tasks stay resident", j)
	}
	require.Equal(t, jobs+1, actors, "every actor is still in the table (the store)")
	require.Less(t, resident, actors)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		_, err := ray.Get(ctx, inc.Remote(ctx, killed, 1))
		if !errors.Is(err, ray.ErrActorDied) {
			return errors.New("a call on an evicted dead actor: want ErrActorDied, got " + errString(err))
		}
		return nil
	}))
}

type boundAcc struct{ n int }

// TestCallerStateStaysBounded: a detached actor called once by each of
// many tasks, and an actor per job called by its driver: the callers'
// raylets drop each (caller, actor) call sequence once its caller has
// finished and its calls are done, and forget the routes to dead actors
// beyond a bound; an actor method that calls another actor is such a
// caller too. (QA31 finding 5b: a track per calling task and a route
// per actor ever called, for good.) The calls still run once each, in
// order: the actor's sum is exact.
func TestCallerStateStaysBounded(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "BoundAcc", func(ctx context.Context) (*boundAcc, error) { return &boundAcc{}, nil })
	add := ray.Method1(cls, "add", func(ctx context.Context, a *boundAcc, d int) (int, error) { a.n += d; return a.n, nil })
	var h ray.ActorHandle[boundAcc]
	call := ray.Register1(reg, "call", func(ctx context.Context, x int) (int, error) {
		r := add.Remote(ctx, h, 1)
		v, err := ray.Get(ctx, r)
		ray.Free(ctx, r)
		return v, err
	})
	type relayState struct{}
	relayCls := ray.RegisterActor0(reg, "BoundRelay", func(ctx context.Context) (*relayState, error) { return &relayState{}, nil })
	relay := ray.Method1(relayCls, "relay", func(ctx context.Context, _ *relayState, d int) (int, error) {
		r := add.Remote(ctx, h, d)
		v, err := ray.Get(ctx, r)
		ray.Free(ctx, r)
		return v, err
	})
	c, err := ray.NewSim(ray.Config{
		Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 4}, {Name: "w1", CPUs: 4}},
		Seed:       1,
		MaxVirtual: 100 * time.Hour,
	}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h = cls.Options(ray.Detached(), ray.ActorName("acc")).New(ctx)
		_, err := ray.Get(ctx, add.Remote(ctx, h, 0))
		return err
	}))
	const jobs, perJob = 20, 100
	for k := 0; k < jobs; k++ {
		require.NoError(t, c.Run(func(ctx context.Context) error {
			var refs []ray.Ref[int]
			for i := 0; i < perJob; i++ {
				refs = append(refs, call.Remote(ctx, i))
			}
			for _, r := range refs {
				if _, err := ray.Get(ctx, r); err != nil {
					return err
				}
			}
			ray.Free(ctx, refs...)
			return nil
		}))
	}
	// An actor's methods as callers: each relays one call.
	require.NoError(t, c.Run(func(ctx context.Context) error {
		rl := relayCls.New(ctx)
		var refs []ray.Ref[int]
		for i := 0; i < perJob; i++ {
			refs = append(refs, relay.Remote(ctx, rl, 1))
		}
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		ray.Free(ctx, refs...)
		return nil
	}))
	tracks := 0
	for i := 0; i < 2; i++ {
		tracks += c.Raylet(i).CallTracks()
	}
	require.Less(t, tracks, perJob, "call sequences of finished callers are kept")
	require.NoError(t, c.Run(func(ctx context.Context) error {
		v, err := ray.Get(ctx, add.Remote(ctx, h, 0))
		if err == nil && v != (jobs+1)*perJob {
			return errors.New("the calls did not each run once")
		}
		return err
	}))

	// An actor per job, called by its driver and dead at the job's end.
	short := gcs.DefaultDeadActors + 200
	for k := 0; k < short; k++ {
		require.NoError(t, c.Run(func(ctx context.Context) error {
			a := cls.New(ctx)
			r := add.Remote(ctx, a, 1)
			_, err := ray.Get(ctx, r)
			ray.Free(ctx, r)
			return err
		}))
	}
	for i := 0; i < 2; i++ {
		require.LessOrEqual(t, len(c.Raylet(i).Routes()), 1024+2, "raylet %d keeps a route per actor ever called", i)
		require.Less(t, c.Raylet(i).CallTracks(), 10, "raylet %d keeps a driver's call sequences", i)
	}
}
