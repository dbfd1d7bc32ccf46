package ray_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// mix is the value function of the DAG property test.
func mix(a, b uint64) uint64 {
	h := a*0x9e3779b97f4a7c15 ^ b
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	return h ^ (h >> 31)
}

// dagTask is one vertex: a constant, the vertices it depends on, the size
// of its output, and whether it runs nested (submitted by a parent task).
type dagTask struct {
	key    uint64
	deps   []int
	size   int64
	nested bool
}

func eval(dag []dagTask) []uint64 {
	out := make([]uint64, len(dag))
	for i, t := range dag {
		v := t.key
		for _, d := range t.deps {
			v = mix(v, out[d])
		}
		out[i] = v
	}
	return out
}

type dagFuncs struct {
	node *ray.Func[ray.Blob]
	nest *ray.Func[ray.Blob]
}

func registerDAG(reg *ray.Registry) *dagFuncs {
	f := &dagFuncs{}
	// args[0] carries the vertex's key (Sum) and output size (Bytes); the
	// rest are its dependencies' values.
	f.node = ray.RegisterN(reg, "dag.node", func(ctx context.Context, args []ray.Blob) (ray.Blob, error) {
		v := args[0].Sum
		for _, a := range args[1:] {
			v = mix(v, a.Sum)
		}
		return ray.Blob{Bytes: args[0].Bytes, Sum: v}, nil
	})
	f.nest = ray.RegisterN(reg, "dag.nest", func(ctx context.Context, args []ray.Blob) (ray.Blob, error) {
		child := make([]any, len(args))
		for i, a := range args {
			child[i] = a
		}
		return ray.Get(ctx, f.node.Remote(ctx, child...))
	})
	return f
}

// drawDAG draws a DAG of 1..maxTasks vertices with outputs of up to
// maxSize bytes and up to maxFanin dependencies each.
func drawDAG(rt *rapid.T, maxTasks, maxSize, maxFanin int) []dagTask {
	dag := make([]dagTask, rapid.IntRange(1, maxTasks).Draw(rt, "tasks"))
	for i := range dag {
		dag[i].key = rapid.Uint64().Draw(rt, "key")
		dag[i].size = int64(rapid.IntRange(0, maxSize).Draw(rt, "size"))
		dag[i].nested = rapid.IntRange(0, 4).Draw(rt, "nested") == 0
		if i > 0 {
			k := rapid.IntRange(0, min(i, maxFanin)).Draw(rt, "fanin")
			for j := 0; j < k; j++ {
				dag[i].deps = append(dag[i].deps, rapid.IntRange(0, i-1).Draw(rt, "dep"))
			}
		}
	}
	return dag
}

// submitDAG submits every vertex, its dependencies as refs.
func submitDAG(ctx context.Context, f *dagFuncs, dag []dagTask) []ray.Ref[ray.Blob] {
	refs := make([]ray.Ref[ray.Blob], len(dag))
	for i, v := range dag {
		args := []any{ray.Blob{Bytes: v.size, Sum: v.key}}
		for _, d := range v.deps {
			args = append(args, refs[d])
		}
		fn := f.node
		if v.nested {
			fn = f.nest
		}
		refs[i] = fn.Remote(ctx, args...)
	}
	return refs
}

// requireDAG checks got against a sequential evaluation of dag.
func requireDAG(rt *rapid.T, dag []dagTask, got []ray.Blob) {
	want := eval(dag)
	for i := range dag {
		require.Equal(rt, want[i], got[i].Sum, "vertex %d", i)
		require.Equal(rt, dag[i].size, got[i].Bytes, "vertex %d size", i)
	}
}

