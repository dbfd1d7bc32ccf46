package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"raysim/bench"
	"raysim/runtime/costs"
	"raysim/scenarios"
)

func init() {
	register(&command{name: "calibrate", summary: "measure this machine's per-operation costs and write a cost profile; check the simulator's fidelity",
		run: cmdCalibrate})
}

// calibrateReport is the --json output.
type calibrateReport struct {
	Calibration *bench.Calibration `json:"calibration,omitempty"`
	Fidelity    []bench.Fidelity   `json:"fidelity,omitempty"`
}

func cmdCalibrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the measured cost profile (a costs file scenarios can name) here")
	jsonOut := fs.Bool("json", false, "print a JSON report")
	dur := fs.Duration("duration", 300*time.Millisecond, "measured time per repeat of each TCP microbenchmark")
	var fidelity, sets multiFlag
	fs.Var(&fidelity, "fidelity", "scenario to run on loopback TCP and in the simulator with the profile (repeatable)")
	fs.Var(&sets, "set", "override a key of the --fidelity scenarios: path=value (repeatable)")
	profile := fs.String("profile", "", "use this costs file (written by calibrate -o) instead of measuring")
	repeat := fs.Int("repeat", 3, "run each --fidelity scenario this many times on TCP and compare with the medians")
	latency := fs.Duration("latency", 0, "the one-way link latency for the simulator's --fidelity runs (default: the measured loopback latency; 10µs with --profile, which measures nothing)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim calibrate [flags]

Measures this machine's per-operation costs of the runtime (GCS read/write,
scheduling decision, message codec directly against the components; object
put/get and per-MiB copy from microbenchmarks on a loopback TCP cluster;
task dispatch from a scenario-runner run of empty tasks on one TCP node) and
prints the cost profile; -o writes it as a costs file that scenarios name
with cluster: {costs: {profile: PATH}}.

--fidelity FILE runs the scenario on the loopback TCP cluster and in the
simulator with the profile and the measured loopback latency, and prints
predicted versus measured throughput and latency percentiles. The TCP side
is the median of --repeat runs (the simulator is deterministic: one run).
The scenarios are loaded before anything is measured; one with faults is
refused (the TCP run does not apply them, the simulator would).

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0 on success, 1 when a measurement or a fidelity run fails or
the profile cannot be written, 2 for bad flags or a scenario that does not
load.
`)
	}
	if err := parseFlags(fs, args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "raysim calibrate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	switch {
	case *repeat < 1:
		fmt.Fprintf(stderr, "raysim calibrate: --repeat: want at least 1, got %d\n", *repeat)
		return exitUsage
	case *dur <= 0:
		fmt.Fprintf(stderr, "raysim calibrate: --duration: want a positive duration, got %v\n", *dur)
		return exitUsage
	case *latency < 0:
		fmt.Fprintf(stderr, "raysim calibrate: --latency: want 0 (the default) or more, got %v\n", *latency)
		return exitUsage
	case *profile != "" && *out != "":
		fmt.Fprintln(stderr, "raysim calibrate: -o writes a measured profile; with --profile nothing is measured (copy the file instead)")
		return exitUsage
	}
	if len(fidelity) == 0 {
		// These shape --fidelity checks only: without one they did nothing.
		var only []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "profile", "set", "repeat", "latency":
				only = append(only, "--"+f.Name)
			}
		})
		if len(only) > 0 {
			fmt.Fprintf(stderr, "raysim calibrate: %s: want --fidelity FILE too (they set up its checks)\n", strings.Join(only, ", "))
			return exitUsage
		}
	}
	// The scenarios are checked before the measurement: a bad one is a
	// usage error (exit 2, as for raysim run), not one found 15 s later.
	for _, file := range fidelity {
		if _, err := bench.LoadFidelity(file, sets); err != nil {
			fmt.Fprintf(stderr, "raysim calibrate: --fidelity: %v\n", err)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var rep calibrateReport
	var prof costs.Profile
	lat := *latency
	if *profile != "" {
		p, err := readProfile(*profile)
		if err != nil {
			fmt.Fprintf(stderr, "raysim calibrate: %v\n", err)
			return exitUsage
		}
		prof = p
		if lat == 0 {
			lat = 10 * time.Microsecond
		}
	} else {
		if !*jsonOut {
			fmt.Fprintln(stderr, "measuring (about 10 s) ...")
		}
		cal, err := bench.Calibrate(ctx, *dur)
		if err != nil {
			fmt.Fprintf(stderr, "raysim calibrate: %v\n", err)
			return exitFailed
		}
		rep.Calibration = &cal
		prof = cal.Profile
		if lat == 0 {
			lat = time.Duration(cal.LatencyUs * float64(time.Microsecond))
		}
		if !*jsonOut {
			fmt.Fprint(stdout, cal.ProfileYAML())
			fmt.Fprintf(stdout, "# a 1-node task on TCP: %.1fus through the scenario runner, %.1fus through the raw API; the raylet receives %.2f frames per task\n",
				cal.TaskTCPUs, cal.TaskAPIUs, cal.FramesTask)
		}
		if *out != "" {
			if err := os.WriteFile(*out, []byte(cal.ProfileYAML()), 0o644); err != nil {
				fmt.Fprintf(stderr, "raysim calibrate: %v\n", err)
				return exitFailed
			}
			if !*jsonOut {
				fmt.Fprintf(stdout, "wrote %s\n", *out)
			}
		}
	}
	profPath := *profile
	if profPath == "" {
		profPath = *out
	}
	for _, file := range fidelity {
		f, err := bench.RunFidelity(ctx, file, sets, prof, lat, profPath, *repeat)
		if err != nil {
			fmt.Fprintf(stderr, "raysim calibrate: %s: %v\n", file, err)
			return exitFailed
		}
		rep.Fidelity = append(rep.Fidelity, f)
		if !*jsonOut {
			fmt.Fprintln(stdout)
			fmt.Fprint(stdout, bench.FormatFidelity(f))
		}
	}
	if *jsonOut {
		js, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(js))
	}
	return exitOK
}

// readProfile reads a costs file as a scenario naming it in cluster.costs
// does (scenarios.LoadCosts): the same profile, and the same errors for a
// bad file.
func readProfile(path string) (costs.Profile, error) {
	c, err := scenarios.LoadCosts(path)
	if err != nil {
		return costs.Profile{}, err
	}
	return c.Resolve()
}
