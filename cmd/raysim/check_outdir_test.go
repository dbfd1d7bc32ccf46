package main

import (
	"os"
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
