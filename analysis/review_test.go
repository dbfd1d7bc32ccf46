package analysis_test

// The analysis review's regression tests (twenty-third session): each
// names what the report got wrong before its fix.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
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

// TestPlotsOfTCPRunsSayWallClock: a TCP run's trace is timed by the wall
// clock (Report.Clock), and the text says so, but the plots' time axes
// read "virtual time" whatever the run. Each time axis names the trace's
// clock; a comparison of a simulated and a TCP run names both.
func TestPlotsOfTCPRunsSayWallClock(t *testing.T) {
	sim := synth(t, twoNodes, steady(100))
	tcp := synth(t, twoNodes, steady(100))
	tcp.Transport = "tcp"
	require.Equal(t, "wall clock", tcp.Clock())
	timeAxes := map[string]bool{"throughput": true, "latency-time": true, "utilization": true, "transfers": true}

	figs, err := analysis.Figures(tcp)
	require.NoError(t, err)
	for _, f := range figs {
		svg := string(f.SVG)
		assert.False(t, strings.Contains(svg, "virtual"), "%s: a TCP run's plot says virtual", f.Name)
		assert.Equal(t, timeAxes[f.Name], strings.Contains(svg, "wall clock"), "%s: time axis", f.Name)
	}
	figs, err = analysis.Figures(sim)
	require.NoError(t, err)
	for _, f := range figs {
		assert.False(t, strings.Contains(string(f.SVG), "wall clock"), "%s: a simulated run's plot", f.Name)
		assert.Equal(t, timeAxes[f.Name], strings.Contains(string(f.SVG), "virtual"), "%s: time axis", f.Name)
	}

	figs, err = analysis.CompareFigures(tcp, tcp)
	require.NoError(t, err)
	for _, f := range figs {
		assert.False(t, strings.Contains(string(f.SVG), "virtual"), "%s: two TCP runs compared", f.Name)
	}
	figs, err = analysis.CompareFigures(sim, tcp)
	require.NoError(t, err)
	for _, f := range figs {
		if f.Name == "compare-throughput" || f.Name == "compare-transfers" {
			svg := string(f.SVG)
			assert.True(t, strings.Contains(svg, "A virtual") && strings.Contains(svg, "B wall clock"), "%s: both clocks named", f.Name)
		}
	}
}

// TestCompareRunTimeNamesTheClock: the comparison's run-time row said
// "virtual time" for TCP runs too.
func TestCompareRunTimeNamesTheClock(t *testing.T) {
	sim := &analysis.Report{Name: "sim", Transport: "sim"}
	tcp := &analysis.Report{Name: "tcp", Transport: "tcp"}
	name := func(a, b *analysis.Report) string {
		for _, m := range analysis.Compare(a, b) {
			if m.Section == "tasks" && strings.HasSuffix(m.Name, "time") || strings.Contains(m.Name, "time (") {
				return m.Name
			}
		}
		return ""
	}
	assert.Equal(t, "virtual time", name(sim, sim))
	assert.Equal(t, "wall clock time", name(tcp, tcp))
	assert.Equal(t, "run time (A virtual, B wall clock)", name(sim, tcp))
}

// TestComparePeakAcrossBinWidths: a run's peak rate is over its own bins
// (a 1-2-5 width set by its length), and a finer bin catches a higher
// peak from the same completions: two runs binned differently were
// compared as if their peaks were alike ("<< better"). The row names both
// widths and gives no verdict.
func TestComparePeakAcrossBinWidths(t *testing.T) {
	a := &analysis.Report{Name: "a", End: time.Second, Throughput: analysis.Series{Bin: 10 * time.Millisecond, End: time.Second, Values: []float64{1000, 3000}}}
	b := &analysis.Report{Name: "b", End: 3 * time.Second, Throughput: analysis.Series{Bin: 20 * time.Millisecond, End: 3 * time.Second, Values: []float64{1000, 2000}}}
	peak := func(ms []analysis.Metric) analysis.Metric {
		for _, m := range ms {
			if m.Section == "throughput" && len(m.Name) >= 4 && m.Name[:4] == "peak" {
				return m
			}
		}
		t.Fatal("no peak metric")
		return analysis.Metric{}
	}
	m := peak(analysis.Compare(a, b))
	assert.Equal(t, "peak (bins of 10ms vs 20ms)", m.Name)
	assert.Empty(t, m.Verdict(), "peaks over different bins are not better or worse")
	assert.True(t, m.Significant())

	b.Throughput.Bin = 10 * time.Millisecond
	m = peak(analysis.Compare(a, b))
	assert.Equal(t, "peak", m.Name)
	assert.Equal(t, "worse", m.Verdict())
}

