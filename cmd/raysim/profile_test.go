package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContentionProfilesWrite: each profile RAYSIM_MUTEXPROFILE and
// RAYSIM_BLOCKPROFILE name is one the runtime has, written as a gzipped
// pprof file; a path that cannot be created is an error, not a panic.
func TestContentionProfilesWrite(t *testing.T) {
	dir := t.TempDir()
	for _, c := range contentionProfiles {
		path := filepath.Join(dir, c.profile+".prof")
		require.NoError(t, writeProfile(c.profile, path), c.env)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(b), 2, c.env)
		require.Equal(t, []byte{0x1f, 0x8b}, b[:2], "%s: a gzipped pprof profile", c.env)
	}
	require.Error(t, writeProfile("mutex", filepath.Join(dir, "no", "such", "dir", "m.prof")))
}
