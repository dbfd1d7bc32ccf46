package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// TestFreeEmptiesStores: once a driver frees what it got, no store holds a
// copy and the GCS keeps no object entry in memory; reading a freed object
// again rebuilds it (a task's) or fails (a Put's, which has no lineage).
func TestFreeEmptiesStores(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	var refs []ray.Ref[int]
	var put ray.Ref[int]
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		for i := 0; i < 30; i++ {
			refs = append(refs, s.double.Options(ray.Spread()).Remote(ctx, i))
		}
		sum := s.sum.Remote(ctx, anys(refs)...) // copies fetched to one node
		if _, err := ray.Get(ctx, sum); err != nil {
			return err
		}
		if _, err := ray.GetAll(ctx, refs, -1); err != nil { // and to the driver's
			return err
		}
		var err error
		if put, err = ray.Put(ctx, 7); err != nil {
			return err
		}
		require.NoError(t, ray.Free(ctx, refs...))
		require.NoError(t, ray.Free(ctx, put, sum))
		return nil
	}))
	assertFreedEverywhere(t, c, 100*time.Millisecond) // Free does not wait for the drops: let them happen
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		v, err := ray.Get(ctx, refs[7])
		require.NoError(t, err)
		assert.Equal(t, 14, v)
		_, err = ray.GetTimeout(ctx, put, time.Second)
		assert.ErrorIs(t, err, ray.ErrObjectLost, "a Put object has no lineage")
		return nil
	}))
}

// assertFreedEverywhere runs the simulation for d more, then asserts that
// no store holds an object and no GCS shard keeps an object entry in memory.
func assertFreedEverywhere(t *testing.T, c *ray.Sim, d time.Duration) {
	t.Helper()
	sim := c.Netsim()
	end := sim.Now() + d
	sim.RunWhile(func() bool { return sim.Now() <= end })
	for i := range c.Nodes() {
		assert.Zero(t, c.Raylet(i).Store().Len(), "objects left in node %d's store", i)
	}
	for j := 0; j < c.Shards(); j++ {
		assert.Zero(t, c.Shard(j).Stats().ResidentObjects, "shard %d keeps object entries in memory", j)
	}
}

func anys[T any](refs []ray.Ref[T]) []any {
	out := make([]any, len(refs))
	for i, r := range refs {
		out[i] = r
	}
	return out
}

// TestFreeTwiceLeavesNoEntry: a ref listed twice in one Free (or freed
// twice) leaves no object entry in the shard's memory.
func TestFreeTwiceLeavesNoEntry(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		r := s.double.Remote(ctx, 1)
		if _, err := ray.Get(ctx, r); err != nil {
			return err
		}
		require.NoError(t, ray.Free(ctx, r, r))
		require.NoError(t, ray.Free(ctx, r))
		return nil
	}))
	sim := c.Netsim()
	end := sim.Now() + 100*time.Millisecond
	sim.RunWhile(func() bool { return sim.Now() <= end })
	for j := 0; j < c.Shards(); j++ {
		assert.Zero(t, c.Shard(j).Stats().ResidentObjects, "shard %d keeps object entries in memory", j)
	}
}

// TestFreedCopyRejoin: a freed copy that a waiting task keeps pinned is
// not announced again when its node rejoins (fenced after a pause); were
// it, the GCS would list a copy that goes, unannounced, at the task's last
// unpin, and a later Get would be sent to that node forever instead of
// rebuilding the object.
func TestFreedCopyRejoin(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := ray.RayletID(1)
	on1 := ray.NodeAffinity(n1, false)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		p := s.double.Options(on1).Remote(ctx, 21)
		v, err := ray.Get(ctx, p)
		require.NoError(t, err)
		require.Equal(t, 42, v)
		slow := s.slow.Options(on1).Remote(ctx, 3000)
		sum := s.add.Options(on1).Remote(ctx, p, slow) // p pinned on node 1 while slow runs
		require.NoError(t, ray.Compute(ctx, 50*time.Millisecond))
		require.NoError(t, ray.Free(ctx, p))
		require.NoError(t, ray.Compute(ctx, 50*time.Millisecond))
		c.Netsim().Pause(netsim.NodeID(n1), 1500*time.Millisecond) // declared dead, rejoins
		v, err = ray.Get(ctx, sum)
		require.NoError(t, err)
		require.Equal(t, 3042, v)
		require.NoError(t, ray.Compute(ctx, 4*time.Second)) // node 1's own run finishes, unpins p
		v, err = ray.GetTimeout(ctx, p, 10*time.Second)
		require.NoError(t, err, "a freed object read again is rebuilt")
		require.Equal(t, 42, v)
		return nil
	}))
}

