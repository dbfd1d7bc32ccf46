package analysis_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestUnfinishedTasksCounted: a run cut off before its tasks ended (its
// duration_limit) compared as "better" — less time, more throughput,
// lower latency — because the analysis counted only tasks that ended
// (QA). Tasks submitted and never ended are now counted (Unfinished, the
// longest wait), said in the text and the HTML, and a comparison with such
// a run judges no metric after the task counts better or worse.
func TestUnfinishedTasksCounted(t *testing.T) {
	full := synth(t, twoNodes, steady(100))
	cut := steady(50)
	for i := 0; i < 5; i++ { // submitted, never ended
		cut = append(cut, rt(ms(40+float64(i)), transport.EvTaskSubmitted, 1, 0, transport.TaskID(0x9000+i), "steady"))
	}
	part := synth(t, twoNodes, sorted(cut))
	assert.Zero(t, full.Tasks.Unfinished)
	assert.Equal(t, uint64(5), part.Tasks.Unfinished)
	assert.Equal(t, part.End-ms(40), part.Tasks.Waited, "the longest wait: from its submission to the trace's end")

	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, part))
	assert.Contains(t, out.String(), "unfinished 5:")
	out.Reset()
	require.NoError(t, analysis.WriteText(&out, full))
	assert.NotContains(t, out.String(), "\nunfinished")
	js, err := json.Marshal(part)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"Unfinished":5`)

	for _, m := range analysis.Compare(full, part) {
		if m.Section == "tasks" && m.Name == "unfinished" {
			assert.Equal(t, "worse", m.Verdict(), "unfinished tasks are worse")
			continue
		}
		if m.Partial {
			assert.Empty(t, m.Verdict(), "%s %s: a run cut short is not judged", m.Section, m.Name)
		}
	}
	var partial int
	for _, m := range analysis.Compare(full, part) {
		if m.Section == "throughput" && m.Name == "mean" {
			assert.True(t, m.Partial)
		}
		if m.Partial {
			partial++
		}
	}
	assert.Positive(t, partial)
	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, full, part))
	assert.Contains(t, out.String(), "B did not finish: 5 tasks never ended")
	assert.NotContains(t, out.String(), "<< better")

	dir := t.TempDir()
	path, err := analysis.WriteReport(dir, part)
	require.NoError(t, err)
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(html), `id="unfinished"`)
}

// TestDetectionAtRestart: a crashed node that restarts before its
// heartbeats are missed is declared dead by its new incarnation's
// registration (node.dead "restarted: ..."): the "detection" is then the
// crash-to-restart gap the fault schedule set, which every shipped crash
// and restart scenario reported as its detection time (QA). Such a fault
// says "at its restart", and the comparison's mean detection leaves it out.
func TestDetectionAtRestart(t *testing.T) {
	restarted := steadyThenCrash(rt(ms(700), transport.EvNodeDead, 2, 0, 0, "restarted: a new incarnation registered before its heartbeats were missed"))
	missed := steadyThenCrash(rt(ms(500), transport.EvNodeDead, 2, 0, 0, "missed heartbeats"))
	a, b := synth(t, twoNodes, restarted), synth(t, twoNodes, missed)
	fa, fb := crashFault(t, a), crashFault(t, b)
	assert.True(t, fa.AtRestart)
	assert.Equal(t, "at its restart, 300ms", fa.DetectText())
	assert.False(t, fb.AtRestart)
	assert.Equal(t, "100ms", fb.DetectText())
	for _, m := range analysis.Compare(a, b) {
		if m.Name == "mean detection" {
			assert.Equal(t, "only at restarts", m.TextA())
			assert.Equal(t, "100.000 ms", m.TextB())
		}
	}
}

// TestReportVariant: two variants of one scenario file (different --set
// overrides) had identical headers in analyze's text, JSON, HTML and
// comparison (QA): the header's overrides and buggify now show.
func TestReportVariant(t *testing.T) {
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: "synth.yaml", Scenario: []byte(twoNodes), Seed: 1, Transport: "sim",
		Overrides: []string{"workload.0.params.tasks=5"}, Buggify: true}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for _, r := range steady(5) {
		rec.Write(&r)
	}
	require.NoError(t, rec.Close())
	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	plain := synth(t, twoNodes, steady(5))

	assert.Equal(t, "overrides workload.0.params.tasks=5; buggify on", rep.Variant())
	assert.Empty(t, plain.Variant())
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.Contains(t, out.String(), "overrides workload.0.params.tasks=5")
	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, plain, rep))
	assert.Contains(t, out.String(), "== B: synth (synth seed 1, policy bottom-up, sim; overrides workload.0.params.tasks=5; buggify on)")
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"Overrides":["workload.0.params.tasks=5"]`)
	path, err := analysis.WriteReport(t.TempDir(), rep)
	require.NoError(t, err)
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(html), `id="variant"`)
}

