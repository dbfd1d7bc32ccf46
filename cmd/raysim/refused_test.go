package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeployRefusalSaysWhy: status, start --address and run --address
// with a wrong token, and status pointed at a node's port instead of the
// head's, fail with exit status 1 and a message saying what is wrong and
// what to do, on the head's refusal rather than at their 20s timeout.
func TestDeployRefusalSaysWhy(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	wrong := []string{"RAYSIM_TOKEN=not-the-token"}
	const says = "the head refused the cluster token: copy ~/.raysim/token from the head"
	for _, args := range [][]string{
		{"status", "--address", c.addr, "--timeout", "20s"},
		{"start", "--address", c.addr, "--join-timeout", "20s"},
		{"run", "--address", c.addr, filepath.Join("testdata", "tiny.yaml")},
	} {
		start := time.Now()
		_, errOut, code := c.raysim(wrong, args...)
		assert.Equal(t, exitFailed, code, "%v: %s", args, errOut)
		assert.Contains(t, errOut, says, "%v", args)
		assert.Less(t, time.Since(start), 20*time.Second, "%v: failed at the timeout, not on the refusal", args)
	}

	var raylet string
	for _, n := range c.status().Nodes {
		if n.Name == "head" {
			raylet = n.Address
		}
	}
	require.NotEmpty(t, raylet)
	start := time.Now()
	_, errOut, code := c.raysim(nil, "status", "--address", raylet, "--timeout", "20s")
	assert.Equal(t, exitFailed, code, errOut)
	assert.Contains(t, errOut, raylet+" is a node of the cluster, not its head: use the head's address")
	assert.Less(t, time.Since(start), 20*time.Second, "failed at the timeout, not on the handshake")
}

// TestMalformedAddressIsABadFlag: every command that takes --address
// refuses a malformed one as a bad flag (exit 2), naming it, before it
// tries to reach anything.
func TestMalformedAddressIsABadFlag(t *testing.T) {
	file := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	for _, addr := range []string{"nohostport", "10.0.0.1", ":7379", "10.0.0.1:0", "10.0.0.1:x", "a b:7379"} {
		for _, cmd := range []struct {
			name string
			run  func(args []string, stdout, stderr *bytes.Buffer) int
			args []string
		}{
			{"status", func(a []string, o, e *bytes.Buffer) int { return cmdStatus(a, o, e) }, []string{"--address", addr}},
			{"run", func(a []string, o, e *bytes.Buffer) int { return cmdRun(a, o, e) }, []string{"--address", addr, file}},
			{"start", func(a []string, o, e *bytes.Buffer) int { return cmdStart(a, o, e) }, []string{"--address", addr}},
		} {
			var out, errOut bytes.Buffer
			code := cmd.run(cmd.args, &out, &errOut)
			assert.Equal(t, exitUsage, code, "%s --address %q: %s", cmd.name, addr, errOut.String())
			first, _, _ := strings.Cut(errOut.String(), "\n")
			assert.Contains(t, first, "want the head's HOST:PORT", "%s --address %q", cmd.name, addr)
			assert.Contains(t, first, addr, "%s --address %q", cmd.name, addr)
		}
	}
}
