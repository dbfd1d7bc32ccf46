package main

import "testing"

// TestSimGCOnlyForSimulations: qa31 §4: `raysim start` daemons (and
// drivers on a live cluster) ran with the simulator's GC tuning (GOGC=1000,
// an 8 GiB soft limit): a head with 11 MB live sat at 166 MB RSS. Only
// commands that simulate are tuned now.
func TestSimGCOnlyForSimulations(t *testing.T) {
	for _, c := range []struct {
		args  []string
		tuned bool
	}{
		{[]string{"run", "scenarios/quickstart.yaml"}, true},
		{[]string{"run", "--tcp", "scenarios/quickstart.yaml"}, true},
		{[]string{"check", "--runs", "3"}, true},
		{[]string{"bench"}, true},
		{[]string{"start", "--head"}, false},
		{[]string{"start", "--address", "10.0.0.1:7379"}, false},
		{[]string{"run", "--address", "10.0.0.1:7379", "s.yaml"}, false},
		{[]string{"run", "-address=10.0.0.1:7379", "s.yaml"}, false},
		{[]string{"run", "s.yaml", "--address", "10.0.0.1:7379"}, false},
		{[]string{"run", "--", "--address"}, true},
		{[]string{"status", "--address", "10.0.0.1:7379"}, false},
		{[]string{"stop"}, false},
		{nil, false},
	} {
		if got := simGC(c.args); got != c.tuned {
			t.Errorf("simGC(%q) = %v, want %v", c.args, got, c.tuned)
		}
	}
}
