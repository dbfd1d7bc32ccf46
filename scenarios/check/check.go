package check

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"pgregory.net/rapid"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Case wraps a generated scenario so that rapid logs it as its YAML file.
type Case struct{ Scenario *scenarios.Scenario }

// GoString is the scenario's canonical YAML.
func (c Case) GoString() string {
	data, err := c.Scenario.Marshal()
	if err != nil {
		return fmt.Sprintf("<scenario %s: %v>", c.Scenario.Name, err)
	}
	return "\n" + string(data)
}

// Failure is an invariant a scenario's run violated.
type Failure struct {
	Scenario  *scenarios.Scenario
	Invariant string
	Err       error
	Result    *runner.Result
	// File is where the scenario was written ("" if it was not), as the
	// replay command names it (see Replay); Path is its absolute path.
	File, Path string
	// Minimal: Shrink ran to its end (no one-step simplification of the
	// scenario fails); false when it was not shrunk, or its budget or an
	// interrupt stopped it first.
	Minimal bool
	// foreign: File was written from outside raysim's module (a property
	// test in the user's own module), so the replay runs raysim's CLI by
	// its package path, on the absolute file.
	foreign bool
	// tool: that module's go.mod has raysim's CLI as a tool (`tool
	// raysim/cmd/raysim`, go get -tool), so the replay is `go tool raysim
	// run /ABS/FILE`, which survives go mod tidy.
	tool bool
	// baseExpect is the expect section of the scenario the search was
	// drawn around (Gen.Base), as YAML lines, which Write leaves out of
	// the file and shows in its header as comments ("" for none).
	baseExpect string
}

// Error names the invariant, the scenario and its seed, and the violation.
func (f *Failure) Error() string {
	return fmt.Sprintf("invariant %s violated (scenario %s, seed %d): %v", f.Invariant, f.Scenario.Name, f.Scenario.Seed, f.Err)
}

// Replay is the command that replays the written scenario: from raysim's
// module root, `go run ./cmd/raysim run FILE`; for a failure written from
// another module (a property test of the user's own, which requires
// raysim), to be run from that module, `go tool raysim run /ABS/FILE` when
// its go.mod has raysim's CLI as a tool (go get -tool raysim/cmd/raysim),
// else `go run raysim/cmd/raysim run /ABS/FILE` (which needs the CLI's
// dependencies in go.sum: go mod tidy drops them from a module that does
// not import the CLI; see ToolHint).
//
// A scenario naming a policy or workload of the program's own
// (scenarios.Extensions) replays from Go only: Replay says how.
func (f *Failure) Replay() string {
	if f.File == "" {
		return ""
	}
	if usesExtensions(f.Scenario) {
		return "from Go: scenarios.LoadWith(" + strconv.Quote(f.File) + ", nil, ext) with the same Extensions, then runner.Run (the raysim command knows only the built-ins)"
	}
	if f.foreign && f.tool {
		return "go tool raysim run " + ShellQuote(f.File)
	}
	if f.foreign {
		return "go run raysim/cmd/raysim run " + ShellQuote(f.File)
	}
	return "go run ./cmd/raysim run " + ShellQuote(f.File)
}

// usesExtensions reports whether s names a policy or workload of the
// program's own, which the raysim command cannot run.
func usesExtensions(s *scenarios.Scenario) bool {
	ext := s.Extensions()
	return ext != nil && (ext.Policy(s.Cluster.Scheduler.Policy) != nil || slices.ContainsFunc(s.Workload, func(w scenarios.Workload) bool {
		return ext.Workload(w.Generator) != nil
	}))
}

