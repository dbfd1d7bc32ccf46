package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReviewStopHeadLastSingleDash: raysim stop sends SIGTERM to the nodes
// first and the head last ("nodes drain while the head still runs"). It
// tells the head by the substring "--head" in the pid file, which holds the
// child's arguments as given; the flag package takes -head (and
// -head=true) as well, so a head started with `raysim start -head
// --detach` is stopped first, before the nodes it must see drain.
func TestReviewStopHeadLastSingleDash(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	pids := filepath.Join(home, ".raysim", "pids")
	require.NoError(t, os.MkdirAll(pids, 0o700))
	order := filepath.Join(home, "order")

	// A stand-in for a raysim process: its command line contains "start"
	// (isRaysim), and it records its role when SIGTERM arrives.
	var spawned []string
	spawn := func(role, args string) int {
		ready := filepath.Join(home, "ready-"+strconv.Itoa(len(spawned)))
		spawned = append(spawned, ready)
		script := `trap 'echo ` + role + ` >> ` + order + `; exit 0' TERM; touch ` + ready + `; while :; do sleep 0.05; done`
		cmd := exec.Command("bash", "-c", script, "start")
		require.NoError(t, cmd.Start())
		require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 10*time.Second, 10*time.Millisecond,
			"the stand-in process did not start")
		go cmd.Wait() // reap it, or it lingers as a zombie waitGone sees alive
		t.Cleanup(func() { cmd.Process.Kill() })
		pid := cmd.Process.Pid
		require.NoError(t, os.WriteFile(filepath.Join(pids, strconv.Itoa(pid)+".pid"), []byte("start "+args+"\n"), 0o600))
		return pid
	}
	// These are the pid-file contents detach writes for
	// `raysim start -head --detach` and `raysim start --address h:7379 --detach`.
	head := spawn("head", "-head --detach=false")
	// Make the node's pid file sort after the head's (the glob's order), so
	// that only the head test decides the order.
	var node int
	for {
		node = spawn("node", "--address 127.0.0.1:7379 --detach=false")
		if strconv.Itoa(node) > strconv.Itoa(head) {
			break
		}
		os.Remove(filepath.Join(pids, strconv.Itoa(node)+".pid"))
	}
	var out, errb bytes.Buffer
	code := cmdStop([]string{"--timeout", "5s"}, &out, &errb)
	require.Equal(t, exitOK, code, "stdout %s stderr %s", out.String(), errb.String())
	b, err := os.ReadFile(order)
	require.NoError(t, err)
	require.Equal(t, []string{"node", "head"}, strings.Fields(string(b)), "the order raysim stop sent SIGTERM in")
}
