package runner

import (
	"fmt"
	"testing"

	"raysim/runtime/ray"
	"raysim/scenarios"
)

// QA28b finding 6: spill_threshold: 0 (documented as allowed) reached
// ray.Config as 0, its default, and ran as 8: more local queueing than
// the scenario default of 4. It is ray.SpillAlways now (every task
// spills); other thresholds pass as written.
func TestSpillThresholdZeroSpillsEveryTask(t *testing.T) {
	for _, tc := range []struct{ yaml, want int }{{0, ray.SpillAlways}, {1, 1}, {4, 4}, {8, 8}} {
		s, err := scenarios.Parse("spill.yaml", fmt.Appendf(nil, `
name: spill
seed: 1
duration_limit: 1s
cluster:
  nodes:
    - {name: head, cpus: 1}
  scheduler: {spill_threshold: %d}
workload:
  - generator: parallel
    params: {tasks: 1, duration: 1ms}
`, tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clusterConfig(s)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SpillThreshold != tc.want {
			t.Errorf("spill_threshold %d: ray.Config.SpillThreshold %d; want %d", tc.yaml, cfg.SpillThreshold, tc.want)
		}
	}
}