// TestGCSCrashNotDetectable: a GCS replica's crash is not detected the way
// a raylet's is (no node.dead follows it: the chain reconfigures), so
// "not detected" says something false of it, and a comparison's mean
// detection read "not detected" for a run whose only fault was one.
// Fault.Detectable says which faults have a detection event to wait for.
func TestGCSCrashNotDetectable(t *testing.T) {
	gcs := ray.ReplicaID(0, 1)
	recs := append(steady(600), traces.Record{At: ms(300), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: gcs, Peer: gcs})
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 1)
	f := rep.Faults[0]
	assert.False(t, f.Detectable(), "a GCS replica's crash")
	assert.Equal(t, "-", f.DetectText())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.False(t, strings.Contains(out.String(), "not detected"), "the text's fault row")
	for _, m := range analysis.Compare(rep, rep) {
		if m.Name == "mean detection" {
			assert.Equal(t, "no fault to detect", m.TextA())
		}
	}

	for _, c := range []struct {
		f    analysis.Fault
		want bool
	}{
		{analysis.Fault{Kind: "crash", Node: 2}, true},
		{analysis.Fault{Kind: "pause", Node: 2}, true},
		{analysis.Fault{Kind: "partition"}, true},
		{analysis.Fault{Kind: "crash", Node: gcs}, false},
		{analysis.Fault{Kind: "pause", Node: gcs}, false},
		{analysis.Fault{Kind: "crash", Node: ray.GCSMasterID}, false},
		{analysis.Fault{Kind: "restart", Node: 2}, false},
		{analysis.Fault{Kind: "degrade", Node: 1}, false},
		{analysis.Fault{Kind: "kill_actor", Node: 1}, false},
	} {
		assert.Equal(t, c.want, c.f.Detectable(), "%s of %v", c.f.Kind, c.f.Node)
	}
	// A raylet's undetected crash still says so.
	assert.Equal(t, "not detected", analysis.Fault{Kind: "crash", Node: 2, At: time.Second}.DetectText())
}

// TestDetectionMatchedToItsFault: node b is partitioned off at 100ms, a GCS
// replica crashes at 150ms, and b is declared dead at 400ms. The node.dead
// is the partition's detection; but a later fault of any node ended a
// partition's window for detection, so the GCS crash (which no node.dead
// detects) took it from the partition: "not detected". Likewise a crash of
// another node (c) in between. A node.dead belongs to the latest
// detectable fault that concerns its node: the crash or pause of that
// node, a partition that cuts it off.
func TestDetectionMatchedToItsFault(t *testing.T) {
	const threeNodes = `name: synth
seed: 1
cluster:
  nodes:
    - {name: a, cpus: 2}
    - {name: b, cpus: 2}
    - {name: c, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 1, duration: 1ms}
`
	gcs := ray.ReplicaID(0, 1)
	for _, between := range []traces.Record{
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: gcs, Peer: gcs},
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 3, Peer: 3},
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvPause), Node: 1, Peer: 1, Bytes: int64(ms(5))},
	} {
		recs := append(steady(600),
			traces.Record{At: ms(100), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1 3][2]"},
			between,
			rt(ms(400), transport.EvNodeDead, 2, 0, 0, ""))
		rep := synth(t, threeNodes, sorted(recs))
		require.Len(t, rep.Faults, 2)
		part, other := rep.Faults[0], rep.Faults[1]
		require.Equal(t, "partition", part.Kind)
		assert.Equal(t, ms(400), part.Detected, "%s of %v between: b's node.dead is the partition's", other.Kind, other.Node)
		assert.Equal(t, ms(300), part.DetectAfter)
		assert.Zero(t, other.Detected, "%s of %v: b's death is not its detection", other.Kind, other.Node)
	}

	// A node the partition does not cut off is not its detection; a later
	// partition that cuts b off takes b's node.dead from an earlier one.
	recs := append(steady(600),
		traces.Record{At: ms(100), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1][3]"},
		traces.Record{At: ms(200), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1][2]"},
		rt(ms(400), transport.EvNodeDead, 2, 0, 0, ""),
		rt(ms(450), transport.EvNodeDead, 3, 0, 0, ""))
	rep := synth(t, threeNodes, sorted(recs))
	require.Len(t, rep.Faults, 2)
	assert.Equal(t, ms(450), rep.Faults[0].Detected, "[1][3]: c's death")
	assert.Equal(t, ms(400), rep.Faults[1].Detected, "[1][2]: b's death")

	// A node.dead with no fault before it (a live cluster's node failing
	// by itself) detects nothing.
	rep = synth(t, threeNodes, append(steady(10), rt(ms(20), transport.EvNodeDead, 2, 0, 0, "")))
	assert.Empty(t, rep.Faults)
	assert.Equal(t, 1, rep.Nodes[1].Dead)
}