// ShellQuote quotes an argument for a POSIX shell when it needs it (the
// replay commands printed here and by raysim sweep).
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Execute runs a scenario in netsim and checks the invariants (all of
// DefaultInvariants when none are given), in order; the first violated one
// is returned as a Failure. The error is for runs that could not happen.
func Execute(ctx context.Context, s *scenarios.Scenario, invs ...Invariant) (*Run, *Failure, error) {
	if len(invs) == 0 {
		invs = DefaultInvariants()
	}
	ev := newEvents()
	res, err := runner.Run(ctx, s, runner.Options{OnEvent: ev.runtime, OnNetEvent: ev.net})
	if err != nil {
		return nil, nil, err
	}
	r := &Run{Scenario: s, Result: res, Events: ev, ctx: ctx}
	for _, inv := range invs {
		if err := inv.Check(r); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				// Interrupted (deterministic's rerun cut short): no verdict.
				return nil, nil, cerr
			}
			return r, &Failure{Scenario: s, Invariant: inv.Name, Err: err, Result: res}, nil
		}
	}
	return r, nil, nil
}

// Property is a rapid property: it draws a scenario from g, runs it and
// checks the invariants (DefaultInvariants when none are given). On a
// violation it writes the scenario to g.Dir/g.Name.yaml (each failing case
// overwrites it, so once rapid has shrunk the case the file holds the
// minimal one) and fails t with the violation and the replay command.
//
//	rapid.Check(t, func(rt *rapid.T) { check.Property(rt, check.DefaultGen()) })
func Property(t *rapid.T, g Gen, inv ...Invariant) {
	if err := g.Validate(); err != nil {
		t.Fatalf("%v", err)
	}
	g = g.withDefaults()
	s := rapid.Map(g.Scenario(), func(s *scenarios.Scenario) Case { return Case{s} }).Draw(t, "scenario").Scenario
	_, f, err := Execute(context.Background(), s, inv...)
	if err != nil {
		t.Fatalf("check: run: %v", err)
	}
	if f == nil {
		return
	}
	f = dropUnreached(context.Background(), f, inv)
	f.baseExpect = expectBlock(g.Base)
	if _, werr := Write(g.Dir, g.Name, f); werr != nil {
		t.Fatalf("%v\n(writing the scenario failed: %v)", f, werr)
	}
	t.Fatalf("%v\nminimal failing scenario: %s\nreplay: %s%s", f, f.File, f.Replay(), f.ToolHint())
}

// dropUnreached returns f with the faults its scenario writes for after
// its run's end removed (never injected: the run ended first), when the
// scenario without them still violates the same invariant; else f as it
// is (Write's header then names them as not injected). rapid shrinks the
// choices it drew, which cannot drop such a fault: the minimal case kept
// a kill_actor at 853ms of a run that ended at 113ms.
func dropUnreached(ctx context.Context, f *Failure, invs []Invariant) *Failure {
	late := unreached(f)
	if len(late) == 0 {
		return f
	}
	c := clone(f.Scenario)
	c.Faults = slices.DeleteFunc(c.Faults, func(fl scenarios.Fault) bool {
		return fl.Kind != scenarios.Random && fl.At > runEnd(f)
	})
	rc, err := Reparse(c)
	if err != nil {
		return f
	}
	_, nf, err := Execute(ctx, rc, same(invs, f.Invariant)...)
	if err != nil || nf == nil || nf.Invariant != f.Invariant {
		return f
	}
	return nf
}

// runEnd is when f's run ended (virtual time; 0 when unknown).
func runEnd(f *Failure) time.Duration {
	if f.Result == nil {
		return 0
	}
	return time.Duration(math.Round(f.Result.VirtualSeconds * 1e9))
}

// unreached lists the faults f's scenario writes for after its run's end
// ("kill_actor sequencer at 853ms"), which the run never injected.
func unreached(f *Failure) []string {
	end := runEnd(f)
	if end <= 0 {
		return nil
	}
	var out []string
	for _, fl := range f.Scenario.Faults {
		if fl.Kind == scenarios.Random || fl.At <= end {
			continue
		}
		what := fl.Kind
		for _, o := range f.Result.Faults {
			if o.Kind == fl.Kind && !o.Injected && o.Target != "" && math.Abs(o.At-fl.At.Seconds()) < 1e-9 {
				what += " " + o.Target
				break
			}
		}
		out = append(out, what+" at "+scenarios.FormatDuration(fl.At))
	}
	return out
}

