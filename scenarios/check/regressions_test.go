package check

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"raysim/scenarios"
)

// knownFailures are regression scenarios (testdata/*.yaml) that the fault
// search found and that still fail; each names its cause. A scenario not
// listed here must pass every invariant. When a fix lands, delete its line:
// the test then guards the fix.
var knownFailures = map[string]string{}

func TestRegressions(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no regression scenarios: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			if why, ok := knownFailures[name]; ok {
				t.Skip(why)
			}
			s, err := scenarios.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, f, err := Execute(context.Background(), s); err != nil {
				t.Fatal(err)
			} else if f != nil {
				t.Fatalf("%v\nreplay: go run ./cmd/raysim run scenarios/check/%s", f, path)
			}
		})
	}
}

// TestKnownFailuresStillFail keeps the known list honest: each listed
// scenario exists and loads; run with -v it says which still fail and which
// pass now (then the bug is fixed: move it out of knownFailures).
func TestKnownFailuresStillFail(t *testing.T) {
	for name := range knownFailures {
		t.Run(name, func(t *testing.T) {
			s, err := scenarios.Load(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, f, err := Execute(context.Background(), s, Correct, AllowedErrors, Liveness, NoPhantomObjects)
			if err != nil {
				t.Fatal(err)
			}
			if f == nil {
				// Not an error: runtime/ is being fixed concurrently.
				t.Logf("%s passes now: the bug looks fixed; remove it from knownFailures so TestRegressions guards it", name)
			} else {
				t.Logf("still fails: %v", f)
			}
		})
	}
}
