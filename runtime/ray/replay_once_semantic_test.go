package ray_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// QA30 finding 2, on both runners: calls pipelined to an actor created
// with ReplayMethods, its node crashing while they run. A call whose
// method-log write the actor table took is in the restarted actor's
// state (replayed) though its result, held until the table answered, may
// have died with the node: its caller's retry, or a rebuild of its lost
// result, gets the replayed run's result instead of running it again. So
// every call is applied once, whatever the crash instant: the calls'
// results are 1..n, each once, and the counter reads n.
var replayOnceCases = []semanticCase{
	{"replayed actor: a call running at its node's crash is applied once", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		const n = 60
		h := s.counter.Options(ray.MaxRestarts(-1), ray.MaxRetries(-1), ray.ReplayMethods(), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx, 0)
		v, err := ray.GetTimeout(ctx, s.incr.Remote(ctx, h, 1), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, v)
		refs := make([]ray.Ref[int], 0, n-1)
		for range n - 1 {
			refs = append(refs, s.incr.Remote(ctx, h, 1))
		}
		_, _, err = ray.Wait(ctx, refs[:n/3], n/3, 30*time.Second) // a third have run: the rest are queued or running
		require.NoError(t, err)
		s.crash(1)
		got := []int{v}
		for _, ref := range refs {
			v, err := ray.GetTimeout(ctx, ref, 60*time.Second)
			require.NoError(t, err)
			got = append(got, v)
		}
		slices.Sort(got)
		want := make([]int, n)
		for i := range want {
			want[i] = i + 1
		}
		assert.Equal(t, want, got, "each call's result once")
		v, err = ray.GetTimeout(ctx, s.get.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, n, v, "each call applied once")
	}},
}

func init() { semanticCases = append(semanticCases, replayOnceCases...) }
