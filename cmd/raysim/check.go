package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/check"
)

// defaultCheckDir is where check writes minimal failing scenarios unless -o
// says otherwise: a directory of its own in the current one (not
// testdata/failures, which would land in whatever Go package one runs from).
const defaultCheckDir = "raysim-failures"

func init() {
	register(&command{name: "check", summary: "search random fault schedules around a scenario for invariant violations",
		run: cmdCheck})
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runCheck(ctx, args, stdout, stderr)
}

// runCheck is raysim check with ctx: cancelled (Ctrl-C), the search stops
// and the summary says how far it got.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 100, "random fault schedules to try")
	seed := new(string)
	fs.Var(seedFlag{seed}, "seed", "the search's seed `N` (default: the scenario's seed); run i uses N+i")
	out := fs.String("o", defaultCheckDir, "directory for minimal failing scenarios, created when one is found")
	keep := fs.Bool("keep-faults", false, "add the random faults to the scenario's own (default: replace them)")
	kinds := fs.String("faults", strings.Join(check.DefaultFaultKinds, ","), "fault kinds to draw, comma-separated (also: "+scenarios.KillGCSReplica+", "+scenarios.TaskErrors+")")
	maxFaults := fs.Int("max-faults", 5, "at most this many fault entries per schedule")
	noControl := fs.Bool("no-control-plane", false, "partitions and degraded links name nodes only (default: also the scheduler and the GCS shards)")
	horizon := fs.Duration("horizon", 0, "faults start before this virtual time (0: the scenario's fault-free run time, measured before the search)")
	settle := fs.Duration("settle", 10*time.Second, "liveness bound: all work must finish this long after the last fault plus twice the scenario's fault-free run time (or by the scenario's own duration_limit, if it sets a later one)")
	maxFail := fs.Int("max-failures", 1, "stop after this many failures")
	budget := fs.Int("shrink-budget", 200, "runs spent shrinking one failure (0: none, the failure is written as found)")
	var sets multiFlag
	fs.Var(&sets, "set", "override a scenario key before the search: path=value (repeatable)")
	asJSON := fs.Bool("json", false, "print one JSON object (what was exercised and every failure) instead of the summary")
	progress := new(string)
	addProgressFlag(fs, progress, "progress line")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim check FILE [flags]

Property-based fault search: keeps FILE's cluster and workload, draws --runs
random fault schedules around them (node kills with restarts, or for good
where the node's group has others; partitions and heals, link
degradation, pauses, random fault processes; partitions and
degraded links may cut or slow the scheduler and the GCS shards too, unless
--no-control-plane), runs each in the simulator and checks the invariants:
every result correct, only errors the retries and restarts allow, all work
finished once faults stop (liveness), no object reported available that is
not, and the same digest on a second run. FILE's expect section is not
checked (a note says so): its bounds (finish_by, latency, all_complete)
need not hold under faults. A failure file expects only the invariant
violated, with FILE's expectations left out as comments, so its replay
fails on what the search found and on nothing else.

Before the search it runs FILE once without faults (with only its own
faults under --keep-faults, which every schedule keeps too), at its own
seed and duration_limit: if that fails an invariant or does not finish, check
stops with exit 2 (fix the scenario first, or raise its duration_limit
if its work needs longer). Twice that run's time is added to
the liveness bound (--settle), so slow work is no liveness violation,
and faults are drawn within it (--horizon 0), not after the work ends.
The summary (and --json) counts the faults drawn and injected, and the
schedules that injected none. A --faults kind that cannot apply to FILE
(kill_gcs_replica with one replica, kill_node when every node hosts a
driver, kill_actor without actors) is refused.

