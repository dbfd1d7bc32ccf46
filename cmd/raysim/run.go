package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"raysim/runtime/deploy"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/check"
	"raysim/scenarios/runner"
)

func init() {
	register(&command{name: "run", summary: "run scenarios (in the simulator by default)",
		run: cmdRun})
	register(&command{name: "validate", summary: "load and check scenarios without running them",
		run: cmdValidate})
}

type runFlags struct {
	seed      string
	sets      multiFlag
	json      bool
	quiet     bool
	wireCheck bool
	buggify   bool
	tcp       bool
	progress  string
	trace     string
	chrome    string
	traceRaw  bool
	cluster   clusterFlags // --address: run on a live cluster
	headWait  time.Duration
	// liveIDs are the live nodes' IDs in the order of the cluster.nodes
	// override (liveNodes), for the trace header (traces.Header.NodeIDs).
	liveIDs []transport.NodeID
}

func newRunFlags(name string, stderr io.Writer, f *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(seedFlag{&f.seed}, "seed", "override the scenario's seed with `N`")
	fs.Var(&f.sets, "set", "override a scenario key: path=value (repeatable), e.g. workload.0.params.tasks=1000")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per run instead of the summary")
	fs.BoolVar(&f.quiet, "q", false, "print only the verdict line")
	fs.BoolVar(&f.wireCheck, "wire-check", false, "round-trip every message through the wire codec (slower)")
	fs.BoolVar(&f.buggify, "buggify", false, "turn on the runtime's fault points (late replies, spurious retries, short timeouts), chosen by the seed")
	fs.BoolVar(&f.tcp, "tcp", false, "run on an in-process loopback TCP cluster instead of the simulator (wall-clock time; of the faults, only task_errors is applied)")
	addProgressFlag(fs, &f.progress, "progress line")
	fs.StringVar(&f.trace, "trace", "", "record the run's event log to this file (replay it with raysim replay)")
	fs.StringVar(&f.chrome, "chrome", "", "write the run as Chrome trace-event JSON (Perfetto) to this file")
	fs.BoolVar(&f.traceRaw, "trace-uncompressed", false, "store the --trace file uncompressed")
	f.cluster.add(fs)
	fs.DurationVar(&f.headWait, "head-timeout", 10*time.Second, "with --address: end the run with an error once the head has not answered for this long")
	return fs
}

// transport is the run's transport as runner.Result names it: sim, tcp or
// remote.
func (f *runFlags) transport() string {
	switch {
	case f.cluster.address != "":
		return "remote"
	case f.tcp:
		return "tcp"
	}
	return "sim"
}

// check refuses flags that the others given make meaningless, rather than
// ignore them silently: the live cluster's flags without --address,
// --tcp (a loopback cluster of its own) with it, and the simulator's own
// --buggify and --wire-check with either (on TCP every message crosses
// the codec already, and the fault points are the simulator's).
func (f *runFlags) check(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if f.tcp && f.cluster.address != "" {
		return errors.New("--tcp and --address: give one (--tcp runs on a loopback cluster of its own, --address on a live one)")
	}
	if f.tcp || f.cluster.address != "" {
		where := "--tcp"
		if f.cluster.address != "" {
			where = "--address"
		}
		for _, name := range []string{"buggify", "wire-check"} {
			if given[name] {
				return fmt.Errorf("--%s only in the simulator (without --tcp or --address): it would be ignored with %s", name, where)
			}
		}
	}
	if f.cluster.address != "" {
		return nil
	}
	for _, name := range []string{"head-timeout", "token-file", "tls-cert", "tls-key", "tls-ca"} {
		if given[name] {
			return fmt.Errorf("--%s only with --address (it is for a live cluster; without --address the run is in the simulator or, with --tcp, on a loopback cluster)", name)
		}
	}
	return nil
}

