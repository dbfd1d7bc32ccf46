package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// The semantic suite's case for ActorPool (Ray's ray.util.ActorPool), run
// on both transports with the others.
func init() {
	semanticCases = append(semanticCases, semanticCase{"actor pool", func(t *testing.T, ctx context.Context, s *suite) {
		// Three actors, each holding its own number (0, 100, 200): a
		// nap returns which actor ran it.
		var actors []ray.ActorHandle[counter]
		for i := range 3 {
			actors = append(actors, s.counter.New(ctx, 100*i))
		}
		pool := ray.NewActorPool[counter, int](actors...)
		nap := func(ms int) func(context.Context, ray.ActorHandle[counter]) ray.Ref[int] {
			return func(ctx context.Context, a ray.ActorHandle[counter]) ray.Ref[int] { return s.nap.Remote(ctx, a, ms) }
		}
		// Seven calls on three actors: three start, four wait for an
		// actor; each taken result frees its actor for the oldest
		// waiting call. Results come in submission order, whatever the
		// durations.
		for _, ms := range []int{30, 10, 20, 5, 5, 5, 5} {
			pool.Submit(ctx, nap(ms))
		}
		assert.False(t, pool.HasFree(), "every actor busy, calls waiting")
		var got []int
		for pool.HasNext() {
			v, err := pool.GetNext(ctx, -1)
			require.NoError(t, err)
			got = append(got, v)
		}
		assert.Equal(t, []int{0, 100, 200, 0, 100, 200, 0}, got, "which actor ran each call, in submission order")
		_, err := pool.GetNext(ctx, -1)
		assert.ErrorIs(t, err, ray.ErrPoolEmpty)
		assert.True(t, pool.HasFree())

		// Unordered: as they finish. (Which actor a call runs on is
		// recorded as it starts.)
		ran := map[int]int{} // nap's ms -> the actor it ran on
		for _, ms := range []int{400, 10, 200} {
			pool.Submit(ctx, func(ctx context.Context, a ray.ActorHandle[counter]) ray.Ref[int] {
				for i, b := range actors {
					if b.ID() == a.ID() {
						ran[ms] = 100 * i
					}
				}
				return s.nap.Remote(ctx, a, ms)
			})
		}
		got = got[:0]
		for pool.HasNext() {
			v, err := pool.GetNextUnordered(ctx, -1)
			require.NoError(t, err)
			got = append(got, v)
		}
		assert.Equal(t, []int{ran[10], ran[200], ran[400]}, got, "the 10ms call first, then 200ms, then 400ms")

		// A timeout leaves the call pending and its actor busy.
		pool.Submit(ctx, nap(300))
		_, err = pool.GetNext(ctx, 10*time.Millisecond)
		assert.ErrorIs(t, err, ray.ErrTimeout)
		assert.True(t, pool.HasNext())
		_, err = pool.GetNext(ctx, -1)
		require.NoError(t, err)

		// PopIdle and Push: a pool with no actor holds its calls until
		// one is pushed.
		for range 3 {
			_, ok := pool.PopIdle()
			require.True(t, ok)
		}
		_, ok := pool.PopIdle()
		assert.False(t, ok)
		pool.Submit(ctx, nap(1))
		_, err = pool.GetNext(ctx, -1)
		assert.ErrorContains(t, err, "none is in the pool")
		require.NoError(t, pool.Push(ctx, actors[2]))
		assert.Error(t, pool.Push(ctx, actors[2]), "an actor in the pool (running its call) pushed again")
		v, err := pool.GetNext(ctx, -1)
		require.NoError(t, err)
		assert.Equal(t, 200, v, "the waiting call ran on the pushed actor")
		assert.Error(t, pool.Push(ctx, actors[2]), "an idle actor of the pool pushed again")

		// A dead actor's call ends with ErrActorDied, and frees it.
		require.NoError(t, ray.Kill(ctx, actors[0]))
		dead := ray.NewActorPool[counter, int](actors[0])
		dead.Submit(ctx, nap(1))
		_, err = dead.GetNext(ctx, 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied)
		assert.True(t, dead.HasFree())
		for _, a := range actors[1:] {
			require.NoError(t, ray.Kill(ctx, a))
		}
	}})
}

// TestActorPoolContextEndKeepsCall: a GetNext whose context ended while
// the call ran took the call for finished: its result was lost, HasNext
// turned false, and the next Submit went to the actor still running it.
// The call now stays pending (TCP: netsim watches no context).
func TestActorPoolContextEndKeepsCall(t *testing.T) {
	s := newSuite()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ray.NewTCP(ctx, ray.Config{Nodes: withW(1)}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		a := s.counter.New(ctx, 7)
		pool := ray.NewActorPool[counter, int](a)
		pool.Submit(ctx, func(ctx context.Context, a ray.ActorHandle[counter]) ray.Ref[int] { return s.nap.Remote(ctx, a, 300) })
		short, stop := context.WithTimeout(ctx, 20*time.Millisecond)
		defer stop()
		_, err := pool.GetNext(short, -1)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, pool.HasNext(), "the call still runs")
		assert.False(t, pool.HasFree(), "its actor is busy")
		v, err := pool.GetNext(ctx, -1)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		return nil
	}))
}
