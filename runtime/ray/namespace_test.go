package ray_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// Ray names actors per namespace: a job runs in the namespace its
// driver's ray.init(namespace=...) gives, or in an anonymous one of its
// own; ray.get_actor(name) looks in the caller's, ray.get_actor(name,
// namespace=ns) in ns; .options(name=..., namespace=ns) names an actor
// in another. raysim had one flat name space for the whole cluster: a
// second job's New of a name another job held failed with
// ErrActorNameTaken, and any job found any other's actors.

// nsFuncs are the functions of the namespace cases (namespaceCases).
type nsFuncs struct {
	// lookup finds a counter by name from a task (in the task's
	// namespace, its job's) and returns its count: -1 when not found.
	lookup *ray.Func[int]
	// name returns the task's namespace.
	name *ray.Func[string]
	// set tries SetNamespace from a task and returns its error's text.
	set *ray.Func[string]
	// create creates, from a task, a counter named by its argument
	// holding 5 and returns its count (-1: New failed).
	create *ray.Func[int]
	// actorNS is a counter's namespace, and that of a task it submits.
	actorNS *ray.ActorMethod[counter, []string]
	// list lists the named actors of the task's namespace.
	list *ray.Func[[]string]
}

func newNSFuncs(s *suite) *nsFuncs {
	f := &nsFuncs{}
	f.lookup = ray.Register1(s.reg, "nsLookup", func(ctx context.Context, name string) (int, error) {
		h, err := ray.GetActor(ctx, s.counter, name)
		if errors.Is(err, ray.ErrActorNotFound) {
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
		return ray.Get(ctx, s.get.Remote(ctx, h))
	})
	f.name = ray.Register0(s.reg, "nsName", func(ctx context.Context) (string, error) { return ray.Namespace(ctx), nil })
	f.set = ray.Register0(s.reg, "nsSet", func(ctx context.Context) (string, error) {
		if err := ray.SetNamespace(ctx, "elsewhere"); err != nil {
			return err.Error(), nil
		}
		return "", nil
	})
	f.actorNS = ray.Method0(s.counter, "nsOf", func(ctx context.Context, c *counter) ([]string, error) {
		task, err := ray.Get(ctx, f.name.Remote(ctx))
		return []string{ray.Namespace(ctx), task}, err
	})
	f.create = ray.Register1(s.reg, "nsCreate", func(ctx context.Context, name string) (int, error) {
		h := s.counter.Options(ray.ActorName(name), ray.Detached()).New(ctx, 5)
		if h.Err() != nil {
			return -1, nil
		}
		return ray.Get(ctx, s.get.Remote(ctx, h))
	})
	f.list = ray.Register0(s.reg, "nsList", func(ctx context.Context) ([]string, error) { return ray.ListNamedActors(ctx) })
	return f
}

// count reads a counter's value through h.
func count(t *testing.T, ctx context.Context, s *suite, h ray.ActorHandle[counter]) int {
	t.Helper()
	v, err := ray.GetTimeout(ctx, s.get.Remote(ctx, h), 30*time.Second)
	require.NoError(t, err)
	return v
}

var namespaceCases = []semanticCase{
	{"namespaces: a job's named actors are its own; another job finds them by naming the namespace", func(t *testing.T, ctx context.Context, s *suite) {
		mine := ray.Namespace(ctx)
		require.True(t, strings.HasPrefix(mine, "anonymous-"), "a driver that set none is in its job's anonymous namespace: %q", mine)
		h := s.counter.Options(ray.ActorName("ns-svc")).New(ctx, 1)
		require.NoError(t, h.Err())
		// The driver's tasks run in its namespace: they find its actors,
		// and their own named actors are found by the driver.
		got, err := ray.GetTimeout(ctx, s.ns.name.Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, mine, got, "a task's namespace is its job's")
		v, err := ray.GetTimeout(ctx, s.ns.lookup.Remote(ctx, "ns-svc"), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1, v, "a task of the job finds the job's actor")
		v, err = ray.GetTimeout(ctx, s.ns.create.Remote(ctx, "ns-from-task"), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 5, v)
		fromTask, err := ray.GetActor(ctx, s.counter, "ns-from-task")
		require.NoError(t, err, "an actor a task names is in the job's namespace")
		assert.Equal(t, 5, count(t, ctx, s, fromTask))
		// An actor's code, and its tasks, run in its creator's namespace,
		// a detached one's too (whose submissions belong to no job).
		for _, opts := range [][]ray.Option{nil, {ray.Detached()}} {
			a := s.counter.Options(opts...).New(ctx, 0)
			nss, err := ray.GetTimeout(ctx, s.ns.actorNS.Remote(ctx, a), 30*time.Second)
			require.NoError(t, err)
			assert.Equal(t, []string{mine, mine}, nss, "detached: %v", len(opts) > 0)
			require.NoError(t, ray.Kill(ctx, a))
		}
		// Only a driver sets its namespace.
		msg, err := ray.GetTimeout(ctx, s.ns.set.Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.Contains(t, msg, "SetNamespace", "a task's SetNamespace is refused")
		if s.drive == nil {
			return
		}
		require.NoError(t, s.drive(ctx, 1, func(ctx context.Context) error {
			other := ray.Namespace(ctx)
			assert.NotEqual(t, mine, other, "another job's anonymous namespace is its own")
			_, err := ray.GetActor(ctx, s.counter, "ns-svc")
			assert.ErrorIs(t, err, ray.ErrActorNotFound, "another job's anonymous namespace does not see the driver's actor")
			v, err := ray.GetTimeout(ctx, s.ns.lookup.Remote(ctx, "ns-svc"), 30*time.Second)
			assert.NoError(t, err)
			assert.Equal(t, -1, v, "nor do its tasks")
			found, err := ray.GetActor(ctx, s.counter, "ns-svc", ray.InNamespace(mine))
			if assert.NoError(t, err, "named, the driver's namespace is reached") {
				assert.Equal(t, h.ID(), found.ID())
			}
			// The same name in two namespaces is two actors.
			own := s.counter.Options(ray.ActorName("ns-svc")).New(ctx, 2)
			if assert.NoError(t, own.Err(), "the name is free in this job's namespace") {
				assert.NotEqual(t, h.ID(), own.ID())
				assert.Equal(t, 2, count(t, ctx, s, own))
			}
			// A named namespace, as ray.init(namespace="shared").
			if !assert.NoError(t, ray.SetNamespace(ctx, "shared")) {
				return nil
			}
			assert.Equal(t, "shared", ray.Namespace(ctx))
			keeper := s.counter.Options(ray.ActorName("ns-keeper"), ray.Detached()).New(ctx, 3)
			assert.NoError(t, keeper.Err())
			v, err = ray.GetTimeout(ctx, s.ns.lookup.Remote(ctx, "ns-keeper"), 30*time.Second)
			assert.NoError(t, err)
			assert.Equal(t, 3, v, "a task of a job in a named namespace looks there")
			ns, err := ray.GetTimeout(ctx, s.ns.name.Remote(ctx), 30*time.Second)
			assert.NoError(t, err)
			assert.Equal(t, "shared", ns)
			nss, err := ray.GetTimeout(ctx, s.ns.actorNS.Remote(ctx, keeper), 30*time.Second)
			assert.NoError(t, err)
			assert.Equal(t, []string{"shared", "shared"}, nss, "a detached actor of a job in a named namespace, and its task")
			// An actor named in another namespace than its creator's.
			put := s.counter.Options(ray.ActorName("ns-put"), ray.ActorNamespace(mine), ray.Detached()).New(ctx, 4)
			assert.NoError(t, put.Err())
			_, err = ray.GetActor(ctx, s.counter, "ns-put")
			assert.ErrorIs(t, err, ray.ErrActorNotFound, "named in the driver's namespace, not this job's")
			return nil
		}))
		// The other job has returned: its detached actor lives on.
		keeper, err := ray.GetActor(ctx, s.counter, "ns-keeper", ray.InNamespace("shared"))
		require.NoError(t, err, "a detached actor in a named namespace outlives its job")
		assert.Equal(t, 3, count(t, ctx, s, keeper))
		_, err = ray.GetActor(ctx, s.counter, "ns-keeper")
		assert.ErrorIs(t, err, ray.ErrActorNotFound, "not in the driver's namespace")
		put, err := ray.GetActor(ctx, s.counter, "ns-put")
		require.NoError(t, err, "another job named it in this driver's namespace (ActorNamespace)")
		assert.Equal(t, 4, count(t, ctx, s, put))
		again := s.counter.Options(ray.ActorName("ns-keeper"), ray.ActorNamespace("shared"), ray.GetIfExists()).New(ctx, 9)
		require.NoError(t, again.Err())
		assert.Equal(t, keeper.ID(), again.ID(), "GetIfExists finds the holder in the namespace named")
		dup := s.counter.Options(ray.ActorName("ns-keeper"), ray.ActorNamespace("shared")).New(ctx, 9)
		assert.ErrorIs(t, dup.Err(), ray.ErrActorNameTaken, "the name is taken in that namespace")
		// Joining the namespace, the driver finds its actors by name alone.
		require.NoError(t, ray.SetNamespace(ctx, "shared"))
		found, err := ray.GetActor(ctx, s.counter, "ns-keeper")
		require.NoError(t, err)
		assert.Equal(t, keeper.ID(), found.ID())
		require.NoError(t, ray.Kill(ctx, keeper))
	}},
	{"namespaces: bad namespaces and names are refused", func(t *testing.T, ctx context.Context, s *suite) {
		h := s.counter.Options(ray.ActorNamespace("x")).New(ctx, 1)
		assert.ErrorIs(t, h.Err(), ray.ErrInvalidOption, "a namespace without a name")
		for _, ns := range []string{"", "a\x00b", strings.Repeat("n", 300)} {
			h = s.counter.Options(ray.ActorName("bad-ns"), ray.ActorNamespace(ns)).New(ctx, 1)
			assert.ErrorIs(t, h.Err(), ray.ErrInvalidOption, "ActorNamespace(%.8q)", ns)
			_, err := ray.GetActor(ctx, s.counter, "bad-ns", ray.InNamespace(ns))
			assert.ErrorIs(t, err, ray.ErrInvalidOption, "InNamespace(%.8q)", ns)
			assert.ErrorIs(t, ray.SetNamespace(ctx, ns), ray.ErrInvalidOption, "SetNamespace(%.8q)", ns)
		}
		for _, name := range []string{"a\x00b", strings.Repeat("n", 2000)} {
			h = s.counter.Options(ray.ActorName(name)).New(ctx, 1)
			assert.ErrorIs(t, h.Err(), ray.ErrInvalidOption, "ActorName(%.8q)", name)
			_, err := ray.GetActor(ctx, s.counter, name)
			assert.ErrorIs(t, err, ray.ErrInvalidOption, "GetActor(%.8q)", name)
		}
		_, err := ray.GetActor(ctx, s.counter, "")
		assert.ErrorIs(t, err, ray.ErrInvalidOption, "an empty name")
		// The cluster still answers (nothing undecodable was sent).
		v, err := ray.GetTimeout(ctx, s.double.Remote(ctx, 4), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 8, v)
	}},
	{"namespaces: list_named_actors lists the named actors not dead, of the caller's namespace or of all", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's ray.util.list_named_actors(all_namespaces=False): raysim
		// had no way to list them.
		mine := ray.Namespace(ctx)
		names, err := ray.ListNamedActors(ctx)
		require.NoError(t, err)
		assert.Empty(t, names)
		b := s.counter.Options(ray.ActorName("ls-b")).New(ctx, 1)
		a := s.counter.Options(ray.ActorName("ls-a"), ray.Detached()).New(ctx, 2)
		unnamed := s.counter.New(ctx, 3)
		gone := s.counter.Options(ray.ActorName("ls-gone")).New(ctx, 4)
		put := s.counter.Options(ray.ActorName("ls-put"), ray.ActorNamespace("other"), ray.Detached()).New(ctx, 5)
		for _, h := range []ray.ActorHandle[counter]{a, b, unnamed, gone, put} {
			require.NoError(t, h.Err())
			count(t, ctx, s, h)
		}
		require.NoError(t, ray.Kill(ctx, gone))
		eventually(t, ctx, "a killed actor is still listed", func() bool {
			names, err = ray.ListNamedActors(ctx)
			require.NoError(t, err)
			return !slices.Contains(names, "ls-gone")
		})
		assert.Equal(t, []string{"ls-a", "ls-b"}, names, "the namespace's live named actors, by name")
		all, err := ray.ListNamedActorsAllNamespaces(ctx)
		require.NoError(t, err)
		assert.Equal(t, []ray.NamespacedName{{Namespace: mine, Name: "ls-a"}, {Namespace: mine, Name: "ls-b"}, {Namespace: "other", Name: "ls-put"}}, all,
			"every namespace's, by namespace then name")
		fromTask, err := ray.GetTimeout(ctx, s.ns.list.Remote(ctx), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, names, fromTask, "a task lists its job's namespace")
		if s.drive == nil {
			return
		}
		require.NoError(t, s.drive(ctx, 1, func(ctx context.Context) error {
			names, err := ray.ListNamedActors(ctx)
			assert.NoError(t, err)
			assert.Empty(t, names, "another job's anonymous namespace has none")
			c := s.counter.Options(ray.ActorName("ls-c"), ray.ActorNamespace(mine), ray.Detached()).New(ctx, 6)
			assert.NoError(t, c.Err())
			all, err := ray.ListNamedActorsAllNamespaces(ctx)
			assert.NoError(t, err)
			assert.Contains(t, all, ray.NamespacedName{Namespace: mine, Name: "ls-a"}, "all namespaces: another job's too")
			assert.Contains(t, all, ray.NamespacedName{Namespace: mine, Name: "ls-c"}, "a creation this caller submitted is listed")
			return nil
		}))
		names, err = ray.ListNamedActors(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"ls-a", "ls-b", "ls-c"}, names, "another job named one in this namespace")
	}},
	{"namespaces: placement group names are per namespace", func(t *testing.T, ctx context.Context, s *suite) {
		// Ray's get_placement_group(name) looks in the caller's
		// namespace; raysim's group names were one flat space.
		mine := ray.Namespace(ctx)
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("pg-ns"))
		require.NoError(t, err)
		assert.Equal(t, mine, pg.Namespace())
		require.NoError(t, pg.Wait(ctx, 30*time.Second))
		found, err := ray.GetPlacementGroup(ctx, "pg-ns")
		require.NoError(t, err)
		assert.Equal(t, pg.ID(), found.ID())
		assert.Equal(t, mine, found.Namespace())
		_, err = ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupNamespace("x"))
		assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup, "a namespace without a name")
		for _, ns := range []string{"", "a\x00b", strings.Repeat("n", 300)} {
			_, err = ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("g"), ray.GroupNamespace(ns))
			assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup, "GroupNamespace(%.8q)", ns)
			_, err = ray.GetPlacementGroup(ctx, "g", ray.InNamespace(ns))
			assert.ErrorIs(t, err, ray.ErrInvalidOption, "InNamespace(%.8q)", ns)
		}
		_, err = ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("a\x00b"))
		assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup, "a name with a NUL byte")
		if s.drive == nil {
			require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
			return
		}
		var shared transport.GroupID
		require.NoError(t, s.drive(ctx, 1, func(ctx context.Context) error {
			_, err := ray.GetPlacementGroup(ctx, "pg-ns")
			assert.ErrorIs(t, err, ray.ErrPlacementGroupNotFound, "another job's anonymous namespace does not see the driver's group")
			theirs, err := ray.GetPlacementGroup(ctx, "pg-ns", ray.InNamespace(mine))
			if assert.NoError(t, err, "named, the driver's namespace is reached") {
				assert.Equal(t, pg.ID(), theirs.ID())
			}
			own, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("pg-ns"))
			if assert.NoError(t, err) {
				assert.NoError(t, own.Wait(ctx, 30*time.Second), "the name is free in this job's namespace")
				assert.NotEqual(t, pg.ID(), own.ID())
				assert.NoError(t, ray.RemovePlacementGroup(ctx, own))
			}
			kept, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("pg-shared"), ray.GroupNamespace("shared"), ray.GroupDetached())
			if assert.NoError(t, err) {
				assert.NoError(t, kept.Wait(ctx, 30*time.Second))
				shared = kept.ID()
			}
			return nil
		}))
		_, err = ray.GetPlacementGroup(ctx, "pg-shared")
		assert.ErrorIs(t, err, ray.ErrPlacementGroupNotFound, "named in another namespace")
		kept, err := ray.GetPlacementGroup(ctx, "pg-shared", ray.InNamespace("shared"))
		require.NoError(t, err, "a detached group in a named namespace outlives its job")
		assert.Equal(t, shared, kept.ID())
		dup, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack, ray.GroupName("pg-shared"), ray.GroupNamespace("shared"))
		require.NoError(t, err)
		err = dup.Wait(ctx, 30*time.Second)
		assert.ErrorIs(t, err, ray.ErrInvalidPlacementGroup, "the name is taken in that namespace")
		assert.ErrorContains(t, err, `name "pg-shared" is taken in namespace "shared"`)
		require.NoError(t, ray.RemovePlacementGroup(ctx, kept))
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
}

func init() { semanticCases = append(semanticCases, namespaceCases...) }

// TestListNamedActorsPages: more named actors than a shard lists in one
// answer (transport.MaxListedNames), spread over two shards, are all
// listed, in order: each shard's pages are asked for after the last.
// (Two shards of about 1,500 names each: each answers in two pages.)
func TestListNamedActorsPages(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1, GCSShards: 2, WireCheck: true}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		n := 3 * transport.MaxListedNames
		want := make([]string, n)
		for i := range n {
			want[i] = fmt.Sprintf("p%05d", i)
			h := s.counter.Options(ray.ActorName(want[i]), ray.CPUs(0)).New(ctx, i)
			require.NoError(t, h.Err())
		}
		got, err := ray.ListNamedActors(ctx)
		require.NoError(t, err)
		require.Equal(t, want, got)
		return nil
	}))
}