// steady: a task a millisecond (submitted at i ms, done 1ms later) for n
// tasks, on node a.
func steady(n int) []traces.Record {
	var recs []traces.Record
	for i := 0; i < n; i++ {
		id := transport.TaskID(0x1000 + i)
		recs = append(recs, rt(ms(float64(i)), transport.EvTaskSubmitted, 1, 0, id, "steady"),
			rt(ms(float64(i+1)), transport.EvTaskFinished, 1, 0, id, "steady"))
	}
	return sorted(recs)
}

// TestFaultAtTraceEnd: a crash that is the trace's last record has nothing
// after it to judge the throughput's recovery on. Its row said "no dip"
// (the fault's bin was past the last completion's, so the judging loop
// never ran and "no dip" was the fallback) or, when the fault fell on a bin
// boundary, "0s" (recovered at once). It says it cannot judge.
func TestFaultAtTraceEnd(t *testing.T) {
	for _, at := range []float64{400, 450, 437.5} {
		recs := append(steady(400), traces.Record{At: ms(at), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2})
		rep := synth(t, twoNodes, recs)
		require.Equal(t, ms(at), rep.End)
		f := crashFault(t, rep)
		assert.True(t, f.Unjudged, "at %vms: %+v", at, f)
		assert.False(t, f.NoDip, "at %vms: no dip is a claim", at)
		assert.False(t, f.NotRecovered, "at %vms", at)
		assert.Zero(t, f.RecoverAfter, "at %vms", at)
		assert.Equal(t, "cannot judge: no task ended after it", f.RecoverText(), "at %vms", at)
		assert.Equal(t, "not detected", f.DetectText(), "at %vms: none in the trace", at)
		assert.Equal(t, "-", f.DipText(), "at %vms: no dip to show", at)
		assert.NotEqual(t, "-", f.BaselineText(), "at %vms: the rate before it is known", at)
		var out bytes.Buffer
		require.NoError(t, analysis.WriteText(&out, rep))
		assert.True(t, strings.Contains(out.String(), "cannot judge"), "the text's fault row")
		_, err := analysis.WriteReport(t.TempDir(), rep)
		require.NoError(t, err)
	}
}

// TestFaultAfterWorkload: a fault after the last task ended (the trace
// goes on) cannot be judged either.
func TestFaultAfterWorkload(t *testing.T) {
	recs := append(steady(400),
		traces.Record{At: ms(450), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2},
		rt(ms(700), transport.EvNodeDead, 2, 0, 0, ""))
	rep := synth(t, twoNodes, recs)
	f := crashFault(t, rep)
	assert.True(t, f.Unjudged, "%+v", f)
	assert.Equal(t, "cannot judge: no task ended after it", f.RecoverText())
	assert.Equal(t, ms(250), f.DetectAfter, "detection is judged as ever")
}

func netRec(at float64, kind netsim.EventKind, node, peer uint64, detail string) traces.Record {
	return traces.Record{At: ms(at), Source: traces.Net, Kind: uint8(kind), Node: transport.NodeID(node), Peer: transport.NodeID(peer), Detail: detail}
}

