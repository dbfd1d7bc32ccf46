package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// ownedBox is the actor of TestDriverExitEndsItsActors.
type ownedBox struct{ v int }

func boxRegistry() (*ray.Registry, *ray.ActorClass[ownedBox], *ray.ActorMethod[ownedBox, int]) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor1(reg, "Box", func(ctx context.Context, v int) (*ownedBox, error) { return &ownedBox{v: v}, nil })
	get := ray.Method0(cls, "get", func(ctx context.Context, b *ownedBox) (int, error) { return b.v, nil })
	return reg, cls, get
}

// TestDriverExitEndsItsActors: on a live cluster, a driver's actors that
// are not detached end when the driver's session does (its raylet stops
// heartbeating and the node table declares it dead: the actors' owner
// died), as Ray's end with their job; a detached one lives on for another
// driver, which finds it by name and kills it. Both sessions join one
// namespace (WithNamespace, Ray's ray.init(namespace=...)): each driver
// process's job is in an anonymous namespace of its own otherwise.
func TestDriverExitEndsItsActors(t *testing.T) {
	tok := []byte("fateshare-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, cls, get := boxRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	first, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	require.NoError(t, first.Run(func(ctx context.Context) error {
		owned := cls.Options(ray.ActorName("owned"), ray.MaxRestarts(-1)).New(ctx, 1)
		kept := cls.Options(ray.ActorName("kept"), ray.Detached()).New(ctx, 2)
		for _, h := range []ray.ActorHandle[ownedBox]{owned, kept} {
			if _, err := ray.GetTimeout(ctx, get.Remote(ctx, h), 10*time.Second); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, first.Close())

	second, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	defer second.Close()
	require.NoError(t, second.Run(func(ctx context.Context) error {
		// The first driver's raylet is declared dead after the node
		// timeout (3 s): its non-detached actor goes, and its name.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := ray.GetActor(ctx, cls, "owned")
			if errors.Is(err, ray.ErrActorNotFound) {
				break
			}
			require.NoError(t, err)
			require.True(t, time.Now().Before(deadline), "the exited driver's actor is still alive")
			time.Sleep(100 * time.Millisecond)
		}
		kept, err := ray.GetActor(ctx, cls, "kept")
		require.NoError(t, err, "the detached actor")
		v, err := ray.GetTimeout(ctx, get.Remote(ctx, kept), 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		require.NoError(t, ray.Kill(ctx, kept))
		_, err = ray.GetTimeout(ctx, get.Remote(ctx, kept), 10*time.Second)
		assert.ErrorIs(t, err, ray.ErrActorDied)
		return nil
	}))
}

// TestDriverLeaveEndsItsActorsAtOnce: a driver whose session closes says
// goodbye (NodeLeaving), and the node table declares its raylet dead at
// once: its non-detached actor ends well before a node timeout of two
// minutes would have ended it (before, it lived on until then).
func TestDriverLeaveEndsItsActorsAtOnce(t *testing.T) {
	tok := []byte("leave-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, cls, get := boxRegistry()
	dc := ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}
	dc.Cluster.NodeTimeout = 2 * time.Minute
	head, err := ray.StartHead(ctx, dc, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	first, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	require.NoError(t, first.Run(func(ctx context.Context) error {
		owned := cls.Options(ray.ActorName("owned")).New(ctx, 1)
		_, err := ray.GetTimeout(ctx, get.Remote(ctx, owned), 10*time.Second)
		return err
	}))
	require.NoError(t, first.Close())

	second, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	defer second.Close()
	require.NoError(t, second.Run(func(ctx context.Context) error {
		deadline := time.Now().Add(30 * time.Second) // far below the node timeout
		for {
			_, err := ray.GetActor(ctx, cls, "owned")
			if errors.Is(err, ray.ErrActorNotFound) {
				return nil
			}
			require.NoError(t, err)
			require.True(t, time.Now().Before(deadline), "the actor of a driver that left is alive until its node timeout")
			time.Sleep(50 * time.Millisecond)
		}
	}))
}

// TestDriverExitEndsItsPlacementGroups: on a live cluster, a placement
// group a driver created (not detached) is removed when the driver ends,
// freeing its name and its CPUs, as its actors end; a detached one lives
// on. The scheduler never learned a driver raylet's incarnation (what a
// driver's raylet reports is kept from it), so it skipped the driver's
// groups when the node table declared the driver dead, and they stayed
// for good.
//
// The driver here says goodbye (its session closes), which the node table
// takes at once: the test waits for no timeout. A driver killed without
// a goodbye is declared dead only after the node timeout (3 s on TCP,
// stretched by the node table's own lateness under load), which this
// test waited for, with a 30 s wall-clock deadline a loaded machine
// overran; the scheduler's side of that path, a group of a driver node it
// never registered removed at the node's death, is
// scheduler.TestDriverGroupsEndWithUnregisteredDriverNode, which takes no
// wall time.
func TestDriverExitEndsItsPlacementGroups(t *testing.T) {
	tok := []byte("pg-fateshare-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, _, _ := boxRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 3}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	first, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	require.NoError(t, first.Run(func(ctx context.Context) error {
		for _, opts := range [][]ray.GroupOption{{ray.GroupName("owned")}, {ray.GroupName("kept"), ray.GroupDetached()}} {
			pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, opts...)
			if err != nil {
				return err
			}
			if err := pg.Wait(ctx, -1); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, first.Close())

	second, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithNamespace("fateshare"))
	require.NoError(t, err)
	defer second.Close()
	require.NoError(t, second.Run(func(ctx context.Context) error {
		// The goodbye ends the first driver's node, and its group, at
		// once (the poll has no deadline: go test's -timeout bounds a
		// hang, and a loaded machine only makes it slower).
		for {
			_, err := ray.GetPlacementGroup(ctx, "owned")
			if errors.Is(err, ray.ErrPlacementGroupNotFound) {
				break
			}
			require.NoError(t, err)
			time.Sleep(10 * time.Millisecond)
		}
		// Its name and CPU are free again: the same group is created anew.
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}}, ray.Pack, ray.GroupName("owned"))
		require.NoError(t, err)
		require.NoError(t, pg.Wait(ctx, -1))
		_, err = ray.GetPlacementGroup(ctx, "kept")
		assert.NoError(t, err, "the detached group lives on")
		return nil
	}))
}
