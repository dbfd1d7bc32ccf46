package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuickstartLoads(t *testing.T) {
	s, err := Load("quickstart.yaml")
	require.NoError(t, err)
	require.Len(t, s.Cluster.Nodes, 4)
	require.Equal(t, "worker-1", s.Cluster.Nodes[2].Name)
	i, ok := s.NodeIndex("worker-2")
	require.True(t, ok)
	require.Equal(t, 3, i)
	require.Len(t, s.Workload, 3)
	require.Equal(t, 2000, s.Workload[0].Params.(*ParallelParams).Tasks)
}
