// Command raysim runs Ray's core — tasks, actors, the GCS, the bottom-up
// scheduler, object stores — in a deterministic network simulator (or over
// real TCP), driven by scenario files.
//
// Usage:
//
//	raysim run FILE... [flags]       run scenarios (in the simulator by default)
//	raysim validate FILE...          load and check scenarios only
//	raysim sweep FILE --seeds RANGE  run one scenario under many seeds in parallel
//	raysim check FILE [flags]        search random fault schedules for invariant violations
//	raysim replay TRACE [flags]      re-run a trace's scenario and compare it event by event
//	raysim trace export|stats TRACE  export a trace (Chrome, JSON lines, OpenTelemetry) or count its events
//	raysim analyze TRACE [TRACE]     metrics, plots and an HTML report of a trace, or two side by side
//	raysim bench [flags]             the microbenchmarks, the simulator's scale runs, ES
//	raysim calibrate [flags]         measure this machine's costs; check the simulator's fidelity
//	raysim start --head|--address    start a head, or join a node to a live TCP cluster
//	raysim status --address ADDR     list a live cluster's nodes, resources and load
//	raysim stop                      stop what raysim start --detach started here
//	raysim version                   this binary's version, VCS revision and wire protocol
//	raysim help [COMMAND]            show help
//
// Exit status: 0 on success (every expectation holds), 1 when a run fails
// its expectations or a command fails, 2 for bad flags or bad input (a
// scenario or trace that cannot be read); each command's help says which.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
)

// Exit codes (a contract for scripts).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by the init functions of the command files.
var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	if simGC(os.Args[1:]) {
		tuneGC()
	}
	stop, err := startProfile(os.Getenv("RAYSIM_CPUPROFILE"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "raysim: RAYSIM_CPUPROFILE: %v\n", err)
		os.Exit(exitUsage)
	}
	for _, c := range contentionProfiles {
		if os.Getenv(c.env) != "" {
			c.start()
		}
	}
	code := dispatch(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if path := os.Getenv("RAYSIM_MEMPROFILE"); path != "" {
		if err := writeHeapProfile(path); err != nil {
			fmt.Fprintf(os.Stderr, "raysim: RAYSIM_MEMPROFILE: %v\n", err)
		}
	}
	for _, c := range contentionProfiles {
		if path := os.Getenv(c.env); path != "" {
			if err := writeProfile(c.profile, path); err != nil {
				fmt.Fprintf(os.Stderr, "raysim: %s: %v\n", c.env, err)
			}
		}
	}
	os.Exit(code)
}

// contentionProfiles are the runtime's contention profiles a command can
// write, each sampling every event while its variable names a file:
// RAYSIM_MUTEXPROFILE where goroutines waited for a sync.Mutex (or the
// runtime's own locks, channels' among them) and who held it,
// RAYSIM_BLOCKPROFILE where they blocked (channel operations, selects,
// Cond waits) and for how long. For `go tool pprof`; sampling every event
// slows a TCP cluster down, so time it without them.
var contentionProfiles = []struct {
	env, profile string
	start        func()
}{
	{"RAYSIM_MUTEXPROFILE", "mutex", func() { runtime.SetMutexProfileFraction(1) }},
	{"RAYSIM_BLOCKPROFILE", "block", func() { runtime.SetBlockProfileRate(1) }},
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("%s profile: %w", name, err)
	}
	return f.Close()
}

// writeHeapProfile writes the allocation profile of the whole command (go
// tool pprof -sample_index=alloc_space: where the bytes were allocated).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC() // the profile counts what the last completed collection saw
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// startProfile writes a CPU profile of the whole command to path (for `go
// tool pprof`), when path is set: the simulator's own hot spots, for anyone
// tuning it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// tuneGC trades memory for speed: a simulation allocates a little per event
// and keeps a large live heap (tables, stores), so the default GOGC=100
// spends about half the CPU collecting (BenchmarkSimLocalTasks: 11.0µs per
// task at GOGC=100, 7.9 at 400, 5.6 at 800). At 1000 a run's heap grows
// through fewer collections: the scale run (raysim bench --scale --filter
// '^sim_100nodes_1000000tasks$' --sweep 100 --pending 0 --one-core), in
// four pairs alternating with 400 on a busy machine, was faster in three
// (+12% to +23% events per wall second) and slower in one (-16%): median
// +12%, CPU time median -8%, the same peak RSS (816 MB: its live heap is
// most of it); a small scenario's RSS grows by ~20 MB. A soft memory limit
// keeps the heap bounded all the same. GOGC or GOMEMLIMIT in the
// environment win. Only commands that simulate get it (simGC).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(1000)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(8 << 30)
	}
}

