package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token")
	tok, err := GenerateToken(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, err := GenerateToken(path)
	require.NoError(t, err)
	assert.Equal(t, tok, again, "an existing token is kept")
	got, err := LoadTokenFile(path)
	require.NoError(t, err)
	assert.Equal(t, tok, got)
	t.Setenv(TokenEnv, "from-env")
	got, err = LoadToken("")
	require.NoError(t, err)
	assert.Equal(t, []byte("from-env"), got)
	assert.NotEqual(t, ClusterID([]byte("a")), ClusterID([]byte("b")))
	_, err = LoadTokenFile(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}

func TestFunctionDiff(t *testing.T) {
	head := []string{"a=func(int) int", "b=func() string"}
	assert.Empty(t, FunctionDiff(head, head))
	d := FunctionDiff(head, []string{"a=func(int64) int", "c=func()"})
	assert.Contains(t, d, "not registered in this process: b")
	assert.Contains(t, d, "not registered on the head: c")
	assert.Contains(t, d, "different signatures: a (head func(int) int, this process func(int64) int)")
}
