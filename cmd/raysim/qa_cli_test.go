package main

import (
	"os"
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
