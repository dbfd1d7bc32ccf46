package scenarios_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Every shipped scenario (scenarios/*.yaml) documents its short form in a
// comment line
//
//	# short: path=value path=value ...
//
// the --set overrides that shrink it to a test-sized run. TestShipped loads
// each file with them, runs it, requires every expectation to hold, and runs
// it again with the same seed to require the same digest.

// shippedSkips are the scenarios that cannot pass until a runtime feature
// lands, with the feature. Their expectations stay as they should be; set
// RAYSIM_SHIPPED_ALL=1 to run them anyway.
var shippedSkips = map[string]string{}

// shortForm reads the "# short:" overrides of a scenario file.
func shortForm(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sets []string
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "# short:"); ok {
			found = true
			sets = append(sets, strings.Fields(rest)...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s: no '# short:' line (the overrides that make it test-sized; may be empty)", path)
	}
	return sets
}

func TestShipped(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 17 {
		t.Fatalf("found %d shipped scenarios, want at least 17: %v", len(files), files)
	}
	all := os.Getenv("RAYSIM_SHIPPED_ALL") != ""
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			sets := shortForm(t, file)
			// The full form must load too (it is what users run).
			if _, err := scenarios.Load(file); err != nil {
				t.Fatalf("full form: %v", err)
			}
			if reason, ok := shippedSkips[file]; ok && !all {
				t.Skip(reason)
			}
			digest := func() *runner.Result {
				s, err := scenarios.LoadWithOverrides(file, sets)
				if err != nil {
					t.Fatalf("short form %v: %v", sets, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
				defer cancel()
				r, err := runner.Run(ctx, s, runner.Options{})
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				return r
			}
			r := digest()
			for _, e := range r.Expectations {
				if !e.OK {
					t.Errorf("expectation %s failed: %s", e.Name, e.Detail)
				}
			}
			if len(r.Expectations) == 0 {
				t.Errorf("no expectations: every shipped scenario states what must hold")
			}
			if t.Failed() {
				t.Logf("replay: go run ./cmd/raysim run scenarios/%s --set %s", file, strings.Join(sets, " --set "))
				return
			}
			if again := digest(); again.Digest != r.Digest {
				t.Errorf("same seed, different digests: %s then %s", r.Digest, again.Digest)
			}
			t.Logf("%.3fs virtual, %.3fs wall, %d tasks, digest %s", r.VirtualSeconds, r.WallSeconds, r.TasksCompleted, r.Digest)
		})
	}
}

// TestFaultSweep runs the fault scenarios (and the quickstart, which crashes
// a worker) in their short form under many seeds: every seed draws other
// latencies, losses and arrival times, so each is a different interleaving
// of the same faults. Zero violations is the bar. RAYSIM_SWEEP_SEEDS raises
// the count (the CLI does the same: raysim sweep FILE --seeds 1-1000).
func TestFaultSweep(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 5
	}
	if n, err := strconv.Atoi(os.Getenv("RAYSIM_SWEEP_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	files, err := filepath.Glob("fault-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fault scenarios: %v", err)
	}
	files = append(files, "quickstart.yaml", "cancel.yaml")
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			sets := shortForm(t, file)
			for seed := 1; seed <= seeds; seed++ {
				s, err := scenarios.LoadWithOverrides(file, append(sets, fmt.Sprintf("seed=%d", seed)))
				if err != nil {
					t.Fatal(err)
				}
				// Even seeds also turn the runtime's BUGGIFY fault points on.
				bug := seed%2 == 0
				r, err := runner.Run(context.Background(), s, runner.Options{Buggify: bug})
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if !r.OK {
					for _, e := range r.Expectations {
						if !e.OK {
							t.Errorf("seed %d: %s: %s", seed, e.Name, e.Detail)
						}
					}
					flag := ""
					if bug {
						flag = " --buggify"
					}
					t.Fatalf("replay: go run ./cmd/raysim run scenarios/%s --seed %d%s --set %s", file, seed, flag, strings.Join(sets, " --set "))
				}
			}
		})
	}
}
