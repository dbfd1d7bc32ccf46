package bench

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite runs at tiny sizes: these tests check that every benchmark
// works and reports, never how fast.

func TestMicrosRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts TCP clusters")
	}
	skip := regexp.MustCompile(`gigabytes`) // 64 MiB objects: too big for the suite
	for _, m := range Micros() {
		if skip.MatchString(m.Name) {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			r := RunMicro(context.Background(), m, Options{Repeat: 1, Duration: time.Millisecond})
			require.Empty(t, r.Err)
			assert.Positive(t, r.Median)
			assert.Positive(t, r.Ops)
			assert.Contains(t, r.Command, m.Name)
		})
	}
}

func TestSummarize(t *testing.T) {
	r := Result{Values: []float64{3, 1, 2, 10}}
	r.summarize()
	assert.Equal(t, 2.5, r.Median)
	assert.Equal(t, 1.0, r.Min)
	assert.Equal(t, 10.0, r.Max)
	assert.InDelta(t, 360, r.Spread, 1e-9)
	assert.Contains(t, Format([]Result{r}), "2.5")
	assert.Equal(t, "1,234,567", num(1234567))
}

func TestScaleSmall(t *testing.T) {
	r, err := RunScale(context.Background(), ScaleConfig{Nodes: 4, Tasks: 400, GCSShards: 2})
	require.NoError(t, err)
	assert.Equal(t, 400, r.Tasks)
	assert.Positive(t, r.VirtualSeconds)
	assert.Positive(t, r.Events)
	assert.Contains(t, FormatScale([]ScaleResult{r}, nil), r.Name)
	// The GCS catch-up ends no earlier than the drivers did.
	assert.GreaterOrEqual(t, r.GCSCaughtUpSeconds, r.VirtualSeconds)
	assert.LessOrEqual(t, r.SustainedThroughput, r.SimThroughput)
	assert.Positive(t, r.TasksPerWallSecGCS)
	assert.Positive(t, r.UserCPUSeconds+r.SystemCPUSeconds, "the run took CPU time")
}

// TestMedianScale: repeats of a scale run report the median one, the
// range over all, and a command that repeats as often.
func TestMedianScale(t *testing.T) {
	run := func(tps float64) ScaleResult {
		return ScaleResult{Name: "sim_4nodes_400tasks", TasksPerWallSecGCS: tps, WallSeconds: 400 / tps, Command: "raysim bench --scale"}
	}
	m := MedianScale([]ScaleResult{run(300), run(100), run(200)})
	assert.Equal(t, 200.0, m.TasksPerWallSecGCS)
	assert.Equal(t, 2.0, m.WallSeconds, "the fields are the median run's")
	assert.Equal(t, 3, m.Repeats)
	assert.Equal(t, 100.0, m.TasksPerWallSecGCSMin)
	assert.Equal(t, 300.0, m.TasksPerWallSecGCSMax)
	assert.Equal(t, "raysim bench --scale --repeat 3", m.Command)
	assert.Contains(t, FormatScale([]ScaleResult{m}, nil), "the median of 3 runs; 100 to 300 tasks/wall-s")

	one := MedianScale([]ScaleResult{run(100)})
	assert.Equal(t, 1, one.Repeats)
	assert.Equal(t, "raysim bench --scale", one.Command, "a single run's command has no --repeat")
	assert.NotContains(t, FormatScale([]ScaleResult{one}, nil), "median")
	assert.Equal(t, 150.0, MedianScale([]ScaleResult{run(200), run(150), run(100), run(300)}).TasksPerWallSecGCS, "the lower middle of an even count")
}

// TestScaleGCSBacklog: with one GCS shard for forty busy nodes the shard
// falls behind, and the run reports it and waits for it.
func TestScaleGCSBacklog(t *testing.T) {
	r, err := RunScale(context.Background(), ScaleConfig{Nodes: 40, Tasks: 20000, GCSShards: 1})
	require.NoError(t, err)
	assert.Positive(t, r.GCSBacklog)
	assert.Greater(t, r.GCSCaughtUpSeconds, r.VirtualSeconds)
	assert.Contains(t, FormatScale([]ScaleResult{r}, nil), "caught up")
	assert.Contains(t, r.Command, "--scale-gcs-shards 1")
}

func TestPendingSmall(t *testing.T) {
	p, err := RunPending(context.Background(), 2000)
	require.NoError(t, err)
	assert.Equal(t, 2000, p.QueuedAtNode)
	assert.NotZero(t, p.HeapAfterMiB) // bytes per task is noise at this size
}
