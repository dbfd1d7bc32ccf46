package analysis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"raysim/analysis"
)

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
