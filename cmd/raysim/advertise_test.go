package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
)

// TestStartOnEveryInterface: a head and a node started with --host
// 0.0.0.0 (or ::) and no --advertise warn, and advertise a usable address
// (the machine's primary one, or the node's route to the head) in the
// join line and the address book, never the unspecified address; on a
// machine with no such address the head refuses, asking for --advertise.
func TestStartOnEveryInterface(t *testing.T) {
	c := newLiveCluster(t)
	if deploy.PrimaryHost() == "" {
		_, errOut, code := c.raysim(nil, "start", "--head", "--host", "0.0.0.0", "--port", strings.Split(c.addr, ":")[1])
		assert.Equal(t, exitUsage, code, errOut)
		assert.Contains(t, errOut, "pass --advertise HOST")
		return
	}
	c.head("--host", "0.0.0.0")
	n1 := c.node("n1", "--host", "::")
	c.mu.Lock()
	head := c.proc["head"].output()
	c.mu.Unlock()
	for name, out := range map[string]string{"head": head, "n1": n1.output()} {
		assert.Contains(t, out, "without --advertise: advertising ", name)
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "raysim: ready") {
				assert.NotContains(t, l, "[::]", name)
				assert.NotContains(t, l, "0.0.0.0", name)
			}
		}
	}
	assert.Contains(t, head, "join with: raysim start --address "+deploy.PrimaryHost()+":")
	st := c.waitStatus("two live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 2 })
	for _, n := range st.Nodes {
		assert.False(t, strings.HasPrefix(n.Address, "[::]") || strings.HasPrefix(n.Address, "0.0.0.0"),
			"%s advertised at %s", n.Name, n.Address)
	}
}

// TestHeadTokenFromEnv: a head given its token by $RAYSIM_TOKEN logs
// token_source=env, not a token file it never wrote, and its join line
// says nodes need the same variable; a node given it joins.
func TestHeadTokenFromEnv(t *testing.T) {
	c := newLiveCluster(t)
	c.startEnv = []string{"RAYSIM_TOKEN=shared-secret"}
	c.head()
	c.mu.Lock()
	head := c.proc["head"].output()
	c.mu.Unlock()
	assert.Contains(t, head, "token_source=env")
	assert.NotContains(t, head, "token_file=")
	assert.Contains(t, head, "(with the same $RAYSIM_TOKEN)")
	_, err := os.Stat(filepath.Join(c.home, ".raysim", "token"))
	require.ErrorIs(t, err, os.ErrNotExist, "no token file written")
	c.node("n1")
	_, errOut, code := c.raysim(c.startEnv, "status", "--address", c.addr)
	assert.Equal(t, 0, code, errOut)
}