// TestDAGMatchesSequentialEvaluation: a random task DAG (random fan-in and
// fan-out, nesting, object sizes) on a random cluster shape computes exactly
// what a sequential evaluation computes, under every placement policy.
func TestDAGMatchesSequentialEvaluation(t *testing.T) {
	policies := scheduler.PolicyNames()
	rapid.Check(t, func(rt *rapid.T) {
		nNodes := rapid.IntRange(1, 5).Draw(rt, "nodes")
		var nodes []ray.NodeConfig
		for i := 0; i < nNodes; i++ {
			nodes = append(nodes, ray.NodeConfig{
				Name:             fmt.Sprintf("n%d", i),
				CPUs:             float64(rapid.IntRange(1, 4).Draw(rt, "cpus")),
				ObjectStoreBytes: int64(rapid.IntRange(8, 64).Draw(rt, "storeMiB")) << 20,
			})
		}
		dag := drawDAG(rt, 40, 4<<20, 4)
		cfg := ray.Config{
			Nodes: nodes, Seed: rapid.Int64().Draw(rt, "seed"), WireCheck: true,
			Policy:         rapid.SampledFrom(policies).Draw(rt, "policy"),
			SpillThreshold: rapid.IntRange(1, 8).Draw(rt, "spill"),
			GCSShards:      rapid.IntRange(1, 3).Draw(rt, "shards"),
		}
		reg := ray.NewRegistry()
		f := registerDAG(reg)
		c, err := ray.NewSim(cfg, reg)
		require.NoError(rt, err)
		defer c.Close()
		var got []ray.Blob
		err = c.Run(func(ctx context.Context) error {
			var err error
			got, err = ray.GetAll(ctx, submitDAG(ctx, f, dag), -1)
			return err
		})
		require.NoError(rt, err)
		requireDAG(rt, dag, got)
	})
}

// TestProgramDeterminism: the same program and seed under netsim gives the
// same digest twice; another seed gives another.
func TestProgramDeterminism(t *testing.T) { checkDeterminism(t, semanticCases, 7, 8) }

// checkDeterminism runs cases in order as one program on the semantic
// suite's cluster (those made for another are left out), with lognormal latencies (they make the seed matter),
// twice under seed and once under other: the same digest, then another.
func checkDeterminism(t *testing.T, cases []semanticCase, seed, other int64) {
	t.Helper()
	run := func(seed int64) uint64 {
		s := newSuite()
		cfg := ray.Config{Nodes: testNodes, Seed: seed}
		cfg.Link = netsim.Link{Latency: netsim.LogNormal(200*time.Microsecond, 100*time.Microsecond), Bandwidth: 1.25e9}
		c, err := ray.NewSim(cfg, s.reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(func(ctx context.Context) error {
			for _, tc := range cases {
				if _, own := caseNodes[tc.name]; own {
					continue // a case for another cluster (see caseNodes)
				}
				tc.run(t, ctx, s)
			}
			return nil
		}))
		return c.Netsim().Digest()
	}
	a, b, c := run(seed), run(seed), run(other)
	require.Equal(t, a, b, "same seed, same digest")
	require.NotEqual(t, a, c, "another seed, another digest")
}

// TestFreedDAGRebuilds: freeing a random subset of a random DAG's results
// (and letting the frees land) and getting everything again gives the same
// values: freed objects, and the freed arguments they need, are rebuilt
// from lineage.
func TestFreedDAGRebuilds(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nNodes := rapid.IntRange(1, 4).Draw(rt, "nodes")
		var nodes []ray.NodeConfig
		for i := 0; i < nNodes; i++ {
			nodes = append(nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: float64(rapid.IntRange(1, 4).Draw(rt, "cpus"))})
		}
		dag := drawDAG(rt, 30, 1<<20, 3)
		freed := make([]bool, len(dag))
		for i := range freed {
			freed[i] = rapid.Bool().Draw(rt, "free")
		}
		runs := map[transport.TaskID]int{}
		cfg := ray.Config{Nodes: nodes, Seed: rapid.Int64().Draw(rt, "seed"), WireCheck: true,
			GCSShards: rapid.IntRange(1, 3).Draw(rt, "shards"),
			OnEvent: func(ev *transport.Event) {
				if ev.Kind == transport.EvTaskRunning {
					runs[ev.Task]++
				}
			}}
		reg := ray.NewRegistry()
		f := registerDAG(reg)
		c, err := ray.NewSim(cfg, reg)
		require.NoError(rt, err)
		defer c.Close()
		var got []ray.Blob
		err = c.Run(func(ctx context.Context) error {
			refs := submitDAG(ctx, f, dag)
			if _, err := ray.GetAll(ctx, refs, -1); err != nil {
				return err
			}
			var free []ray.Ref[ray.Blob]
			for i, r := range refs {
				if freed[i] {
					free = append(free, r)
				}
			}
			if err := ray.Free(ctx, free...); err != nil {
				return err
			}
			if err := ray.Compute(ctx, 10*time.Millisecond); err != nil { // the frees land
				return err
			}
			var err error
			got, err = ray.GetAll(ctx, refs, -1)
			return err
		})
		require.NoError(rt, err)
		requireDAG(rt, dag, got)
		rerun := false
		for _, k := range runs {
			rerun = rerun || k > 1
		}
		require.Equal(rt, slices.Contains(freed, true), rerun, "freed results are rebuilt by running their tasks again")
	})
}
