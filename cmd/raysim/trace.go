package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"raysim/scenarios"
	"raysim/scenarios/runner"

	"raysim/traces"
	"raysim/traces/otelspans"
)

func init() {
	register(&command{name: "trace", summary: "export a trace (chrome, jsonl, otlp, otel-stdout) or print its statistics",
		run: cmdTrace})
}

// startRunTrace sets up `raysim run --trace/--chrome` for one scenario:
// opts.Trace records to the trace file (a temporary one for --chrome
// alone); finish, given the run's error, closes it and writes the Chrome
// JSON. A run that ended in an error (interrupted, a runner error) did not
// finish: finish writes its records so far but not the end block, so the
// trace reads as truncated (docs/traces.md), writes no Chrome JSON, and
// returns an error saying so.
func startRunTrace(f *runFlags, s *scenarios.Scenario, idx int, files []string, opts *runner.Options) (finish func(runErr error) error, err error) {
	if f.trace == "" && f.chrome == "" {
		return func(error) error { return nil }, nil
	}
	perRun := func(p string) string { return perRunPath(p, idx, len(files), s.Name) }
	tracePath, chromePath := perRun(f.trace), perRun(f.chrome)
	if err := checkOutputs(files, tracePath, chromePath); err != nil {
		return nil, err
	}
	temp := false
	if tracePath == "" {
		tf, err := os.CreateTemp("", "raysim-*.trace")
		if err != nil {
			return nil, err
		}
		tracePath, temp = tf.Name(), true
		tf.Close()
	}
	yaml, err := s.Marshal()
	if err != nil {
		return nil, fmt.Errorf("trace header: %w", err)
	}
	sets := append([]string(nil), f.sets...)
	if f.seed != "" {
		sets = append(sets, "seed="+f.seed)
	}
	w, err := traces.Create(tracePath, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed, Overrides: sets, Transport: f.transport(),
		Buggify: f.buggify, NodeIDs: f.liveIDs},
		traces.WriterOptions{NoCompression: f.traceRaw})
	if err != nil {
		return nil, err
	}
	rec := traces.NewRecorder(w)
	opts.Trace = rec
	return func(runErr error) error {
		if temp {
			defer os.Remove(tracePath)
		}
		if runErr != nil {
			if err := rec.Abandon(); err != nil {
				return fmt.Errorf("writing %s: %w", tracePath, err)
			}
			var left []string
			if !temp {
				left = append(left, fmt.Sprintf("trace %s left without its end block (it reads as truncated; analyze and trace export read its records with --partial)", tracePath))
			}
			if chromePath != "" {
				left = append(left, "no --chrome export")
			}
			return fmt.Errorf("the run did not finish: %s", strings.Join(left, "; "))
		}
		if err := rec.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", tracePath, err)
		}
		if chromePath == "" {
			return nil
		}
		err := exportFile(tracePath, chromePath, "chrome", exportFlags{})
		if err != nil && temp {
			// The temporary trace is ours, not the user's: name the
			// --chrome file only.
			return &outputError{msg: "writing --chrome " + chromePath + ": " + strings.ReplaceAll(err.Error(), tracePath+": ", ""), err: err}
		}
		return err
	}, nil
}

// outputError is an export's error reworded for the user (a temporary
// file's name left out), its chain kept.
type outputError struct {
	msg string
	err error
}

func (e *outputError) Error() string { return e.msg }
func (e *outputError) Unwrap() error { return e.err }

// errBadOutput refuses a run whose --trace or --chrome file is one of its
// scenario files, or the other output (writing it would destroy the
// input), or cannot be created: a bad flag, found before the run.
var errBadOutput = errors.New("bad output file")

