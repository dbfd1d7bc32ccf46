package ray_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/ray"
)

// TestHeadRefusesAStoreItCannotKeep: a head whose --gcs-dir store cannot
// be opened fails to start with the reason; it used to say ready and run
// its GCS in memory (a missing directory, another format, a corrupt
// file), or hang for good waiting for the lock of another head's store.
// What it wrote is synced at Close and read back by the next head.
func TestHeadRefusesAStoreItCannotKeep(t *testing.T) {
	ctx := context.Background()
	reg, sq := deployRegistry()
	start := func(dir string) (*ray.Process, error) {
		return ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: []byte("gcs-dir-token"),
			Node: ray.NodeConfig{CPUs: 2}, Cluster: ray.Config{GCSDataDir: dir}}, reg)
	}
	_, err := start(filepath.Join(t.TempDir(), "missing", "dir"))
	assert.ErrorContains(t, err, "--gcs-dir")

	dir := t.TempDir()
	head, err := start(dir)
	require.NoError(t, err)
	_, err = start(dir) // a second head on the same directory
	assert.ErrorIs(t, err, gcs.ErrStoreInUse)
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken([]byte("gcs-dir-token")), ray.WithRegistry(reg))
	require.NoError(t, err)
	runSquares(t, s, sq)
	require.NoError(t, s.Close())
	require.NoError(t, head.Close())

	files, err := filepath.Glob(filepath.Join(dir, "gcs-*.db"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	st, err := gcs.OpenBolt(files[0])
	require.NoError(t, err)
	assert.Positive(t, st.Len(gcs.TableTasks), "the tasks' entries were synced at Close")
	require.NoError(t, st.Close())

	require.NoError(t, os.WriteFile(files[0], []byte("not a bbolt file, not at all, no"), 0o600))
	_, err = start(dir)
	assert.Error(t, err, "a corrupt store")
}
