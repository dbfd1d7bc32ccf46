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