// TestLinkRestoreEndsItsFault: the end of a link degradation (net.degrade
// "restore", logged per link) and of a partition (net.heal naming its
// groups) are not faults: they end the fault they close (Fault.Ended). A
// restore was a fault row of its own, judged for a dip and a recovery
// (scenarios/fault-lossy-network.yaml: four rows, two of them restores,
// for one injected fault), and an explicit heal's restores of every link
// added a row per link.
func TestLinkRestoreEndsItsFault(t *testing.T) {
	recs := append(steady(800),
		netRec(100, netsim.EvDegrade, 1, 2, "loss=0.2"),
		netRec(150, netsim.EvPartition, 0, 0, "[1][2]"),
		netRec(250, netsim.EvHeal, 0, 0, "[1][2]"), // the partition's own end (its `for`)
		netRec(300, netsim.EvDegrade, 1, 2, "restore"),
		netRec(400, netsim.EvDegrade, 2, 1, "loss=0.5"),
		netRec(450, netsim.EvPartition, 0, 0, "[1][2]"),
		// An explicit heal: every partition, and every link restored.
		netRec(500, netsim.EvHeal, 0, 0, ""),
		netRec(500, netsim.EvDegrade, 1, 2, "restore"),
		netRec(500, netsim.EvDegrade, 2, 1, "restore"),
	)
	rep := synth(t, twoNodes, sorted(recs))
	var kinds []string
	for _, f := range rep.Faults {
		kinds = append(kinds, f.Kind)
	}
	require.Equal(t, []string{"degrade", "partition", "degrade", "partition", "heal"}, kinds, "%+v", rep.Faults)
	f := rep.Faults
	assert.Equal(t, ms(300), f[0].Ended, "the 1->2 degradation ends at its restore")
	assert.Equal(t, ms(250), f[1].Ended, "the partition ends at its own heal")
	assert.Equal(t, ms(500), f[2].Ended, "the 2->1 degradation ends at the heal's restore")
	assert.Equal(t, ms(500), f[3].Ended, "the second partition ends at the explicit heal")
	assert.Zero(t, f[4].Ended, "a heal is no fault")
	assert.Contains(t, f[0].DetailText(), "until 300ms")

	for _, f := range rep.Faults {
		assert.NotEqual(t, "restore", f.Kind)
		assert.NotContains(t, f.Detail, "restore")
	}
}

// TestFaultEnds: which event ends which fault.
func TestFaultEnds(t *testing.T) {
	crash2 := analysis.Fault{Kind: "crash", Node: 2}
	deg12 := analysis.Fault{Kind: "degrade", Node: 1, Peer: 2}
	part := analysis.Fault{Kind: "partition", Detail: "[1][2]"}
	for _, c := range []struct {
		f, g analysis.Fault
		want bool
	}{
		{analysis.Fault{Kind: "restart", Node: 2}, crash2, true},
		{analysis.Fault{Kind: "restart", Node: 3}, crash2, false},
		{analysis.Fault{Kind: "restore", Node: 1, Peer: 2}, deg12, true},
		{analysis.Fault{Kind: "restore", Node: 2, Peer: 1}, deg12, false},
		{analysis.Fault{Kind: "restore", Node: 1, Peer: 2}, crash2, false},
		{analysis.Fault{Kind: "heal"}, part, true},
		{analysis.Fault{Kind: "heal", Detail: "[1][2]"}, part, true},
		{analysis.Fault{Kind: "heal", Detail: "[1][3]"}, part, false},
		{analysis.Fault{Kind: "heal"}, deg12, false},
		{crash2, crash2, false},
		{analysis.Fault{Kind: "restart", Node: 2}, analysis.Fault{Kind: "crash", Node: 2, Ended: ms(1)}, false},
	} {
		assert.Equal(t, c.want, c.f.Ends(c.g), "%s %v ends %s %v", c.f.Kind, c.f.Node, c.g.Kind, c.g.Node)
	}
}

var faultRowRE = regexp.MustCompile(`(?s)<tr><td>[^<]*</td><td class="l">(\w+)</td>.*?</tr>`)
var cellRE = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)

// htmlFaultRows reads the HTML report's fault table: kind -> its cells.
func htmlFaultRows(t *testing.T, rep *analysis.Report) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, m := range htmlFaultTable(t, rep) {
		rows[m[1]] = rowCells(m[0])
	}
	return rows
}

