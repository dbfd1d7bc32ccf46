package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docCommands are the `raysim ARGS` command lines of an indented block of
// a doc, backslash continuations joined, from the first line containing
// from up to the first blank line after a command.
func docCommands(t *testing.T, doc, from string) [][]string {
	t.Helper()
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, from)
	if i < 0 {
		t.Fatalf("%s lacks %q", doc, from)
	}
	var cmds [][]string
	var cur string
	for _, l := range strings.Split(text[i:], "\n") {
		s := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(s, "raysim "):
			cur = s
		case cur != "" && s != "":
			cur += " " + s
		case cur == "" && len(cmds) > 0:
			return cmds
		}
		if cur != "" && !strings.HasSuffix(cur, "\\") {
			cmds = append(cmds, strings.Fields(strings.TrimPrefix(cur, "raysim ")))
			cur = ""
		} else {
			cur = strings.TrimSuffix(cur, "\\")
		}
	}
	return cmds
}

// The scenario reference's first examples pass as written (the second
// one asked the quickstart's four nodes for 100000 tasks within 5s).
func TestDocScenarioIntroExamplesPass(t *testing.T) {
	cmds := docCommands(t, "../../docs/scenarios.md", "Run it with")
	if len(cmds) < 2 {
		t.Fatalf("found %d commands: %q", len(cmds), cmds)
	}
	for _, c := range cmds {
		for i, a := range c {
			if strings.HasPrefix(a, "scenarios/") {
				c[i] = "../../" + a
			}
		}
		if code, out, errOut := call(t, append(c, "-q")...); code != exitOK {
			t.Errorf("raysim %s: exit %d\n%s%s", strings.Join(c, " "), code, out, errOut)
		}
	}
}

// A fault that did nothing is a warning of the result (--json's warnings),
// not only a line on standard error; and warnings name nodes by the
// scenario's names, not "node 3".
func TestRunWarningsInResult(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "run", "../../scenarios/quickstart.yaml", "--set", "workload.0.params.tasks=200", "--json",
		"--set", "faults.2={at: 100ms, restart_node: worker-0}", "--set", "cluster.nodes.1.object_store=2KiB")
	if code == exitUsage {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var r struct{ Warnings []string }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	const noop = "restart_node at 100ms: node worker-0 is up; nothing to restart"
	if !strings.Contains(errOut, noop) {
		t.Errorf("stderr lacks %q: %s", noop, errOut)
	}
	var noopSeen, named bool
	for _, w := range r.Warnings {
		noopSeen = noopSeen || w == noop
		named = named || strings.Contains(w, ": worker-1: object store over capacity")
		if regexp.MustCompile(`: node \d+: `).MatchString(w) {
			t.Errorf("warning names a node by its number: %q", w)
		}
	}
	if !noopSeen || !named {
		t.Errorf("warnings lack the no-op fault (%v) or a node named worker-1 (%v): %q", noopSeen, named, r.Warnings)
	}
}
