package bench

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScalePlot(t *testing.T) {
	f, err := ScalePlot([]ScaleResult{
		{Nodes: 100, SimThroughput: 6.6e6}, {Nodes: 10, SimThroughput: 6.6e5}, {Nodes: 0}, // unusable rows are skipped
	})
	require.NoError(t, err)
	require.Equal(t, "scale-throughput", f.Name)
	require.True(t, bytes.HasPrefix(f.PNG, []byte("\x89PNG")), "a PNG")
	require.Contains(t, string(f.SVG), "<svg")
	require.Contains(t, string(f.SVG), "18k tasks/s per node")
}

// TestScalePlotGCSCurve: the plot carries the GCS-included rate beside the
// raylets' and labels its y axis so values can be read (qa29 #3).
func TestScalePlotGCSCurve(t *testing.T) {
	f, err := ScalePlot([]ScaleResult{
		{Nodes: 10, SimThroughput: 6.6e5, SustainedThroughput: 6.6e5}, {Nodes: 100, SimThroughput: 6.6e6, SustainedThroughput: 1.86e6},
	})
	require.NoError(t, err)
	require.Contains(t, string(f.SVG), "GCS&#39;s work included")
	ticks := oneTwoFive{}.Ticks(5e5, 7e6)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	require.Equal(t, []string{"500k", "1M", "2M", "5M"}, labels)
}
