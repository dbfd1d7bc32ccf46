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
