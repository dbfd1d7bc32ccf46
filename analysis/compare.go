package analysis

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"time"

	"raysim/scenarios"
	"raysim/traces"
)

// Metric is one number of two runs side by side.
type Metric struct {
	Section, Name string
	A, B          float64
	Unit          string // "ms", "/s", "%", "B", "" (a count), "s"
	// Better is +1 when a higher value is better, -1 when lower is, 0 when
	// neither.
	Better int
	// NoA, NoB, when not empty, say why a run has no value ("not
	// detected"): it is shown instead of A or B (a 0 there would read as
	// a measurement) and the two are not compared as numbers.
	NoA, NoB string
	// Partial: a run has tasks that never ended (TaskCounts.Unfinished):
	// its time, rates and latencies leave them out, and the rest describe
	// a run cut short, so the difference is shown but judged neither
	// better nor worse (every metric after the task counts).
	Partial bool `json:",omitempty"`
}

// Delta is (B-A)/A, or ±Inf when A is 0 and B is not; 0 when either run has
// no value.
func (m Metric) Delta() float64 {
	if m.NoA != "" || m.NoB != "" {
		return 0
	}
	if m.A == m.B {
		return 0
	}
	if m.A == 0 {
		return math.Copysign(math.Inf(1), m.B)
	}
	return (m.B - m.A) / math.Abs(m.A)
}

// Significant marks differences of 10% or more, and a value one run has and
// the other has not.
func (m Metric) Significant() bool {
	if (m.NoA == "") != (m.NoB == "") {
		return true
	}
	return math.Abs(m.Delta()) >= 0.10
}

// Verdict is "better", "worse" or "" for B relative to A.
func (m Metric) Verdict() string {
	if !m.Significant() || m.Better == 0 || m.NoA != "" || m.NoB != "" || m.Partial {
		return ""
	}
	if (m.B > m.A) == (m.Better > 0) {
		return "better"
	}
	return "worse"
}

