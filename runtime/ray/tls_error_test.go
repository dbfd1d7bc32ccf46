package ray_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
)

// TestTLSConfigErrorOnePrefix (qa32 #24): a key that does not match its
// certificate said "tls: tls: private key does not match public key";
// the error now names the files, with crypto/tls's own "tls:" once.
// Fails before: "tls: tls:".
func TestTLSConfigErrorOnePrefix(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, dir, "ca")
	cert, _ := issue(t, dir, "a", ca, caKey)
	_, otherKey := issue(t, dir, "b", ca, caKey)
	_, err := deploy.TLSConfig(cert, otherKey, filepath.Join(dir, "ca.pem"))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "tls: tls:")
	require.Equal(t, 1, strings.Count(err.Error(), "tls: "), err.Error())
	require.Contains(t, err.Error(), cert)
}
