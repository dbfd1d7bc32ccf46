package check_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/ray"
	"raysim/scenarios"
	"raysim/scenarios/check"
	"raysim/scenarios/runner"
)

// squares is a workload of a program's own: each driver submits n tasks
// (params n, default 20; ms, each task's virtual time, default 2) and
// checks every square it reads. wrong: "true" makes it report a wrong one,
// for the failure path.
func squares() scenarios.OwnWorkload {
	return scenarios.OwnWorkload{
		Name:   "squares",
		Params: []string{"n", "ms", "wrong"},
		Setup: func(reg *ray.Registry) scenarios.OwnDriver {
			sq := ray.Register1(reg, "own.sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
			return func(ctx context.Context, d *scenarios.DriverInfo) error {
				n, ms := 20, 2
				if v, ok := d.Params["n"]; ok {
					var err error
					if n, err = strconv.Atoi(v); err != nil {
						return fmt.Errorf("squares: params.n: %w", err)
					}
				}
				if v, ok := d.Params["ms"]; ok {
					ms, _ = strconv.Atoi(v)
				}
				refs := make([]ray.Ref[int], n)
				for i := range refs {
					// d.Rand: seeded by the scenario, the entry and the driver.
					dur := time.Duration(ms)*time.Millisecond + time.Duration(d.Rand.IntN(1000))*time.Microsecond
					refs[i] = sq.Options(append(d.Options, ray.Duration(dur))...).Remote(ctx, i)
				}
				for i, r := range refs {
					v, err := ray.Get(ctx, r)
					if err != nil {
						return err
					}
					d.Check(v == i*i && d.Params["wrong"] != "true", fmt.Sprintf("squares %d of driver %d", i, d.Index))
				}
				return nil
			}
		},
	}
}

const ownWorkloadScenario = `
name: own-workload
seed: 5
duration_limit: 30s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 4}
workload:
  - name: mine
    generator: squares
    params: {n: 100, ms: 3}
    drivers: 2
    max_retries: -1
  - generator: parallel
    params: {tasks: 50, duration: 1ms}
faults:
  - {at: 10ms, kill_node: worker-1}
  - {at: 40ms, restart_node: worker-1}
expect: {all_complete: true, results_correct: true}
`

// TestOwnWorkload: a workload of the program's own runs from a scenario
// file that names it — drivers, its params, a fault schedule, expect, the
// digest (the same twice) — and under check's fault search, whose failing
// case is written as a scenario file that loads back with the same
// extensions.
func TestOwnWorkload(t *testing.T) {
	ext := &scenarios.Extensions{Workloads: []scenarios.OwnWorkload{squares()}}
	_, err := scenarios.Parse("own.yaml", []byte(ownWorkloadScenario))
	require.ErrorContains(t, err, `(got "squares")`, "unknown without the extension")

	s, err := scenarios.ParseWith("own.yaml", []byte(ownWorkloadScenario), nil, ext)
	require.NoError(t, err)
	r, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	require.True(t, r.OK, "%+v %s", r.Expectations, r.Unfinished)
	require.Equal(t, 200, r.Workloads[0].Checked, "both drivers' squares checked")
	require.Equal(t, 2, r.FaultsInjected)
	again, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	require.Equal(t, r.Digest, again.Digest, "deterministic")

	t.Run("params and refusals", func(t *testing.T) {
		for _, bad := range []string{"workload.0.params.size=3", "workload.0.arrival={kind: poisson, rate: 100/s}",
			"workload.0.placement_group={bundles: 1}"} {
			path, value, _ := strings.Cut(bad, "=")
			err := s.Set(path, value)
			require.Error(t, err, bad)
			t.Log(err)
		}
		for _, e := range []*scenarios.Extensions{
			{Workloads: []scenarios.OwnWorkload{{Name: "parallel", Setup: squares().Setup}}},
			{Workloads: []scenarios.OwnWorkload{squares(), squares()}},
			{Workloads: []scenarios.OwnWorkload{{Name: "x"}}},
		} {
			_, err := scenarios.ParseWith("own.yaml", []byte(ownWorkloadScenario), nil, e)
			require.ErrorIs(t, err, scenarios.ErrBadWorkload)
		}
	})

	t.Run("wrong results fail", func(t *testing.T) {
		w, err := scenarios.ParseWith("own.yaml", []byte(ownWorkloadScenario), []string{"workload.0.params.wrong=true"}, ext)
		require.NoError(t, err)
		r, err := runner.Run(context.Background(), w, runner.Options{})
		require.NoError(t, err)
		require.False(t, r.OK)
		require.Equal(t, 200, r.Workloads[0].Incorrect)
		_, f, err := check.Execute(context.Background(), w)
		require.NoError(t, err)
		require.NotNil(t, f, "the results invariant fails")
		path, err := check.Write(t.TempDir(), "own-failure", f)
		require.NoError(t, err)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(data), "replay it from Go: scenarios.LoadWith(")
		require.Contains(t, f.Replay(), "from Go")
		back, err := scenarios.LoadWith(path, nil, ext)
		require.NoError(t, err, "the failure file loads back with the extensions")
		require.Equal(t, "true", back.Workload[0].Params.(*scenarios.OwnParams).Values["wrong"])
		r2, err := runner.Run(context.Background(), back, runner.Options{})
		require.NoError(t, err)
		require.Equal(t, f.Result.Digest, r2.Digest, "the file replays the failing run")
	})

	t.Run("property", func(t *testing.T) {
		g := check.DefaultGen()
		g.Extensions = ext
		g.Generators = []string{"squares", "parallel"}
		g.MaxNodes, g.MaxFaults = 3, 3
		g.Dir = t.TempDir()
		require.NoError(t, g.Validate())
		rapid.Check(t, func(rt *rapid.T) { check.Property(rt, g) })
	})
}
