package ray_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestPlacementGroupLedgerProperty: random clusters create and remove
// random placement groups, run tasks in them, and lose and regain nodes
// (crashes, restarts, pauses past the node timeout and rejoins), then
// remove them all and place one more group, which must be ready.
// Links may be rough (loss, duplication, reordering). Once the cluster
// has settled, every live raylet's total is its own
// resources less the bundles the scheduler has committed on it, renamed;
// no raylet has more free than it has; a group never ready holds no
// bundle (all or none); bundles sit under their group's strategy; tasks in bundles ran on the bundle's
// node or failed only as the rules allow. Some tasks capture a child into
// their group (which may wait for a bundle and is cancelled with them).
func TestPlacementGroupLedgerProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(2, 4).Draw(rt, "nodes")
		var nodes []ray.NodeConfig
		for i := range n {
			nodes = append(nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: float64(rapid.IntRange(1, 4).Draw(rt, "cpus"))})
		}
		s := newSuite()
		cfg := ray.Config{Nodes: nodes, Seed: rapid.Int64().Draw(rt, "seed"), WireCheck: true}
		if rapid.Bool().Draw(rt, "rough") {
			// Jitter, loss, duplication and reordering on every link: the
			// messages of different links (a heartbeat, a commit, a
			// placement) cross in any order.
			cfg.Link = netsim.Link{Latency: netsim.Uniform(50*time.Microsecond, 2*time.Millisecond), Jitter: time.Millisecond,
				Loss: 0.02, Duplicate: 0.02, Reorder: 0.1}
		}
		c, err := ray.NewSim(cfg, s.reg)
		require.NoError(rt, err)
		defer c.Close()
		// Faults: a non-driver node is paused past the node timeout (it is
		// declared dead and rejoins), or crashes, and maybe restarts.
		if n > 2 && rapid.Bool().Draw(rt, "pause") {
			victim := netsim.NodeID(ray.RayletID(rapid.IntRange(1, n-1).Draw(rt, "paused")))
			at := time.Duration(rapid.IntRange(10, 2000).Draw(rt, "pauseAt")) * time.Millisecond
			d := time.Duration(rapid.IntRange(1100, 2500).Draw(rt, "pauseFor")) * time.Millisecond
			c.Netsim().At(at, func() { c.Netsim().Pause(victim, d) })
		}
		if n > 2 && rapid.Bool().Draw(rt, "crash") {
			victim := netsim.NodeID(ray.RayletID(rapid.IntRange(1, n-1).Draw(rt, "victim")))
			at := time.Duration(rapid.IntRange(10, 2000).Draw(rt, "crashAt")) * time.Millisecond
			c.Netsim().At(at, func() { c.Netsim().Crash(victim) })
			if rapid.Bool().Draw(rt, "restart") {
				c.Netsim().At(at+time.Duration(rapid.IntRange(100, 3000).Draw(rt, "down"))*time.Millisecond, func() { c.Netsim().Restart(victim) })
			}
		}
		type made struct {
			pg      *ray.PlacementGroup
			shapes  []ray.Bundle
			removed bool
		}
		var groups []*made
		strategies := []ray.PlacementStrategy{ray.Pack, ray.SpreadBundles, ray.StrictPack, ray.StrictSpread}
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		ops := make([]int, steps)
		for i := range ops {
			ops[i] = rapid.IntRange(0, 3).Draw(rt, "op")
		}
		require.NoError(rt, c.Run(func(ctx context.Context) error {
			for _, op := range ops {
				switch {
				case op == 0 || len(groups) == 0: // create
					k := rapid.IntRange(1, 3).Draw(rt, "bundles")
					shapes := make([]ray.Bundle, k)
					for i := range shapes {
						shapes[i] = ray.Bundle{CPU: float64(rapid.IntRange(1, 4).Draw(rt, "halfCPUs")) / 2}
					}
					pg, err := ray.NewPlacementGroup(ctx, shapes, rapid.SampledFrom(strategies).Draw(rt, "strategy"))
					require.NoError(rt, err)
					groups = append(groups, &made{pg: pg, shapes: shapes})
					err = pg.Wait(ctx, time.Duration(rapid.IntRange(0, 500).Draw(rt, "wait"))*time.Millisecond)
					require.True(rt, err == nil || errors.Is(err, ray.ErrTimeout), "wait: %v", err)
				case op == 1: // remove
					g := rapid.SampledFrom(groups).Draw(rt, "remove")
					require.NoError(rt, ray.RemovePlacementGroup(ctx, g.pg))
					g.removed = true
				case op == 2: // a task in a bundle
					g := rapid.SampledFrom(groups).Draw(rt, "group")
					i := rapid.IntRange(-1, len(g.shapes)-1).Draw(rt, "index")
					if rapid.Bool().Draw(rt, "capture") {
						// A task capturing its child: the child may wait
						// for a bundle (the parent holds its own), and is
						// cancelled with it.
						ref := s.tree.Options(ray.InPlacementGroup(g.pg, i, ray.CaptureChildTasks()), ray.CPUs(0.5)).Remote(ctx, 1, 0)
						_, err := ray.GetTimeout(ctx, ref, 300*time.Millisecond)
						ok := err == nil || errors.Is(err, ray.ErrTimeout) || errors.Is(err, ray.ErrUnschedulable) ||
							errors.Is(err, ray.ErrCancelled) || errors.Is(err, ray.ErrRetriesExhausted) ||
							errors.Is(err, ray.ErrTaskFailed) // the child's error, returned by the parent
						require.True(rt, ok, "capturing task in bundle %d: %v", i, err)
						_ = ray.Cancel(ctx, ref)
						break
					}
					ref := s.where.Options(ray.InPlacementGroup(g.pg, i), ray.CPUs(0.5)).Remote(ctx)
					_, err := ray.GetTimeout(ctx, ref, 300*time.Millisecond)
					ok := err == nil || errors.Is(err, ray.ErrTimeout) || errors.Is(err, ray.ErrUnschedulable) ||
						errors.Is(err, ray.ErrCancelled) || errors.Is(err, ray.ErrRetriesExhausted)
					require.True(rt, ok, "task in bundle %d: %v", i, err)
					_ = ray.Cancel(ctx, ref)
				default: // time passes
					require.NoError(rt, ray.Compute(ctx, time.Duration(rapid.IntRange(1, 1500).Draw(rt, "pause"))*time.Millisecond))
				}
			}
			if err := ray.Compute(ctx, 6*time.Second); err != nil { // deaths declared, bundles placed again, heartbeats in
				return err
			}
			// Nothing is wedged: with every group removed, a new one is
			// ready and runs a task.
			for _, g := range groups {
				if !g.removed {
					require.NoError(rt, ray.RemovePlacementGroup(ctx, g.pg))
					g.removed = true
				}
			}
			last, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 0.5}}, ray.Pack)
			require.NoError(rt, err)
			groups = append(groups, &made{pg: last, shapes: []ray.Bundle{{CPU: 0.5}}})
			require.NoError(rt, last.Wait(ctx, 10*time.Second), "a half-CPU group on a cluster of free nodes")
			_, err = ray.GetTimeout(ctx, s.where.Options(ray.InPlacementGroup(last, 0), ray.CPUs(0.5)).Remote(ctx), 10*time.Second)
			require.NoError(rt, err)
			return ray.Compute(ctx, time.Second) // heartbeats in
		}))
		// Settled: check the ledger against the scheduler's record.
		shapeOf := map[transport.GroupID][]ray.Bundle{}
		for _, g := range groups {
			shapeOf[g.pg.ID()] = g.shapes
		}
		want := make(map[transport.NodeID]transport.Resources)
		for i, nc := range nodes {
			want[ray.RayletID(i)] = transport.MakeResources(nc.CPUs, 0, nil)
		}
		for _, info := range c.Global().Groups() {
			if info.Removed {
				continue
			}
			if !info.Ready { // all or none: a group never ready holds nothing
				for _, node := range info.Nodes {
					require.Zero(rt, node, "a pending group holds a bundle (%v)", info.Nodes)
				}
			}
			used := map[transport.NodeID]int{}
			for i, node := range info.Nodes {
				if node == 0 {
					continue
				}
				used[node]++
				r := transport.MakeResources(shapeOf[info.ID][i].CPU, 0, nil)
				want[node] = want[node].Sub(r).Add(transport.BundleResources(info.ID, i, r))
			}
			var strategy ray.PlacementStrategy
			for _, g := range groups {
				if g.pg.ID() == info.ID {
					strategy = g.pg.Strategy()
				}
			}
			if strategy == ray.StrictPack {
				require.LessOrEqual(rt, len(used), 1, "STRICT_PACK on %v", info.Nodes)
			}
			if strategy == ray.StrictSpread {
				for node, k := range used {
					require.Equal(rt, 1, k, "STRICT_SPREAD: node %d holds %d bundles (%v)", node, k, info.Nodes)
				}
			}
		}
		for i := range nodes {
			id := ray.RayletID(i)
			r := c.Raylet(i)
			if r == nil {
				continue // crashed, not restarted
			}
			require.Equal(rt, canon(want[id]), canon(r.Total()), "node %d's total", id)
			require.True(rt, r.Available().Fits(r.Total()), "node %d: free %v beyond total %v", id, r.Available(), r.Total())
		}
	})
}

// canon drops zero custom amounts (a sum that came back to zero).
func canon(r transport.Resources) transport.Resources {
	out := transport.Resources{CPU: r.CPU, GPU: r.GPU}
	for _, q := range r.Custom {
		if q.Amount != 0 {
			out.Custom = append(out.Custom, q)
		}
	}
	return out
}
