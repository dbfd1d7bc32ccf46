package analysis_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
)

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
