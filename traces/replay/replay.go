// Package replay re-runs the scenario recorded in a trace's header and
// compares the new run's records with the trace's, event by event: the
// first difference is reported with its index, virtual time and both
// versions (as Temporal's replay tests catch a non-deterministic change).
// With Until or UntilEvent it stops the run there (time travel) and dumps
// the cluster's state.
package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"raysim/runtime/ray"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// Options tune a replay.
type Options struct {
	// Until stops at this virtual time; UntilEvent (when HasUntilEvent)
	// after the record with this 0-based index.
	Until         time.Duration
	UntilEvent    uint64
	HasUntilEvent bool
	// StateLimit bounds each table of the state dump (default 20 rows).
	StateLimit int
	// Scenario, if set, replaces the header's scenario (a perturbed re-run:
	// tests use it to check that divergence is reported).
	Scenario *scenarios.Scenario
}

// Divergence is the first difference between the trace and the re-run.
type Divergence struct {
	Index uint64
	At    time.Duration
	Want  *traces.Record // recorded; nil when the trace ended first
	Got   *traces.Record // re-run; nil when the re-run ended first
}

func (d *Divergence) String() string {
	w, g := "(trace ended)", "(run ended)"
	if d.Want != nil {
		w = d.Want.String()
	}
	if d.Got != nil {
		g = d.Got.String()
	}
	return fmt.Sprintf("first divergence at event %d, virtual time %v:\n  trace: %s\n  run:   %s", d.Index, d.At, w, g)
}

// Result is a replay's outcome.
type Result struct {
	Records    uint64        // records compared
	Digest     traces.Digest // of the re-run (up to where it stopped)
	Trace      traces.Digest // the trace's, from its end block (zero if not reached)
	Divergence *Divergence
	Stopped    bool   // time travel: stopped at Until / UntilEvent
	State      *State // the cluster where the run stopped or ended
	Run        *runner.Result
}

// OK reports a faithful replay.
func (r *Result) OK() bool { return r.Divergence == nil }

// Scenario decodes the scenario held in a trace's header. An error's
// lines count in the header's copy (canonical YAML, overrides applied),
// not in the file it was recorded from, and the error says so.
func Scenario(h *traces.Header) (*scenarios.Scenario, error) {
	name := h.File
	if name == "" {
		name = "trace header"
	}
	s, err := scenarios.Parse(name, h.Scenario)
	if err != nil {
		return nil, fmt.Errorf("the trace header's copy of the scenario (lines count in that copy, not in %s on disk): %w", name, err)
	}
	return s, nil
}

// Run re-runs the trace's scenario and compares. The error is for a replay
// that could not happen (bad header, damaged trace before any divergence).
func Run(ctx context.Context, tr *traces.Reader, o Options) (*Result, error) {
	s := o.Scenario
	if s == nil {
		var err error
		if s, err = Scenario(tr.Header()); err != nil {
			return nil, fmt.Errorf("replay: the trace's scenario: %w", err)
		}
	}
	if o.StateLimit <= 0 {
		o.StateLimit = 20
	}
	res := &Result{}
	var traceErr error
	net := newNetState()
	rec := traces.NewRecorder(nil)
	rec.Check(func(i uint64, got *traces.Record) bool {
		if !tr.Next() {
			if traceErr = tr.Err(); traceErr != nil {
				return false
			}
			g := *got
			res.Divergence = &Divergence{Index: i, At: got.At, Got: &g}
			return false
		}
		want := tr.Record()
		if *want != *got {
			w, g := *want, *got
			res.Divergence = &Divergence{Index: i, At: min(want.At, got.At), Want: &w, Got: &g}
			return false
		}
		net.add(got)
		res.Records = i + 1
		return true
	})
	// Buggify changes the run's events: re-run as the trace was recorded.
	ro := runner.Options{Trace: rec, Until: o.Until, Buggify: tr.Header().Buggify}
	if o.HasUntilEvent {
		ro.UntilEvent = o.UntilEvent + 1
	}
	ro.Inspect = func(c *ray.Sim) { res.State = snapshot(c, net, o.StateLimit) }
	run, err := runner.Run(ctx, s, ro)
	if err != nil {
		return nil, err
	}
	res.Run, res.Digest = run, rec.Digest()
	res.Stopped = res.Divergence == nil && traceErr == nil && rec.Stopped()
	if traceErr != nil {
		return res, traceErr
	}
	if res.Divergence == nil && !rec.Stopped() {
		// The re-run ended: the trace must end too.
		if tr.Next() {
			w := *tr.Record()
			res.Divergence = &Divergence{Index: rec.Count(), At: w.At, Want: &w}
		} else if err := tr.Err(); err != nil {
			return res, err
		}
		if t, ok := tr.Trailer(); ok {
			res.Trace = t.Digest
		}
	}
	return res, nil
}

// ErrDiverged is returned by Check when the re-run differs.
var ErrDiverged = errors.New("replay: the run diverged from the trace")