// TestNoDataShownAsNone: a run with no task printed every latency as
// 0.000 ms and a locality hit rate of 0.0%, measurements it never made
// (QA); the comparison already said "no task ended". Now "-".
func TestNoDataShownAsNone(t *testing.T) {
	rep := synth(t, twoNodes, nil)
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	s := out.String()
	assert.Contains(t, s, "total                  0  -")
	assert.NotContains(t, s, "0.000")
	assert.Contains(t, s, "locality hit rate (attempts that fetched nothing): - (no task accepted)")
	assert.Contains(t, s, "crossed no link: - (no argument resolved)")
}

// TestSlowRateKeepsDigits: 48 tasks over 129 s read "mean 0/s" (QA).
func TestSlowRateKeepsDigits(t *testing.T) {
	recs := []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(ms(2000), transport.EvTaskFinished, 1, 0, 0x100, "f"),
		rt(ms(2500), transport.EvTaskSubmitted, 1, 0, 0x101, "f"),
		rt(ms(2700), transport.EvTaskFinished, 1, 0, 0x101, "f"),
	}
	rep := synth(t, twoNodes, recs)
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.Contains(t, out.String(), "mean 0.741/s")
}

// TestNoDipAboveBaseline: a rate that never fell showed its lowest
// smoothed rate, above the baseline, as the fault's "dip" (QA).
func TestNoDipAboveBaseline(t *testing.T) {
	f := analysis.Fault{Kind: "partition", Baseline: 3900, Dip: 4167, NoDip: true}
	assert.Equal(t, "-", f.DipText())
	f.Dip = 3600 // fell, but less than 10%: still shown
	assert.Equal(t, "3600", f.DipText())
}

// TestNeverPlacedCounted: a task cancelled before any placement made the
// placement counts add up to one less than the tasks submitted (QA).
func TestNeverPlacedCounted(t *testing.T) {
	rep := synth(t, twoNodes, []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x101, "f"),
		rt(ms(1), transport.EvTaskPlaced, 1, 1, 0x100, "local"),
		rt(ms(2), transport.EvTaskCancelled, 1, 0, 0x101, ""),
		rt(ms(5), transport.EvTaskFinished, 1, 0, 0x100, "f"),
	})
	p := rep.Placement
	assert.Equal(t, rep.Tasks.Submitted, p.Local+p.Spilled+p.Actor+p.Other+p.Unplaced)
	assert.Equal(t, uint64(1), p.Unplaced)
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.Contains(t, out.String(), "never placed 1")
}

// TestReportDirCleared: a report written into a directory an earlier
// comparison used left that comparison's plots beside it (QA).
func TestReportDirCleared(t *testing.T) {
	dir := t.TempDir()
	a, b := synth(t, twoNodes, steady(10)), synth(t, twoNodes, steady(20))
	_, err := analysis.WriteReport(dir, a, b)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "a-throughput.png"))
	mine := filepath.Join(dir, "notes.png")
	require.NoError(t, os.WriteFile(mine, []byte("x"), 0o644))
	_, err = analysis.WriteReport(dir, a)
	require.NoError(t, err)
	for _, stale := range []string{"a-throughput.png", "b-latency-cdf.svg", "compare-throughput.png"} {
		assert.NoFileExists(t, filepath.Join(dir, stale))
	}
	assert.FileExists(t, filepath.Join(dir, "throughput.png"))
	assert.FileExists(t, mine, "not the report's: kept")
}