// loadScenario loads a file with --seed and --set applied.
func loadScenario(path string, f *runFlags) (*scenarios.Scenario, error) {
	sets := append([]string(nil), f.sets...)
	if f.seed != "" {
		if _, err := strconv.ParseInt(f.seed, 10, 64); err != nil {
			return nil, fmt.Errorf("--seed %q: want an integer", f.seed)
		}
		sets = append(sets, "seed="+f.seed)
	}
	return scenarios.LoadWithOverrides(path, sets)
}

// liveNodes asks a live cluster's head for its nodes and returns them as a
// cluster.nodes override (with their names and IDs, in its order), so that a scenario run there is validated against
// the cluster it runs on: its faults name live nodes by their --name, and
// its demands must fit their resources. (The runner applies no cluster
// section to a live cluster.)
func liveNodes(ctx context.Context, rm runner.Remote) (set string, names []string, ids []transport.NodeID, err error) {
	st, err := deploy.Status(ctx, deploy.QueryConfig{Address: rm.Address, Token: rm.Token, TLS: rm.TLS, Timeout: 5 * time.Second})
	if err != nil {
		return "", nil, nil, fmt.Errorf("ask %s for its nodes: %w", rm.Address, err)
	}
	var nodes []string
	for _, n := range st.Nodes {
		if n.Role == transport.RoleDriver || !n.Alive {
			continue
		}
		res := resMap(n.Total)
		entry := fmt.Sprintf("{name: %s, count: 1, cpus: %g, gpus: %g", strconv.Quote(n.Name), res["CPU"], res["GPU"])
		var custom []string
		for _, k := range slices.Sorted(maps.Keys(res)) {
			if k != "CPU" && k != "GPU" {
				custom = append(custom, fmt.Sprintf("%s: %g", strconv.Quote(k), res[k]))
			}
		}
		if len(custom) > 0 {
			entry += ", resources: {" + strings.Join(custom, ", ") + "}"
		}
		nodes = append(nodes, entry+"}")
		names = append(names, n.Name)
		ids = append(ids, n.Node)
	}
	if len(nodes) == 0 {
		return "", nil, nil, fmt.Errorf("%s has no live node", rm.Address)
	}
	return "cluster.nodes=[" + strings.Join(nodes, ", ") + "]", names, ids, nil
}

// liveNote explains a scenario refused on a live cluster: its node names
// and demands are checked against the live nodes, not its cluster section,
// so a fault naming one of the file's nodes fails though the file is fine.
func liveNote(address string, names []string) string {
	return fmt.Sprintf("raysim run: on --address the scenario is checked against the live cluster at %s, not its cluster section: "+
		"faults must name its live nodes (%s) and demands fit them; clear the file's faults with --set faults= or name live nodes with --set",
		address, strings.Join(names, ", "))
}

