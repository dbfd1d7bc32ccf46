package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"raysim/bench"
)

func init() {
	register(&command{name: "bench", summary: "run the microbenchmarks (loopback TCP) or the simulator's scale runs",
		run: cmdBench})
}

// benchReport is the JSON `raysim bench` writes.
type benchReport struct {
	Machine bench.Machine        `json:"machine"`
	Micro   []bench.Result       `json:"micro,omitempty"`
	Scale   []bench.ScaleResult  `json:"scale,omitempty"`
	Pending *bench.PendingResult `json:"pending,omitempty"`
	ES      []bench.ESResult     `json:"es,omitempty"`
	Flush   *bench.FlushResult   `json:"gcs_flush,omitempty"`
}

func cmdBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the results as JSON instead of a table")
	out := fs.String("o", "", "also write the JSON report to this file")
	repeat := fs.Int("repeat", 3, "repeats per benchmark, all in this process (median and spread over them); with --scale, runs of each scale run (default there 1)")
	filter := fs.String("filter", "", "run only benchmarks whose name matches this regular expression")
	dur := fs.Duration("duration", 500*time.Millisecond, "measured time per repeat of a microbenchmark")
	scale := fs.Bool("scale", false, "run the simulator's scale runs instead of the microbenchmarks")
	oneCore := fs.Bool("one-core", false, "--scale: run the simulations with GOMAXPROCS=1")
	scaleTasks := fs.Int("scale-tasks", 1_000_000, "--scale: tasks of the 100-node run (the paper: 1M... 100M)")
	sweep := fs.String("sweep", "10,30,100,300,1000", "--scale: node counts of the sweep (empty: none)")
	sweepPerNode := fs.Int("sweep-tasks-per-node", 2000, "--scale: tasks per node in the sweep")
	scaleShards := fs.Int("scale-gcs-shards", 16, "--scale: GCS shards of every scale run")
	plotDir := fs.String("plot", "", "--scale: also draw the runs' throughput against node count (scale-throughput.svg and .png) in this directory")
	pending := fs.Int("pending", 1_000_000, "--scale: tasks queued on one node for the memory-per-pending-task run (0: skip)")
	flush := fs.Int("gcs-flush", 0, "run N empty tasks in sequence and sample the GCS's resident task table (the paper's figure 10b)")
	es := fs.Bool("es", false, "run the evolution-strategies workload (bench/es) instead")
	esGoStep := fs.Duration("es-go-step", 0, "--es: the gocost rows' per-step cost (0: measure this machine's once, for all of them)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim bench [flags]

Runs the microbenchmark suite on an in-process loopback TCP cluster, each
benchmark --repeat times, and prints the median, min, max and spread. Most
names are the metric names of Ray's 'ray microbenchmark'; those marked * (an
empty ray_name in --json) are raysim's own. The spread, min and max are over
the repeats of this one invocation: not an uncertainty, as another
invocation on a shared machine can land outside them; alternate invocations
before citing a number. Every result names the command that reproduces it,
and the report names the raysim version, the date, GOMAXPROCS, GOGC and the
load average at the start and end.

  raysim bench --scale   the simulator's scale runs: 1M empty tasks on 100
                         nodes (the Ray paper's figure 8b), a sweep over node
                         counts, and memory per queued task on one node
  raysim bench --es      evolution strategies on Pendulum (the paper's Table 4)

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0 on success, 1 when a benchmark run fails or the report
cannot be written, 2 for bad flags.
`)
	}
	if err := parseFlags(fs, args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "raysim bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	var re *regexp.Regexp
	if *filter != "" {
		var err error
		if re, err = regexp.Compile(*filter); err != nil {
			fmt.Fprintf(stderr, "raysim bench: --filter: %v\n", err)
			return exitUsage
		}
	}
	for _, c := range []struct {
		name string
		bad  bool
		want string
	}{
		{"repeat", *repeat < 1, "at least 1"},
		{"duration", *dur <= 0, "a positive duration"},
		{"scale-tasks", *scaleTasks < 1, "at least 1"},
		{"sweep-tasks-per-node", *sweepPerNode < 1, "at least 1"},
		{"scale-gcs-shards", *scaleShards < 1, "at least 1"},
		{"pending", *pending < 0, "0 (skip) or more"},
		{"gcs-flush", *flush < 0, "0 (skip) or more"},
		{"es-go-step", *esGoStep < 0, "0 (measure) or a positive duration"},
	} {
		if c.bad {
			fmt.Fprintf(stderr, "raysim bench: --%s: want %s, got %s\n", c.name, c.want, fs.Lookup(c.name).Value)
			return exitUsage
		}
	}
	// One kind of benchmark a run; --repeat is not one of --es's or
	// --gcs-flush's settings (each runs once).
	var kinds []string
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, k := range []struct {
		name string
		on   bool
	}{{"--scale", *scale}, {"--es", *es}, {"--gcs-flush", *flush > 0}} {
		if k.on {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) > 1 {
		fmt.Fprintf(stderr, "raysim bench: %s: want one of them (each is a run of its own)\n", strings.Join(kinds, ", "))
		return exitUsage
	}
	if set["repeat"] && (*es || *flush > 0) {
		fmt.Fprintf(stderr, "raysim bench: --repeat: want it with the microbenchmarks or --scale (%s runs once)\n", kinds[0])
		return exitUsage
	}
	if set["es-go-step"] && !*es {
		fmt.Fprintln(stderr, "raysim bench: --es-go-step: want it with --es (the gocost rows' step cost)")
		return exitUsage
	}
	// The runs, chosen before any starts: a --filter that matches none of
	// them is a bad command line, not a report of nothing.
	var (
		scaleRuns  []bench.ScaleConfig
		runPending bool
		esRuns     []bench.ESConfig
		names      []string // of the chosen kind, for the message
	)
	match := func(name string) bool {
		names = append(names, name)
		return re == nil || re.MatchString(name)
	}
	var chosen int
	switch {
	case *flush > 0:
		if re != nil {
			fmt.Fprintln(stderr, "raysim bench: --filter: --gcs-flush is one measurement, with nothing to filter")
			return exitUsage
		}
		chosen = 1
	case *scale:
		var nodes []int
		for _, f := range strings.Split(*sweep, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n <= 0 {
				fmt.Fprintf(stderr, "raysim bench: --sweep: bad node count %q\n", f)
				return exitUsage
			}
			nodes = append(nodes, n)
		}
		runs := []bench.ScaleConfig{{Nodes: 100, Tasks: *scaleTasks, OneCore: *oneCore, GCSShards: *scaleShards}}
		for _, n := range nodes {
			if sc := (bench.ScaleConfig{Nodes: n, Tasks: n * *sweepPerNode, OneCore: *oneCore, GCSShards: *scaleShards}); sc != runs[0] {
				runs = append(runs, sc)
			}
		}
		for _, sc := range runs {
			if match(sc.Name()) {
				scaleRuns = append(scaleRuns, sc)
			}
		}
		runPending = *pending > 0 && match("pending")
		chosen = len(scaleRuns)
		if runPending {
			chosen++
		}
	case *es:
		for _, cfg := range bench.ESConfigs() {
			if match(cfg.Name) {
				esRuns = append(esRuns, cfg)
			}
		}
		chosen = len(esRuns)
	default:
		for _, m := range bench.Micros() {
			if match(m.Name) {
				chosen++
			}
		}
	}
	if chosen == 0 {
		fmt.Fprintf(stderr, "raysim bench: --filter %q matches no benchmark; the names: %s\n", *filter, strings.Join(names, ", "))
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := benchReport{Machine: bench.ThisMachine()}
	progress := func(format string, a ...any) {
		if !*jsonOut {
			fmt.Fprintf(stderr, format, a...)
		}
	}
	switch {
	case *flush > 0:
		r, err := bench.RunGCSFlush(ctx, *flush, 1000)
		if err != nil {
			fmt.Fprintf(stderr, "raysim bench: gcs-flush: %v\n", err)
			return exitFailed
		}
		rep.Flush = &r
		if !*jsonOut {
			fmt.Fprint(stdout, bench.FormatFlush(r))
		}
	case *scale:
		// Scale runs are long: one each unless --repeat is given.
		scaleRepeat := 1
		if set["repeat"] {
			scaleRepeat = *repeat
		}
		for _, sc := range scaleRuns {
			var reps []bench.ScaleResult
			for i := range scaleRepeat {
				if scaleRepeat > 1 {
					progress("%s (%d of %d) ...\n", sc.Name(), i+1, scaleRepeat)
				} else {
					progress("%s ...\n", sc.Name())
				}
				r, err := bench.RunScale(ctx, sc)
				if err != nil {
					fmt.Fprintf(stderr, "raysim bench: %s: %v\n", sc.Name(), err)
					return exitFailed
				}
				reps = append(reps, r)
			}
			rep.Scale = append(rep.Scale, bench.MedianScale(reps))
		}
		if runPending {
			progress("pending_%d ...\n", *pending)
			p, err := bench.RunPending(ctx, *pending)
			if err != nil {
				fmt.Fprintf(stderr, "raysim bench: pending: %v\n", err)
				return exitFailed
			}
			rep.Pending = &p
		}
		if !*jsonOut {
			fmt.Fprint(stdout, bench.FormatScale(rep.Scale, rep.Pending))
		}
		if *plotDir != "" && len(rep.Scale) > 0 {
			if err := writeScalePlot(*plotDir, rep.Scale); err != nil {
				fmt.Fprintf(stderr, "raysim bench: --plot: %v\n", err)
				return exitFailed
			}
		}
	case *es:
		var goStep time.Duration // one for every gocost row, so that they compare
		for i := range esRuns {
			if esRuns[i].StepCost == "go" {
				if goStep == 0 {
					if goStep = *esGoStep; goStep <= 0 {
						goStep = bench.GoStepCost()
					}
				}
				esRuns[i].GoStep = goStep
			}
		}
		for _, cfg := range esRuns {
			progress("%s ...\n", cfg.Name)
			r, err := bench.RunES(ctx, cfg)
			if err != nil {
				fmt.Fprintf(stderr, "raysim bench: %s: %v\n", cfg.Name, err)
				return exitFailed
			}
			rep.ES = append(rep.ES, r)
		}
		if !*jsonOut {
			fmt.Fprint(stdout, bench.FormatES(rep.ES))
		}
	default:
		rep.Micro = bench.RunMicros(ctx, bench.Options{Repeat: *repeat, Duration: *dur, Filter: re,
			Progress: func(name string) { progress("%s ...\n", name) }})
		if !*jsonOut {
			fmt.Fprint(stdout, bench.Format(rep.Micro))
			fmt.Fprintln(stdout, "\nreproduce one:")
			for _, r := range rep.Micro {
				fmt.Fprintf(stdout, "  %s\n", r.Command)
			}
		}
	}
	rep.Machine.Finish()
	if !*jsonOut {
		simProcs := 0 // the process's
		if *scale && *oneCore && len(rep.Scale) > 0 {
			simProcs = rep.Scale[0].GOMAXPROCS // what the simulations really ran at
		}
		fmt.Fprintf(stdout, "\n%s\n", rep.Machine.Line(simProcs))
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil { // a NaN or Inf a run should never have produced
		fmt.Fprintf(stderr, "raysim bench: the JSON report: %v\n", err)
		return exitFailed
	}
	if *jsonOut {
		fmt.Fprintln(stdout, string(js))
	}
	if *out != "" {
		if err := os.WriteFile(*out, append(js, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "raysim bench: %v\n", err)
			return exitFailed
		}
	}
	failed := false
	for _, r := range rep.Micro {
		failed = failed || r.Err != ""
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

// writeScalePlot draws the scale runs into dir.
func writeScalePlot(dir string, rs []bench.ScaleResult) error {
	f, err := bench.ScalePlot(rs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, f.Name+".svg"), f.SVG, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, f.Name+".png"), f.PNG, 0o644)
}
