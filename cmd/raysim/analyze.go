package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"raysim/analysis"
)

func init() {
	register(&command{name: "analyze", summary: "metrics, plots and an HTML report from one trace, or two side by side",
		run: cmdAnalyze})
}

func cmdAnalyze(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the report (report.html, SVG and PNG plots, summary.txt) to this directory")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim analyze RUN.trace [-o DIR]
       raysim analyze A.trace B.trace [-o DIR]

Analyzes a trace written by 'raysim run FILE --trace RUN.trace': throughput
over time, task latency split into queueing, argument fetch and execution,
per-node utilization, local versus spilled placements, object transfers and
locality, each fault's detection and recovery time, and the critical path.
With two traces, prints them side by side and marks differences of 10% or
more. Tables go to the terminal; with -o, also plots (SVG and PNG) and one
self-contained report.html (docs/analysis.md explains each section).

Exit status: 0 on success, 2 for a bad command line or a trace that cannot
be read (missing, not a trace, truncated or corrupt), 1 when the report
cannot be written.

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
	if len(files) < 1 || len(files) > 2 {
		fmt.Fprintln(stderr, "raysim analyze: want one trace, or two to compare")
		fs.Usage()
		return exitUsage
	}
	var reps []*analysis.Report
	for _, f := range files {
		rep, err := analysis.AnalyzeFile(f)
		if err != nil { // AnalyzeFile only reads: the trace is bad input
			fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
			return exitUsage
		}
		reps = append(reps, rep)
	}
	if len(reps) == 1 {
		err = analysis.WriteText(stdout, reps[0])
	} else {
		err = analysis.WriteCompare(stdout, reps[0], reps[1])
	}
	if err != nil {
		fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
		return exitFailed
	}
	if *out != "" {
		path, err := analysis.WriteReport(*out, reps...)
		if err != nil {
			fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "\nreport: %s\n", path)
	}
	return exitOK
}