// checkOutputs refuses, before a run starts, the outputs trace and chrome
// ("" for none) when one is a scenario file or both are one file, and an
// output whose directory cannot take a new file (found now, not after the
// run). It creates nothing that stays.
func checkOutputs(inputs []string, trace, chrome string) error {
	if trace != "" && chrome != "" && samePath(trace, chrome) {
		return fmt.Errorf("%w: --trace and --chrome are one file (%s): give each its own", errBadOutput, chrome)
	}
	for _, out := range []string{trace, chrome} {
		if out == "" {
			continue
		}
		for _, in := range inputs {
			if samePath(in, out) {
				return fmt.Errorf("%w: %s is the scenario file %s: writing it would destroy the scenario; choose another output file", errBadOutput, out, in)
			}
		}
		if st, err := os.Stat(out); err == nil && st.IsDir() {
			return fmt.Errorf("%w: %s is a directory: want a file", errBadOutput, out)
		} else if err == nil && !st.Mode().IsRegular() {
			continue // /dev/stdout, a pipe: written in place
		}
		probe, err := os.CreateTemp(filepath.Dir(out), ".raysim-probe-*")
		if err != nil {
			return fmt.Errorf("%w: cannot create %s: %w", errBadOutput, out, err)
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	return nil
}

// samePath reports whether two paths name one file: the same existing
// file (links included), or the same cleaned absolute path.
func samePath(a, b string) bool {
	sa, ea := os.Stat(a)
	sb, eb := os.Stat(b)
	if ea == nil && eb == nil {
		return os.SameFile(sa, sb)
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// perRunPath is the --trace or --chrome file p of run idx of nfiles, of the
// scenario named name: p itself for one file, else p with "-IDX-NAME"
// before its extension (out.trace: out-0-quickstart.trace, ...).
func perRunPath(p string, idx, nfiles int, name string) string {
	if nfiles <= 1 || p == "" {
		return p
	}
	ext := filepath.Ext(p)
	return fmt.Sprintf("%s-%d-%s%s", strings.TrimSuffix(p, ext), idx, name, ext)
}

// badTraceError marks an error as the trace input's fault: the file is
// missing, a directory, not a trace, or its header unreadable.
type badTraceError struct{ err error }

func (e badTraceError) Error() string { return e.err.Error() }
func (e badTraceError) Unwrap() error { return e.err }

// traceExit is the exit code for an error of a command reading a trace:
// exitUsage (2) when the input is bad — a badTraceError, or a truncated or
// corrupt file (a *traces.FormatError) — so a script can tell a damaged
// trace from a replay's divergence (1), or when the output is the input
// (errOntoInput); exitFailed (1) for anything else (writing the output, an
// OTLP collector).
func traceExit(err error) int {
	var bad badTraceError
	var fe *traces.FormatError
	if errors.As(err, &bad) || errors.As(err, &fe) || errors.Is(err, errOntoInput) {
		return exitUsage
	}
	return exitFailed
}

type exportFlags struct {
	format, out, endpoint, protocol string
	insecure                        bool
	digest                          string    // the run's digest for the OTLP export ("" unknown)
	partial                         bool      // export a truncated trace's readable prefix (--partial)
	log                             io.Writer // where an OTLP export says what it sent, and a --partial export its warning (the command's stderr)
}

func cmdTrace(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, `Usage:
  raysim trace export FILE [--format chrome|jsonl|otlp|otel-stdout] [-o OUT] [--partial]
         [--otlp-endpoint HOST:PORT] [--otlp-protocol http|grpc] [--otlp-insecure=false]
  raysim trace stats FILE [--json]

export writes the trace (to stdout without -o) as Chrome trace-event JSON (the default; open it in
https://ui.perfetto.dev or chrome://tracing), as JSON lines (one record per
line), or as OpenTelemetry spans (one span per task with scheduling,
argument-fetch and execution children, in virtual time) to an OTLP collector
(Jaeger) or stdout. The --otlp-* flags are for --format otlp alone; OTLP is
plain text unless --otlp-insecure=false (TLS). --partial exports an
interrupted run's trace (no end block) up to where it ends, with a warning
on stderr. stats
prints event counts by kind, per node and per virtual second.

Exit status: 0 on success, 2 for a bad command line or a trace that cannot
be read (missing, not a trace, truncated or corrupt), 1 for other errors
(writing the output, an OTLP collector).
`)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "export":
		return cmdTraceExport(args[1:], stdout, stderr)
	case "stats":
		return cmdTraceStats(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "raysim trace: unknown subcommand %q (export, stats)\n", args[0])
	return exitUsage
}

func cmdTraceExport(args []string, stdout, stderr io.Writer) int {
	var ef exportFlags
	fs := flag.NewFlagSet("trace export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&ef.format, "format", "chrome", "chrome, jsonl, otlp or otel-stdout")
	fs.StringVar(&ef.out, "o", "-", "output file (- for stdout)")
	fs.StringVar(&ef.endpoint, "otlp-endpoint", "", "OTLP collector host:port (default localhost:4318 for http, localhost:4317 for grpc)")
	fs.StringVar(&ef.protocol, "otlp-protocol", "http", "OTLP protocol: http or grpc")
	fs.BoolVar(&ef.insecure, "otlp-insecure", true, "plain-text OTLP, no TLS (the default); --otlp-insecure=false for TLS")
	fs.BoolVar(&ef.partial, "partial", false, "export a truncated trace's readable prefix (an interrupted run's), with a warning, instead of refusing it")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "raysim trace export: want exactly one trace file")
		return exitUsage
	}
	switch ef.format {
	case "chrome", "jsonl", "otlp", "otel-stdout":
	default:
		fmt.Fprintf(stderr, "raysim trace export: unknown --format %q (chrome, jsonl, otlp, otel-stdout)\n", ef.format)
		return exitUsage
	}
	if ef.format != "otlp" {
		// The --otlp-* flags configure the OTLP exporter alone: with
		// another format they would be ignored, and the spans meant for a
		// collector written out instead.
		var set []string
		fs.Visit(func(f *flag.Flag) { // in name order
			if strings.HasPrefix(f.Name, "otlp-") {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			fmt.Fprintf(stderr, "raysim trace export: %s with --format %s: the --otlp-* flags are for --format otlp alone\n", strings.Join(set, ", "), ef.format)
			return exitUsage
		}
	}
	switch ef.protocol {
	case "http", "grpc":
	default:
		fmt.Fprintf(stderr, "raysim trace export: unknown --otlp-protocol %q (http, grpc)\n", ef.protocol)
		return exitUsage
	}
	if ef.endpoint == "" { // the protocol's own port, as OTLP's SDKs default
		ef.endpoint = "localhost:4318"
		if ef.protocol == "grpc" {
			ef.endpoint = "localhost:4317"
		}
	}
	ef.log = stderr
	if ef.format == "otlp" && ef.out != "-" {
		fmt.Fprintln(stderr, "raysim trace export: -o with --format otlp: the spans go to --otlp-endpoint, not to a file (otel-stdout writes them out)")
		return exitUsage
	}
	if ef.out == "-" {
		err = exportTo(files[0], stdout, ef)
	} else {
		err = exportFile(files[0], ef.out, ef.format, ef)
	}
	if err != nil {
		fmt.Fprintf(stderr, "raysim trace export: %v\n", err)
		switch {
		case !errors.Is(err, traces.ErrTruncated):
		case ef.partial: // cut inside the header: nothing to read
			fmt.Fprintln(stderr, "raysim trace export: the cut is inside the trace's header: there are no records to export")
		default:
			fmt.Fprintln(stderr, "raysim trace export: --partial exports the records before the cut")
		}
		return traceExit(err)
	}
	return exitOK
}

// errOntoInput refuses an export whose output file is the trace it reads.
var errOntoInput = errors.New("the output file is the trace being exported")

// exportFile exports the trace to the file out. The export goes to a
// temporary file next to out, renamed to out once complete, so a failed
// export (a damaged trace) leaves no partial output and an existing out
// untouched. An out that exists and is not a regular file (/dev/stdout, a
// pipe) is written in place.
func exportFile(tracePath, out, format string, ef exportFlags) (err error) {
	ef.format = format
	in, err := os.Stat(tracePath)
	if err != nil { // before creating the output
		return badTraceError{err}
	}
	if st, err := os.Stat(out); err == nil {
		if os.SameFile(in, st) {
			return fmt.Errorf("%w (%s): choose another output file", errOntoInput, out)
		}
		if !st.Mode().IsRegular() {
			f, err := os.OpenFile(out, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if err := exportTo(tracePath, f, ef); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return namingOutput(err, out)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = namingOutput(err, out)
		}
	}()
	if err := exportTo(tracePath, f, ef); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}

// namingOutput rewrites an error of exportFile's temporary file (creating,
// writing, renaming it) to name out, the file the user asked for: the
// temporary file is an implementation detail, gone once the export fails.
// The error keeps its chain (traceExit reads it).
func namingOutput(err error, out string) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path != out && filepath.Dir(pe.Path) == filepath.Dir(out) &&
		strings.HasPrefix(filepath.Base(pe.Path), "."+filepath.Base(out)+".") {
		pe.Path = out // a fresh error of this export's own call, not shared
		if pe.Op == "open" || pe.Op == "createtemp" {
			pe.Op = "create"
		}
		return err
	}
	var le *os.LinkError
	if errors.As(err, &le) && le.New == out && err == error(le) {
		return &os.PathError{Op: "write", Path: out, Err: le.Err}
	}
	return err
}

func exportTo(tracePath string, w io.Writer, ef exportFlags) error {
	r, err := traces.Open(tracePath)
	if err != nil {
		return badTraceError{err}
	}
	defer r.Close()
	r.SetPartial(ef.partial)
	defer func() {
		if cut := r.Cut(); cut != nil && ef.log != nil {
			fmt.Fprintf(ef.log, "raysim trace export: warning: %s: %v: exported the %d records before it (--partial); tasks still running there are unfinished\n",
				tracePath, cut, r.Count())
		}
	}()
	switch ef.format {
	case "jsonl":
		_, err = traces.WriteJSONL(w, r)
	case "chrome":
		err = traces.WriteChromeWith(w, r, traces.ChromeOptions{})
	default:
		// The run's digest, from the end block, makes the spans' IDs and
		// resource the run's own (otelspans.Options.Digest). Only a file
		// can be read twice: from a pipe (/dev/stdin) the second read
		// took the bytes from under the first, and the IDs come from the
		// header alone.
		if fi, serr := os.Stat(tracePath); serr == nil && fi.Mode().IsRegular() {
			if t, ok, terr := traces.ReadTrailer(tracePath); terr == nil && ok {
				ef.digest = t.Digest.String()
			}
		}
		err = exportOTel(r, w, ef)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", tracePath, err)
	}
	return nil
}

func cmdTraceStats(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "raysim trace stats: want exactly one trace file")
		return exitUsage
	}
	r, err := traces.Open(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "raysim trace stats: %v\n", err)
		return exitUsage // a trace that cannot be read is bad input
	}
	defer r.Close()
	st, err := traces.ComputeStats(r)
	if err != nil && !strings.Contains(err.Error(), files[0]) {
		err = fmt.Errorf("%s: %w", files[0], err) // which file, as Open's errors say
	}
	h := r.Header()
	if *asJSON {
		printJSON(stdout, st)
	} else {
		fmt.Fprintf(stdout, "trace     %s: scenario %s, seed %d, transport %s, raysim %s\n", files[0], h.File, h.Seed, h.Transport, h.Version)
		if len(h.Overrides) > 0 {
			fmt.Fprintf(stdout, "overrides %s\n", strings.Join(h.Overrides, " "))
		}
		if h.Buggify {
			fmt.Fprintln(stdout, "buggify   on (the runtime's fault points)")
		}
		st.Print(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "raysim trace stats: %v (statistics cover the %s records before it)\n", err, strconv.FormatUint(st.Records, 10))
		return traceExit(err)
	}
	return exitOK
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// exportOTel sends a trace's task spans to an OTLP collector (http or
// grpc) or writes them to w (otel-stdout).
func exportOTel(r *traces.Reader, w io.Writer, ef exportFlags) error {
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch {
	case ef.format == "otel-stdout":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
	case ef.protocol == "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(ef.endpoint)}
		if ef.insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case ef.protocol == "http":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(ef.endpoint)}
		if ef.insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		return fmt.Errorf("--otlp-protocol %q: want http or grpc", ef.protocol)
	}
	if err != nil {
		return err
	}
	fe := &failFast{SpanExporter: exp}
	n, err := otelspans.Export(ctx, r, fe, otelspans.Options{Batch: ef.format == "otlp", Digest: ef.digest})
	if e := exp.Shutdown(ctx); err == nil {
		err = e
	}
	if err == nil {
		err = fe.err
	}
	if err != nil {
		return err
	}
	if ef.format == "otlp" && ef.log != nil {
		fmt.Fprintf(ef.log, "sent %d task spans (with their phase spans) to %s over OTLP/%s\n", n, ef.endpoint, ef.protocol)
	}
	return nil
}

// failFast remembers the first export error (the SDK would only log it) and
// skips further exports after it.
type failFast struct {
	sdktrace.SpanExporter
	err error
}

func (f *failFast) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if f.err != nil {
		return f.err
	}
	f.err = f.SpanExporter.ExportSpans(ctx, spans)
	return f.err
}