// aboutLiveNodes reports whether a load error may come of checking the
// scenario against the live cluster (liveNote): one about its faults, its
// cluster or a workload's demand. Any other (a duration bound, a bad
// parameter) gets no note, which would mislead there.
func aboutLiveNodes(err error) bool {
	var errs scenarios.Errors
	if !errors.As(err, &errs) {
		return true // not a field error: say it, to be safe
	}
	for _, e := range errs {
		f := e.Field
		if strings.HasPrefix(f, "faults") || strings.HasPrefix(f, "cluster") ||
			strings.Contains(f, ".resources") || strings.Contains(f, ".placement_group") || strings.Contains(f, ".drivers") {
			return true
		}
	}
	return false
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	var f runFlags
	fs := newRunFlags("run", stderr, &f)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim run FILE... [flags]

Runs each scenario in the deterministic simulator and prints a summary:
tasks, failures, latency percentiles, throughput, each expectation with its
verdict, and the run's digest (the same scenario and seed always give the
same digest).

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0 when every expectation holds, 1 when one fails (or the run
is interrupted, Ctrl-C, or cannot finish writing its trace), 2 for a bad
scenario or bad flags (an output file that is a scenario file, say).
`)
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "raysim run: no scenario file given")
		fs.Usage()
		return exitUsage
	}
	if err := f.check(fs); err != nil {
		fmt.Fprintf(stderr, "raysim run: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runFiles(ctx, &f, files, stdout, stderr)
}

// runFiles runs each scenario file with the flags f until ctx ends (^C);
// it returns the exit code.
func runFiles(ctx context.Context, f *runFlags, files []string, stdout, stderr io.Writer) int {
	code := exitOK
	var live string // --address: the live cluster's nodes, as a cluster.nodes override
	var liveNames []string
	if f.cluster.address != "" {
		rm, err := f.cluster.remote()
		if err == nil {
			live, liveNames, f.liveIDs, err = liveNodes(ctx, rm)
		}
		if err != nil {
			fmt.Fprintf(stderr, "raysim run: %v\n", err)
			return exitFailed
		}
	}
	// Every file is loaded (--set and --seed applied) before the first
	// run: a bad file or override is reported at once, not after the runs
	// of the files before it.
	loaded := make([]*scenarios.Scenario, len(files))
	for idx, path := range files {
		g := *f
		if live != "" {
			g.sets = append(slices.Clone(f.sets), live)
		}
		s, err := loadScenario(path, &g)
		if err != nil {
			if msg := err.Error(); len(files) > 1 && !strings.Contains(msg, path) {
				fmt.Fprintf(stderr, "%s: %s\n", path, msg) // which of the files (an override's error names none)
			} else {
				fmt.Fprintln(stderr, err)
			}
			if live != "" && aboutLiveNodes(err) {
				fmt.Fprintln(stderr, liveNote(f.cluster.address, liveNames))
			}
			return exitUsage
		}
		loaded[idx] = s
	}
	for idx, path := range files {
		s := loaded[idx]
		loaded[idx] = nil // a run's scenario is not kept past it
		opts := runner.Options{WireCheck: f.wireCheck, Buggify: f.buggify}
		opts.Log = func(format string, args ...any) { // e.g. a fault that matched nothing
			fmt.Fprintf(stderr, "raysim: %s: warning: %s\n", s.Name, fmt.Sprintf(format, args...))
		}
		drawProgress := f.progress == "on" || (showProgress(f.progress, stderr) && !f.json)
		if drawProgress {
			opts.Progress = func(p runner.Progress) {
				fmt.Fprintf(stderr, "\r%s: virtual %-10v tasks %d/%d  %.2fM events/s   ", s.Name,
					p.Virtual.Round(time.Millisecond), p.TasksDone, p.TasksSubmitted, p.EventsPerSec/1e6)
			}
		}
		finishTrace, err := startRunTrace(f, s, idx, files, &opts)
		if err != nil {
			fmt.Fprintf(stderr, "raysim run: %s: %v\n", path, err)
			if errors.Is(err, errBadOutput) {
				return exitUsage
			}
			return exitFailed
		}
		run := check.RunExpect // runner.Run, and the invariants expect names
		if (f.tcp || f.cluster.address != "") && len(s.Expect.Invariants) > 0 {
			fmt.Fprintf(stderr, "raysim run: %s: expect.invariants are checked in the simulator only: not checked on this run\n", path)
		}
		if f.tcp {
			run = runner.RunTCP
		}
		if f.cluster.address != "" {
			rm, err := f.cluster.remote()
			if err != nil {
				fmt.Fprintf(stderr, "raysim run: %v\n", err)
				return exitFailed
			}
			rm.HeadTimeout = f.headWait
			run = func(ctx context.Context, s *scenarios.Scenario, o runner.Options) (*runner.Result, error) {
				return runner.RunRemote(ctx, s, o, rm)
			}
		}
		res, err := run(ctx, s, opts)
		// A run that ended in an error (^C, a runner error) leaves its
		// trace unsealed; one whose expectations fail (!res.OK) finished.
		terr := finishTrace(err)
		if drawProgress {
			fmt.Fprint(stderr, "\r\033[K")
		}
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				// ^C: say so, rather than "context canceled".
				fmt.Fprintf(stderr, "raysim run: %s: interrupted (Ctrl-C) before the run finished: no summary, expectations not checked\n", path)
				if terr != nil {
					fmt.Fprintf(stderr, "raysim run: %s: %v\n", path, terr)
				}
				return exitFailed
			}
			fmt.Fprintf(stderr, "raysim run: %s: %v\n", path, err)
			if terr != nil {
				fmt.Fprintf(stderr, "raysim run: %s: %v\n", path, terr)
			}
			if errors.Is(err, runner.ErrBadScenario) {
				return exitUsage
			}
			return exitFailed
		}
		if terr != nil {
			fmt.Fprintf(stderr, "raysim run: %s: %v\n", path, terr)
			code = exitFailed
		} else if len(files) > 1 {
			// Several files: each run's --trace and --chrome file is
			// named after the flag's, its index and its scenario.
			for _, p := range []string{f.trace, f.chrome} {
				if p != "" {
					fmt.Fprintf(stderr, "raysim run: %s: wrote %s\n", path, perRunPath(p, idx, len(files), s.Name))
				}
			}
		}
		switch {
		case f.json:
			enc := json.NewEncoder(stdout)
			enc.Encode(res)
		case f.quiet:
			fmt.Fprintln(stdout, verdict(res))
		default:
			printSummary(stdout, res)
		}
		if !res.OK {
			code = exitFailed
		}
	}
	return code
}

func verdict(r *runner.Result) string {
	v := "PASS"
	if !r.OK {
		v = "FAIL"
	}
	seed := fmt.Sprintf("seed=%d", r.Seed)
	if r.Buggify {
		seed += " buggify=on" // the digest is of a run with the fault points on
	}
	if r.Digest == "" {
		return fmt.Sprintf("%s %s %s", v, r.Scenario, seed)
	}
	return fmt.Sprintf("%s %s %s digest=%s", v, r.Scenario, seed, r.Digest)
}

func printSummary(w io.Writer, r *runner.Result) {
	variant := ""
	if r.Buggify {
		variant = ", buggify on"
	}
	fmt.Fprintf(w, "scenario  %s (%s), seed %d, transport %s%s\n", r.Scenario, r.File, r.Seed, r.Transport, variant)
	if len(r.Overrides) > 0 {
		fmt.Fprintf(w, "overrides %s\n", strings.Join(r.Overrides, " "))
	}
	later := "" // failed first, finished by a later run: why a driver's errors can be fewer
	if r.TasksFailedThenFinished > 0 {
		later = fmt.Sprintf(" (%d of them later finished with a value)", r.TasksFailedThenFinished)
	}
	fmt.Fprintf(w, "tasks     %d submitted, %d completed, %d failed%s, %d retried, %d cancelled, %d re-executed\n",
		r.TasksSubmitted, r.TasksCompleted, r.TasksFailed, later, r.TasksRetried, r.TasksCancelled, r.TasksReexecuted)
	if r.MethodsReplayed > 0 {
		fmt.Fprintf(w, "actors    %d methods replayed to rebuild restarted actors\n", r.MethodsReplayed)
	}
	freed := ""
	if r.ObjectCopiesFreed > 0 {
		freed = fmt.Sprintf(", %d copies freed", r.ObjectCopiesFreed)
	}
	if r.ObjectsSpilled > 0 || r.ObjectsRestored > 0 {
		freed += fmt.Sprintf(", %d spilled (%.1f MiB written), %d restored (%.1f MiB read)", r.ObjectsSpilled, float64(r.BytesSpilled)/(1<<20),
			r.ObjectsRestored, float64(r.BytesRestored)/(1<<20))
	}
	fmt.Fprintf(w, "objects   %d lost, %d reconstructed%s\n", r.ObjectsLost, r.ObjectsReconstructed, freed)
	fmt.Fprintf(w, "faults    %d injected\n", r.FaultsInjected)
	if r.Transport == "sim" {
		fmt.Fprintf(w, "time      %.3fs virtual, %.3fs wall (%.1fx real time)\n", r.VirtualSeconds, r.WallSeconds, r.Speed)
	} else {
		fmt.Fprintf(w, "time      %.3fs wall (no virtual time on %s)\n", r.WallSeconds, r.Transport)
	}
	fmt.Fprintf(w, "speed     %d events, %.2fM events/s\n", r.Events, r.EventsPerSecond/1e6)
	per := "virtual second"
	if r.Transport != "sim" {
		per = "second"
	}
	fmt.Fprintf(w, "rate      %s tasks per %s\n", scenarios.FormatNumber(r.Throughput), per) // 0.4, not 0, for a slow run
	if r.TasksCompleted+r.TasksFailed+r.TasksCancelled == 0 {
		fmt.Fprintf(w, "latency   - (no task ended)\n")
	} else {
		fmt.Fprintf(w, "latency   p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms\n", r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.Max)
	}
	rereads := ""
	if r.Rereads > 0 {
		rereads = fmt.Sprintf(" (%d values, %d second reads of failed or cancelled refs)", r.Checked-r.Rereads, r.Rereads)
	}
	fmt.Fprintf(w, "results   %d checked%s, %d wrong\n", r.Checked, rereads, r.Incorrect)
	for _, wl := range r.Workloads {
		line := fmt.Sprintf("  %-16s %-16s drivers %d/%d, %d checked, %d wrong, %d errors", wl.Name, wl.Generator, wl.Finished, wl.Drivers, wl.Checked, wl.Incorrect, wl.Errors)
		if wl.Cancelled > 0 {
			line += fmt.Sprintf(", %d cancelled", wl.Cancelled)
		}
		if wl.FirstErr != "" {
			line += ": " + wl.FirstErr
		}
		fmt.Fprintln(w, line)
	}
	if r.Unfinished != "" {
		fmt.Fprintf(w, "unfinished %s\n", r.Unfinished)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning   %s\n", warn)
	}
	if len(r.Expectations) > 0 {
		fmt.Fprintln(w, "expect")
	}
	width := 18 // the names' column: as wide as the longest name
	for _, e := range r.Expectations {
		width = max(width, len(e.Name))
	}
	for _, e := range r.Expectations {
		mark := "ok  "
		if !e.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-*s %s\n", mark, width, e.Name, e.Detail)
	}
	if r.Digest != "" && !r.DigestReproducible {
		// A wall-clock run's trace differs every time: its digest is no
		// name for the run (JSON: digest_reproducible false).
		fmt.Fprintf(w, "digest: %s (%s: wall-clock times, differs on every run, identifies nothing)\n", r.Digest, r.Transport)
	} else if r.Digest != "" {
		fmt.Fprintf(w, "digest: %s\n", r.Digest)
	}
	fmt.Fprintln(w, verdict(r))
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sets multiFlag
	fs.Var(&sets, "set", "override a scenario key: path=value (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: raysim validate FILE... [--set path=value]...\n\nLoads and checks each scenario; prints every error found as file:line:column: field: message.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExit status: 0 when every file loads, 2 when one does not (or for bad flags).\n")
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	code := exitOK
	for _, p := range files {
		s, err := scenarios.LoadWithOverrides(p, sets)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = exitUsage
			continue
		}
		n, w, f := len(s.Cluster.Nodes), len(s.Workload), len(s.Faults)
		fmt.Fprintf(stdout, "%s: ok (%s: %d %s, %d %s, %d %s)\n", p, s.Name, n, plural(n, "node", "nodes"),
			w, plural(w, "workload entry", "workload entries"), f, plural(f, "fault", "faults"))
	}
	return code
}

// parseInterspersed parses flags that may come before or after positional
// arguments (raysim run FILE --json).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
