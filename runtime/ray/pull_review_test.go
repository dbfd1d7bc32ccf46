package ray_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// pullMsg returns the PullRequest a netsim event carries, if any.
func pullMsg(ev *netsim.Event) *transport.PullRequest {
	f, ok := ev.Payload.(interface{ Message() transport.Message })
	if !ok {
		return nil
	}
	p, _ := f.Message().(*transport.PullRequest)
	return p
}

// TestLostPullRequestRecoversPromptly: the first PullRequest for an 8 MiB
// object is lost on an idle 125 MB/s link. The pull's first attempt times
// out (1 s) and asks again, a probe for one chunk only, which comes back
// at once; but nobody then asks for the other seven chunks until the
// probe's attempt has timed out too (2 s backoff, then another 1 s without
// progress). A lost request costs some 4 s instead of about one timeout.
func TestLostPullRequestRecoversPromptly(t *testing.T) {
	reg := ray.NewRegistry()
	made := ray.Register1(reg, "lostReqMade", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: 8 << 20, Sum: uint64(i)}, nil
	})
	used := ray.Register1(reg, "lostReqUsed", func(ctx context.Context, b ray.Blob) (uint64, error) { return b.Sum, nil })
	var c *ray.Sim
	a, b := netsim.NodeID(ray.RayletID(0)), netsim.NodeID(ray.RayletID(1))
	dropped := false
	var asked time.Duration
	onNet := func(ev *netsim.Event) {
		if ev.Kind != netsim.EvSend || dropped || ev.From != b || ev.To != a || pullMsg(ev) == nil {
			return
		}
		dropped, asked = true, ev.At
		c.Netsim().Cut(b, a) // this request is lost
		c.Netsim().After(time.Microsecond, c.Netsim().Heal)
	}
	var err error
	c, err = ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "a", CPUs: 1}, {Name: "b", CPUs: 1}},
		Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 125e6}, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	var took time.Duration
	require.NoError(t, c.Run(func(ctx context.Context) error {
		in := made.Options(ray.NodeAffinity(ray.RayletID(0), false)).Remote(ctx, 7)
		if _, err := ray.Get(ctx, in); err != nil {
			return err
		}
		v, err := ray.GetTimeout(ctx, used.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, in), time.Minute)
		require.NoError(t, err)
		require.Equal(t, uint64(7), v)
		took = c.Netsim().Now() - asked
		return nil
	}))
	require.True(t, dropped, "no PullRequest was sent")
	t.Logf("b started %d pulls; done %v after the lost request", c.Raylet(1).Stats.PullsStarted, took)
	require.Less(t, took, 2500*time.Millisecond, "an 8 MiB pull whose first request was lost took %v", took)
}

// chunkMsg returns the ObjectChunk a netsim event carries, if any.
func chunkMsg(ev *netsim.Event) *transport.ObjectChunk {
	f, ok := ev.Payload.(interface{ Message() transport.Message })
	if !ok {
		return nil
	}
	m, _ := f.Message().(*transport.ObjectChunk)
	return m
}

// TestPullFinishesAfterRebuildOfAnotherSize: node b has pulled 8 of the
// 64 chunks of X from node a when a dies. X is rebuilt from lineage on
// node c, and the rebuild (a nondeterministic task) is 2 MiB. b keeps its
// 8 chunks and asks c for chunks [8, 64): c's copy has 2, servePull sends
// none of them, so no chunk ever tells b the copy changed (onChunk's
// Total check), and b asks again and again, a probe for chunk 8, for
// nothing: its reader waits for good.
func TestPullFinishesAfterRebuildOfAnotherSize(t *testing.T) {
	const big, small = 64 << 20, 2 << 20
	reg := ray.NewRegistry()
	runs := 0
	made := ray.Register1(reg, "rebuiltMade", func(ctx context.Context, i int) (ray.Blob, error) {
		runs++
		if runs == 1 {
			return ray.Blob{Bytes: big, Sum: 1}, nil
		}
		return ray.Blob{Bytes: small, Sum: 2}, nil
	})
	used := ray.Register1(reg, "rebuiltUsed", func(ctx context.Context, b ray.Blob) (int64, error) { return b.Bytes, nil })
	var c *ray.Sim
	a, b := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	crashed := false
	onNet := func(ev *netsim.Event) {
		if ev.Kind != netsim.EvDeliver || crashed || ev.From != a || ev.To != b {
			return
		}
		if m := chunkMsg(ev); m != nil && m.Offset >= 8<<20 {
			crashed = true
			c.Netsim().Crash(a)
		}
	}
	mk := map[string]float64{"mk": 1}
	var err error
	c, err = ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "a", CPUs: 1, Resources: mk},
		{Name: "b", CPUs: 1}, {Name: "c", CPUs: 1, Resources: mk}},
		Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 125e6}, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		in := made.Options(ray.Resource("mk", 1), ray.NodeAffinity(ray.RayletID(1), true)).Remote(ctx, 0)
		v, err := ray.GetTimeout(ctx, used.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, in), 2*time.Minute)
		require.NoError(t, err, "b's reader of X, rebuilt on c after a died mid-pull (%d runs of X's task)", runs)
		require.Equal(t, int64(small), v)
		return nil
	}))
	require.True(t, crashed, "a did not crash mid-pull")
}

// TestPullAfterRebuildIsNotTorn: as above, but the rebuild of X (a task
// returning 4 MiB of real bytes, different on each run) is the same size:
// b keeps the chunks of a's copy it had when a died and takes the rest
// from the rebuilt copy on c. onChunk tells copies apart by Total and
// ErrKind only, so the reader gets bytes neither run produced: the first
// chunks of run 1 followed by the rest of run 2.
func TestPullAfterRebuildIsNotTorn(t *testing.T) {
	const size = 4 << 20
	reg := ray.NewRegistry()
	runs := 0
	made := ray.Register1(reg, "tornMade", func(ctx context.Context, i int) ([]byte, error) {
		runs++
		return bytes.Repeat([]byte{byte(runs)}, size), nil
	})
	used := ray.Register1(reg, "tornUsed", func(ctx context.Context, b []byte) (string, error) {
		firsts := map[byte]int{}
		for _, x := range b {
			firsts[x]++
		}
		return fmt.Sprint(len(b), " bytes ", firsts), nil
	})
	var c *ray.Sim
	a, b := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2))
	crashed := false
	onNet := func(ev *netsim.Event) {
		if ev.Kind != netsim.EvDeliver || crashed || ev.From != a || ev.To != b {
			return
		}
		if m := chunkMsg(ev); m != nil && m.Offset >= 2<<20 {
			crashed = true
			c.Netsim().Crash(a)
		}
	}
	mk := map[string]float64{"mk": 1}
	var err error
	c, err = ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "a", CPUs: 1, Resources: mk},
		{Name: "b", CPUs: 1}, {Name: "c", CPUs: 1, Resources: mk}},
		Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 12.5e6}, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		in := made.Options(ray.Resource("mk", 1), ray.NodeAffinity(ray.RayletID(1), true)).Remote(ctx, 0)
		v, err := ray.GetTimeout(ctx, used.Options(ray.NodeAffinity(ray.RayletID(2), false)).Remote(ctx, in), 2*time.Minute)
		require.NoError(t, err)
		require.Contains(t, []string{fmt.Sprint(size, " bytes map[1:", size, "]"), fmt.Sprint(size, " bytes map[2:", size, "]")}, v,
			"b's reader of X read a copy made of two runs of X's task (%d runs)", runs)
		return nil
	}))
	require.True(t, crashed, "a did not crash mid-pull")
}
