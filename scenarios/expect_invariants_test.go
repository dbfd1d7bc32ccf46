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
