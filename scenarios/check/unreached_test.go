package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios"
)

const unreachedYAML = `
name: late-fault
seed: 1
duration_limit: 10s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - name: p
    generator: parallel
    params: {tasks: 10, duration: 1ms}
faults:
  - {at: 2ms, pause_node: worker-0, for: 1ms}
  - {at: 5s, kill_node: worker-1}
`

// TestUnreachedFaultsDropped (qa32 #7): a failing case keeps no fault its
// run never reached (rapid's minimal case kept a kill_actor at 853ms of a
// run that ended at 113ms): dropUnreached removes it when the case still
// fails without it. Fails before: dropUnreached did not exist, and the
// file kept the fault.
func TestUnreachedFaultsDropped(t *testing.T) {
	s, err := scenarios.Parse("late-fault.yaml", []byte(unreachedYAML))
	require.NoError(t, err)
	always := Invariant{Name: "no-pauses", Check: func(r *Run) error { return errors.New("a node was paused") }}
	_, f, err := Execute(context.Background(), s, always)
	require.NoError(t, err)
	require.NotNil(t, f)
	require.Equal(t, []string{"kill_node worker-1 at 5s"}, unreached(f), "the run ends long before 5s")
	nf := dropUnreached(context.Background(), f, []Invariant{always})
	require.Len(t, nf.Scenario.Faults, 1, "the kill at 5s is gone: %+v", nf.Scenario.Faults)
	require.Equal(t, scenarios.PauseNode, nf.Scenario.Faults[0].Kind)
	require.Empty(t, unreached(nf))
}

// TestUnreachedFaultsKeptAndSaid: when the case fails only with the late
// fault (its invariant looks at the schedule, say), it stays, and the
// file's header says it was not injected.
func TestUnreachedFaultsKeptAndSaid(t *testing.T) {
	s, err := scenarios.Parse("late-fault.yaml", []byte(unreachedYAML))
	require.NoError(t, err)
	withKill := Invariant{Name: "no-kills", Check: func(r *Run) error {
		for _, fl := range r.Scenario.Faults {
			if fl.Kind == scenarios.KillNode {
				return errors.New("a kill in the schedule")
			}
		}
		return nil
	}}
	_, f, err := Execute(context.Background(), s, withKill)
	require.NoError(t, err)
	require.NotNil(t, f)
	nf := dropUnreached(context.Background(), f, []Invariant{withKill})
	require.Same(t, f, nf, "without the kill the case passes: kept")
	path, err := Write(t.TempDir(), "kept", nf)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), "# not injected: kill_node worker-1 at 5s (the run ended at")
}

// TestCustomInvariantSaidInFile (qa32 #6): a failure file for an
// invariant raysim run cannot check says so in its header (its replay
// says PASS). Fails before: the header said nothing of it.
func TestCustomInvariantSaidInFile(t *testing.T) {
	s, err := scenarios.Parse("late-fault.yaml", []byte(unreachedYAML))
	require.NoError(t, err)
	always := Invariant{Name: "no-retries", Check: func(r *Run) error { return errors.New("1 tasks retried") }}
	_, f, err := Execute(context.Background(), s, always)
	require.NoError(t, err)
	require.NotNil(t, f)
	path, err := Write(t.TempDir(), "custom", f)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	head := string(data)[:strings.Index(string(data), "\nname:")]
	require.Contains(t, head, "# no-retries is not a built-in invariant")
	require.Contains(t, head, "not the verdict")

	// A built-in one's header does not say it.
	f.Invariant = "liveness"
	path, err = Write(filepath.Join(t.TempDir(), "b"), "builtin", f)
	require.NoError(t, err)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), "not a built-in invariant")
}
