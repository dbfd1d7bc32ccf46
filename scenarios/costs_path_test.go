package scenarios

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCostsPathOfOverrideIsTheCommandLines: a costs file named in the file
// is relative to the scenario's directory; one given with --set is the
// command line's, relative to where the command runs (raysim calibrate -o
// profile.yaml, then --set cluster.costs.profile=profile.yaml failed: the
// loader looked beside the scenario).
func TestCostsPathOfOverrideIsTheCommandLines(t *testing.T) {
	dir, here := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("cluster: {nodes: [{name: a}]}\nworkload: [{generator: chain}]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(here, "profile.yaml"), []byte("gcs_write: 7us\n"), 0o644))
	t.Chdir(here)
	s, err := LoadWithOverrides(filepath.Join(dir, "s.yaml"), []string{"cluster.costs.profile=profile.yaml"})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(here, "profile.yaml"), s.Cluster.Costs.Path)
	require.Equal(t, 7*time.Microsecond, s.Cluster.Costs.Overrides["gcs_write"])
	_, err = LoadWithOverrides(filepath.Join(dir, "s.yaml"), []string{"cluster.costs.profile=missing.yaml"})
	require.ErrorContains(t, err, "missing.yaml: no such file or directory")
}
