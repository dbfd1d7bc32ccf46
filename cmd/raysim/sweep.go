package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"raysim/scenarios"
	"raysim/scenarios/check"
	"raysim/scenarios/runner"
)

func init() {
	register(&command{name: "sweep", summary: "run one scenario under many seeds in parallel",
		run: cmdSweep})
}

// maxSweepSeeds bounds a sweep (a typo like 1-1e9 should not run for days).
const maxSweepSeeds = 10_000_000

// parseSeeds reads "1-1000", "7", "1,5,10-20" into a sorted list without
// duplicates.
func parseSeeds(spec string) ([]int64, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("empty seed list")
	}
	seen := map[int64]bool{}
	var out []int64
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if strings.HasPrefix(part, "-") { // a negative single seed
			lo, hi, isRange = part, "", false
		}
		a, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want a seed or a range FROM-TO", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(strings.TrimSpace(hi), 10, 64); err != nil {
				return nil, fmt.Errorf("%q: want a seed or a range FROM-TO", part)
			}
			if b < a {
				return nil, fmt.Errorf("%q: range ends before it starts", part)
			}
		}
		if b-a >= maxSweepSeeds || len(out)+int(b-a) >= maxSweepSeeds {
			return nil, fmt.Errorf("%q: more than %d seeds", part, maxSweepSeeds)
		}
		for s := a; ; s++ {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
			if s == b {
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// replayCommand is the raysim run command line that replays one seed.
func replayCommand(file string, seed int64, sets []string) string {
	parts := []string{"raysim", "run", check.ShellQuote(file), "--seed", strconv.FormatInt(seed, 10)}
	for _, s := range sets {
		parts = append(parts, "--set", check.ShellQuote(s))
	}
	return strings.Join(parts, " ")
}

// seedOutcome is one seed's run.
type seedOutcome struct {
	Seed   int64                `json:"seed"`
	OK     bool                 `json:"ok"`
	Digest string               `json:"digest,omitempty"`
	Error  string               `json:"error,omitempty"`
	Failed []runner.Expectation `json:"failed_expectations,omitempty"`
	// Unfinished names the drivers that had not returned (runner.Result's).
	Unfinished string  `json:"unfinished,omitempty"`
	Replay     string  `json:"replay,omitempty"`
	Virtual    float64 `json:"virtual_seconds"`
	Wall       float64 `json:"wall_seconds"`
	TasksOK    uint64  `json:"tasks_completed"`
	// What a comparison across seeds reads (a policy's tail latency or
	// makespan over 100 seeds): the run's throughput (tasks per virtual
	// second), latency percentiles (ms), failed tasks, retries and faults.
	Throughput float64        `json:"throughput"`
	LatencyMs  runner.Latency `json:"latency_ms"`
	TasksFail  uint64         `json:"tasks_failed"`
	Retried    uint64         `json:"tasks_retried"`
	Faults     int            `json:"faults_injected"`
	finished   bool
}

// sweepReport is the --json output.
type sweepReport struct {
	Scenario    string        `json:"scenario"`
	File        string        `json:"file"`
	Overrides   []string      `json:"overrides"`
	Seeds       int           `json:"seeds"`
	Run         int           `json:"run"`
	Passed      int           `json:"passed"`
	Failed      int           `json:"failed"`
	Interrupted bool          `json:"interrupted"`
	Jobs        int           `json:"jobs"`
	WallSeconds float64       `json:"wall_seconds"`
	OK          bool          `json:"ok"`
	Failures    []seedOutcome `json:"failures"`
	// Results: every seed's outcome, in seed order (with --all).
	Results []seedOutcome `json:"results,omitempty"`
	ran     []seedOutcome // every seed that ran to its end (finished or not), for spread
}

func cmdSweep(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		seedSpec string
		jobs     int
		sets     multiFlag
		asJSON   bool
		all      bool
		progress string
	)
	fs.StringVar(&seedSpec, "seeds", "", "seeds to run: FROM-TO, N, or a comma list of both (required), e.g. 1-1000")
	fs.IntVar(&jobs, "j", runtime.GOMAXPROCS(0), "runs at once")
	fs.Var(&sets, "set", "override a scenario key: path=value (repeatable), as for raysim run")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object (counts and every failing seed) instead of the summary")
	fs.BoolVar(&all, "all", false, "list every seed's outcome (digest, virtual time, throughput, latency), not only the failing ones: a line each in the summary, results in --json")
	addProgressFlag(fs, &progress, "progress bar")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim sweep FILE --seeds RANGE [-j N] [--set path=value]... [--json]

Runs one scenario once per seed, several runs at a time, and reports how many
passed. Every run is deterministic and independent: a failing seed fails the
same way every time, and the summary prints, for each failing seed, the
'raysim run' command that replays it.

Examples:
  raysim sweep scenarios/fault-crash-restart.yaml --seeds 1-1000
  raysim sweep scenarios/quickstart.yaml --seeds 1-200 -j 4 --set workload.0.params.tasks=500
  raysim sweep scenarios/chain.yaml --seeds 1,7,40-50 --json

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
A progress bar is drawn on standard error when it is a terminal.

Exit status: 0 when every seed passes, 1 when one fails, 2 for a bad scenario
or bad flags.
`)
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "raysim sweep: "+format+"\n", a...)
		fmt.Fprintln(stderr, "Run 'raysim sweep -h' for usage.")
		return exitUsage
	}
	switch {
	case len(files) == 0:
		return usageErr("no scenario file given")
	case len(files) > 1:
		return usageErr("one scenario file at a time (got %d)", len(files))
	case seedSpec == "":
		return usageErr("--seeds is required, e.g. --seeds 1-1000")
	case jobs < 1:
		return usageErr("-j %d: want at least 1", jobs)
	}
	for _, s := range sets {
		if strings.HasPrefix(s, "seed=") {
			return usageErr("--set %s: the sweep sets the seed; use --seeds", s)
		}
	}
	seeds, err := parseSeeds(seedSpec)
	if err != nil {
		return usageErr("--seeds: %v", err)
	}
	path := files[0]
	base, err := scenarios.LoadWithOverrides(path, sets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	showBar := showProgress(progress, stderr)
	start := time.Now()
	results := make([]seedOutcome, len(seeds))
	bar := newSeedBar(stderr, len(seeds), showBar)

	var (
		wg      sync.WaitGroup
		next    = make(chan int)
		badScen error
		badOnce sync.Once
	)
	for w := 0; w < min(jobs, len(seeds)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out := runSeed(ctx, path, sets, seeds[i])
				if out.Error != "" && errors.Is(out.err, runner.ErrBadScenario) {
					badOnce.Do(func() { badScen = out.err })
				}
				results[i] = out.seedOutcome
				bar.add(out.OK)
			}
		}()
	}
feed:
	for i := range seeds {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	bar.finish()
	if badScen != nil {
		fmt.Fprintf(stderr, "raysim sweep: %s: %v\n", path, badScen)
		return exitUsage
	}

	rep := sweepReport{Scenario: base.Name, File: path, Overrides: append([]string{}, sets...), Seeds: len(seeds),
		Jobs: jobs, WallSeconds: time.Since(start).Seconds(), Interrupted: ctx.Err() != nil, Failures: []seedOutcome{}}
	for _, r := range results {
		if !r.finished {
			continue
		}
		rep.Run++
		if r.Error == "" {
			rep.ran = append(rep.ran, r)
		}
		if all {
			rep.Results = append(rep.Results, r)
		}
		if r.OK {
			rep.Passed++
		} else {
			rep.Failed++
			rep.Failures = append(rep.Failures, r)
		}
	}
	rep.OK = rep.Failed == 0 && !rep.Interrupted
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printSweep(stdout, &rep)
	}
	if !rep.OK {
		return exitFailed
	}
	return exitOK
}

type seedRun struct {
	seedOutcome
	err error
}

// runSeed runs one seed of the scenario (loaded afresh: runs share nothing).
func runSeed(ctx context.Context, path string, sets []string, seed int64) seedRun {
	out := seedRun{seedOutcome: seedOutcome{Seed: seed, Replay: replayCommand(path, seed, sets)}}
	s, err := scenarios.LoadWithOverrides(path, append(append([]string(nil), sets...), "seed="+strconv.FormatInt(seed, 10)))
	if err == nil {
		var r *runner.Result
		r, err = check.RunExpect(ctx, s, runner.Options{}) // runner.Run, and the invariants expect names
		if err == nil {
			out.OK, out.Digest, out.Virtual, out.Wall, out.TasksOK = r.OK, r.Digest, r.VirtualSeconds, r.WallSeconds, r.TasksCompleted
			out.Throughput, out.LatencyMs, out.TasksFail, out.Retried, out.Faults = r.Throughput, r.LatencyMs, r.TasksFailed, r.TasksRetried, r.FaultsInjected
			out.Unfinished = r.Unfinished
			for _, e := range r.Expectations {
				if !e.OK {
					out.Failed = append(out.Failed, e)
				}
			}
			out.finished = true
		}
	}
	if err != nil {
		if ctx.Err() != nil { // interrupted: not a result
			return out
		}
		out.err, out.Error, out.finished = err, err.Error(), true
	}
	if out.OK {
		out.Replay = ""
	}
	return out
}

func printSweep(w io.Writer, r *sweepReport) {
	fmt.Fprintf(w, "sweep     %s (%s)", r.Scenario, r.File)
	for _, s := range r.Overrides {
		fmt.Fprintf(w, " --set %s", check.ShellQuote(s)) // as the replay lines quote it
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "seeds     %d run of %d, %d passed, %d failed", r.Run, r.Seeds, r.Passed, r.Failed)
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "time      %.2fs wall, %d at a time\n", r.WallSeconds, r.Jobs)
	if d := spread(r.ran); d != "" {
		fmt.Fprintln(w, d)
	}
	for _, o := range r.Results { // --all
		verdict := "PASS"
		if !o.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  seed %d: %s digest %s, virtual %ss, %s tasks/s, latency p99 %sms\n", o.Seed, verdict, o.Digest,
			scenarios.FormatNumber(o.Virtual), scenarios.FormatNumber(o.Throughput), scenarios.FormatNumber(o.LatencyMs.P99))
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(w, "failing seeds (replay each with the command under it):")
	}
	for _, f := range r.Failures {
		var why []string
		if f.Error != "" {
			why = append(why, "error: "+f.Error)
		}
		if f.Unfinished != "" {
			why = append(why, "unfinished: "+f.Unfinished)
		}
		for _, e := range f.Failed {
			why = append(why, e.Name+": "+e.Detail)
		}
		fmt.Fprintf(w, "  seed %d: %s\n    %s\n", f.Seed, strings.Join(why, "; "), f.Replay)
	}
	v := "PASS"
	if !r.OK {
		v = "FAIL"
	}
	fmt.Fprintf(w, "%s %s %d/%d seeds passed\n", v, r.Scenario, r.Passed, r.Seeds)
}

// seedBar is a one-line progress bar on a terminal. raysim draws its own
// rather than pulling in a progress-bar module: one line with \r is all a
// sweep needs, and the module graph stays small.
type seedBar struct {
	mu           sync.Mutex
	w            io.Writer
	on           bool
	total, done  int
	failed       int
	start, drawn time.Time
	width        int
}

func newSeedBar(w io.Writer, total int, on bool) *seedBar {
	b := &seedBar{w: w, on: on, total: total, start: time.Now(), width: 30}
	b.draw(true)
	return b
}

func (b *seedBar) add(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	if !ok {
		b.failed++
	}
	b.draw(b.done == b.total)
}

func (b *seedBar) draw(force bool) {
	if !b.on || (!force && time.Since(b.drawn) < 100*time.Millisecond) {
		return
	}
	b.drawn = time.Now()
	filled := b.width * b.done / max(b.total, 1)
	rate := float64(b.done) / max(time.Since(b.start).Seconds(), 1e-9)
	eta := ""
	if b.done > 0 && b.done < b.total {
		eta = fmt.Sprintf(", ~%s left", (time.Duration(float64(b.total-b.done) / rate * float64(time.Second))).Round(time.Second))
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d seeds, %d failed, %.1f/s%s\033[K",
		strings.Repeat("#", filled), strings.Repeat(" ", b.width-filled), b.done, b.total, b.failed, rate, eta)
}

func (b *seedBar) finish() {
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// spread summarizes the seeds that ran to their end (errors left out):
// the median and range of virtual time, throughput and p99 latency, the
// first things a comparison of two settings over many seeds reads ("" with
// fewer than two). A seed whose drivers did not all finish is left out
// too, and the line says how many: its virtual time is when the run was
// cut off (duration_limit) or ran dry (a driver lost with its node), not a
// makespan, and its throughput and latencies are of part of the work.
func spread(ran []seedOutcome) string {
	var runs []seedOutcome
	for _, r := range ran {
		if r.Unfinished == "" {
			runs = append(runs, r)
		}
	}
	left := ""
	if n := len(ran) - len(runs); n > 0 {
		left = fmt.Sprintf(" (%d left out: %s did not finish)", n, plural(n, "seed's drivers", "seeds' drivers"))
	}
	if len(runs) < 2 {
		if left != "" && len(ran) >= 2 {
			return fmt.Sprintf("spread    none: %d of %d seeds left out (their drivers did not finish), too few left", len(ran)-len(runs), len(ran))
		}
		return ""
	}
	stat := func(pick func(seedOutcome) float64) (med, lo, hi float64) {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = pick(r)
		}
		slices.Sort(v)
		med = v[len(v)/2]
		if len(v)%2 == 0 { // an even count: the mean of the middle two
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return med, v[0], v[len(v)-1]
	}
	t, tl, th := stat(func(r seedOutcome) float64 { return r.Virtual })
	q, ql, qh := stat(func(r seedOutcome) float64 { return r.Throughput })
	p, pl, ph := stat(func(r seedOutcome) float64 { return r.LatencyMs.P99 })
	f := scenarios.FormatNumber
	return fmt.Sprintf("spread    over %d seeds%s, median (min-max): virtual time %ss (%s-%s), throughput %s/s (%s-%s), latency p99 %sms (%s-%s)",
		len(runs), left, f(t), f(tl), f(th), f(q), f(ql), f(qh), f(p), f(pl), f(ph))
}
