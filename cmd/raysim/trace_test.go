package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"raysim/traces"
)

// Every command that reads a trace exits 2 for a trace it cannot read —
// missing, a directory, not a trace, truncated, corrupt — and replay keeps
// exit 1 for a divergence, so a CI job can tell the two apart.
func TestBadTraceExitsTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.trace")
	if code, out, errOut := call(t, "run", "testdata/tiny.yaml", "--trace", good, "-q"); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0xff
	bad := map[string]string{
		"missing":   filepath.Join(dir, "missing.trace"),
		"directory": dir,
		"not trace": write("notes.txt", []byte("not a trace at all\n")),
		"truncated": write("cut.trace", data[:len(data)*2/3]),
		"corrupt":   write("corrupt.trace", corrupt),
	}
	for what, path := range bad {
		for _, cmd := range [][]string{{"analyze"}, {"replay"}, {"trace", "export"}, {"trace", "stats"}} {
			args := append(append([]string(nil), cmd...), path)
			if cmd[0] == "trace" && cmd[1] == "export" {
				args = append(args, "-o", filepath.Join(dir, "out.json"))
			}
			code, out, errOut := call(t, args...)
			if code != exitUsage || strings.Contains(out, "DIVERGED") {
				t.Errorf("%s of a %s trace: exit %d, want 2\nstdout: %.300s\nstderr: %.300s", strings.Join(cmd, " "), what, code, out, errOut)
			}
		}
	}
	// A readable trace whose run differs (its first record dropped):
	// a divergence, exit 1.
	r, err := traces.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	div := filepath.Join(dir, "div.trace")
	w, err := traces.Create(div, *r.Header(), traces.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := traces.NewRecorder(w)
	for i := 0; r.Next(); i++ {
		if i > 0 {
			rec.Write(r.Record())
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := call(t, "replay", div)
	if code != exitFailed || !strings.Contains(out, "DIVERGED") {
		t.Errorf("replay of a diverging trace: exit %d, want 1\nstdout: %.300s\nstderr: %.300s", code, out, errOut)
	}
	if code, out, errOut := call(t, "replay", good); code != exitOK {
		t.Errorf("replay of the good trace: exit %d\nstdout: %.300s\nstderr: %.300s", code, out, errOut)
	}
}
