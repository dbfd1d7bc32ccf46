package scenarios_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestKillActorByName: kill_actor names an actor by its display name
// (ray.Name) as the generators give none a registered name; a name that
// matches no live actor is reported, not silently ignored.
func TestKillActorByName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		killed int
	}{{"simulator", 1}, {"nobody", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenarios.LoadWithOverrides("rl.yaml", []string{fmt.Sprintf("faults=[{at: 300ms, kill_actor: %s}]", tc.name)})
			require.NoError(t, err)
			killed := 0
			var logs []string
			r, err := runner.Run(context.Background(), s, runner.Options{
				OnEvent: func(_ time.Duration, ev *transport.Event) {
					if ev.Kind == transport.EvActorDied && ev.Detail == transport.DetailFaultKill {
						killed++
					}
				},
				Log: func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) },
			})
			require.NoError(t, err)
			assert.True(t, r.OK, "expectations: %+v", r.Expectations)
			assert.Equal(t, tc.killed, killed)
			if tc.killed == 0 {
				assert.NotEmpty(t, logs, "a kill that matches nothing is reported")
			}
		})
	}
}
