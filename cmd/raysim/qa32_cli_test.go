package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"raysim/runtime/transport"
	"raysim/traces"
)

// TestVersionCommand (qa32 #20): raysim version and raysim --version
// print the version traces stamp and the wire protocol; --json has them
// as fields. Fails before: unknown command, exit 2.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := call(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d, stderr %s", args, code, errOut)
		}
		for _, want := range []string{"raysim " + traces.RaysimVersion() + "\n", "protocol " + strconv.Itoa(transport.ProtocolVersion) + "\n", "go "} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in\n%s", args, want, out)
			}
		}
	}
	code, out, _ := call(t, "version", "--json")
	if code != exitOK {
		t.Fatalf("version --json: exit %d", code)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	if v.Version != traces.RaysimVersion() || v.Protocol != transport.ProtocolVersion || v.Module != "raysim" {
		t.Errorf("version --json: %+v", v)
	}
	if code, _, _ := call(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d, want 2", code)
	}
}

// TestBadFlagValueShortUsage (qa32 #21): a bad flag or flag value prints
// the error and a one-line hint, not the whole usage after it (where the
// error scrolled away), for every command; -h still prints the usage.
// Fails before: the 40-line usage followed the error.
func TestBadFlagValueShortUsage(t *testing.T) {
	for _, args := range [][]string{
		{"run", "x.yaml", "--seed", "abc"},
		{"sweep", "x.yaml", "--bogus"},
		{"validate", "--bogus", "x.yaml"},
		{"check", "x.yaml", "--runs", "many"},
		{"replay", "x.trace", "--bogus"},
		{"analyze", "x.trace", "--bogus"},
		{"trace", "stats", "--bogus", "x.trace"},
		{"bench", "--bogus"},
		{"status", "--bogus"},
	} {
		code, out, errOut := call(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "raysim "+args[0]) || !strings.HasPrefix(lines[1], "Run 'raysim ") {
			t.Errorf("%v: want the error and a hint, got stdout %q stderr:\n%s", args, out, errOut)
		}
	}
	code, _, errOut := call(t, "run", "-h")
	if code != exitOK || !strings.Contains(errOut, "Usage: raysim run") || !strings.Contains(errOut, "-seed") {
		t.Errorf("run -h: exit %d, stderr %s", code, errOut)
	}
}

// TestCheckKeepFaultsBaselineWording (qa32 #17): with --keep-faults the
// run before the search has the file's own faults, and the summary says
// so instead of calling it the fault-free run time; --json has
// kept_faults. Fails before: "the scenario's fault-free run time".
func TestCheckKeepFaultsBaselineWording(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "2", "--progress", "off", "-o", t.TempDir(), "--keep-faults")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "the scenario's run time with only its own faults (--keep-faults)") || strings.Contains(out, "fault-free run time") {
		t.Errorf("summary:\n%s", out)
	}
	code, out, errOut = call(t, "check", "testdata/tiny.yaml", "--runs", "2", "--progress", "off", "-o", t.TempDir(), "--keep-faults", "--json")
	if code != exitOK || !strings.Contains(out, `"kept_faults": true`) {
		t.Errorf("exit %d, --json:\n%s\n%s", code, out, errOut)
	}
	code, out, _ = call(t, "check", "testdata/tiny.yaml", "--runs", "2", "--progress", "off", "-o", t.TempDir())
	if code != exitOK || !strings.Contains(out, "fault-free run time") {
		t.Errorf("without --keep-faults: exit %d\n%s", code, out)
	}
}

// TestOutputErrorsNameTheOutput (qa32 #16): a --chrome write failure names
// the --chrome file, not the temporary trace it is exported from, and
// analyze checks -o before analyzing (as run and check probe theirs).
// Fails before: "/tmp/raysim-NNN.trace: write /dev/full: ..."; analyze
// printed every table, then "mkdir ...: not a directory", exit 1.
func TestOutputErrorsNameTheOutput(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	code, out, errOut := call(t, "run", "-q", "testdata/tiny.yaml", "--chrome", "/dev/full")
	if code != exitFailed || !strings.HasPrefix(out, "PASS tiny") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "writing --chrome /dev/full: ") || strings.Contains(errOut, "raysim-") || !strings.Contains(errOut, "exit 1 for its output") {
		t.Errorf("stderr: %s", errOut)
	}

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = call(t, "analyze", "testdata/no-such.trace", "-o", notDir)
	if code != exitUsage || out != "" || !strings.Contains(errOut, "-o "+notDir+": not a directory") {
		t.Errorf("analyze -o FILE: exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}
}

// TestRunSeedConflict (qa32 #24): --seed and a --set seed= that disagree
// are refused (the --set was dropped without a word); agreeing, they run.
// Fails before: exit 0, seed 3.
func TestRunSeedConflict(t *testing.T) {
	t.Parallel()
	code, _, errOut := call(t, "run", "-q", "testdata/tiny.yaml", "--seed", "3", "--set", "seed=5")
	if code != exitUsage || !strings.Contains(errOut, "--seed 3 and --set seed=5 disagree") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
	if code, out, errOut := call(t, "run", "-q", "testdata/tiny.yaml", "--seed", "3", "--set", "seed=3"); code != exitOK || !strings.HasPrefix(out, "PASS tiny seed=3") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestRunJSONHasVersion (qa32 #20): run --json says which binary ran it
// (raysim_version, as raysim version prints). Fails before: no field.
func TestRunJSONHasVersion(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var r struct {
		Version string `json:"raysim_version"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Version != traces.RaysimVersion() {
		t.Errorf("raysim_version %q (err %v)", r.Version, err)
	}
}
