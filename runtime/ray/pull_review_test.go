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

// cutMidPullCluster: X (8 MiB) is made on a; with first 0 it is read on c
// too (a second copy), else first objects only a holds are made, which b
// reads before X (queued ahead of it on a's link). When b has half of X,
// its source is cut off from b (both still reach the GCS: no node is
// declared dead). It returns when b's pull of X first asked again after
// the cut, and when b read X (0: not in a minute).
func cutMidPullCluster(t *testing.T, first int) (cut, reasked, read time.Duration) {
	t.Helper()
	reg := ray.NewRegistry()
	made := ray.Register1(reg, "cutMade", func(ctx context.Context, i int) (ray.Blob, error) {
		return ray.Blob{Bytes: 8 << 20, Sum: uint64(i)}, nil
	})
	used := ray.Register1(reg, "cutUsed", func(ctx context.Context, b ray.Blob) (uint64, error) { return b.Sum, nil })
	var c *ray.Sim
	a, b, cn := netsim.NodeID(ray.RayletID(1)), netsim.NodeID(ray.RayletID(2)), netsim.NodeID(ray.RayletID(3))
	var x transport.ObjectID
	onNet := func(ev *netsim.Event) {
		switch {
		case ev.Kind == netsim.EvSend && cut != 0 && reasked == 0 && ev.From == b:
			if m := pullMsg(ev); m != nil && m.Object == x {
				reasked = ev.At // (a retransmission is sent only after a loss: this is a new request)
			}
		case ev.Kind == netsim.EvDeliver && cut == 0 && (ev.From == a || ev.From == cn) && ev.To == b:
			// b's source of X, whichever copy the GCS named
			if m := chunkMsg(ev); m != nil && m.Object == x && m.Offset >= 4<<20 {
				cut = ev.At
				c.Netsim().Partition([]netsim.NodeID{ev.From}, []netsim.NodeID{b})
			}
		}
	}
	var err error
	c, err = ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "a", CPUs: 4},
		{Name: "b", CPUs: 4}, {Name: "c", CPUs: 1}},
		Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 10e6}, OnNetEvent: onNet}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		on := func(i int) ray.Option { return ray.NodeAffinity(ray.RayletID(i), false) }
		var ins []ray.Ref[ray.Blob]
		for i := range first + 1 {
			ins = append(ins, made.Options(on(1)).Remote(ctx, i))
		}
		if _, err := ray.GetAll(ctx, ins, -1); err != nil {
			return err
		}
		xr := ins[first]
		x = xr.ObjectID()
		if first == 0 { // a copy on c (with others before X, X stays queued behind them on a's link)
			if _, err := ray.Get(ctx, used.Options(on(3)).Remote(ctx, xr)); err != nil {
				return err
			}
		}
		var outs []ray.Ref[uint64]
		for _, in := range ins {
			outs = append(outs, used.Options(on(2)).Remote(ctx, in))
		}
		if v, err := ray.GetTimeout(ctx, outs[first], time.Minute); err == nil {
			require.Equal(t, uint64(first), v)
			read = c.Netsim().Now()
		}
		return nil
	}))
	require.NotZero(t, cut, "X's transfer was never cut")
	return cut, reasked, read
}

// TestCutSourceSwitchesToAnotherCopy: b's source of X is cut off from b
// halfway through (a partition; neither node is declared dead), and the
// other node has a copy. Every retry subscribed to the GCS, whose answer
// to b was always a: the shard answered a flushed object entry round-robin
// (e.next), but the advanced counter was dropped with the entry
// (flushObject: a read is not saved), so each read started again from
// nodes[0]. b asked a, and only a, for a minute; the pull side never
// tried the other copy either. (Retries now name the copy to avoid, and
// the shard picks a copy by a hash of reader and object.)
func TestCutSourceSwitchesToAnotherCopy(t *testing.T) {
	cut, reasked, read := cutMidPullCluster(t, 0)
	t.Logf("cut at %v, b asked again at %v, read X at %v", cut, reasked, read)
	require.NotZero(t, read, "b never read X (c has a copy) while a was cut off from b")
	require.Less(t, read-cut, 5*time.Second, "b read X %v after a was cut off", read-cut)
}

// TestQueuedPullNoticesStallPromptly: b reads three 8 MiB objects only a
// holds, then X, over 10 MB/s links: X's first chunk waits some 2.5 s
// behind the others' on a's link, and the pull counts that wait as its
// longest gap between chunks (fe.gap, measured from the request), so its
// no-progress timeout is 2*gap = 5 s for good; and watchPull, seeing
// progress, re-arms the whole timeout from when it fires rather than from
// the last chunk, so a stall is noticed 5-10 s late. When a is cut off
// halfway through X, b asks again only some 10 s later (with no queue
// ahead of X: about 1-2 s).
func TestQueuedPullNoticesStallPromptly(t *testing.T) {
	cut, reasked, _ := cutMidPullCluster(t, 3)
	t.Logf("cut at %v, b asked again at %v", cut, reasked)
	require.NotZero(t, reasked, "b never asked again")
	require.Less(t, reasked-cut, 2500*time.Millisecond, "b noticed the stall of X %v after its last chunk", reasked-cut)
}
