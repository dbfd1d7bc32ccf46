package check_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/scenarios"
	"raysim/scenarios/check"
	"raysim/scenarios/runner"
)

// mostFree is a scheduling policy of a program's own, as a researcher
// would write it outside raysim: every task goes to the global scheduler,
// which gives it the candidate with the most free CPU (ties: the first).
// picks counts its Picks, so the test sees that the runtime used it (an
// atomic: on TCP Pick would run on the scheduler's goroutine).
type mostFree struct{ picks *atomic.Int64 }

func (mostFree) Name() string              { return "most-free" }
func (mostFree) Local(bool, int, int) bool { return false }
func (p mostFree) Pick(_ *scheduler.Decision, c []scheduler.Candidate, _ *rand.Rand) int {
	p.picks.Add(1)
	best := 0
	for i := range c {
		if c[i].Available.CPU > c[best].Available.CPU {
			best = i
		}
	}
	return best
}

// ownPolicyScenario is a small scenario naming the policy of its own.
const ownPolicyScenario = `
name: own-policy
seed: 3
duration_limit: 30s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 4}
  scheduler: {policy: most-free}
workload:
  - generator: parallel
    params: {tasks: 200, duration: 2ms}
  - generator: tree-reduce
    params: {leaves: 16, fanin: 4, duration: 1ms}
faults:
  - {at: 20ms, kill_node: worker-1}
  - {at: 60ms, restart_node: worker-1}
expect: {all_complete: true, results_correct: true}
`

// TestOwnPolicy: a policy of the program's own, given as a value, places
// the tasks of a Go workload (ray.Config.PolicyImpl), of a scenario that
// names it (scenarios.Extensions, runner.Run) and of check's generated
// scenarios (Gen.Extensions), with no edit to raysim and no global table.
func TestOwnPolicy(t *testing.T) {
	t.Run("config", func(t *testing.T) {
		p := mostFree{new(atomic.Int64)}
		reg := ray.NewRegistry()
		sq := ray.Register1(reg, "sq", func(ctx context.Context, x int) (int, error) {
			return x * x, ray.Compute(ctx, time.Millisecond)
		})
		c, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}, Seed: 1, PolicyImpl: p}, reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(func(ctx context.Context) error {
			var refs []ray.Ref[int]
			for i := range 20 {
				refs = append(refs, sq.Remote(ctx, i))
			}
			for i, r := range refs {
				v, err := ray.Get(ctx, r)
				if err != nil || v != i*i {
					return errors.Join(err, errors.New("wrong square"))
				}
			}
			return nil
		}))
		require.GreaterOrEqual(t, p.picks.Load(), int64(20), "every task placed by the policy")
	})
	t.Run("config name clash", func(t *testing.T) {
		_, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 1}}, Policy: "random", PolicyImpl: mostFree{new(atomic.Int64)}}, ray.NewRegistry())
		require.Error(t, err)
	})
	t.Run("scenario", func(t *testing.T) {
		_, err := scenarios.Parse("own.yaml", []byte(ownPolicyScenario))
		require.ErrorContains(t, err, `"most-free"`, "unknown without the extension")
		p := mostFree{new(atomic.Int64)}
		ext := &scenarios.Extensions{Policies: []scheduler.Policy{p}}
		s, err := scenarios.ParseWith("own.yaml", []byte(ownPolicyScenario), nil, ext)
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), s, runner.Options{})
		require.NoError(t, err)
		require.True(t, r.OK, "%+v", r.Expectations)
		require.Greater(t, p.picks.Load(), int64(200))
		// Set re-parses with the same extensions.
		require.NoError(t, s.Set("seed", "4"))
		require.Same(t, ext, s.Extensions())
	})
	t.Run("bad extensions", func(t *testing.T) {
		for _, ps := range [][]scheduler.Policy{
			{nil}, {mostFree{}, mostFree{}}, {named("")}, {named("bottom-up")},
		} {
			_, err := scenarios.ParseWith("own.yaml", []byte(ownPolicyScenario), nil, &scenarios.Extensions{Policies: ps})
			require.ErrorIs(t, err, scheduler.ErrBadPolicy)
		}
	})
	t.Run("property", func(t *testing.T) {
		p := mostFree{new(atomic.Int64)}
		g := check.DefaultGen()
		g.Extensions = &scenarios.Extensions{Policies: []scheduler.Policy{p}}
		g.Policies = []string{"most-free"}
		g.MaxNodes, g.MaxFaults = 3, 2
		g.Dir = t.TempDir()
		require.NoError(t, g.Validate())
		rapid.Check(t, func(rt *rapid.T) { check.Property(rt, g) })
		require.Positive(t, p.picks.Load())
		g.Extensions = nil
		require.ErrorContains(t, g.Validate(), "most-free")
	})
}

// named is a policy with a given name, for the refusals.
type named string

func (n named) Name() string                                                  { return string(n) }
func (named) Local(bool, int, int) bool                                       { return false }
func (named) Pick(*scheduler.Decision, []scheduler.Candidate, *rand.Rand) int { return 0 }
