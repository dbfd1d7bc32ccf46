package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/node"
	"raysim/runtime/ray"
)

// keptRefs carries refs to an actor nested in a value, so they travel as
// refs (not resolved to their values).
type keptRefs struct {
	R []ray.Ref[int]
}

// refKeeper is an actor that holds refs handed to it and reads them later
// (a detached actor keeping another job's objects).
type refKeeper struct{ refs []ray.Ref[int] }

// jobObjFuncs: the keeper actor, its keep (stores the refs and returns
// the sum of their values) and its read (the value of the i-th ref kept).
type jobObjFuncs struct {
	keeper *ray.ActorClass[refKeeper]
	keep   *ray.ActorMethod[refKeeper, int]
	read   *ray.ActorMethod[refKeeper, int]
	// sq squares its argument.
	sq *ray.Func[int]
}

func newJobObjFuncs(reg *ray.Registry) *jobObjFuncs {
	f := &jobObjFuncs{}
	f.keeper = ray.RegisterActor0(reg, "RefKeeper", func(ctx context.Context) (*refKeeper, error) { return &refKeeper{}, nil })
	f.keep = ray.Method1(f.keeper, "keep", func(ctx context.Context, k *refKeeper, h keptRefs) (int, error) {
		k.refs = append(k.refs, h.R...)
		sum := 0
		for _, r := range h.R {
			v, err := ray.GetTimeout(ctx, r, 10*time.Second)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	})
	f.read = ray.Method1(f.keeper, "read", func(ctx context.Context, k *refKeeper, i int) (int, error) {
		return ray.GetTimeout(ctx, k.refs[i], 10*time.Second)
	})
	f.sq = ray.Register1(reg, "jobSquare", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	return f
}

func init() { semanticCases = append(semanticCases, jobObjectCases...) }

// jobObjectCases: a job's end releases its objects, as Ray's does (a
// finished driver's objects go with their owner).
var jobObjectCases = []semanticCase{
	{"a job's end releases its objects", func(t *testing.T, ctx context.Context, s *suite) {
		if s.drive == nil {
			t.Skip("the runner starts no second driver")
		}
		f := s.jobObjs
		// A detached actor (of no job) that will hold the other job's refs.
		k := f.keeper.Options(ray.Detached(), ray.ActorName("job-keeper")).New(ctx)
		// This driver's own objects, a result on every node and a Put: the
		// other job's end leaves them be.
		var mine []ray.Ref[int]
		for i := range 6 {
			mine = append(mine, f.sq.Remote(ctx, i))
		}
		minePut, err := ray.Put(ctx, 1000)
		require.NoError(t, err)
		_, err = ray.GetAll(ctx, mine, 10*time.Second)
		require.NoError(t, err)

		var res []ray.Ref[int]
		var put ray.Ref[int]
		require.NoError(t, s.drive(ctx, 1, func(ctx context.Context) error {
			for i := range 6 {
				res = append(res, f.sq.Remote(ctx, 10+i))
			}
			var err error
			if put, err = ray.Put(ctx, 7); err != nil {
				return err
			}
			held := append([]ray.Ref[int]{put}, res...)
			sum, err := ray.GetTimeout(ctx, f.keep.Remote(ctx, k, keptRefs{R: held}), 10*time.Second)
			if err != nil {
				return err
			}
			if want := 7 + 100 + 121 + 144 + 169 + 196 + 225; sum != want {
				return errors.New("the keeper read wrong values")
			}
			return nil
		}))

		// The ended job's objects are gone: this driver's reads say their
		// owner died, and so do the detached actor's; none is rebuilt.
		for i, r := range append([]ray.Ref[int]{put}, res...) {
			eventually(t, ctx, "an object of the ended job is still readable", func() bool {
				_, err := ray.GetTimeout(ctx, r, 10*time.Second)
				return errors.Is(err, ray.ErrOwnerDied)
			})
			_, err := ray.GetTimeout(ctx, r, 10*time.Second)
			require.ErrorIs(t, err, ray.ErrObjectLost)
			assert.Contains(t, err.Error(), node.OwnerJobEnded)
			_, err = ray.GetTimeout(ctx, f.read.Remote(ctx, k, i), 10*time.Second)
			require.ErrorIs(t, err, ray.ErrOwnerDied, "the detached actor's read of object %d", i)
		}
		// This driver's objects are untouched.
		vs, err := ray.GetAll(ctx, mine, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1, 4, 9, 16, 25}, vs)
		v, err := ray.GetTimeout(ctx, minePut, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1000, v)
		require.NoError(t, ray.Kill(ctx, k))
	}},
}

// primaries sums the primary copies in the cluster's stores.
func primaries(c *ray.Sim) uint64 {
	var n uint64
	for i := range c.Nodes() {
		if r := c.Raylet(i); r != nil {
			n += r.StoreUsage().Primaries
		}
	}
	return n
}

// TestJobEndReleasesItsPrimaries (netsim): a driver that returns leaves
// no primary copy behind in any store — its tasks' results, on every
// node, and its Puts — while another job's stay. Before, every one stayed
// for good (QA31 §3: a finished driver's 20,000 results filled three
// stores), unless its driver freed them.
func TestJobEndReleasesItsPrimaries(t *testing.T) {
	s := newSuite()
	f := s.jobObjs
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 3, WireCheck: true, MaxVirtual: time.Minute}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	const n = 200
	var during, after, mineKept uint64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		mine := make([]ray.Ref[int], 10)
		for i := range mine {
			mine[i] = f.sq.Remote(ctx, i)
		}
		if _, err := ray.GetAll(ctx, mine, 10*time.Second); err != nil {
			return err
		}
		base := primaries(c)
		require.NoError(t, simDrive(c)(ctx, 1, func(ctx context.Context) error {
			refs := make([]ray.Ref[int], n)
			for i := range refs {
				refs[i] = f.sq.Remote(ctx, i)
			}
			for i := range 10 {
				if _, err := ray.Put(ctx, i); err != nil {
					return err
				}
			}
			if _, err := ray.GetAll(ctx, refs, 30*time.Second); err != nil {
				return err
			}
			during = primaries(c) - base
			return nil
		}))
		require.NoError(t, ray.Compute(ctx, time.Second))
		after = primaries(c) - base
		vs, err := ray.GetAll(ctx, mine, 10*time.Second)
		require.NoError(t, err)
		for i, v := range vs {
			require.Equal(t, i*i, v)
		}
		mineKept = base
		return nil
	}))
	assert.Equal(t, uint64(n+10), during, "the job's primaries while it runs")
	assert.Zero(t, after, "the ended job's primaries left in the stores")
	assert.Equal(t, uint64(10), mineKept, "this driver's primaries")
}

