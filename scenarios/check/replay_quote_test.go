package check

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"raysim/scenarios"
)

// Guards that the replay command printed for a failure (`raysim check`'s
// "replay:" line and the file's header) runs the file that was written.
// Replay pasted the path into the command unquoted, so a scenario named
// with a space (name: "gcs failover", whose file is
// "gcs failover-7.yaml"), or an -o directory with one outside the module
// (the path is then absolute), gave a command the shell splits into two
// arguments: `raysim run` then looks for files that do not exist. Right:
// the path is one shell word, quoted when it needs it (as sweep's replay
// lines are).
func TestReplayQuotesTheFile(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(interruptBase))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "my failures")
	f := &Failure{Scenario: s, Invariant: "correct", Err: errors.New("made up")}
	path, err := Write(dir, "gcs failover-7", f)
	if err != nil {
		t.Fatal(err)
	}
	// The 5th word of "go run ./cmd/raysim run FILE", as sh reads it.
	out, err := exec.Command("sh", "-c", `eval "set -- $1"; printf %s "$5"`, "sh", f.Replay()).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != path {
		t.Errorf("replay %q: the shell reads its file as %q, want %q", f.Replay(), out, path)
	}
}

// Guards that a failure is written whatever the scenario's name: `raysim
// check` names the file after it (NAME-SEED.yaml), and a name with a slash
// (name: paper/fig10a, which the loader accepts) made Write open a file in
// a directory that does not exist. The search then failed with "no such
// file or directory" and exit status 2, as for a bad scenario, and the
// violation it had found was lost. Right: the file name stands for the
// name without its slashes, and the failure is written.
func TestWriteNameWithSlash(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(interruptBase))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &Failure{Scenario: s, Invariant: "correct", Err: errors.New("made up")}
	path, err := Write(dir, "paper/fig10a-7", f)
	if err != nil {
		t.Fatalf("writing the failure of a scenario named paper/fig10a: %v", err)
	}
	if filepath.Dir(path) != dir {
		t.Errorf("written to %s, want a file in %s", path, dir)
	}
}
