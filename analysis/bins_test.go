package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Throughput and utilization bins: a 1-2-5 width giving 50 to 125 bins, as
// docs/analysis.md promises, whatever the run's length.
func TestBinsFiftyToOneTwentyFive(t *testing.T) {
	for _, end := range []time.Duration{
		time.Millisecond, 37 * time.Millisecond, 100 * time.Millisecond, 418 * time.Millisecond,
		936500 * time.Microsecond, time.Second, 1250 * time.Millisecond, 2500 * time.Millisecond,
		6 * time.Second, 10 * time.Second, 31 * time.Second, time.Hour,
		time.Second + 3*time.Microsecond, 2*time.Second + 9*time.Millisecond,
	} {
		bin, n := bins(end)
		assert.GreaterOrEqual(t, n, 50, "end %v: bin %v", end, bin)
		assert.LessOrEqual(t, n, 125, "end %v: bin %v", end, bin)
		// The bins cover the run, the last one up to end: at least half a
		// bin of it, at most one and a half (a shorter tail is merged).
		tail := end - time.Duration(n-1)*bin
		assert.GreaterOrEqual(t, tail, bin/2, "end %v: the last bin covers at least half a bin", end)
		assert.Less(t, tail, bin+bin/2, "end %v: the last bin covers less than one and a half", end)
		m := bin
		for m >= 10 && m%10 == 0 {
			m /= 10
		}
		assert.Contains(t, []time.Duration{1, 2, 5}, m, "end %v: bin %v is not 1-2-5", end, bin)
	}
}

// The fault analysis keeps its coarser bins (24 to 60), whatever the
// throughput plot's.
func TestFaultBinsTwentyFourToSixty(t *testing.T) {
	for _, end := range []time.Duration{37 * time.Millisecond, 936500 * time.Microsecond, 2500 * time.Millisecond, time.Hour, time.Second + 3*time.Microsecond} {
		bin, n := faultBins(end)
		assert.GreaterOrEqual(t, n, 24, "end %v: bin %v", end, bin)
		assert.LessOrEqual(t, n, 60, "end %v: bin %v", end, bin)
		assert.GreaterOrEqual(t, end-time.Duration(n-1)*bin, bin/2, "end %v: no short last bin", end)
		tb, _ := bins(end)
		assert.Greater(t, bin, tb, "end %v: coarser than the display bins", end)
	}
}
