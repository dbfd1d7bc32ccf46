package runner

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

// TestDriverHostsIsWhereDriversStart: DriverHosts, which the fault search
// uses for the nodes it never kills and the nodes a job's end may name, is
// the set of nodes startDrivers starts drivers on: the nodes up at the
// start, not the first listed, when a group listed early joins late or is
// an autoscaler's standby (review29 finding 9: "the first N nodes" put a
// late node among the hosts and the second worker group's first node
// outside them).
func TestDriverHostsIsWhereDriversStart(t *testing.T) {
	for _, c := range []struct {
		name, nodes, drivers string
		want                 []int
	}{
		{"late group listed first", `
    - {name: head, cpus: 2}
    - {name: late, count: 2, cpus: 2, start: 500ms}
    - {name: w, count: 2, cpus: 2}`, "2", []int{0, 3}},
		{"standby listed first, per node", `
    - {name: head, cpus: 2}
    - {name: pool, count: 3, cpus: 2, autoscale: {min: 1}}
    - {name: w, count: 2, cpus: 2}`, "per-node", []int{0, 1, 4, 5}},
		{"more drivers than nodes up", `
    - {name: head, cpus: 2}
    - {name: late, cpus: 2, start: 1s}
    - {name: w, cpus: 2}`, "5", []int{0, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := scenarios.Parse("hosts.yaml", []byte(`
name: hosts
seed: 1
duration_limit: 5s
cluster:
  nodes:`+c.nodes+`
workload:
  - generator: parallel
    params: {tasks: 4, duration: 5ms}
    drivers: `+c.drivers+`
  - generator: chain
    params: {chains: 1, length: 2, duration: 5ms}
`))
			require.NoError(t, err)
			var started []int
			_, err = startDrivers(s, nil, func(node int, _ func(context.Context) error) error {
				started = append(started, node)
				return nil
			})
			require.NoError(t, err)
			slices.Sort(started)
			require.Equal(t, c.want, slices.Compact(started))
			require.Equal(t, c.want, DriverHosts(s))
		})
	}
}
