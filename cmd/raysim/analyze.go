package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"raysim/analysis"
	"raysim/traces"
)

func init() {
	register(&command{name: "analyze", summary: "metrics, plots and an HTML report from one trace, or two side by side",
		run: cmdAnalyze})
}

func cmdAnalyze(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the report (report.html, SVG and PNG plots, summary.txt) to this directory")
	asJSON := fs.Bool("json", false, "print the analysis as one JSON object instead of the tables (two traces: {\"A\", \"B\", \"Metrics\"}); per-task phases are left out")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim analyze RUN.trace [-o DIR] [--json]
       raysim analyze A.trace B.trace [-o DIR] [--json]

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
	var warnings []string
	for _, f := range files {
		rep, err := analysis.AnalyzeFile(f)
		if err != nil { // AnalyzeFile only reads: the trace is bad input
			fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
			return exitUsage
		}
		reps = append(reps, rep)
		// A live run on a shared cluster: its end block counts the other
		// jobs' events it left out.
		if t, ok, err := traces.ReadTrailer(f); err == nil && ok && t.OtherJobsEvents > 0 {
			warnings = append(warnings, fmt.Sprintf("warning: %s: %s", f, traces.OtherJobsWarning(t.OtherJobsEvents)))
		}
	}
	switch {
	case *asJSON:
		err = writeAnalysisJSON(stdout, reps)
	case len(reps) == 1:
		err = analysis.WriteText(stdout, reps[0])
	default:
		err = analysis.WriteCompare(stdout, reps[0], reps[1])
	}
	if err != nil {
		fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
		return exitFailed
	}
	for _, w := range warnings { // after the tables; on stderr beside --json
		if *asJSON {
			fmt.Fprintln(stderr, "raysim analyze: "+w)
		} else {
			fmt.Fprintln(stdout, "\n"+w)
		}
	}
	if *out != "" {
		path, err := analysis.WriteReport(*out, reps...)
		if err != nil {
			fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
			return exitFailed
		}
		if *asJSON { // stdout is the JSON alone
			fmt.Fprintf(stderr, "raysim analyze: report: %s\n", path)
		} else {
			fmt.Fprintf(stdout, "\nreport: %s\n", path)
		}
	}
	return exitOK
}

// writeAnalysisJSON prints one report, or two and their metrics side by
// side, as JSON (the field names docs/analysis.md gives), without the
// per-task phases (Latency.Split: a record per task, too big to print for
// a large run; the percentiles over them stay).
func writeAnalysisJSON(w io.Writer, reps []*analysis.Report) error {
	trimmed := make([]*analysis.Report, len(reps))
	for i, r := range reps {
		c := *r
		c.Latency.Split = nil
		trimmed[i] = &c
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if len(reps) == 1 {
		return enc.Encode(trimmed[0])
	}
	return enc.Encode(struct {
		A, B    *analysis.Report
		Metrics []analysis.Metric
	}{trimmed[0], trimmed[1], analysis.Compare(reps[0], reps[1])})
}