// TestLiveSessionEndReleasesItsObjects: on a live cluster over TCP, the
// objects a driver's session made — its tasks' results in the head's
// store and its Puts — go when the session ends, cleanly (its goodbye)
// or killed (its raylet declared dead, then the jobs' grace): the next
// driver's reads of their refs get ErrOwnerDied. Before, the results
// stayed in the head's store for good (QA31 §3), readable by any ref.
func TestLiveSessionEndReleasesItsObjects(t *testing.T) {
	tok := []byte("job-objects-test-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := newSuite()
	f := s.jobObjs
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2},
		Cluster: ray.Config{HeartbeatPeriod: 20 * time.Millisecond, NodeTimeout: 200 * time.Millisecond}}, s.reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })

	// made runs a session that makes results and a Put, reads them, and
	// returns their refs with the session, still open.
	made := func(ctx context.Context) ([]ray.Ref[int], *ray.Session) {
		sess, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(s.reg))
		require.NoError(t, err)
		var refs []ray.Ref[int]
		require.NoError(t, sess.Run(func(ctx context.Context) error {
			for i := range 20 {
				refs = append(refs, f.sq.Remote(ctx, i))
			}
			p, err := ray.Put(ctx, 5)
			if err != nil {
				return err
			}
			refs = append(refs, p)
			_, err = ray.GetAll(ctx, refs, 30*time.Second)
			return err
		}))
		return refs, sess
	}
	// gone checks from a new driver that every ref reads ErrOwnerDied,
	// within 30s.
	gone := func(refs []ray.Ref[int], what string) {
		sess, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(s.reg))
		require.NoError(t, err)
		defer sess.Close()
		require.NoError(t, sess.Run(func(ctx context.Context) error {
			deadline := time.Now().Add(30 * time.Second)
			for _, r := range refs {
				for {
					_, err := ray.GetTimeout(ctx, r, 10*time.Second)
					if errors.Is(err, ray.ErrOwnerDied) {
						break
					}
					require.True(t, time.Now().Before(deadline), "%s driver's object %v still read: %v", what, r, err)
					time.Sleep(50 * time.Millisecond)
				}
			}
			return nil
		}))
	}

	refs, sess := made(ctx)
	require.NoError(t, sess.Close())
	gone(refs, "the exited")

	crashCtx, crash := context.WithCancel(ctx)
	refs, sess = made(crashCtx)
	crash()
	gone(refs, "the killed")
	sess.Close()
}

// TestJobEndReleasesMoreThanABatch: a job whose objects on one node are
// more than one GcsObjectsGone batch (node.maxGoneBatch, 8192) leaves
// none of them behind: its 9,000 Puts go in two messages.
func TestJobEndReleasesMoreThanABatch(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 4, WireCheck: true, MaxVirtual: time.Minute}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	var during, after uint64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, simDrive(c)(ctx, 1, func(ctx context.Context) error {
			for i := range 9000 {
				if _, err := ray.Put(ctx, i); err != nil {
					return err
				}
			}
			during = primaries(c)
			return nil
		}))
		require.NoError(t, ray.Compute(ctx, time.Second))
		after = primaries(c)
		return nil
	}))
	assert.Equal(t, uint64(9000), during)
	assert.Zero(t, after)
}
