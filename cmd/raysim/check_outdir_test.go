package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Guards `raysim check -o ""` (a script's unset $DIR). check.Gen reads an
// empty Dir as its library default, testdata/failures, so the failing
// scenarios went there (into whatever Go package one ran from), while the
// summary's "wrote N failing scenarios to DIR" took -o as given and named
// the current directory: the files were not where it said. Right: an
// empty -o is a usage error (exit 2), like any flag given nothing, and the
// search does not run.
func TestCheckEmptyOutDirRefused(t *testing.T) {
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "-o", "")
	if code != exitUsage {
		t.Errorf("check -o \"\": exit %d, want %d (usage)\n%s%s", code, exitUsage, out, errOut)
	}
	if !strings.Contains(errOut, "-o") {
		t.Errorf("the error does not name -o: %q", errOut)
	}
	if _, err := os.Stat("testdata/failures"); err == nil {
		os.RemoveAll("testdata/failures")
		t.Errorf("check -o \"\" wrote to testdata/failures")
	}
}

// Guards `raysim check -o` naming a file or an unwritable place (QA): the
// search ran and shrank, then failed to write and printed only the mkdir
// error, exit 2: the failure was lost and the scenario blamed. Right: -o
// is checked before the search (exit 2, naming -o); a path not there yet
// under a writable directory is fine (made when a failure is found).
func TestCheckUnusableOutDirRefusedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{file, filepath.Join(file, "sub")} {
		code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off", "-o", o)
		if code != exitUsage || !strings.Contains(errOut, "-o "+o) || strings.Contains(out, "PASS") {
			t.Errorf("check -o %s: exit %d, stdout %q, stderr %q; want 2 before any run, naming -o", o, code, out, errOut)
		}
	}
	fresh := filepath.Join(dir, "new", "failures")
	// (expect={}: the note that expect is not checked goes to stderr.)
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off", "-o", fresh, "--set", "expect={}")
	if code != exitOK || errOut != "" {
		t.Errorf("check -o %s (not there yet): exit %d\n%s%s; want a pass and, with --progress off, nothing on stderr", fresh, code, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the checks left files behind: %v", entries)
	}
}

// Guards check's flag errors (QA): one message listed every rule without
// naming the flag given wrong, and a seed near the top of int64 wrapped
// to negative seeds for the later runs. Each bad flag is named with what
// it wants; a seed whose runs would overflow is refused.
func TestCheckFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{[]string{"--runs", "0"}},
		{[]string{"--max-failures", "-1"}},
		{[]string{"--horizon", "-1s"}}, // 0: the fault-free run time
		{[]string{"--settle", "-1s"}},
		{[]string{"--max-faults", "-2"}},
		{[]string{"--shrink-budget", "-1"}},
	} {
		code, _, errOut := call(t, append([]string{"check", "testdata/tiny.yaml"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.args[0]+" "+tc.args[1]+": want") {
			t.Errorf("check %v: exit %d, stderr %q; want 2 naming the flag", tc.args, code, errOut)
		}
	}
	code, _, errOut := call(t, "check", "testdata/tiny.yaml", "--seed", "9223372036854775807", "--runs", "2")
	if code != exitUsage || !strings.Contains(errOut, "want at most 9223372036854775806") {
		t.Errorf("check at the top seed: exit %d, stderr %q", code, errOut)
	}
}
