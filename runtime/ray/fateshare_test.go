package ray_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// Fate-sharing: an actor dies with its owner, the node incarnation whose
// driver or worker created it, unless it is detached (Ray's
// lifetime="detached"). These cases join the semantic suite (both
// transports); they need a runner that can crash a node (suite.crash) and
// do nothing without one.
func init() { semanticCases = append(semanticCases, fateshareCases...) }

// newMakeOwned registers makeOwned: in a task, it creates a counter
// holding x and returns its handle. how "owned": on node 1 (hard
// affinity), holding node 1's only "special", named "owned", restarted
// without bound; "detached": on node 1, detached, named "kept", restarted
// without bound; "pending": asking for 2 "special", which no node has, so
// its creation is held.
func newMakeOwned(s *suite) *ray.Func[ray.ActorHandle[counter]] {
	return ray.Register2(s.reg, "makeOwned", func(ctx context.Context, x int, how string) (ray.ActorHandle[counter], error) {
		var opts []ray.Option
		switch how {
		case "owned":
			opts = []ray.Option{ray.NodeAffinity(ray.RayletID(1), false), ray.MaxRestarts(-1), ray.Resource("special", 1), ray.ActorName("owned")}
		case "detached":
			opts = []ray.Option{ray.NodeAffinity(ray.RayletID(1), false), ray.MaxRestarts(-1), ray.Detached(), ray.ActorName("kept")}
		case "pending":
			opts = []ray.Option{ray.MaxRestarts(-1), ray.Resource("special", 2)}
		default:
			return ray.ActorHandle[counter]{}, fmt.Errorf("makeOwned: how %q", how)
		}
		h := s.counter.Options(opts...).New(ctx, x)
		return h, h.Err()
	})
}

// awaitActorDied calls get on h until a call fails (its owner's death
// takes the node timeout to be declared: 1 s in netsim, 3 s on TCP), at
// most about 30 s, and returns that call's error.
func awaitActorDied(ctx context.Context, s *suite, h ray.ActorHandle[counter]) error {
	for range 150 {
		if _, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 5*time.Second); err != nil {
			return err
		}
		if err := ray.Compute(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("the actor's calls never failed")
}

var fateshareCases = []semanticCase{
	{"an actor dies with its owner, a task's node, unless detached", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return // a run of many cases on one cluster: its actors would hold node 1's "special"
		}
		// Three actors created by a task on node 2 (their owner): one
		// hosted on node 1, one detached on node 1, one whose creation
		// is held (no node can host it).
		on2 := ray.NodeAffinity(ray.RayletID(2), false)
		owned, err := ray.Get(ctx, s.makeOwned.Options(on2).Remote(ctx, 5, "owned"))
		require.NoError(t, err)
		kept, err := ray.Get(ctx, s.makeOwned.Options(on2).Remote(ctx, 7, "detached"))
		require.NoError(t, err)
		pending, err := ray.Get(ctx, s.makeOwned.Options(on2).Remote(ctx, 9, "pending"))
		require.NoError(t, err)
		v, err := ray.Get(ctx, s.get.Remote(ctx, owned))
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		v, err = ray.Get(ctx, s.get.Remote(ctx, kept))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		s.crash(2)
		// The owned actor dies, its restarts left notwithstanding, and its
		// calls say the owner died.
		err = awaitActorDied(ctx, s, owned)
		require.ErrorIs(t, err, ray.ErrActorDied)
		owner := fmt.Sprintf("its owner, node %d, died", ray.RayletID(2))
		assert.Contains(t, err.Error(), owner)
		_, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, owned, 1), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied, "a later call")
		assert.Contains(t, err.Error(), owner)
		// So does the one not created yet.
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, pending), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied, "an actor whose creation was held")
		assert.Contains(t, err.Error(), owner)
		// Its name is free, and its host gave its resources back.
		_, err = ray.GetActor(ctx, s.counter, "owned")
		assert.ErrorIs(t, err, ray.ErrActorNotFound)
		v, err = ray.GetTimeout(ctx, s.double.Options(ray.Resource("special", 1)).Remote(ctx, 4), 10*time.Second)
		require.NoError(t, err, "the dead actor's special")
		assert.Equal(t, 8, v)
		// The detached actor lives on, found by name too, until killed.
		v, err = ray.GetTimeout(ctx, s.incr.Remote(ctx, kept, 1), 10*time.Second)
		require.NoError(t, err, "the detached actor")
		assert.Equal(t, 8, v)
		found, err := ray.GetActor(ctx, s.counter, "kept")
		require.NoError(t, err)
		v, err = ray.GetTimeout(ctx, s.get.Remote(ctx, found), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 8, v)
		require.NoError(t, ray.Kill(ctx, found))
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, kept), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied, "the detached actor, killed")
	}},
	{"detached is for actor creations only", func(t *testing.T, ctx context.Context, s *suite) {
		_, err := ray.Get(ctx, s.double.Options(ray.Detached()).Remote(ctx, 1))
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "a task")
		h := s.counter.New(ctx, 1)
		_, err = ray.Get(ctx, s.get.Options(ray.Detached()).Remote(ctx, h))
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "a method call")
		d := s.counter.Options(ray.Detached()).New(ctx, 2)
		v, err := ray.Get(ctx, s.get.Remote(ctx, d))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
	}},
}

