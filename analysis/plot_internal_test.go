package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/plot/plotter"
)

// TestCDFIsAStep: the latency CDF drew straight lines between its points,
// from 1/n at the fastest task: with three tasks at 5, 10 and 15 ms it
// showed a third of the tasks under 7 ms, which none was (QA). It is now
// the step function it is, from 0.
func TestCDFIsAStep(t *testing.T) {
	ms := time.Millisecond
	assert.Equal(t, plotter.XYs{{X: 5, Y: 0}, {X: 5, Y: 1.0 / 3}, {X: 10, Y: 1.0 / 3}, {X: 10, Y: 2.0 / 3}, {X: 15, Y: 2.0 / 3}, {X: 15, Y: 1}},
		cdfXY([]time.Duration{15 * ms, 5 * ms, 10 * ms}))
	assert.Empty(t, cdfXY(nil))
	big := make([]time.Duration, 1001)
	for i := range big {
		big[i] = time.Duration(i) * ms
	}
	xy := cdfXY(big)
	assert.LessOrEqual(t, len(xy), 400)
	assert.Equal(t, plotter.XY{X: 1000, Y: 1}, xy[len(xy)-1], "ends at the slowest task, all of them")
	for i := 1; i < len(xy); i++ {
		assert.True(t, xy[i].X >= xy[i-1].X && xy[i].Y >= xy[i-1].Y, "monotone at %d", i)
	}
}

// TestAxesShowTheData: one task's CDF was an empty frame whose axis ended
// before its latency (gonum's range of a single value), and a plot with no
// data had axes from -1 to 1 (QA).
func TestAxesShowTheData(t *testing.T) {
	p := newPlot("one", "x", "y")
	assert.NoError(t, addLine(p, "", cdfXY([]time.Duration{5012 * time.Microsecond}), 0, false))
	p.Y.Min, p.Y.Max = 0, 1
	settleAxes(p)
	assert.Equal(t, 0.0, p.X.Min)
	assert.InDelta(t, 5.012*1.05, p.X.Max, 1e-9)
	assert.Equal(t, "one", p.Title.Text)

	p = newPlot("none", "x", "y")
	settleAxes(p)
	assert.Equal(t, [4]float64{0, 1, 0, 1}, [4]float64{p.X.Min, p.X.Max, p.Y.Min, p.Y.Max})
	assert.Equal(t, "none (no data)", p.Title.Text)
}
