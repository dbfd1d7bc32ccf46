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
	partial := fs.Bool("partial", false, "analyze a truncated trace's readable prefix (an interrupted run's), with a warning, instead of refusing it")
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

With --partial, a truncated trace (an interrupted run's, without its end
block) is analyzed up to where it ends, with a warning: tasks still
running there count as not completed, and its digest is of the records
read (a prefix digest, not the run's).

Exit status: 0 on success, 2 for a bad command line (an -o that cannot be
a directory, checked first) or a trace that cannot be read (missing, not a
trace, truncated without --partial, or corrupt), 1 when the report cannot
be written.

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
	if *out != "" {
		if err := usableDir(*out); err != nil {
			fmt.Fprintf(stderr, "raysim analyze: -o %s: %v (checked before the analysis)\n", *out, err)
			return exitUsage
		}
	}
	var reps []*analysis.Report
	var warnings []string
	for _, f := range files {
		rep, cut, err := analyzeFile(f, *partial)
		if err != nil { // it only reads: the trace is bad input
			fmt.Fprintf(stderr, "raysim analyze: %v\n", err)
			switch {
			case !errors.Is(err, traces.ErrTruncated):
			case *partial: // cut inside the header: nothing to read
				fmt.Fprintln(stderr, "raysim analyze: the cut is inside the trace's header: there are no records to analyze")
			default:
				fmt.Fprintln(stderr, "raysim analyze: --partial analyzes the records before the cut")
			}
			return exitUsage
		}
		reps = append(reps, rep)
		if cut != "" {
			warnings = append(warnings, "warning: "+cut)
		}
		// A live run on a shared cluster (its end block counts the other
		// jobs' events it left out): the tables say it; --json's stderr too.
		if n := rep.OtherJobsEvents; n > 0 && *asJSON {
			warnings = append(warnings, fmt.Sprintf("warning: %s: %s", f, traces.OtherJobsWarning(n)))
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

// analyzeFile analyzes the trace at path; with partial, a truncated trace's
// readable prefix (traces.Reader.SetPartial), cut then saying where it
// stopped ("" for an intact trace). The report's Records and Digest are
// then the prefix's (the trace has no end block to give the run's).
func analyzeFile(path string, partial bool) (rep *analysis.Report, cut string, err error) {
	if !partial {
		rep, err = analysis.AnalyzeFile(path)
		return rep, "", err
	}
	r, err := traces.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	r.SetPartial(true)
	rep, err = analysis.Analyze(r)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	rep.Name = path
	if c := r.Cut(); c != nil {
		rep.Records, rep.Digest = r.Count(), r.Digest().String()
		cut = fmt.Sprintf("%s: %v: analyzed the %d records before it (--partial); its digest %s is of those records (a prefix digest, not the run's)",
			path, c, r.Count(), rep.Digest)
	}
	return rep, cut, nil
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