// TestActorDiesWithRejoinedOwner: a driver's node paused past the node
// timeout is declared dead and rejoins as a new incarnation while its
// driver runs on. The actors its dead incarnation created are dead (its
// calls say the owner died), restarts left or not; one it creates after
// the rejoin lives, owned by the new incarnation.
func TestActorDiesWithRejoinedOwner(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: xNodes(), Seed: 1, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	x1, x2 := ray.RayletID(1), ray.RayletID(2)
	var before, after error
	var v, hosted int
	require.NoError(t, c.Go(1, func(ctx context.Context) error {
		h := s.counter.Options(ray.NodeAffinity(x2, false), ray.MaxRestarts(-1)).New(ctx, 3)
		if _, err := ray.Get(ctx, s.get.Remote(ctx, h)); err != nil {
			return err
		}
		c.Netsim().Pause(netsim.NodeID(x1), 1500*time.Millisecond)
		before = awaitActorDied(ctx, s, h)
		// The raylet learns its own death from the answer to its next
		// heartbeat: a creation submitted before that is its dead
		// incarnation's (a zombie's), dead too. After it, the new
		// incarnation owns what the driver creates.
		if err := ray.Compute(ctx, time.Second); err != nil {
			return err
		}
		again := s.counter.Options(ray.NodeAffinity(x2, false)).New(ctx, 4)
		if err := ray.Compute(ctx, 3*time.Second); err != nil {
			return err
		}
		v, after = ray.GetTimeout(ctx, s.get.Remote(ctx, again), 10*time.Second)
		hosted = len(c.Raylet(2).HostedActors())
		return nil
	}))
	require.NoError(t, c.Run(func(ctx context.Context) error { return ray.Compute(ctx, 10*time.Second) }))
	require.ErrorIs(t, before, ray.ErrActorDied)
	assert.Contains(t, before.Error(), fmt.Sprintf("its owner, node %d, died", x1))
	require.NoError(t, after, "an actor the rejoined incarnation created")
	assert.Equal(t, 4, v)
	assert.Equal(t, 1, hosted, "the dead owner's actor was ended on its host")
	assert.Empty(t, c.Raylet(2).HostedActors(), "the second actor ended with its driver's job")
}

// TestOwnerDiesWhileRestartHeld: an actor's node dies and its restart is
// held (no other node can host it); then its owner's node dies: the actor
// is dead for good, saying its owner died. When its node comes back the
// held restart comes up there and is ended at once, giving back what it
// holds. The drivers share a namespace (Config.Namespace), so the main
// one finds the other's actor by name.
func TestOwnerDiesWhileRestartHeld(t *testing.T) {
	s := newSuite()
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "x1", CPUs: 2, Resources: map[string]float64{"only1": 1}}, {Name: "x2", CPUs: 2}}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, WireCheck: true, Namespace: "fateshare"}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	x1, x2 := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	require.NoError(t, c.Go(2, func(ctx context.Context) error {
		h := s.counter.Options(ray.Resource("only1", 1), ray.MaxRestarts(-1), ray.ActorName("a")).New(ctx, 3)
		if _, err := ray.Get(ctx, s.get.Remote(ctx, h)); err != nil {
			return err
		}
		return ray.Compute(ctx, time.Hour) // until its node dies
	}))
	c.Netsim().At(time.Second, func() { c.Netsim().Crash(x1) })
	c.Netsim().At(3*time.Second, func() { c.Netsim().Crash(x2) })
	c.Netsim().At(6*time.Second, func() { c.Netsim().Restart(x1) })
	requireDriverNodeDied(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond))
		h, err := ray.GetActor(ctx, s.counter, "a")
		require.NoError(t, err)
		v, err := ray.Get(ctx, s.get.Remote(ctx, h))
		require.NoError(t, err)
		require.Equal(t, 3, v)
		require.NoError(t, ray.Compute(ctx, 4*time.Second)) // x1 dead, restart held; x2 dead
		_, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 10*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied)
		assert.Contains(t, err.Error(), fmt.Sprintf("its owner, node %d, died", ray.RayletID(2)))
		// x1 back: the held restart comes up there and is ended.
		v, err = ray.GetTimeout(ctx, s.double.Options(ray.Resource("only1", 1)).Remote(ctx, 5), 10*time.Second)
		require.NoError(t, err, "x1's only1, held by the late instance")
		assert.Equal(t, 10, v)
		return nil
	}))
	assert.Empty(t, c.Raylet(1).HostedActors(), "the late instance was ended")
}