// Format renders a value in the metric's unit.
func (m Metric) Format(v float64) string {
	switch m.Unit {
	case "ms":
		return fmt.Sprintf("%.3f ms", v)
	case "/s":
		return scenarios.FormatNumber(v) + "/s"
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "B":
		return bytesStr(v)
	case "s":
		return fmt.Sprintf("%.3f s", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// TextA and TextB are A's and B's values as text (Format), or why the run
// has none.
func (m Metric) TextA() string { return cmp.Or(m.NoA, m.Format(m.A)) }

// TextB: see TextA.
func (m Metric) TextB() string { return cmp.Or(m.NoB, m.Format(m.B)) }

// DeltaText is the relative difference as text.
func (m Metric) DeltaText() string {
	if m.NoA != "" || m.NoB != "" {
		if m.NoA == m.NoB {
			return "="
		}
		return "n/a"
	}
	d := m.Delta()
	switch {
	case d == 0:
		return "="
	case math.IsInf(d, 0):
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*d)
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Compare lists the metrics of two runs side by side.
func Compare(a, b *Report) []Metric {
	var out []Metric
	add := func(sec, name, unit string, better int, f func(r *Report) float64) {
		out = append(out, Metric{Section: sec, Name: name, Unit: unit, Better: better, A: f(a), B: f(b)})
	}
	// unless gives the last metric added a reason to show instead of a
	// value, for a run that has nothing to measure (none returns "").
	unless := func(none func(r *Report) string) {
		m := &out[len(out)-1]
		m.NoA, m.NoB = none(a), none(b)
	}
	add("tasks", "submitted", "", 0, func(r *Report) float64 { return float64(r.Tasks.Submitted) })
	add("tasks", "completed", "", 0, func(r *Report) float64 { return float64(r.Tasks.Completed) })
	add("tasks", "failed", "", -1, func(r *Report) float64 { return float64(r.Tasks.Failed) })
	add("tasks", "retried", "", -1, func(r *Report) float64 { return float64(r.Tasks.Retried) })
	add("tasks", "unfinished", "", -1, func(r *Report) float64 { return float64(r.Tasks.Unfinished) })
	partialFrom := len(out) // the metrics after this leave unfinished tasks out
	runTime := a.Clock() + " time"
	if a.Clock() != b.Clock() {
		runTime = "run time (A " + a.Clock() + ", B " + b.Clock() + ")"
	}
	add("tasks", runTime, "s", -1, func(r *Report) float64 { return r.End.Seconds() })
	add("throughput", "mean", "/s", 1, (*Report).MeanThroughput)
	add("throughput", "peak", "/s", 1, (*Report).PeakThroughput)
	if ba, bb := a.Throughput.Bin, b.Throughput.Bin; ba != bb {
		// Each run's peak is over its own bins (set by its length): a
		// finer bin catches a higher peak from the same completions.
		m := &out[len(out)-1]
		m.Name, m.Better = fmt.Sprintf("peak (bins of %v vs %v)", ba, bb), 0
	}
	lat := func(name string, pick func(r *Report) Percentiles) {
		none := func(r *Report) string {
			if pick(r).N == 0 {
				return "no task ended"
			}
			return ""
		}
		add("latency", name+" p50", "ms", -1, func(r *Report) float64 { return msf(pick(r).P50) })
		unless(none)
		add("latency", name+" p99", "ms", -1, func(r *Report) float64 { return msf(pick(r).P99) })
		unless(none)
	}
	lat("total", func(r *Report) Percentiles { return r.Latency.Phase.Total })
	lat("queue", func(r *Report) Percentiles { return r.Latency.Phase.Queue })
	lat("arg fetch", func(r *Report) Percentiles { return r.Latency.Phase.Fetch })
	lat("execution", func(r *Report) Percentiles { return r.Latency.Phase.Exec })
	add("placement", "local", "%", 0, func(r *Report) float64 {
		p := r.Placement
		return pct(p.Local, p.Local+p.Spilled+p.Actor+p.Other)
	})
	add("placement", "spilled", "%", 0, func(r *Report) float64 {
		p := r.Placement
		return pct(p.Spilled, p.Local+p.Spilled+p.Actor+p.Other)
	})
	add("utilization", "mean over nodes", "%", 1, func(r *Report) float64 {
		var s float64
		k := 0
		for _, n := range r.Nodes {
			if !n.NoCPUs {
				s += n.Utilization
				k++
			}
		}
		return 100 * s / float64(max(k, 1))
	})
	if a.Tasks.ObjectsSpilled+a.Tasks.ObjectsRestored+b.Tasks.ObjectsSpilled+b.Tasks.ObjectsRestored > 0 {
		add("spilling", "objects spilled", "", -1, func(r *Report) float64 { return float64(r.Tasks.ObjectsSpilled) })
		add("spilling", "bytes written", "B", -1, func(r *Report) float64 { return float64(r.Tasks.BytesSpilled) })
		add("spilling", "objects restored", "", -1, func(r *Report) float64 { return float64(r.Tasks.ObjectsRestored) })
	}
	add("transfers", "count", "", -1, func(r *Report) float64 { return float64(r.Transfers.Count) })
	add("transfers", "bytes", "B", -1, func(r *Report) float64 { return float64(r.Transfers.Bytes) })
	add("transfers", "locality hit rate", "%", 1, func(r *Report) float64 { return 100 * r.Transfers.LocalityRatio })
	unless(func(r *Report) string {
		if r.Transfers.Accepted == 0 {
			return "no task accepted"
		}
		return ""
	})
	add("transfers", "arguments that crossed no link", "%", 1, func(r *Report) float64 { return 100 * r.Transfers.ArgLocality })
	unless(func(r *Report) string {
		if t := r.Transfers; t.ArgsLocal+t.ArgsFetched+t.ArgsProducedHere == 0 {
			return "no argument resolved"
		}
		return ""
	})
	add("critical path", "span", "ms", -1, func(r *Report) float64 { return msf(r.CriticalPath.Span) })
	unless(func(r *Report) string {
		if len(r.CriticalPath.Tasks) == 0 {
			return "no task ended"
		}
		return ""
	})
	add("critical path", "tasks", "", 0, func(r *Report) float64 { return float64(len(r.CriticalPath.Tasks)) })
	if a.Tasks.Unfinished > 0 || b.Tasks.Unfinished > 0 {
		for i := partialFrom; i < len(out); i++ {
			out[i].Partial = true
		}
	}
	add("faults", "injected", "", 0, func(r *Report) float64 { return float64(len(r.Faults)) })
	add("faults", "mean detection", "ms", -1, func(r *Report) float64 { d, _ := meanDetect(r); return msf(d) })
	unless(func(r *Report) string { _, why := meanDetect(r); return why })
	return out
}

// meanDetect is the mean detection delay over the faults the failure
// detector found (not those only a restart declared: Fault.AtRestart);
// with none, why not: "only at restarts", "not detected" when the run had
// faults a node death detects (Fault.Detectable), "no fault to detect"
// else.
func meanDetect(r *Report) (time.Duration, string) {
	var s time.Duration
	n, detectable, atRestart := 0, 0, 0
	for _, f := range r.Faults {
		if f.Detectable() {
			detectable++
		}
		switch {
		case f.AtRestart:
			atRestart++
		case f.Detected > 0:
			s += f.DetectAfter
			n++
		}
	}
	switch {
	case n > 0:
		return s / time.Duration(n), ""
	case atRestart > 0:
		return 0, "only at restarts"
	case detectable > 0:
		return 0, "not detected"
	}
	return 0, "no fault to detect"
}

// SeedNoiseNote is what a comparison of one run per side says about its
// marks: two seeds of one scenario differ by 10% or more on many rows
// (quickstart, seeds 4 and 6: ten marked rows; qa29 #16).
const SeedNoiseNote = "One run per side (one seed each) cannot tell a difference from seed noise: two seeds of the same scenario\n" +
	"differ by 10% or more on many rows. Before calling B better or worse, compare distributions over seeds:\n" +
	"raysim sweep SCENARIO --seeds 1-8 --all (a per-seed table and a median (min-max) line) for each side."

// WriteCompare prints two runs side by side; differences of 10% or more are
// marked (better/worse for B against A where the direction means something).
func WriteCompare(w io.Writer, a, b *Report) error {
	ew := &errWriter{w: w}
	for _, r := range []struct {
		label string
		r     *Report
	}{{"A", a}, {"B", b}} {
		variant := ""
		if v := r.r.Variant(); v != "" {
			variant = "; " + v
		}
		fmt.Fprintf(ew, "== %s: %s (%s seed %d, policy %s, %s%s)\n", r.label, orDash(r.r.Name), orDash(r.r.Scenario), r.r.Seed, orDash(r.r.Policy), r.r.Transport, variant)
	}
	for _, r := range []struct {
		label string
		r     *Report
	}{{"A", a}, {"B", b}} {
		if r.r.ScenarioErr != "" {
			fmt.Fprintf(ew, "%s's header scenario cannot be read (nodes named by ID, their CPUs unknown): %s\n", r.label, r.r.ScenarioErr)
		}
	}
	if a.Digest == b.Digest {
		fmt.Fprintf(ew, "identical digests: the two runs are the same run\n")
	}
	for _, r := range []struct {
		label string
		r     *Report
	}{{"A", a}, {"B", b}} {
		if n := r.r.OtherJobsEvents; n > 0 {
			fmt.Fprintf(ew, "%s: %s\n", r.label, traces.OtherJobsWarning(n))
		}
		if t := r.r.Tasks; t.Unfinished > 0 {
			fmt.Fprintf(ew, "%s did not finish: %d tasks never ended (the longest had waited %v); its times, rates and latencies leave them out, so neither run is judged better on them\n",
				r.label, t.Unfinished, t.Waited.Round(time.Microsecond))
		}
	}
	fmt.Fprintln(ew)
	tw := newTab(ew)
	fmt.Fprintln(tw, "section\tmetric\tA\tB\tB vs A\t\t")
	sec := ""
	for _, m := range Compare(a, b) {
		s := m.Section
		if s == sec {
			s = ""
		}
		sec = m.Section
		mark := ""
		if m.Significant() {
			mark = "<<"
			if v := m.Verdict(); v != "" {
				mark += " " + v
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s, m.Name, m.TextA(), m.TextB(), m.DeltaText(), mark)
	}
	tw.Flush()
	fmt.Fprintln(ew, "\n<< marks a difference of 10% or more; better/worse is its direction, not evidence.")
	if a.Digest != b.Digest {
		fmt.Fprintln(ew, SeedNoiseNote)
	}
	return ew.err
}
