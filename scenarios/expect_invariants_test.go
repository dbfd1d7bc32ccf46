package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExpectInvariants: expect.invariants takes a list of the fault
// search's invariant names, each once; an unknown or repeated name is an
// error at its place; the list survives Marshal.
func TestExpectInvariants(t *testing.T) {
	base := `
name: x
cluster:
  nodes: [{name: head, cpus: 1}]
workload:
  - {name: p, generator: parallel, params: {tasks: 2}}
expect:
  invariants: `
	s, err := Parse("x.yaml", []byte(base+"[liveness, allowed-errors]\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"liveness", "allowed-errors"}, s.Expect.Invariants)
	data, err := s.Marshal()
	require.NoError(t, err)
	back, err := Parse("x.yaml", data)
	require.NoError(t, err)
	require.Equal(t, s.Expect.Invariants, back.Expect.Invariants)

	_, err = Parse("x.yaml", []byte(base+"[livenes]\n"))
	require.ErrorContains(t, err, "x.yaml:8:16: expect.invariants.0: one of "+strings.Join(InvariantNames, ", ")+" (got \"livenes\")")
	_, err = Parse("x.yaml", []byte(base+"[liveness, liveness]\n"))
	require.ErrorContains(t, err, "expect.invariants.1: each invariant once (got \"liveness\")")
	_, err = Parse("x.yaml", []byte(base+"liveness\n"))
	require.ErrorContains(t, err, "expect.invariants: a list")
}

// TestWorkloadResourcesRefusedAsRay: a workload's resources are a task's
// request, which Ray refuses when finer than 0.0001 or, for GPUs, a
// fraction above 1; the run then failed every task (ErrInvalidOption). The
// loader names the key instead.
func TestWorkloadResourcesRefusedAsRay(t *testing.T) {
	for _, c := range []struct{ res, key string }{{"{CPU: 0.00001}", "CPU"}, {"{CPU: 1, GPU: 1.5}", "GPU"}, {"{x: 0.00001}", "x"}} {
		_, err := Parse("r.yaml", []byte(`
name: r
cluster:
  nodes: [{name: head, cpus: 4, gpus: 4, resources: {x: 1}}]
workload:
  - {name: p, generator: parallel, params: {tasks: 2}, resources: `+c.res+`}
`))
		require.ErrorContains(t, err, "workload.0.resources."+c.key+": an amount a task may ask for", c.res)
	}
	for _, ok := range []string{"{CPU: 1.5}", "{CPU: 0.0001, GPU: 0.5}", "{GPU: 2, x: 0.5}"} {
		_, err := Parse("r.yaml", []byte(`
name: r
cluster:
  nodes: [{name: head, cpus: 4, gpus: 4, resources: {x: 1}}]
workload:
  - {name: p, generator: parallel, params: {tasks: 2}, resources: `+ok+`}
`))
		require.NoError(t, err, ok)
	}
}
