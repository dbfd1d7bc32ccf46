package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestLocalityAwarePlacesByInputsNotYetMade: a driver on a node without
// CPUs submits producers of 8 MiB objects and, at once, a consumer of each.
// Spilled at submission, a consumer's input had no location yet, so the
// locality-aware scheduler placed it blind (it landed with its producer
// only when every tie went to the first node). The submitter now spills a
// task once its inputs exist, as Ray's owner resolves dependencies before it
// asks for a lease: every consumer runs where its input is, and the
// producers still spread over both nodes.
func TestLocalityAwarePlacesByInputsNotYetMade(t *testing.T) {
	reg := ray.NewRegistry()
	made := ray.Register0(reg, "made", func(ctx context.Context) (ray.Blob, error) {
		if err := ray.Compute(ctx, time.Millisecond); err != nil {
			return ray.Blob{}, err
		}
		return ray.Blob{Bytes: 8 << 20, Sum: uint64(ray.NodeOf(ctx))}, nil
	})
	used := ray.Register1(reg, "used", func(ctx context.Context, b ray.Blob) ([2]uint64, error) {
		return [2]uint64{b.Sum, uint64(ray.NodeOf(ctx))}, nil
	})
	c, err := ray.NewSim(ray.Config{Seed: 1, Policy: "locality-aware", Nodes: []ray.NodeConfig{
		{Name: "head"}, {Name: "a", CPUs: 4}, {Name: "b", CPUs: 4},
	}}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var refs []ray.Ref[[2]uint64]
		for range 8 {
			refs = append(refs, used.Remote(ctx, made.Remote(ctx)))
		}
		got, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		producers := map[uint64]int{}
		for i, g := range got {
			require.Equal(t, g[0], g[1], "consumer %d ran on node %d, its input was made on node %d", i, g[1], g[0])
			producers[g[0]]++
		}
		require.Len(t, producers, 2, "the producers did not spread: %v", producers)
		return nil
	}))
}

// localityCluster is a locality-aware cluster whose driver node has no
// CPUs, so every task it submits spills (and may wait for its inputs).
func localityCluster(t *testing.T, reg *ray.Registry) *ray.Sim {
	t.Helper()
	c, err := ray.NewSim(ray.Config{Seed: 1, Policy: "locality-aware", Nodes: []ray.NodeConfig{
		{Name: "head"}, {Name: "a", CPUs: 2}, {Name: "b", CPUs: 2},
	}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLocalityWaitEndsForInputsNeverAnnounced: a spill waiting for its
// inputs (locality-aware) must not wait for one no node will announce — a
// Put object freed before the task was submitted, an input freed while the
// task waits, a cancelled task's result freed: the task is placed all the same, and its destination reads
// what there is to read (the error of a lost Put; a rebuilt result; a
// cancelled task's error).
func TestLocalityWaitEndsForInputsNeverAnnounced(t *testing.T) {
	reg := ray.NewRegistry()
	slow := ray.Register1(reg, "slowInput", func(ctx context.Context, v int) (int, error) {
		return v, ray.Compute(ctx, 100*time.Millisecond)
	})
	plus := ray.Register1(reg, "plusOne", func(ctx context.Context, v int) (int, error) { return v + 1, nil })
	c := localityCluster(t, reg)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		put, err := ray.Put(ctx, 1)
		require.NoError(t, err)
		require.NoError(t, ray.Free(ctx, put))
		_, err = ray.GetAll(ctx, []ray.Ref[int]{plus.Remote(ctx, put)}, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrObjectLost, "a task reading a freed Put object")

		in := slow.Remote(ctx, 41)
		out := plus.Remote(ctx, in) // waits for in, which the free below drops
		require.NoError(t, ray.Free(ctx, in))
		v, err := ray.GetAll(ctx, []ray.Ref[int]{out}, 10*time.Second)
		require.NoError(t, err, "a task whose input was freed while it waited")
		require.Equal(t, []int{42}, v)

		gone := slow.Remote(ctx, 1)
		require.NoError(t, ray.Cancel(ctx, gone))
		_, err = ray.GetAll(ctx, []ray.Ref[int]{gone}, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled)
		require.NoError(t, ray.Free(ctx, gone))
		_, err = ray.GetAll(ctx, []ray.Ref[int]{plus.Remote(ctx, gone)}, 10*time.Second)
		require.ErrorIs(t, err, ray.ErrCancelled, "a task reading a cancelled task's freed result")
		return nil
	}))
}

// TestCancelEndsASpillWaitingForItsInputs: a task whose spill waits for its
// input (locality-aware) and is cancelled meanwhile fails as cancelled at
// once, not when its input comes (a second later, here).
func TestCancelEndsASpillWaitingForItsInputs(t *testing.T) {
	reg := ray.NewRegistry()
	slow := ray.Register1(reg, "slowerInput", func(ctx context.Context, v int) (int, error) {
		return v, ray.Compute(ctx, time.Second)
	})
	plus := ray.Register1(reg, "plusTwo", func(ctx context.Context, v int) (int, error) { return v + 2, nil })
	c := localityCluster(t, reg)
	require.NoError(t, c.Run(func(ctx context.Context) error {
		out := plus.Remote(ctx, slow.Remote(ctx, 1))
		start := ray.Now(ctx)
		require.NoError(t, ray.Cancel(ctx, out))
		_, err := ray.Get(ctx, out)
		require.ErrorIs(t, err, ray.ErrCancelled)
		require.Less(t, ray.Now(ctx).Sub(start), 100*time.Millisecond, "the cancel waited for the input")
		return nil
	}))
}