// ToolHint is what to do when the replay of a failure written from another
// module fails after go mod tidy ("missing go.sum entry ... imported by
// raysim/cmd/raysim": tidy drops the CLI's dependencies from a module that
// only imports raysim's packages): add the CLI as a tool. "" when the
// module has it already, or the failure was written in raysim's module.
func (f *Failure) ToolHint() string {
	if f.File == "" || !f.foreign || f.tool {
		return ""
	}
	return "\n(if that fails with \"missing go.sum entry\" after go mod tidy: go get -tool raysim/cmd/raysim, then go tool raysim run " + ShellQuote(f.File) + ")"
}

// Write saves the failure's scenario (canonical YAML, with its seed) as
// dir/name.yaml, headed by comments naming the violation and the replay
// command, and sets f.File (relative to raysim's module root when run from
// inside raysim's module and the file is in it, else absolute: see
// Failure.Replay). The file expects only what the search checked: the
// violated invariant (expect.invariants, when it is a built-in one, which
// `raysim run` checks), so that its replay fails on the violation and on
// nothing the search never evaluated; a base scenario's own expectations
// are left out, shown as comments in the header.
func Write(dir, name string, f *Failure) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// The scenario's name may hold a path separator (name: paper/fig10a):
	// the file is one in dir all the same.
	path := filepath.Join(dir, strings.NewReplacer("/", "-", `\`, "-").Replace(name)+".yaml")
	s := *f.Scenario
	s.Name = name
	s.Description = fmt.Sprintf("Found by raysim's property-based fault search: invariant %s violated: %v", f.Invariant, f.Err)
	s.Expect = scenarios.Expect{}
	if _, known := ByName(f.Invariant); known {
		// Its replay (raysim run) checks the invariant, so it shows the
		// violation.
		s.Expect.Invariants = []string{f.Invariant}
	}
	data, err := s.Marshal()
	if err != nil {
		return "", err
	}
	f.File, f.foreign, f.tool = displayPath(path)
	if f.Path, err = filepath.Abs(path); err != nil {
		f.Path = path
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# A failing case found by property-based fault testing (scenarios/check).\n")
	fmt.Fprintf(&b, "# invariant: %s\n", f.Invariant)
	for _, line := range strings.Split(f.Err.Error(), "\n") {
		fmt.Fprintf(&b, "#   %s\n", line)
	}
	if usesExtensions(&s) {
		fmt.Fprintf(&b, "# It names a policy or workload of the program's own (scenarios.Extensions).\n")
		fmt.Fprintf(&b, "# replay it %s\n", f.Replay())
	} else {
		fmt.Fprintf(&b, "# replay (from the module root): %s\n", f.Replay())
		if hint := f.ToolHint(); hint != "" {
			fmt.Fprintf(&b, "#   %s\n", strings.TrimPrefix(hint, "\n"))
		}
		fmt.Fprintf(&b, "#   or, with the raysim command installed: raysim run %s\n", ShellQuote(f.Path))
	}
	if f.Result != nil && f.Result.Digest != "" {
		fmt.Fprintf(&b, "# digest of the failing run: %s (its replay prints the same)\n", f.Result.Digest)
	}
	if len(s.Faults) == 0 {
		fmt.Fprintf(&b, "# needs no fault: %s\n", NoFaultNote(s.Seed))
	}
	if late := unreached(f); len(late) > 0 {
		fmt.Fprintf(&b, "# not injected: %s (the run ended at %v first); kept, as the case\n", strings.Join(late, ", "), runEnd(f))
		fmt.Fprintf(&b, "#   without them did not fail the same way\n")
	}
	if _, known := ByName(f.Invariant); !known {
		fmt.Fprintf(&b, "# %s is not a built-in invariant (expect.invariants names only %s):\n", f.Invariant, strings.Join(scenarios.InvariantNames, ", "))
		fmt.Fprintf(&b, "#   raysim run checks nothing of it and may say PASS; its replay shows the run (the digest above), not the verdict\n")
	}
	if f.baseExpect != "" {
		fmt.Fprintf(&b, "# The scenario searched expected more, left out here: the search checks the invariants only\n")
		fmt.Fprintf(&b, "# (not expect), and a replay checks what the search did. Its expectations were:\n")
		for _, line := range strings.Split(strings.TrimRight(f.baseExpect, "\n"), "\n") {
			fmt.Fprintf(&b, "#   %s\n", line)
		}
	}
	b.Write(data)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// expectBlock is s's expect section as YAML lines ("" when s is nil or
// expects nothing).
func expectBlock(s *scenarios.Scenario) string {
	if s == nil || reflect.DeepEqual(s.Expect, scenarios.Expect{}) {
		return ""
	}
	only := scenarios.Scenario{Expect: s.Expect}
	data, err := only.Marshal()
	if err != nil {
		return ""
	}
	text := string(data)
	i := strings.Index(text, "\nexpect:")
	if i < 0 {
		return ""
	}
	return text[i+1:]
}

// HasExpectations reports whether s's expect section expects anything,
// which the fault search does not check (raysim check warns of it).
func HasExpectations(s *scenarios.Scenario) bool { return expectBlock(s) != "" }

// NoFaultNote says what a failure without faults is: not a fault bug. A
// search's base passed without faults at its own seed (Baseline), so the
// scenario fails at this other seed with none: a bug outside fault
// tolerance, or work whose run time varies with the seed beyond the
// liveness bound.
func NoFaultNote(seed int64) string {
	return fmt.Sprintf("the scenario fails at seed %d without any fault, so this is no fault-tolerance bug: "+
		"a bug that needs no fault, or (a liveness violation) work that takes longer at this seed than the bound allows "+
		"(raise --settle, Gen.Settle, or duration_limit)", seed)
}

// displayPath is path relative to raysim's module root when the current
// directory is inside raysim's module (the replay runs from its root), and
// absolute otherwise; foreign reports the second case when the current
// directory is inside another Go module, tool that this module has
// raysim's CLI as a tool (see Failure.Replay).
func displayPath(path string) (shown string, foreign, tool bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, false, false
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs, false, false
	}
	root, module, tool := moduleOf(wd)
	if root == "" {
		return abs, false, false
	}
	if module != "raysim" {
		return abs, true, tool
	}
	if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel, false, false
	}
	return abs, false, false
}

// cliPackage is raysim's command, as a go.mod tool directive names it.
const cliPackage = "raysim/cmd/raysim"

// moduleOf finds the Go module enclosing dir: its root and its module
// path ("" and "" when there is none), and whether its go.mod names
// raysim's CLI in a tool directive (`tool raysim/cmd/raysim`, or a line
// of a `tool (...)` block).
func moduleOf(dir string) (root, module string, tool bool) {
	for ; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			inTools := false
			for _, line := range strings.Split(string(data), "\n") {
				if i := strings.Index(line, "//"); i >= 0 {
					line = line[:i]
				}
				f := strings.Fields(line)
				switch {
				case len(f) >= 2 && f[0] == "module":
					module = strings.Trim(f[1], `"`)
				case len(f) == 2 && f[0] == "tool" && f[1] == "(":
					inTools = true
				case inTools && len(f) == 1 && f[0] == ")":
					inTools = false
				case len(f) == 2 && f[0] == "tool" && strings.Trim(f[1], `"`) == cliPackage,
					inTools && len(f) == 1 && strings.Trim(f[0], `"`) == cliPackage:
					tool = true
				}
			}
			return dir, module, tool
		}
		if filepath.Dir(dir) == dir {
			return "", "", false
		}
	}
}