A failure is shrunk (faults deleted one at a time, counts halved) and
written as a scenario file to the -o directory (default ./raysim-failures,
created when a failure is found); the summary names it with the command
that replays it, 'raysim run FILE'. Ctrl-C stops the search and says how
far it got.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0 when no invariant is violated, 1 when one is or the search
was interrupted (as raysim sweep), 2 for a bad scenario (one that fails
without faults too), a --faults kind that cannot apply, or bad flags.
`)
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	kindsSet := false
	fs.Visit(func(f *flag.Flag) { kindsSet = kindsSet || f.Name == "faults" })
	if len(files) != 1 {
		fmt.Fprintln(stderr, "raysim check: want exactly one scenario file")
		fs.Usage()
		return exitUsage
	}
	for _, bad := range []struct {
		bad  bool
		flag string
		want string
		got  any
	}{
		{*runs <= 0, "runs", "a number of runs > 0", *runs},
		{*maxFail <= 0, "max-failures", "a number > 0", *maxFail},
		{*horizon < 0, "horizon", "a duration >= 0 (0: the scenario's fault-free run time)", *horizon},
		{*settle <= 0, "settle", "a duration > 0", *settle},
		{*maxFaults < 0, "max-faults", "a number >= 0 (0: no faults)", *maxFaults},
		{*budget < 0, "shrink-budget", "a number of runs >= 0 (0: no shrinking)", *budget},
	} {
		if bad.bad {
			fmt.Fprintf(stderr, "raysim check: --%s %v: want %s\n", bad.flag, bad.got, bad.want)
			return exitUsage
		}
	}
	if strings.TrimSpace(*out) == "" {
		// check.Gen would read it as its own default, testdata/failures,
		// and the summary would name another directory.
		fmt.Fprintln(stderr, "raysim check: -o: want a directory for the failing scenarios (got nothing)")
		return exitUsage
	}
	if err := usableDir(*out); err != nil {
		fmt.Fprintf(stderr, "raysim check: -o %s: %v (checked before the search, so that a failure found is not lost)\n", *out, err)
		return exitUsage
	}
	shrinkBudget := *budget
	if shrinkBudget == 0 {
		shrinkBudget = -1 // check.SearchConfig: none
	}
	base, err := scenarios.LoadWithOverrides(files[0], sets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	searchSeed := base.Seed
	if *seed != "" {
		if searchSeed, err = strconv.ParseInt(*seed, 10, 64); err != nil {
			fmt.Fprintf(stderr, "raysim check: --seed %q: want an integer\n", *seed)
			return exitUsage
		}
	}
	if last := math.MaxInt64 - int64(*runs-1); searchSeed > last { // run i uses seed+i
		fmt.Fprintf(stderr, "raysim check: seed %d: want at most %d for %d runs (run i uses the seed plus i)\n", searchSeed, last, *runs)
		return exitUsage
	}
	var kindList []string
	for _, k := range strings.Split(*kinds, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		ok := false
		for _, a := range check.AllFaultKinds {
			ok = ok || a == k
		}
		if !ok {
			fmt.Fprintf(stderr, "raysim check: --faults: unknown fault kind %q (want some of %s)\n", k, strings.Join(check.AllFaultKinds, ", "))
			return exitUsage
		}
		kindList = append(kindList, k)
	}
	if len(kindList) == 0 {
		fmt.Fprintf(stderr, "raysim check: --faults: no fault kind given (want some of %s)\n", strings.Join(check.AllFaultKinds, ", "))
		return exitUsage
	}
	if kindsSet && *maxFaults > 0 {
		// Asked for by name, a kind that cannot apply is refused: the
		// search would pass having drawn none of it (or only no-ops).
		if bad := check.InapplicableKinds(base, kindList); len(bad) > 0 {
			for _, b := range bad {
				fmt.Fprintf(stderr, "raysim check: --faults %s: cannot apply to %s: %s\n", b.Kind, files[0], b.Why)
			}
			fmt.Fprintln(stderr, "raysim check: leave it out of --faults (or change the scenario)")
			return exitUsage
		}
	} else if *maxFaults > 0 {
		// The default kinds: those that cannot apply are not drawn (each
		// draw of one would be a no-op), and the note says so.
		for _, b := range check.InapplicableKinds(base, kindList) {
			fmt.Fprintf(stderr, "raysim check: note: not drawing %s: %s\n", b.Kind, b.Why)
			kindList = slices.DeleteFunc(kindList, func(k string) bool { return k == b.Kind })
		}
	}
	name := base.Name
	if name == "" {
		name = "check"
	}
	if check.HasExpectations(base) {
		fmt.Fprintf(stderr, "raysim check: note: %s's expect section is not checked: the search checks the invariants only, and the failure files it writes expect only the invariant violated\n", files[0])
	}
	g := check.Gen{Base: base, KeepFaults: *keep, FaultKinds: kindList, MaxFaults: *maxFaults,
		Horizon: *horizon, Settle: *settle, Dir: *out, Name: name, NoControlPlane: *noControl}
	if *maxFaults == 0 {
		g.FaultKinds = []string{scenarios.Heal} // nothing that breaks: a plain determinism and correctness check
	}

	show := showProgress(*progress, stderr)
	start := time.Now()
	lastLine := time.Time{}
	var stats check.SearchStats
	cfg := check.SearchConfig{Gen: g, Runs: *runs, Seed: searchSeed, MaxFailures: *maxFail, ShrinkBudget: shrinkBudget, Stats: &stats}
	cfg.Progress = func(p check.SearchProgress) {
		if *progress == "off" || !show && p.Run%100 != 0 && !(p.Shrinking && p.ShrinkRuns == 1) {
			return
		}
		if show && time.Since(lastLine) < 100*time.Millisecond {
			return
		}
		lastLine = time.Now()
		line := fmt.Sprintf("%s: run %d/%d, %d failures, %.1fs", name, p.Run, p.Runs, p.Failures, time.Since(start).Seconds())
		if p.Shrinking {
			line += fmt.Sprintf(", shrinking a failure (%d runs)", p.ShrinkRuns)
		}
		if show {
			fmt.Fprintf(stderr, "\r%s   ", line)
		} else {
			fmt.Fprintln(stderr, line)
		}
	}
	found, err := check.Search(ctx, cfg)
	if show {
		fmt.Fprint(stderr, "\r\033[K")
	}
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		fmt.Fprintf(stderr, "raysim check: %s: %v\n", files[0], err)
		if len(found) == 0 {
			return exitUsage
		}
		// The last failure could not be written: it is printed whole
		// below.
	}
	// Interrupted (Ctrl-C), the summary says how far the search got, and
	// reports the failures found so far (the last shrunk as far as it
	// got), as raysim sweep does; exit 1 as sweep.
	what := "random fault schedules"
	if *maxFaults == 0 {
		what = "runs without faults (random seeds)"
	}
	rep := checkReport{Scenario: name, File: files[0], Overrides: append([]string{}, sets...), Runs: *runs, Run: stats.Runs,
		SeedFrom: searchSeed, SeedTo: searchSeed + int64(*runs) - 1, MaxFaults: *maxFaults,
		BaseVirtualSeconds: stats.BaseTime.Seconds(), HorizonSeconds: stats.Horizon.Seconds(), HorizonFromBase: *horizon == 0,
		FaultsDrawn: stats.FaultsDrawn, FaultsAfterEnd: stats.FaultsLate, FaultsInjected: stats.FaultsInjected,
		SchedulesWithoutFaults: stats.NoFaultRuns, SchedulesNoneDrawn: stats.NoneDrawn, Failures: []checkFailure{},
		Interrupted: interrupted, BaselineDone: stats.Horizon > 0, KeptFaults: *keep && len(base.Faults) > 0}
	if abs, aerr := filepath.Abs(*out); aerr == nil {
		rep.Dir = abs
	}
	// A failure is minimal only when the shrinker ran to its end.
	shrunkWord := func(f *check.Failure) string {
		switch {
		case f.Minimal:
			return "minimal"
		case shrinkBudget < 0:
			return "failing (not shrunk: --shrink-budget 0)"
		case ctx.Err() != nil:
			return "failing (shrinking interrupted)"
		}
		return fmt.Sprintf("failing (shrinking stopped at its budget, --shrink-budget %d)", shrinkBudget)
	}
	for _, f := range found {
		cf := checkFailure{Invariant: f.Invariant, Error: f.Err.Error(), Shrunk: shrunkWord(f), Minimal: f.Minimal,
			Seed: f.Scenario.Seed, Faults: len(f.Scenario.Faults), NeedsNoFault: len(f.Scenario.Faults) == 0}
		if f.Result != nil {
			cf.Digest = f.Result.Digest
		}
		if f.File != "" {
			// The command as raysim sweep prints it, on the absolute
			// file: it works from any directory (the file's header
			// keeps the go run form too).
			cf.File, cf.Replay = f.Path, "raysim run "+check.ShellQuote(f.Path)
		} else if data, merr := f.Scenario.Marshal(); merr == nil {
			cf.Scenario = string(data)
		}
		rep.Failures = append(rep.Failures, cf)
	}
	rep.OK = len(found) == 0 && !interrupted
	rep.WallSeconds = time.Since(start).Seconds()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printCheck(stdout, &rep, what)
	}
	if !rep.OK {
		return exitFailed
	}
	return exitOK
}

// checkReport is what a search did and found: the summary's content, and
// the --json output.
type checkReport struct {
	Scenario  string   `json:"scenario"`
	File      string   `json:"file"`
	Overrides []string `json:"overrides"`
	Runs      int      `json:"runs"` // schedules asked for (--runs)
	Run       int      `json:"run"`  // schedules run and checked
	// Interrupted: Ctrl-C stopped the search after Run schedules (or,
	// without BaselineDone, during the fault-free run before them).
	Interrupted  bool  `json:"interrupted"`
	BaselineDone bool  `json:"-"`
	SeedFrom     int64 `json:"seed_from"`
	SeedTo       int64 `json:"seed_to"`
	MaxFaults    int   `json:"max_faults"`
	// BaseVirtualSeconds is the scenario's fault-free run time (the run
	// before the search); HorizonSeconds the time every drawn fault
	// starts before (--horizon, or by default that run time).
	BaseVirtualSeconds float64 `json:"base_virtual_seconds"`
	HorizonSeconds     float64 `json:"horizon_seconds"`
	HorizonFromBase    bool    `json:"horizon_from_base"`
	// KeptFaults: --keep-faults with a file that has faults: the run
	// before the search (BaseVirtualSeconds) had the file's own faults.
	KeptFaults bool `json:"kept_faults,omitempty"`
	// The faults drawn, those of them that start after their run had
	// ended (never injected), those of them the runs injected, the
	// schedules that injected none and those of them that drew none. One
	// unit (check.SearchStats): a drawn fault is a schedule entry, a kill
	// with its restart one, a random process one, heals none; injected
	// counts the drawn faults applied (not raysim run's faults_injected,
	// which counts each action apart).
	FaultsDrawn            int            `json:"faults_drawn"`
	FaultsAfterEnd         int            `json:"faults_after_end"`
	FaultsInjected         int            `json:"faults_injected"`
	SchedulesWithoutFaults int            `json:"schedules_without_faults"`
	SchedulesNoneDrawn     int            `json:"schedules_none_drawn"`
	Dir                    string         `json:"dir"`
	WallSeconds            float64        `json:"wall_seconds"`
	OK                     bool           `json:"ok"`
	Failures               []checkFailure `json:"failures"`
}

// checkFailure is one violation found.
type checkFailure struct {
	Invariant string `json:"invariant"`
	Error     string `json:"error"`
	Shrunk    string `json:"shrunk"` // "minimal", or why not
	Minimal   bool   `json:"minimal"`
	Seed      int64  `json:"seed"` // the scenario's (the simulator's) seed, which the file keeps
	Faults    int    `json:"faults"`
	// NeedsNoFault: shrunk to no fault at all, the scenario fails at its
	// seed without any (no fault-tolerance bug).
	NeedsNoFault bool   `json:"needs_no_fault"`
	File         string `json:"file,omitempty"`
	Replay       string `json:"replay,omitempty"`
	Digest       string `json:"digest,omitempty"`
	// Scenario is the whole failing scenario when it could not be written.
	Scenario string `json:"scenario_yaml,omitempty"`
}

// printCheck prints the search's summary: a verdict per failure (or PASS),
// then what was exercised.
func printCheck(w io.Writer, r *checkReport, what string) {
	switch {
	case r.OK:
		fmt.Fprintf(w, "PASS %s: %d %s, no invariant violated (seeds %d..%d, %.1fs)\n",
			r.Scenario, r.Run, what, r.SeedFrom, r.SeedTo, r.WallSeconds)
	case r.Interrupted && !r.BaselineDone:
		fmt.Fprintf(w, "INTERRUPTED %s: during the fault-free run before the search, no schedule run (%.1fs)\n", r.Scenario, r.WallSeconds)
	case r.Interrupted && len(r.Failures) == 0:
		seeds := "no seed"
		if r.Run > 0 {
			seeds = fmt.Sprintf("seeds %d..%d", r.SeedFrom, r.SeedFrom+int64(r.Run)-1)
		}
		fmt.Fprintf(w, "INTERRUPTED %s: after %d of %d %s (%s), no invariant violated so far (%.1fs)\n",
			r.Scenario, r.Run, r.Runs, what, seeds, r.WallSeconds)
	}
	written := 0
	for _, f := range r.Failures {
		if f.File == "" { // not written: the scenario itself, so nothing is lost
			fmt.Fprintf(w, "FAIL %s: invariant %s violated\n  %v\n  %s scenario (seed %d, %d faults), not written:\n%s",
				r.Scenario, f.Invariant, f.Error, f.Shrunk, f.Seed, f.Faults, f.Scenario)
			continue
		}
		written++
		fmt.Fprintf(w, "FAIL %s: invariant %s violated\n  %v\n  %s scenario: %s (seed %d, %d faults)\n  replay: %s\n",
			r.Scenario, f.Invariant, f.Error, f.Shrunk, f.File, f.Seed, f.Faults, f.Replay)
		if f.Digest != "" {
			fmt.Fprintf(w, "  digest: %s (the replay's must match)\n", f.Digest)
		}
		if f.NeedsNoFault {
			fmt.Fprintf(w, "  the failure needs no fault: %s\n", check.NoFaultNote(f.Seed))
		}
	}
	if r.MaxFaults > 0 && r.Run > 0 {
		h := time.Duration(math.Round(r.HorizonSeconds * float64(time.Second)))
		horizon := fmt.Sprintf("before --horizon %v", h)
		switch {
		case r.HorizonFromBase && r.KeptFaults:
			horizon = fmt.Sprintf("in the first %v: the scenario's run time with only its own faults (--keep-faults)", h)
		case r.HorizonFromBase:
			horizon = fmt.Sprintf("in the first %v: the scenario's fault-free run time", h)
		}
		// One unit (check.SearchStats): the drawn fault, a kill with its
		// restart once, a random process once.
		fmt.Fprintf(w, "faults    %d drawn (%s), %d of them injected (counted per drawn fault: a kill with its restart, or a random process, is one)", r.FaultsDrawn, horizon, r.FaultsInjected)
		if r.FaultsAfterEnd > 0 {
			fmt.Fprintf(w, "; %d drawn after their run had ended (never injected)", r.FaultsAfterEnd)
		}
		fmt.Fprintf(w, "; %d of %d schedules injected none", r.SchedulesWithoutFaults, r.Run)
		if r.SchedulesNoneDrawn > 0 {
			fmt.Fprintf(w, " (%d drew none)", r.SchedulesNoneDrawn)
		}
		fmt.Fprintln(w)
		switch {
		case 3*r.FaultsAfterEnd >= r.FaultsDrawn:
			// A third or more of the search wasted: worth a hint.
			without := "without faults"
			if r.KeptFaults {
				without = "with only its own faults"
			}
			fmt.Fprintf(w, "  %d of %d faults came after the work had ended (at %.3fs %s): lower --horizon\n", r.FaultsAfterEnd, r.FaultsDrawn, r.BaseVirtualSeconds, without)
		case r.Run >= 10 && 2*(r.SchedulesWithoutFaults-r.SchedulesNoneDrawn) > r.Run-r.SchedulesNoneDrawn:
			fmt.Fprintln(w, "  most schedules that drew faults injected none: check that the --faults kinds act on this scenario, and --horizon")
		}
	}
	if written > 0 {
		fmt.Fprintf(w, "wrote %d failing %s to %s\n", written, plural(written, "scenario", "scenarios"), r.Dir)
	}
	if r.Interrupted && len(r.Failures) > 0 {
		fmt.Fprintf(w, "interrupted after %d of %d %s\n", r.Run, r.Runs, what)
	}
}

// usableDir reports whether dir can hold new files: an existing directory
// that takes one, or a path whose nearest existing ancestor is such a
// directory (dir itself is made when a failure is found). It leaves
// nothing behind.
func usableDir(dir string) error {
	probeIn := dir
	for {
		st, err := os.Stat(probeIn)
		if err == nil {
			if !st.IsDir() {
				if probeIn == dir {
					return errors.New("not a directory")
				}
				return fmt.Errorf("%s is not a directory", probeIn)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(probeIn)
		if parent == probeIn {
			return err
		}
		probeIn = parent
	}
	f, err := os.CreateTemp(probeIn, ".raysim-probe-*")
	if err != nil {
		if probeIn != dir { // it does not exist: name what it would be made in
			return fmt.Errorf("cannot be made: cannot create files in %s: %w", probeIn, err)
		}
		return fmt.Errorf("cannot create files in %s: %w", probeIn, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
