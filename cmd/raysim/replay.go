package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"time"

	"raysim/scenarios/runner"
	"raysim/traces"
	"raysim/traces/replay"
)

func init() {
	register(&command{name: "replay", summary: "re-run a trace's scenario and compare event by event; time travel with --until",
		run: cmdReplay})
}

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	until := fs.String("until", "", "stop at this virtual time (e.g. 1.25s) and print the cluster's state")
	untilEvent := fs.String("until-event", "", "stop after event N (0-based index) and print the cluster's state")
	limit := fs.Int("limit", 20, "rows shown per table of the state dump (0: all)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim replay FILE [--until DURATION | --until-event N] [--limit N]

Re-runs the scenario recorded in the trace's header (same scenario, seed and
overrides) and compares the new run with the trace, event by event. On a
difference it names the first differing event (index, virtual time, the
trace's version and the run's) and exits 1; otherwise it prints the digest
and exits 0. A trace that cannot be read (missing, not a trace, truncated or
corrupt, a header whose scenario does not load) exits 2, so a CI job can
tell it from a divergence.

With --until or --until-event the run stops there (the prefix is still
compared) and the cluster's state is printed: each node's tasks and queues,
object store contents, fetches in progress, the GCS tables, the global
scheduler's view, messages in flight and partitions.

Flags:
`)
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "raysim replay: want exactly one trace file")
		return exitUsage
	}
	var o replay.Options
	switch {
	case *limit < 0:
		fmt.Fprintf(stderr, "raysim replay: --limit %d: want a number of rows >= 0 (0: all)\n", *limit)
		return exitUsage
	case *limit == 0:
		o.StateLimit = math.MaxInt // every row (replay.Options reads 0 as its default)
	default:
		o.StateLimit = *limit
	}
	if *until != "" && *untilEvent != "" {
		fmt.Fprintln(stderr, "raysim replay: --until and --until-event: give one of them (a virtual time or an event index to stop at)")
		return exitUsage
	}
	if *until != "" {
		d, err := time.ParseDuration(*until)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "raysim replay: --until %q: want a positive duration like 1.25s\n", *until)
			return exitUsage
		}
		o.Until = d
	}
	if *untilEvent != "" {
		n, err := strconv.ParseUint(*untilEvent, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "raysim replay: --until-event %q: want an event index\n", *untilEvent)
			return exitUsage
		}
		o.UntilEvent, o.HasUntilEvent = n, true
	}
	r, err := traces.Open(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "raysim replay: %v\n", err)
		return exitUsage // a trace that cannot be read is bad input, not a divergence
	}
	defer r.Close()
	h := r.Header()
	if h.Transport != "sim" {
		fmt.Fprintf(stderr, "raysim replay: %s: a %s trace cannot be replayed: it recorded a run over real sockets on the wall clock, which no re-run reproduces event for event; only simulator traces (transport sim) replay. raysim trace stats and trace export read it.\n", files[0], h.Transport)
		return exitUsage
	}
	if h.Version != traces.RaysimVersion() {
		fmt.Fprintf(stderr, "raysim replay: note: trace written by raysim %s, replaying with %s\n", h.Version, traces.RaysimVersion())
	}
	s, err := replay.Scenario(h)
	if err != nil {
		fmt.Fprintf(stderr, "raysim replay: %s: the trace's scenario: %v\n", files[0], err)
		return exitUsage
	}
	o.Scenario = s
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := replay.Run(ctx, r, o)
	if err != nil {
		fmt.Fprintf(stderr, "raysim replay: %s: %v\n", files[0], err)
		if res != nil && res.Records > 0 {
			fmt.Fprintf(stderr, "raysim replay: the first %d events matched\n", res.Records)
		}
		if errors.Is(err, runner.ErrBadScenario) {
			return exitUsage // the header's scenario cannot run
		}
		return traceExit(err)
	}
	if res.Divergence != nil {
		fmt.Fprintf(stdout, "DIVERGED %s seed=%d after %d matching events\n%s\n", h.File, h.Seed, res.Records, res.Divergence)
		return exitFailed
	}
	if o.Until > 0 || o.HasUntilEvent {
		if res.State != nil {
			res.State.Print(stdout)
		}
		what := "the run ended first"
		if res.Stopped {
			what = "stopped there"
		}
		fmt.Fprintf(stdout, "\nmatched %d events up to virtual time %v (%s); prefix digest %s\n",
			res.Records, res.State.At, what, res.Digest)
		return exitOK
	}
	if res.Trace != res.Digest {
		fmt.Fprintf(stdout, "DIVERGED %s: digest %s, the trace's %s\n", h.File, res.Digest, res.Trace)
		return exitFailed
	}
	fmt.Fprintf(stdout, "OK %s seed=%d: %d events match\ndigest: %s\n", h.File, h.Seed, res.Records, res.Digest)
	return exitOK
}