// htmlFaultTable writes rep's HTML report and returns its fault table's
// rows (faultRowRE's submatches), in order.
func htmlFaultTable(t *testing.T, rep *analysis.Report) [][]string {
	t.Helper()
	path, err := analysis.WriteReport(t.TempDir(), rep)
	require.NoError(t, err)
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(html)
	i := strings.Index(s, `<table class="faults">`)
	require.GreaterOrEqual(t, i, 0, "a fault table")
	s = s[i : i+strings.Index(s[i:], "</table>")]
	return faultRowRE.FindAllStringSubmatch(s, -1)
}

// rowCells is the text of each cell of an HTML table row.
func rowCells(row string) []string {
	var cells []string
	for _, c := range cellRE.FindAllStringSubmatch(row, -1) {
		cells = append(cells, c[1])
	}
	return cells
}

// TestHTMLRestartRowsShowNoRates: a restart (or heal) is no fault, and has
// no baseline, dip or recovery: the text shows "-" there, but the HTML
// report showed 0 tasks/s for its baseline and dip. Likewise a fault
// nothing ended after has no dip.
func TestHTMLRestartRowsShowNoRates(t *testing.T) {
	recs := append(steady(600),
		traces.Record{At: ms(200), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2},
		traces.Record{At: ms(300), Source: traces.Net, Kind: uint8(netsim.EvRestart), Node: 2, Peer: 2},
		traces.Record{At: ms(650), Source: traces.Net, Kind: uint8(netsim.EvPause), Node: 2, Peer: 2, Bytes: int64(ms(5))})
	rep := synth(t, twoNodes, sorted(recs))
	rows := htmlFaultRows(t, rep)
	// at, fault, node, detail, detected after, baseline, dip, recovered after
	require.Len(t, rows["restart"], 8, "%v", rows)
	assert.Equal(t, []string{"-", "-", "-", "-"}, rows["restart"][4:], "restart: no detection, rates or recovery")
	require.Len(t, rows["crash"], 8, "%v", rows)
	assert.NotEqual(t, "-", rows["crash"][5], "the crash has a baseline")
	require.Len(t, rows["pause"], 8, "%v", rows)
	assert.Equal(t, "-", rows["pause"][6], "nothing ended after the pause: no dip")
}

// TestLastBinDividedByCoveredTime: a steady 1000 tasks/s to the end of a
// 995.5ms run. The throughput's last 10ms bin covers only 5.5ms of the run
// but was divided by 10ms: the last point read ~600/s, a dip that is not
// there. It is divided by the time it covers (Series.Width), and so are the
// utilization's and the transfer plot's.
func TestLastBinDividedByCoveredTime(t *testing.T) {
	recs := append(steady(995), traces.Record{At: ms(995.5), Source: traces.Net, Kind: uint8(netsim.EvSkew), Node: 2, Peer: 2})
	rep := synth(t, twoNodes, recs)
	th := rep.Throughput
	require.Equal(t, 10*time.Millisecond, th.Bin)
	require.Len(t, th.Values, 100)
	assert.Equal(t, ms(995.5), th.End)
	assert.Equal(t, 10*time.Millisecond, th.Width(98))
	assert.Equal(t, ms(5.5), th.Width(99), "the last bin covers [990ms, 995.5ms]")
	assert.InDelta(t, 1000, th.Values[98], 1)
	assert.InDelta(t, 1000, th.Values[99], 100, "the last bin's rate is the run's, not half of it")

	// The bins still hold every completion.
	var sum float64
	for i, v := range th.Values {
		sum += v * th.Width(i).Seconds()
	}
	assert.InDelta(t, float64(rep.Tasks.Completed), sum, 1e-6)
}

// TestSeriesWidth: every bin is Bin wide but the last, which ends at End
// (short of Bin, or past it by a merged tail); a series over no time has
// no width.
func TestSeriesWidth(t *testing.T) {
	s := analysis.Series{Bin: 10 * time.Millisecond, End: 25 * time.Millisecond, Values: make([]float64, 3)}
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 5 * time.Millisecond}, []time.Duration{s.Width(0), s.Width(1), s.Width(2)})
	s.End = 30 * time.Millisecond
	assert.Equal(t, 10*time.Millisecond, s.Width(2))
	s.End = 32 * time.Millisecond // a short tail merged into the last bin
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 12 * time.Millisecond}, []time.Duration{s.Width(0), s.Width(1), s.Width(2)})
	s = analysis.Series{Bin: time.Microsecond, Values: make([]float64, 1)}
	assert.Zero(t, s.Width(0))
}

