package runner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"raysim/scenarios"
)

// expectations checks the scenario's expect section against a result.
// Each detail states its own verdict's reason; notDone ("did not finish:
// ...") is set when some driver had not returned.
func expectations(s *scenarios.Scenario, r *Result, m *metrics, notDone string, errs, firstErrs []string, end time.Duration) []Expectation {
	x := &s.Expect
	allDone := notDone == ""
	out := []Expectation{} // a list in JSON even when the scenario expects nothing
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, Expectation{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if x.AllComplete {
		// Every task submitted ends (completed, failed, cancelled). A
		// re-executed parent submits its children again (same IDs): each
		// submission counts, as analyze counts them, and one whose task
		// had ended with its result kept need not run again, so the
		// detail says how many tasks the submissions were.
		never := m.neverEnded()
		// On a live cluster a task whose end was not heard may have ended
		// on a node process killed before it sent the event: with every
		// driver finished (each read what it waited for), that does not
		// fail the run, and the detail says so.
		ok := allDone && len(errs) == 0 && (never == 0 || m.lossy)
		counts := fmt.Sprintf("%d/%d tasks completed", r.TasksCompleted, r.TasksSubmitted)
		if m.resubmits > 0 {
			counts += fmt.Sprintf("; the %d submissions were of %d tasks (re-executed parents submit their children again)",
				r.TasksSubmitted, r.TasksSubmitted-m.resubmits)
			if never == 0 {
				counts += ", every one of which ended"
			}
		}
		detail := counts + ", every driver finished"
		switch {
		case !allDone:
			detail = fmt.Sprintf("%s; %s", notDone, counts)
		case len(errs) > 0:
			detail = strings.Join(append(errs, firstErrs...), "; ")
		case never > 0 && m.lossy:
			detail = fmt.Sprintf("%s, every driver finished; %d submitted %s ended unheard (a node process killed mid-run loses the events it had not sent)", counts, never, plural(never, "task", "tasks"))
		case never > 0:
			detail = fmt.Sprintf("%s: %d submitted %s never ended, though every driver finished", counts, never, plural(never, "task", "tasks"))
		}
		add("all_complete", ok, "%s", detail)
	}
	if x.ResultsCorrect {
		ok := r.Incorrect == 0 && r.Checked > 0 && allDone
		detail := fmt.Sprintf("%d results checked against a sequential evaluation, %d wrong", r.Checked, r.Incorrect)
		if r.Rereads > 0 {
			detail = fmt.Sprintf("%d results checked, %d wrong: %d values against a sequential evaluation, %d second reads of cancelled or failed refs against the first",
				r.Checked, r.Incorrect, r.Checked-r.Rereads, r.Rereads)
		}
		switch {
		case r.Incorrect > 0 && len(firstErrs) > 0:
			detail += ": " + firstErrs[0]
		case r.Incorrect > 0:
		case !allDone:
			detail = fmt.Sprintf("%s; %d results checked so far, %d wrong", notDone, r.Checked, r.Incorrect)
		case r.Checked == 0:
			detail = "no result to check: the workload produced none"
		}
		add("results_correct", ok, "%s", detail)
	}
	if x.MaxFailedTasks != nil {
		add("max_failed_tasks", r.TasksFailed <= uint64(*x.MaxFailedTasks), "%d failed%s (max %d)", r.TasksFailed, laterFinished(m.failedThenDone), *x.MaxFailedTasks)
	}
	// Latency is over the tasks that ended (a result, an error or a
	// cancel): a bound holds vacuously over none, so it fails then, and a
	// run whose tasks did not all end says over how many it holds.
	ended := len(m.latencies)
	never := m.neverEnded()
	lat := func(name string, got float64, bound time.Duration) {
		if bound <= 0 {
			return
		}
		b := float64(bound) / float64(time.Millisecond)
		if ended == 0 {
			add("latency."+name, false, "no task ended: no latency to bound (bound %sms)", strconv.FormatFloat(b, 'f', -1, 64))
			return
		}
		g, bs := apart(got, b, 3)
		if never > 0 {
			add("latency."+name, got <= b, "%sms (bound %sms) over the %d tasks that ended; %d never did", g, bs, ended, never)
			return
		}
		add("latency."+name, got <= b, "%sms (bound %sms)", g, bs)
	}
	lat("p50", r.LatencyMs.P50, x.Latency.P50)
	lat("p90", r.LatencyMs.P90, x.Latency.P90)
	lat("p99", r.LatencyMs.P99, x.Latency.P99)
	lat("max", r.LatencyMs.Max, x.Latency.Max)
	if x.Throughput.Min > 0 {
		g, b := apart(r.Throughput, x.Throughput.Min, 0)
		add("throughput", r.Throughput >= x.Throughput.Min, "%s tasks/s (min %s)", g, b)
	}
	if x.FinishBy > 0 {
		switch {
		case !allDone:
			add("finish_by", false, "%s (bound %v)", notDone, x.FinishBy)
		case end > x.FinishBy:
			add("finish_by", false, "finished at %v, after the bound %v", end.Round(time.Microsecond), x.FinishBy)
		default:
			add("finish_by", true, "finished at %v (bound %v)", end.Round(time.Microsecond), x.FinishBy)
		}
	}
	if x.NoLostObjects {
		// Lost means unrecoverable (an ErrObjectLost a reader saw); objects
		// rebuilt from lineage are not lost.
		add("no_lost_objects", m.lost == 0, "%d objects unrecoverably lost, %d reconstructed from lineage", m.lost, m.rebuilt)
	}
	return out
}

// apart formats an observed value and its bound with digits decimals, or
// more where the two would otherwise print alike (99.85 against a minimum
// of 100 printed "100 (min 100)", a verdict without its reason).
func apart(got, bound float64, digits int) (string, string) {
	g, b := strconv.FormatFloat(got, 'f', digits, 64), strconv.FormatFloat(bound, 'f', digits, 64)
	for d := digits + 1; g == b && got != bound && d <= 9; d++ {
		g, b = strconv.FormatFloat(got, 'f', d, 64), strconv.FormatFloat(bound, 'f', d, 64)
	}
	return g, b
}

// laterFinished is what the counts of failed tasks add about those a later
// run finished with a value (Result.TasksFailedThenFinished): "" for none,
// else " (N of them later finished with a value)", which tells why the
// drivers' errors, of the reads that returned an error, can be fewer.
func laterFinished(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them later finished with a value)", n)
}
