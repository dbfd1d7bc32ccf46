package analysis_test

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// sorted returns recs in time order (stable: same-time records keep their
// order), as a trace holds them.
func sorted(recs []traces.Record) []traces.Record {
	slices.SortStableFunc(recs, func(x, y traces.Record) int { return cmp.Compare(x.At, y.At) })
	return recs
}

// steadyThenCrash: a task a millisecond (submitted at i ms, done 1ms later:
// 1000/s) until node b crashes at 400ms; from then on the tasks complete at
// half that rate, so a backlog builds until submissions stop at 600ms and
// drains by ~800ms. extra adds records.
func steadyThenCrash(extra ...traces.Record) []traces.Record {
	var recs []traces.Record
	for i := 0; i < 600; i++ {
		id := transport.TaskID(0x1000 + i)
		done := ms(float64(i + 1))
		if i >= 400 {
			done = ms(float64(400 + 2*(i-400) + 1))
		}
		recs = append(recs, rt(ms(float64(i)), transport.EvTaskSubmitted, 1, 0, id, "steady"),
			rt(done, transport.EvTaskFinished, 1, 0, id, "steady"))
	}
	recs = append(recs, traces.Record{At: ms(400), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2})
	return sorted(append(recs, extra...))
}

func crashFault(t *testing.T, rep *analysis.Report) analysis.Fault {
	t.Helper()
	for _, f := range rep.Faults {
		if f.Kind == "crash" {
			return f
		}
	}
	t.Fatal("no crash fault")
	return analysis.Fault{}
}

// TestFailedTasksLeaveNoBacklog: 200 tasks stuck on node b fail when it
// crashes (task.failed at 450ms). A failed or cancelled task has ended: it
// is no longer outstanding. Counted as outstanding for good, they kept the
// backlog above what a bin at the baseline rate takes, so the crash's dip
// was judged to the end of the run ("not before the end") instead of
// ending when the backlog drained.
func TestFailedTasksLeaveNoBacklog(t *testing.T) {
	for _, end := range []transport.EventKind{transport.EvTaskFailed, transport.EvTaskCancelled} {
		t.Run(end.String(), func(t *testing.T) {
			var extra []traces.Record
			for i := 0; i < 200; i++ {
				id := transport.TaskID(0x10000 + i)
				extra = append(extra, rt(0, transport.EvTaskSubmitted, 2, 0, id, "doomed"),
					rt(ms(450), end, 2, 0, id, "doomed"))
			}
			rep := synth(t, twoNodes, steadyThenCrash(extra...))
			require.Equal(t, uint64(800), rep.Tasks.Submitted)
			f := crashFault(t, rep)
			assert.InDelta(t, 1000, f.Baseline, 1, "baseline")
			assert.True(t, f.NotRecovered, "half the rate after the crash: %+v", f)
			assert.Greater(t, f.Drained, ms(600), "the backlog drains once submissions stop: %+v", f)
			assert.Less(t, f.Drained, ms(800), "%+v", f)
			assert.Contains(t, f.RecoverText(), "backlog drained")
		})
	}
}

// TestResubmittedWhilePendingLeavesNoBacklog: a task submitted again under
// the same ID before it ended (a parent re-run re-submits its children) is
// one outstanding task, ended by its one end; counted twice in the backlog
// it stayed there for good.
func TestResubmittedWhilePendingLeavesNoBacklog(t *testing.T) {
	var extra []traces.Record
	for i := 0; i < 200; i++ {
		id := transport.TaskID(0x10000 + i)
		extra = append(extra, rt(0, transport.EvTaskSubmitted, 2, 0, id, "again"),
			rt(ms(380), transport.EvTaskSubmitted, 2, 0, id, "again"),
			rt(ms(450), transport.EvTaskFailed, 2, 0, id, "again"))
	}
	rep := synth(t, twoNodes, steadyThenCrash(extra...))
	f := crashFault(t, rep)
	assert.Greater(t, f.Drained, ms(600), "the backlog drains once submissions stop: %+v", f)
	assert.Contains(t, f.RecoverText(), "backlog drained")
}
