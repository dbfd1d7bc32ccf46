package gcs

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boltWithEntries writes a store of a few hundred entries at path and
// closes it.
func boltWithEntries(t *testing.T, path string) {
	t.Helper()
	st, err := OpenBolt(path)
	require.NoError(t, err)
	for i := range 500 {
		st.Put(TableTasks, []byte{byte(i >> 8), byte(i)}, make([]byte, 200))
	}
	require.NoError(t, st.Close())
}

// TestOpenBoltRefusesDamagedFiles: a truncated store file is an error
// (bbolt mapped it and read its freelist past the end: the head died of
// SIGBUS), and so is a file of random bytes; the store itself opens.
func TestOpenBoltRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	boltWithEntries(t, good)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	st, err := OpenBolt(good)
	require.NoError(t, err)
	assert.Equal(t, 500, st.Len(TableTasks))
	require.NoError(t, st.Close())

	cut := filepath.Join(dir, "cut.db")
	for _, n := range []int{8192, 12288, 16384} { // its high-water mark is past 100 KiB
		require.NoError(t, os.WriteFile(cut, data[:n], 0o600))
		_, err := OpenBolt(cut)
		assert.ErrorIs(t, err, ErrStoreDamaged, "truncated to %d of %d bytes", n, len(data))
	}
	// Cut only past its high-water mark (bbolt grows the file ahead):
	// nothing it uses is gone, and it opens.
	require.NoError(t, os.WriteFile(cut, data[:len(data)-4096], 0o600))
	st, err = OpenBolt(cut)
	require.NoError(t, err)
	assert.Equal(t, 500, st.Len(TableTasks))
	require.NoError(t, st.Close())
	noise := make([]byte, 65536)
	_, _ = rand.Read(noise)
	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, noise, 0o600))
	_, err = OpenBolt(junk)
	assert.Error(t, err, "random bytes")
}

// TestOpenBoltRefusesAStoreInUse: a store another open holds (another
// process: a second head on the same directory) is ErrStoreInUse after a
// short wait; bbolt's default waited for the lock for good.
func TestOpenBoltRefusesAStoreInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	st, err := OpenBolt(path)
	require.NoError(t, err)
	defer st.Close()
	_, err = OpenBolt(path)
	assert.ErrorIs(t, err, ErrStoreInUse)
}