// TestBaselineEvenMedian: a fault 4 fault bins (20ms each) into the run,
// after bins at 500, 500, 1500 and 1500 tasks/s: the baseline is their
// median, 1000/s. With an even number of bins it took the upper middle
// one (1500/s).
func TestBaselineEvenMedian(t *testing.T) {
	var recs []traces.Record
	id := transport.TaskID(0x1000)
	task := func(at float64) {
		id++
		recs = append(recs, rt(ms(at)-1, transport.EvTaskSubmitted, 1, 0, id, "f"), rt(ms(at), transport.EvTaskFinished, 1, 0, id, "f"))
	}
	for bin, n := range []int{10, 10, 30, 30} {
		for j := 0; j < n; j++ {
			task(float64(20*bin) + 20*float64(j)/float64(n) + 0.1)
		}
	}
	for at := 80.0; at < 1000; at++ { // then 1000/s to the end (1s: 20ms fault bins)
		task(at + 0.5)
	}
	recs = append(recs, traces.Record{At: ms(80), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2})
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 1)
	assert.InDelta(t, 1000, rep.Faults[0].Baseline, 1)
}

// TestScenarioErrSurfaced: a trace whose header holds a scenario that does
// not parse (written by another raysim version, say) is still analyzed
// from its records, but the error was dropped: the report showed no
// scenario, no policy and nodes named node-N with 1 CPU each, and did not
// say why. It is Report.ScenarioErr (in JSON too), and the text says it.
func TestScenarioErrSurfaced(t *testing.T) {
	rep := synth(t, "name: [unclosed\ncluster: {nodes: 3}\n", []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(ms(10), transport.EvTaskFinished, 1, 0, 0x100, "f"),
	})
	require.NotEmpty(t, rep.ScenarioErr, "the header's scenario does not parse")
	assert.Contains(t, rep.ScenarioErr, "the trace header's copy of the scenario", "its lines are not the file's on disk (QA)")
	assert.Equal(t, uint64(1), rep.Tasks.Completed, "the records are analyzed all the same")
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(js), `"ScenarioErr":`), "in the JSON")
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.True(t, strings.Contains(out.String(), rep.ScenarioErr), "the text says why: %s", out.String()[:300])
	dir := t.TempDir()
	path, err := analysis.WriteReport(dir, rep)
	require.NoError(t, err)
	checkReportFiles(t, dir, path, []string{"throughput"})
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), `id="scenario-error"`), "the HTML says it")

	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, rep, rep))
	assert.True(t, strings.Contains(out.String(), "A's header scenario cannot be read"), "the comparison says it")

	ok := synth(t, twoNodes, nil)
	assert.Empty(t, ok.ScenarioErr)
	js, err = json.Marshal(ok)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(js), `"ScenarioErr"`), "omitted when the scenario parses")
}

// TestZeroLengthTrace: a trace whose records all fall at time 0 (a task
// submitted and finished at once) covers no time: there is no rate to
// report. Its bins cover nothing (Width 0): the throughput is 0, not a
// task per the 1µs minimum bin (1,000,000/s).
func TestZeroLengthTrace(t *testing.T) {
	rep := synth(t, twoNodes, []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(0, transport.EvTaskFinished, 1, 0, 0x100, "f"),
	})
	require.Zero(t, rep.End)
	assert.Equal(t, uint64(1), rep.Tasks.Completed)
	assert.Zero(t, rep.MeanThroughput())
	assert.Zero(t, rep.PeakThroughput())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.True(t, strings.Contains(out.String(), "mean 0/s, peak 0/s"), "%s", out.String())
	_, err := analysis.WriteReport(t.TempDir(), rep)
	require.NoError(t, err)
	var none bytes.Buffer
	require.NoError(t, analysis.WriteText(&none, synth(t, twoNodes, nil)))
}

