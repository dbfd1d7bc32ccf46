package traces_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/traces"
)

// TestReadTrailer: the end block read by walking the block headers is the
// one a full read finds; a file cut before it has none (ok false), and a
// file that is not a trace is an error.
func TestReadTrailer(t *testing.T) {
	data := quickstartTrace(t)
	_, _, want, err := traces.ReadAll(bytes.NewReader(data))
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "q.trace")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	got, ok, err := traces.ReadTrailer(path)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want, got)

	cut := filepath.Join(dir, "cut.trace")
	require.NoError(t, os.WriteFile(cut, data[:len(data)-5], 0o644))
	_, ok, err = traces.ReadTrailer(cut)
	require.NoError(t, err)
	assert.False(t, ok)

	bad := filepath.Join(dir, "bad.trace")
	require.NoError(t, os.WriteFile(bad, []byte("hello world, not a trace"), 0o644))
	_, _, err = traces.ReadTrailer(bad)
	assert.ErrorIs(t, err, traces.ErrCorrupt)
}
