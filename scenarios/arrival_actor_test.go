package scenarios

import (
	"strings"
	"testing"
)

// Guards that an arrival the generator cannot honour is refused, not
// ignored. The rl and parameter-server drivers create their actors and run
// their rounds (workers) at once: they never call the arrival schedule
// (workload.driver.gap), so `arrival: {kind: rate, rate: 1/s}` on such an
// entry loaded, was checked (its rate against the drivers), and had no
// effect at all on the run. Right: for those generators a rate or poisson
// arrival is an error at the arrival; burst (the default) stays allowed.
func TestArrivalRefusedWhereIgnored(t *testing.T) {
	for _, gen := range []string{"rl", "parameter-server"} {
		for _, arr := range []string{"{kind: rate, rate: 1/s}", "{kind: poisson, rate: 5/s}"} {
			src := "cluster:\n  nodes: [{name: n, cpus: 4}]\nworkload:\n  - {generator: " + gen + ", arrival: " + arr + "}\n"
			_, err := Parse("t.yaml", []byte(src))
			if err == nil {
				t.Errorf("%s with arrival %s: loaded, and the arrival has no effect on its run", gen, arr)
				continue
			}
			if !strings.Contains(err.Error(), "t.yaml:4:") || !strings.Contains(err.Error(), "workload.0.arrival") {
				t.Errorf("%s with arrival %s: error not at the arrival: %v", gen, arr, err)
			}
		}
		for _, arr := range []string{"burst", "{kind: burst}"} {
			src := "cluster:\n  nodes: [{name: n, cpus: 4}]\nworkload:\n  - {generator: " + gen + ", arrival: " + arr + "}\n"
			if _, err := Parse("t.yaml", []byte(src)); err != nil {
				t.Errorf("%s with arrival %s: %v", gen, arr, err)
			}
		}
	}
}
