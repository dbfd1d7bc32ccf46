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

// TestHeadRestartKeepsIDsUnique: the first driver after a restart of a
// head with --gcs-dir gets other task and object IDs than the first one
// before it. The session number that salts them was counted from 0 at
// each head start while the tables persisted, so the new driver's tasks
// met the old run's entries (its actors killed, its objects "lost") and
// the run failed.
func TestHeadRestartKeepsIDsUnique(t *testing.T) {
	ctx := context.Background()
	reg, sq := deployRegistry()
	tok := []byte("gcs-restart-token")
	dir := t.TempDir()
	firstID := func() string {
		head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok,
			Node: ray.NodeConfig{CPUs: 2}, Cluster: ray.Config{GCSDataDir: dir}}, reg)
		require.NoError(t, err)
		defer head.Close()
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.NoError(t, err)
		defer s.Close()
		var id string
		require.NoError(t, s.Run(func(ctx context.Context) error {
			r := sq.Remote(ctx, 3)
			id = r.String()
			_, err := ray.Get(ctx, r)
			return err
		}))
		return id
	}
	before := firstID()
	after := firstID()
	assert.NotEqual(t, before, after, "the first driver after the restart reuses the IDs of the first before it")
}
