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
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "1", "--progress", "off", "-o", fresh)
	if code != exitOK || errOut != "" {
		t.Errorf("check -o %s (not there yet): exit %d\n%s%s; want a pass and, with --progress off, nothing on stderr", fresh, code, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the checks left files behind: %v", entries)
	}
}