// simGC reports whether the command line args (without the program name)
// runs simulations, which tuneGC speeds up. A long-running daemon
// (`raysim start`) and a driver on a live cluster (`raysim run --address`)
// keep Go's defaults (GOGC=100, no memory limit; GOGC and GOMEMLIMIT in
// the environment as always): for them tuneGC would let the heap grow to
// about 11 times its live size before a collection, bounded only by a
// fixed 8 GiB that ignores the machine's or container's memory (qa31 §4:
// a head holding 11 MB live sat at 166 MB RSS, against 47 MB with the
// default). Commands that only talk to a cluster (status, stop) and are
// short need no tuning either.
func simGC(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "start", "status", "stop":
		return false
	case "run":
		for _, a := range args[1:] {
			if a == "--" {
				break
			}
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if strings.HasPrefix(a, "-") && name == "address" {
				return false
			}
		}
	}
	return true
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-version", "--version", "-V":
		return commands["version"].run(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		if len(args) > 2 {
			fmt.Fprintf(stderr, "raysim help: one command at a time (got %s)\n\n", strings.Join(args[1:], " "))
			usage(stderr)
			return exitUsage
		}
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "raysim help: unknown command %q\n\n", args[1])
				usage(stderr)
				return exitUsage
			}
			return c.run([]string{"-h"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "raysim: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `raysim — Ray's core in Go, simulation-first.

Usage:
  raysim COMMAND [ARGS]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run 'raysim help COMMAND' (or 'raysim COMMAND -h') for a command's flags.

Exit status: 0 on success (every expectation holds), 1 when a run fails
its expectations or a command fails, 2 for bad flags or bad input (a
scenario or trace that cannot be read); each command's help says which.
`)
}

// parseFlags is fs.Parse, but a bad flag or value prints the error and a
// one-line hint ("Run 'raysim run -h' for usage."), not the whole usage
// after it, where the error scrolled away; -h prints the usage as before.
// fs's name is the command's.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, full := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard) // the flag package's own copy of the error
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = full
	switch {
	case errors.Is(err, flag.ErrHelp):
		if full != nil {
			full()
		} else {
			fs.PrintDefaults()
		}
	case err != nil:
		fmt.Fprintf(out, "raysim %s: %v\nRun 'raysim %s -h' for usage.\n", fs.Name(), err, fs.Name())
	}
	return err
}

// multiFlag collects a repeated string flag (--set a=b --set c=d).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// seedFlag is a --seed that must be an integer when given: --seed "$SEED"
// with SEED unset is an error, not the scenario's own seed.
type seedFlag struct{ s *string }

func (f seedFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f seedFlag) Set(v string) error {
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return errors.New("want an integer")
	}
	*f.s = v
	return nil
}

// progressFlag is --progress: auto (on a terminal), on or off; anything else
// is a bad flag, the same for every command that draws progress.
type progressFlag struct{ s *string }

func addProgressFlag(fs *flag.FlagSet, dst *string, what string) {
	*dst = "auto"
	fs.Var(progressFlag{dst}, "progress", what+" `mode`: auto (on a terminal), on, off")
}

func (f progressFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f progressFlag) Set(v string) error {
	switch v {
	case "auto", "on", "off":
		*f.s = v
		return nil
	}
	return errors.New("want auto, on or off")
}

// showProgress reports whether progress goes to w: on, or auto and w a terminal.
func showProgress(mode string, w io.Writer) bool {
	return mode == "on" || (mode == "auto" && isTerminal(w))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
