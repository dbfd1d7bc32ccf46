package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// driverNames lists the driver rows of a status.
func driverNames(st statusJSON) []string {
	var out []string
	for _, n := range st.Nodes {
		if n.Role == "driver" {
			out = append(out, n.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestDeployCrashedDriverLeavesStatus: a `raysim run --address` process
// killed mid-run (SIGKILL: no Leave) stayed in the head's book, listed by
// raysim status as a dead driver, for good. The head now removes a driver
// once its process has no connection to the head and the GCS holds its
// raylet dead, for the grace period (the node timeout, at least 10 s); a
// live driver running beside it stays listed.
func TestDeployCrashedDriverLeavesStatus(t *testing.T) {
	c := newLiveCluster(t)
	c.head("--node-timeout", "1s")
	c.waitStatus("the head", func(st statusJSON) bool { return len(aliveNames(st)) == 1 })
	file := filepath.Join("..", "..", "scenarios", "parallel.yaml")
	startDriver := func() *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, c.bin, "run", "--address", c.addr,
			"--set", "duration_limit=1h", "--set", "workload.0.params.tasks=100000", "--set", "workload.0.drivers=1",
			"--set", "workload.0.params.duration=1s", "--set", "workload.0.arrival={kind: rate, rate: 4/s}", file)
		cmd.Env = c.env()
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	doomed := startDriver()
	st := c.waitStatus("the first driver", func(st statusJSON) bool { return len(driverNames(st)) == 1 })
	doomedName := driverNames(st)[0]
	startDriver()
	st = c.waitStatus("both drivers", func(st statusJSON) bool { return len(driverNames(st)) == 2 })
	live := slices.DeleteFunc(driverNames(st), func(n string) bool { return n == doomedName })

	require.NoError(t, doomed.Process.Kill())
	doomed.Wait()
	// Dead after the node timeout (1 s), removed after the grace (10 s)
	// and a sweep (1 s): poll well past that.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st = c.status()
		if !slices.Contains(driverNames(st), doomedName) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the killed driver %s is still listed: %+v", doomedName, st)
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, live, driverNames(st), "the live driver is listed")
}