// TestShortLastBinNoSpike: a steady 1000 tasks/s to 1s, then one last task
// finishing 3µs later (a trace's last record often falls just past a bin
// boundary). The last 10ms bin covered those 3µs alone and, divided by
// the time it covers, read one completion in 3µs: 333,333 tasks/s, the
// report's peak. A last bin shorter than half a bin is now merged into the
// one before it, which then runs to End (Series.Width), so every bin's
// rate is over at least half a bin; the bins still hold every completion,
// and the utilization's every busy nanosecond.
func TestShortLastBinNoSpike(t *testing.T) {
	const last = transport.TaskID(0x9000)
	end := time.Second + 3*time.Microsecond
	recs := append(steady(1000),
		rt(ms(999), transport.EvTaskSubmitted, 1, 0, last, "steady"),
		rt(ms(999), transport.EvTaskRunning, 1, 0, last, "steady"),
		rt(end, transport.EvTaskFinished, 1, 0, last, "steady"))
	rep := synth(t, twoNodes, sorted(recs))
	th := rep.Throughput
	require.Equal(t, end, th.End)
	require.Equal(t, 10*time.Millisecond, th.Bin)
	require.Len(t, th.Values, 100, "the 3µs tail is part of the last bin")
	assert.Equal(t, 10*time.Millisecond+3*time.Microsecond, th.Width(99), "the last bin covers [990ms, End]")
	assert.Less(t, rep.PeakThroughput(), 1500.0, "no spike: %v", th.Values[len(th.Values)-3:])
	for i := range th.Values {
		assert.GreaterOrEqual(t, th.Width(i), th.Bin/2, "bin %d", i)
	}
	var sum float64
	for i, v := range th.Values {
		sum += v * th.Width(i).Seconds()
	}
	assert.InDelta(t, float64(rep.Tasks.Completed), sum, 1e-6, "every completion in a bin")

	a := rep.Nodes[0]
	require.Len(t, a.Busy.Values, 100)
	var busy float64
	for i, v := range a.Busy.Values {
		busy += v * a.CPUs * float64(a.Busy.Width(i))
	}
	assert.InDelta(t, float64(a.BusyTime), busy, 1, "every busy nanosecond in a bin")
}

// TestSymmetricDegradeIsOneFault: a degrade_link fault is symmetric unless
// it says otherwise, and netsim logs a net.degrade per direction (Node ->
// Peer), so the report showed two fault rows for the one fault
// (scenarios/fault-lossy-network.yaml: head 1->3 and worker-1 3->1). The
// two directions of one degradation — the same time, the same extra
// latency and model, the one the other's reverse — are one row (Node <->
// Peer), which either direction's restore ends. Degradations that differ,
// or one direction alone, stay rows of their own.
func TestSymmetricDegradeIsOneFault(t *testing.T) {
	deg := degradeRec
	recs := append(steady(800),
		deg(100, 1, 2, 5*time.Millisecond, "loss=0.2"),
		deg(100, 2, 1, 5*time.Millisecond, "loss=0.2"),
		deg(300, 1, 2, 0, "restore"),
		deg(300, 2, 1, 0, "restore"),
		// Not one fault: the directions differ in latency or loss.
		deg(400, 1, 2, 5*time.Millisecond, "loss=0.2"),
		deg(400, 2, 1, 7*time.Millisecond, "loss=0.2"),
		deg(500, 1, 2, 0, "loss=0.1"),
		deg(500, 2, 1, 0, "loss=0.3"),
		// One direction alone.
		deg(600, 2, 1, time.Millisecond, "loss=0"),
	)
	rep := synth(t, twoNodes, sorted(recs))
	var rows []string
	for _, f := range rep.Faults {
		rows = append(rows, f.Detail)
	}
	require.Equal(t, []string{
		"1<->2 +5ms loss=0.2",
		"1->2 +5ms loss=0.2", "2->1 +7ms loss=0.2",
		"1->2 +0s loss=0.1", "2->1 +0s loss=0.3",
		"2->1 +1ms loss=0",
	}, rows)
	f := rep.Faults[0]
	assert.Equal(t, "degrade", f.Kind)
	assert.True(t, f.Symmetric)
	assert.Equal(t, transport.NodeID(1), f.Node)
	assert.Equal(t, transport.NodeID(2), f.Peer)
	assert.Equal(t, ms(300), f.Ended, "ended by the restores")
	for _, g := range rep.Faults[1:] {
		assert.False(t, g.Symmetric, "%s", g.Detail)
	}

	// Either direction's restore ends the symmetric fault.
	sym := analysis.Fault{Kind: "degrade", Node: 1, Peer: 2, Symmetric: true}
	assert.True(t, analysis.Fault{Kind: "restore", Node: 1, Peer: 2}.Ends(sym))
	assert.True(t, analysis.Fault{Kind: "restore", Node: 2, Peer: 1}.Ends(sym))
	assert.False(t, analysis.Fault{Kind: "restore", Node: 2, Peer: 3}.Ends(sym))

	// The HTML report has the one row too.
	rows = nil
	for _, r := range htmlFaultRowList(t, rep) {
		rows = append(rows, r[1])
	}
	assert.Equal(t, []string{"degrade", "degrade", "degrade", "degrade", "degrade", "degrade"}, rows)
}

