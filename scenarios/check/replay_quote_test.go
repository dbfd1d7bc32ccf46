package check

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// Guards the replay command of a failure found by a property test in the
// user's own module (QA): it said `go run ./cmd/raysim run FILE` with FILE
// relative to that module's root, but ./cmd/raysim exists only in
// raysim's module, and the path only in the user's: runnable from
// nowhere. Right: from another module, `go run raysim/cmd/raysim run
// /ABS/FILE` (the module requires raysim); from raysim's, as before.
func TestReplayFromAnotherModule(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(interruptBase))
	if err != nil {
		t.Fatal(err)
	}
	mine := t.TempDir()
	if err := os.WriteFile(filepath.Join(mine, "go.mod"), []byte("module example.com/mine\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(mine)
	f := &Failure{Scenario: s, Invariant: "correct", Err: errors.New("made up")}
	path, err := Write("failures", "mine-1", f)
	if err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(mine, "failures", "mine-1.yaml")
	if want := "go run raysim/cmd/raysim run " + ShellQuote(abs); f.Replay() != want {
		t.Errorf("replay from another module: %q, want %q", f.Replay(), want)
	}
	if f.File != abs || path != filepath.Join("failures", "mine-1.yaml") {
		t.Errorf("File %q (path %q), want the absolute %q", f.File, path, abs)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "# replay (from the module root): go run raysim/cmd/raysim run ") {
		t.Errorf("the file's header does not carry the replay command:\n%s", data)
	}
	// qa32 #6: nor only the test's message the go get -tool hint for
	// after go mod tidy (fails before: the header lacked it).
	if !strings.Contains(string(data), "#   (if that fails with \"missing go.sum entry\" after go mod tidy: go get -tool raysim/cmd/raysim") {
		t.Errorf("the file's header does not carry the go get -tool hint:\n%s", data)
	}
}

// QA qa28 item 10: in the user's own module the printed replay, `go run
// raysim/cmd/raysim run FILE`, fails after go mod tidy ("missing go.sum
// entry ... imported by raysim/cmd/raysim": tidy drops the CLI's
// dependencies). Right: with raysim's CLI as a tool of that module (go get
// -tool raysim/cmd/raysim: a tool directive, single or in a block) the
// replay is `go tool raysim run /ABS/FILE`; without, the failure message
// says how to add it.
func TestReplayAsAToolOfAnotherModule(t *testing.T) {
	s, err := scenarios.Parse("base.yaml", []byte(interruptBase))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gomod string
		tool  bool
	}{
		{"module example.com/mine\n\ngo 1.26\n\ntool raysim/cmd/raysim\n", true},
		{"module example.com/mine\n\ngo 1.26\n\ntool (\n\texample.com/other\n\traysim/cmd/raysim // the replays\n)\n", true},
		{"module example.com/mine\n\ngo 1.26\n\n// tool raysim/cmd/raysim\ntool example.com/other\n", false},
	} {
		mine := t.TempDir()
		if err := os.WriteFile(filepath.Join(mine, "go.mod"), []byte(tc.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(mine)
		f := &Failure{Scenario: s, Invariant: "correct", Err: errors.New("made up")}
		if _, err := Write("failures", "mine-1", f); err != nil {
			t.Fatal(err)
		}
		abs := filepath.Join(mine, "failures", "mine-1.yaml")
		want, hint := "go run raysim/cmd/raysim run "+ShellQuote(abs), "go get -tool raysim/cmd/raysim, then go tool raysim run "+ShellQuote(abs)
		if tc.tool {
			want, hint = "go tool raysim run "+ShellQuote(abs), ""
		}
		if f.Replay() != want || !strings.Contains(f.ToolHint(), hint) || (hint == "") != (f.ToolHint() == "") {
			t.Errorf("go.mod %q: replay %q, hint %q; want %q and a hint naming %q", tc.gomod, f.Replay(), f.ToolHint(), want, hint)
		}
	}
}
