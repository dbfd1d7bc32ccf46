package scenarios

import (
	"math/rand/v2"
	"testing"
)

// Guards that a distribution's `max: 0` is not silently dropped. The docs
// say normal, lognormal and exponential draws are clamped to [min, max],
// but Dist stores "no max" as 0 and Sample clamps only when Max > 0, so
// `duration: {dist: exponential, mean: 100ms, max: 0}` loaded without a
// word and drew durations of 100ms on average, not at most 0 (the
// min > max check passes too, 0 > 0 being false). Right: a max of 0 on
// those kinds is an error that says to leave max out for no bound (a
// uniform's max is its bound and is kept; max 0 there is a constant 0).
func TestDistMaxZeroNotIgnored(t *testing.T) {
	for _, set := range []string{
		"workload.0.params.duration={dist: exponential, mean: 100ms, max: 0}",
		"workload.0.params.duration={dist: normal, mean: 100ms, stddev: 10ms, max: 0s}",
		"workload.0.params.duration={dist: lognormal, mean: 100ms, stddev: 10ms, max: 0}",
	} {
		s, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{set})
		if err != nil {
			continue // refused: right
		}
		d := s.Workload[0].Params.(*ParallelParams).Duration
		r := rand.New(rand.NewPCG(1, 2))
		if v := d.Sample(r); v > 0 {
			t.Errorf("--set %s: accepted, and a draw is %v, past its max of 0", set, v)
		}
	}
	if _, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{"workload.0.params.duration={dist: uniform, min: 0, max: 0}"}); err != nil {
		t.Errorf("uniform [0, 0): %v", err)
	}
}
