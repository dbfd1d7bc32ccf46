package analysis

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"raysim/scenarios"
	"raysim/traces"
)

// ms formats a duration in milliseconds with 3 significant decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}

// bytesStr is a size in B/KiB/MiB/GiB.
func bytesStr(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(n) >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// sparkline draws v as one line of block characters.
// fitWidth averages groups of per consecutive values so that at most width
// remain: up to 125 throughput bins would wrap an 80-column terminal.
func fitWidth(v []float64, width int) (out []float64, per int) {
	per = max((len(v)+width-1)/width, 1)
	if per == 1 {
		return v, 1
	}
	for i := 0; i < len(v); i += per {
		g := v[i:min(i+per, len(v))]
		var sum float64
		for _, x := range g {
			sum += x
		}
		out = append(out, sum/float64(len(g)))
	}
	return out, per
}

func sparkline(v []float64) string {
	const ticks = "▁▂▃▄▅▆▇█"
	r := []rune(ticks)
	var hi float64
	for _, x := range v {
		hi = max(hi, x)
	}
	var b strings.Builder
	for _, x := range v {
		i := 0
		if hi > 0 {
			i = int(x / hi * float64(len(r)-1))
		}
		b.WriteRune(r[i])
	}
	return b.String()
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// Variant says what set the run apart from its scenario file as written:
// its --set overrides and buggify ("" when neither).
func (r *Report) Variant() string {
	var parts []string
	if len(r.Overrides) > 0 {
		parts = append(parts, "overrides "+strings.Join(r.Overrides, " "))
	}
	if r.Buggify {
		parts = append(parts, "buggify on")
	}
	return strings.Join(parts, "; ")
}

// orDash is s, or "-" for an empty field (a trace whose header's scenario
// could not be read has no name or policy): the JSON keeps "".
func orDash(s string) string { return cmp.Or(s, "-") }

// MeanThroughput is completions per second over the whole run (its end,
// Report.End).
func (r *Report) MeanThroughput() float64 {
	if r.End <= 0 {
		return 0
	}
	return float64(r.Tasks.Completed) / r.End.Seconds()
}

// PeakThroughput is the highest binned completion rate.
func (r *Report) PeakThroughput() float64 {
	var hi float64
	for _, v := range r.Throughput.Values {
		hi = max(hi, v)
	}
	return hi
}

// WriteText prints the report as terminal tables.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	p := func(format string, args ...any) { fmt.Fprintf(ew, format, args...) }
	p("== %s\n", orDash(r.Name))
	p("scenario   %s (%s), seed %d, policy %s, transport %s, raysim %s\n", orDash(r.Scenario), r.File, r.Seed, orDash(r.Policy), r.Transport, r.Version)
	if v := r.Variant(); v != "" {
		p("           %s\n", v)
	}
	if r.OtherJobsEvents > 0 {
		p("warning    %s\n", traces.OtherJobsWarning(r.OtherJobsEvents))
	}
	if r.ScenarioErr != "" {
		p("           the header's scenario cannot be read (nodes named by ID, their CPUs unknown): %s\n", r.ScenarioErr)
	}
	if len(r.DemandGuessed) > 0 {
		p("           tasks named %s ask for different resources in different workload entries: utilization counts them at the first entry's\n", strings.Join(r.DemandGuessed, ", "))
	}
	p("trace      %d records over %v %s, digest %s\n", r.Records, r.End, r.Clock(), r.Digest)
	c := r.Tasks
	p("\n-- tasks\n")
	p("submitted %d, completed %d (incl. %d actor creations), failed %d, retried %d, cancelled %d, infeasible %d\n",
		c.Submitted, c.Completed, c.ActorsCreated, c.Failed, c.Retried, c.Cancelled, c.Infeasible)
	if c.Unfinished > 0 {
		p("unfinished %d: the trace ended before they did (the longest had waited %v); the latencies below leave them out\n",
			c.Unfinished, c.Waited.Round(time.Microsecond))
	}
	replayed := ""
	if c.MethodsReplayed > 0 {
		replayed = fmt.Sprintf(", methods replayed %d", c.MethodsReplayed)
	}
	p("actors restarted %d, died %d%s; objects lost %d, reconstructed %d\n", c.ActorsRestarted, c.ActorsDied, replayed, c.ObjectsLost, c.ObjectsReconstructed)
	if c.ObjectsSpilled > 0 || c.ObjectsRestored > 0 {
		p("objects spilled %d (%s written), restored %d (%s read)\n", c.ObjectsSpilled, bytesStr(float64(c.BytesSpilled)),
			c.ObjectsRestored, bytesStr(float64(c.BytesRestored)))
	}

	p("\n-- throughput (completions/s, bins of %v)\n", r.Throughput.Bin)
	p("mean %s/s, peak %s/s\n", scenarios.FormatNumber(r.MeanThroughput()), scenarios.FormatNumber(r.PeakThroughput()))
	spark, per := fitWidth(r.Throughput.Values, 80)
	if per > 1 {
		p("%s  (a character per %v)\n", sparkline(spark), time.Duration(per)*r.Throughput.Bin)
	} else {
		p("%s\n", sparkline(spark))
	}

	p("\n-- task latency (ms), submission to first completion; total = queue + fetch + exec\n")
	tw := newTab(ew)
	fmt.Fprintln(tw, "phase\tn\tmean\tp50\tp90\tp99\tmax\t")
	ph := r.Latency.Phase
	for _, row := range []struct {
		name string
		p    Percentiles
	}{{"total", ph.Total}, {"queue", ph.Queue}, {"  of which scheduling", ph.Sched}, {"arg fetch", ph.Fetch}, {"execution", ph.Exec}} {
		if row.p.N == 0 { // nothing to measure: not a 0.000 ms measurement
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t-\t-\t\n", row.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", row.name, row.p.N, ms(row.p.Mean), ms(row.p.P50), ms(row.p.P90), ms(row.p.P99), ms(row.p.Max))
	}
	tw.Flush()
	if len(r.Functions) > 0 {
		p("\nby function\n")
		tw = newTab(ew)
		fmt.Fprintln(tw, "function\tn\tp50\tp99\texec p50\t")
		for _, f := range r.Functions {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", f.Func, f.Latency.N, ms(f.Latency.P50), ms(f.Latency.P99), ms(f.Exec.P50))
		}
		tw.Flush()
	}

	p("\n-- nodes (util = CPU-seconds the running tasks asked for / (CPUs x %v); busy = worker-time)\n", r.End.Round(time.Millisecond))
	other := false // a column for the other resources when a node has or used any
	for _, n := range r.Nodes {
		other = other || (!n.Idle() && len(n.OtherResources()) > 0)
	}
	tw = newTab(ew)
	head := "node\tCPUs\texecuted\tbusy\tutil\t"
	if other {
		head += "other resources\t"
	}
	fmt.Fprintln(tw, head+"owned\tlocal\tspilled\tbytes in\tbytes out\tdead\t")
	for _, n := range r.Nodes {
		if n.Idle() {
			continue
		}
		util := fmt.Sprintf("%.1f%%", 100*n.Utilization)
		if n.NoCPUs || r.End <= 0 { // no CPUs, or no run time to share them over
			util = "-"
		}
		fmt.Fprintf(tw, "%s\t%g\t%d\t%v\t%s\t", n.Name, n.CPUs, n.Executed, n.BusyTime.Round(time.Microsecond), util)
		if other {
			fmt.Fprintf(tw, "%s\t", n.OtherText())
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%d\t\n", n.Owned, n.Local, n.Spilled,
			bytesStr(float64(n.BytesIn)), bytesStr(float64(n.BytesOut)), n.Dead)
	}
	tw.Flush()
	if c.ObjectsSpilled > 0 || c.ObjectsRestored > 0 {
		p("\n-- object spilling (primary copies moved to a node's spill tier, and read back)\n")
		tw = newTab(ew)
		fmt.Fprintln(tw, "node\tspilled\twritten\trestored\tread\t")
		for _, n := range r.Nodes {
			if n.ObjectsSpilled > 0 || n.ObjectsRestored > 0 {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t\n", n.Name, n.ObjectsSpilled, bytesStr(float64(n.BytesSpilled)),
					n.ObjectsRestored, bytesStr(float64(n.BytesRestored)))
			}
		}
		tw.Flush()
	}

	pl := r.Placement
	p("\n-- placement (first placement of each task)\n")
	tot := pl.Local + pl.Spilled + pl.Actor + pl.Other
	if tot == 0 {
		p("local 0, spilled 0, actor 0, other 0 (no task placed)")
	} else {
		p("local %d (%.1f%%), spilled %d (%.1f%%), actor %d, other %d", pl.Local, pct(pl.Local, tot), pl.Spilled, pct(pl.Spilled, tot), pl.Actor, pl.Other)
	}
	if pl.Unplaced > 0 {
		p(", never placed %d (cancelled, infeasible or unfinished first)", pl.Unplaced)
	}
	p("\n")
	var ds []string
	for _, d := range pl.Decisions {
		ds = append(ds, fmt.Sprintf("%s %d", d.Name, d.Count))
	}
	p("acceptances by reason: %s\n", strings.Join(ds, ", "))
	if pl.Respilled > 0 {
		p("re-spilled from queues %d (%d placed back on their node)\n", pl.Respilled, pl.RespilledBack)
	}

	t := r.Transfers
	p("\n-- object transfers\n")
	p("%d transfers, %s; accepted task attempts %d: %d fetched an argument from another node, %d waited for a local producer\n",
		t.Count, bytesStr(float64(t.Bytes)), t.Accepted, t.Fetched, t.WaitedLocal)
	approx := ""
	if t.Approximate {
		approx = ", approximate: the trace has no task.arg events"
	}
	hit := fmt.Sprintf("%.1f%%", 100*t.LocalityRatio)
	if t.Accepted == 0 {
		hit = "- (no task accepted)"
	}
	p("locality hit rate (attempts that fetched nothing): %s%s\n", hit, approx)
	if !t.Approximate {
		crossed := fmt.Sprintf("%.1f%%", 100*t.ArgLocality)
		if t.ArgsLocal+t.ArgsFetched+t.ArgsProducedHere == 0 {
			crossed = "- (no argument resolved)"
		}
		p("by-reference arguments %d: %d local at acceptance, %d produced on the same node later, %d fetched from another node, %d never arrived; crossed no link: %s\n",
			t.Args, t.ArgsLocal, t.ArgsProducedHere, t.ArgsFetched, t.ArgsPending, crossed)
	}
	if len(t.Links) > 0 {
		tw = newTab(ew)
		fmt.Fprintln(tw, "from\tto\ttransfers\tbytes\t")
		for i, l := range t.Links {
			if i == 8 {
				fmt.Fprintf(tw, "(%d more)\t\t\t\t\n", len(t.Links)-i)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", r.NodeName(l.From), r.NodeName(l.To), l.Count, bytesStr(float64(l.Bytes)))
		}
		tw.Flush()
	}

	p("\n-- faults\n")
	if len(r.Faults) == 0 {
		p("none injected\n")
	} else {
		tw = newTab(ew)
		fmt.Fprintln(tw, "at\tfault\tnode\tdetail\tdetected after\tbaseline/s\tdip/s\tthroughput recovered after\t")
		for _, f := range r.Faults {
			fmt.Fprintf(tw, "%v\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f.At.Round(time.Microsecond), f.Kind, r.NodeName(f.Node), r.FaultDetail(f),
				f.DetectText(), f.BaselineText(), f.DipText(), f.RecoverText())
		}
		tw.Flush()
	}

	cp := r.CriticalPath
	how := "from task.arg"
	if cp.Inferred {
		how = "inferred"
	}
	p("\n-- critical path (dependency chain with the most execution + fetch time; %d edges %s, deepest chain %d tasks)\n", cp.Edges, how, cp.Depth)
	if len(cp.Tasks) == 0 {
		p("no tasks\n")
	} else {
		p("%d tasks over %v = queue %v + arg fetch %v + execution %v (the run: %v end to end)\n",
			len(cp.Tasks), cp.Span, cp.Queue, cp.Fetch, cp.Exec, cp.EndToEnd)
		tw = newTab(ew)
		fmt.Fprintln(tw, "#\ttask\tfunction\tnode\tsubmitted\tfrom pred. finish: queue\tfetch\texec\t")
		for i, ph := range cp.Tasks {
			if n := len(cp.Tasks); n > 12 && i >= 6 && i < n-6 {
				if i == 6 {
					fmt.Fprintf(tw, "...\t(%d more)\t\t\t\t\t\t\t\n", n-12)
				}
				continue
			}
			fmt.Fprintf(tw, "%d\t%v\t%s\t%s\t%s\t%s\t%s\t%s\t\n", i+1, ph.Task, ph.Func, r.NodeName(ph.Node), ms(ph.Submit), ms(ph.Queue), ms(ph.Fetch), ms(ph.Exec))
		}
		tw.Flush()
	}
	return ew.err
}

func pct(n, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// BaselineText is the completion rate before the fault (tasks/s), or "-"
// for a restart or heal (no fault: nothing is judged).
func (f Fault) BaselineText() string {
	if f.Kind == "restart" || f.Kind == "heal" {
		return "-"
	}
	return scenarios.FormatNumber(f.Baseline)
}

// DipText is the lowest smoothed rate after the fault (tasks/s), or "-"
// where there is none: a restart or heal, a fault nothing ended after, a
// rate that never fell below the baseline.
func (f Fault) DipText() string {
	if f.Kind == "restart" || f.Kind == "heal" || f.Unjudged || f.NoDip && f.Dip >= f.Baseline {
		return "-"
	}
	return scenarios.FormatNumber(f.Dip)
}

// DetectText is the detection delay, or why there is none.
func (f Fault) DetectText() string {
	if !f.Detectable() { // no detection event to wait for
		return "-"
	}
	if f.Detected == 0 {
		return "not detected"
	}
	if f.AtRestart {
		return "at its restart, " + f.DetectAfter.Round(time.Microsecond).String()
	}
	return f.DetectAfter.Round(time.Microsecond).String()
}

// RecoverText is the throughput recovery delay, or why there is none.
func (f Fault) RecoverText() string {
	switch {
	case f.Kind == "restart" || f.Kind == "heal":
		return "-"
	case f.Unjudged:
		return "cannot judge: no task ended after it"
	case f.NotRecovered && f.Drained > 0:
		return "not before the backlog drained (" + f.Drained.Round(time.Millisecond).String() + ")"
	case f.NotRecovered:
		return "not before the end"
	case f.NoDip:
		return "no dip"
	}
	return f.RecoverAfter.Round(time.Microsecond).String()
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
