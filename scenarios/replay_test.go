package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/scenarios/runner"
)

// TestActorReplayFigure11b: the figure 11b scenario with its faults late in
// the run. Restarted actors that replay re-run their methods (every method
// since creation without checkpoints, only those since the last checkpoint
// with them), and every round's result stays correct either way.
func TestActorReplayFigure11b(t *testing.T) {
	base := []string{
		"workload.0.params.rounds=60", "workload.0.params.actors=12",
		"faults.0.at=800ms", "faults.1.at=800ms", "faults.2.at=1s", "faults.3.at=1200ms",
		"expect.finish_by=30s", "duration_limit=1m",
	}
	run := func(sets ...string) *runner.Result {
		return runOK(t, "paper-fig11b-actors.yaml", append(base, sets...)...)
	}
	none := run()
	require.Zero(t, none.MethodsReplayed, "without replay, a restarted actor re-runs nothing")
	full := run("workload.0.params.replay=true")
	ckpt := run("workload.0.params.replay=true", "workload.0.params.checkpoint_every=10")
	t.Logf("methods replayed: %d without checkpoints, %d with one every 10", full.MethodsReplayed, ckpt.MethodsReplayed)
	require.Greater(t, full.MethodsReplayed, uint64(12), "each restarted actor replays its history")
	require.Less(t, ckpt.MethodsReplayed, full.MethodsReplayed/2, "checkpoints bound the replay")
}