// TestWaitAfterFreeIsNotStale: a Wait on a freed object does not report it
// ready from what the caller's raylet knew before the free — a location it
// had cached (the object was waited on, never fetched) or a copy in its
// own store the free has not yet reached. The object has no copy left, so
// Wait reports it ready only once it is rebuilt (here a 300ms task).
func TestWaitAfterFreeIsNotStale(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	on1 := ray.NodeAffinity(ray.RayletID(1), false)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		cached := s.slow.Options(on1).Remote(ctx, 300) // located, not fetched
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{cached}, 1, -1)
		require.NoError(t, err)
		require.Len(t, ready, 1)
		local := s.slow.Options(on1).Remote(ctx, 301) // fetched to the driver's node
		v, err := ray.Get(ctx, local)
		require.NoError(t, err)
		require.Equal(t, 301, v)

		require.NoError(t, ray.Free(ctx, local))
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{local}, 1, 0)
		require.NoError(t, err)
		assert.Empty(t, ready, "a freed object's local copy reported ready right after the free")

		require.NoError(t, ray.Free(ctx, cached))
		require.NoError(t, ray.Compute(ctx, 50*time.Millisecond)) // the free reaches node 1
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{cached}, 1, 100*time.Millisecond)
		require.NoError(t, err)
		assert.Empty(t, ready, "a freed object reported ready from a cached location")

		// Both are rebuilt: a Wait without timeout sees them, Get reads them.
		ready, _, err = ray.Wait(ctx, []ray.Ref[int]{cached, local}, 2, -1)
		require.NoError(t, err)
		assert.Len(t, ready, 2)
		vs, err := ray.GetAll(ctx, []ray.Ref[int]{cached, local}, -1)
		require.NoError(t, err)
		assert.Equal(t, []int{300, 301}, vs)
		return nil
	}))
}

// TestFreeCrossingHolderDeath: a free that reaches the GCS while a holder
// of the object is declared dead (paused past the failure detector) cannot
// reach that holder's copy — the GCS forgot the dead incarnation's
// locations — so the GCS keeps the free: when the holder rejoins and
// announces its copy again, it is told to drop it instead of the copy
// staying pinned for good.
func TestFreeCrossingHolderDeath(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	n1 := ray.RayletID(1)
	var p ray.Ref[int]
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		p = s.double.Options(ray.NodeAffinity(n1, false)).Remote(ctx, 21)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{p}, 1, -1) // node 1 holds the only copy
		require.NoError(t, err)
		require.Len(t, ready, 1)
		c.Netsim().Pause(netsim.NodeID(n1), 1500*time.Millisecond) // declared dead, rejoins
		require.NoError(t, ray.Compute(ctx, 1300*time.Millisecond))
		for j := 0; j < c.Shards(); j++ {
			require.Empty(t, c.Shard(j).Locations(p.ObjectID()), "node 1 is not declared dead yet")
		}
		require.NoError(t, ray.Free(ctx, p))
		return nil
	}))
	sim := c.Netsim()
	end := sim.Now() + 2*time.Second // node 1 resumes, rejoins, announces its copy
	sim.RunWhile(func() bool { return sim.Now() <= end })
	assert.False(t, c.Raylet(1).Store().Contains(p.ObjectID()), "the freed copy stayed on the rejoined holder")
	for j := 0; j < c.Shards(); j++ {
		assert.Empty(t, c.Shard(j).Locations(p.ObjectID()), "shard %d lists a copy of the freed object", j)
	}
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		v, err := ray.GetTimeout(ctx, p, 10*time.Second)
		require.NoError(t, err, "a freed object read again is rebuilt")
		assert.Equal(t, 42, v)
		return nil
	}))
}

// TestFreeBeforeMade: a ref freed while its task still runs (here, or on
// another node) frees the object once it is made: no store keeps it and the
// GCS keeps no entry of it, or of its task, in memory. (Before, a free that
// came before the object freed nothing.) Reading it again rebuilds it.
func TestFreeBeforeMade(t *testing.T) {
	s := newSuite()
	c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: 1}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	var refs []ray.Ref[int]
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		for i := 0; i < 8; i++ {
			refs = append(refs, s.slow.Options(ray.Spread()).Remote(ctx, 20+i))
		}
		return ray.Free(ctx, refs...)
	}))
	assertFreedEverywhere(t, c, 200*time.Millisecond) // the tasks take 20-27ms
	for j := 0; j < c.Shards(); j++ {
		assert.Zero(t, c.Shard(j).Stats().ResidentTasks, "shard %d keeps task entries in memory", j)
	}
	require.NoError(t, c.RunThread(func(ctx context.Context) error {
		v, err := ray.Get(ctx, refs[3])
		require.NoError(t, err)
		assert.Equal(t, 23, v, "rebuilt from lineage")
		return nil
	}))
}

// TestFreedBeforeRegisteredReadAgain: the driver's node makes a result
// before the node table answered its registration (a chain of three
// replicas answers late), so its location waits; the driver reads and
// frees it, and a task reads it again. The free went to the GCS at once,
// ahead of the location, which then stood for a copy the node no longer
// held: the read fetched it from there for good. A free now waits behind
// the locations waiting for the registration. Found in review, with the
// fault search's second reads (free-before-registration-answer.yaml).
func TestFreedBeforeRegisteredReadAgain(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		s := newSuite()
		c, err := ray.NewSim(ray.Config{Nodes: withW(1), GCSReplicas: 3, Seed: 1, WireCheck: true}, s.reg)
		require.NoError(t, err)
		require.NoError(t, c.Run(func(ctx context.Context) error {
			ref := s.double.Remote(ctx, 21)
			want, wantErr := 42, error(nil)
			if cancel {
				require.NoError(t, ray.Cancel(ctx, ref)) // in the submission queue: failed here, unregistered
				want, wantErr = 0, ray.ErrCancelled
			}
			v, err := ray.GetTimeout(ctx, ref, 5*time.Second)
			require.ErrorIs(t, err, wantErr)
			require.Equal(t, want, v)
			require.NoError(t, ray.Free(ctx, ref))
			v, err = ray.GetTimeout(ctx, s.add.Remote(ctx, ref, 0), 10*time.Second)
			require.ErrorIs(t, err, wantErr, "a read of the freed ref (cancelled: %v)", cancel)
			require.Equal(t, want, v)
			return nil
		}))
		c.Close()
	}
}
