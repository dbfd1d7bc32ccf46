package scenarios_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// "faults N injected" counts the faults that did something: a kill_actor
// that found no live actor, a restart_node of a node that is up, a kill_node
// of one already down counted as injected though they did nothing. Each is
// still said with a warning.
func TestFaultsInjectedCountsOnlyApplied(t *testing.T) {
	s, err := scenarios.ParseWithOverrides("t.yaml", []byte(tinyRun), []string{`faults=[
		{at: 50ms, kill_actor: nobody},
		{at: 50ms, restart_node: node-0},
		{at: 100ms, kill_node: node-1},
		{at: 150ms, kill_node: node-1},
		{at: 200ms, pause_node: node-1, for: 10ms},
		{at: 250ms, restart_node: node-1}]`})
	require.NoError(t, err)
	var logs []string
	r, err := runner.Run(context.Background(), s, runner.Options{
		Log: func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) },
	})
	require.NoError(t, err)
	require.Greater(t, r.VirtualSeconds, 0.25, "the run outlasts the faults")
	assert.Equal(t, 2, r.FaultsInjected, "the first kill_node and the restart after it; warnings: %q", logs)
	assert.Equal(t, []string{
		`kill_actor at 50ms: no live actor named "nobody"`,
		"restart_node at 50ms: node node-0 is up; nothing to restart",
		"kill_node at 150ms: node node-1 is down already; nothing to kill",
		"pause_node at 200ms: node node-1 is down; nothing to pause",
	}, logs)
}
