package check_test

import (
	"context"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"raysim/scenarios"
	"raysim/scenarios/check"
)

// A researcher's property test for a scheduling policy under faults: random
// clusters, workloads and fault schedules, the default invariants, the
// minimal failing scenario written to a directory with its replay command.
func Example_property() {
	testPolicy := func(t *testing.T) {
		g := check.DefaultGen()
		g.Policies = []string{"locality-aware"} // the policy under test
		g.Dir = "testdata/failures"             // kept after the test (not t.TempDir(), which goes with it)
		rapid.Check(t, func(rt *rapid.T) { check.Property(rt, g) })
	}
	_ = testPolicy // in a _test.go file: func TestLocalityAwareUnderFaults(t *testing.T) { ... }
}

// The same search outside go test (what `raysim check` does): random fault
// schedules around a scenario's cluster and workload.
func ExampleSearch() {
	base, err := scenarios.Load("../quickstart.yaml")
	if err != nil {
		panic(err)
	}
	g := check.Gen{Base: base, FaultKinds: []string{scenarios.PauseNode}, Dir: "testdata/failures"}
	found, err := check.Search(context.Background(), check.SearchConfig{Gen: g, Runs: 3, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(found), "failures")
	for _, f := range found {
		fmt.Println(f, f.Replay())
	}
	// Output: 0 failures
}