// htmlFaultRowList reads the HTML report's fault table: each row's cells,
// in order.
func htmlFaultRowList(t *testing.T, rep *analysis.Report) [][]string {
	t.Helper()
	var rows [][]string
	for _, m := range htmlFaultTable(t, rep) {
		rows = append(rows, rowCells(m[0]))
	}
	return rows
}

// TestTaskErrorsFaultRow: a task_errors fault logs a custom event at its
// start and at the end of its for (scenarios.TaskErrorsStarted/Ended):
// the report lists it as one fault row, ended by its own end (not by
// another task_errors' end), and other custom events are no fault.
func TestTaskErrorsFaultRow(t *testing.T) {
	recs := append(steady(800),
		netRec(100, netsim.EvCustom, 0, 0, scenarios.TaskErrorsStarted+"rate 40% on every node"),
		netRec(150, netsim.EvCustom, 0, 0, scenarios.TaskErrorsStarted+"rate 5% on a"),
		netRec(200, netsim.EvCustom, 0, 0, "a harness note"),
		netRec(300, netsim.EvCustom, 0, 0, scenarios.TaskErrorsEnded+"rate 40% on every node"),
	)
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 2)
	f := rep.Faults[0]
	assert.Equal(t, "task_errors", f.Kind)
	assert.Equal(t, ms(100), f.At)
	assert.Equal(t, ms(300), f.Ended)
	assert.Equal(t, "rate 40% on every node, until 300ms", f.DetailText())
	assert.Zero(t, rep.Faults[1].Ended, "a task_errors without for holds to the end")
	assert.False(t, f.Detectable())
}

// TestReplacedDegradeEnds: a second degrade of a link replaces the first
// (netsim keeps one degradation per direction), so the first row ends
// there, and the link's later restore ends the second: the first row used
// to stay open, and that restore ended it instead of the second.
func TestReplacedDegradeEnds(t *testing.T) {
	deg := degradeRec
	recs := append(steady(800),
		deg(100, 1, 2, 5*time.Millisecond, "loss=0.2"),
		deg(200, 1, 2, 9*time.Millisecond, "loss=0"),
		deg(300, 1, 2, 0, "restore"),
		// A symmetric one replaced in one direction.
		deg(400, 1, 2, time.Millisecond, "loss=0"),
		deg(400, 2, 1, time.Millisecond, "loss=0"),
		deg(500, 2, 1, 2*time.Millisecond, "loss=0"),
	)
	rep := synth(t, twoNodes, sorted(recs))
	require.Len(t, rep.Faults, 4)
	assert.Equal(t, ms(200), rep.Faults[0].Ended, "replaced by the second")
	assert.Equal(t, ms(300), rep.Faults[1].Ended, "the restore ends the second")
	assert.True(t, rep.Faults[2].Symmetric)
	assert.Equal(t, ms(500), rep.Faults[2].Ended, "a later degrade of either direction ends a symmetric one")
	assert.Zero(t, rep.Faults[3].Ended)
}

// degradeRec is a net.degrade record at ms milliseconds: node -> peer
// with extra latency and the model (or "restore") in detail.
func degradeRec(ms float64, node, peer uint64, extra time.Duration, detail string) traces.Record {
	r := netRec(ms, netsim.EvDegrade, node, peer, detail)
	r.Bytes = int64(extra)
	return r
}
