package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Multi-process tests: they build the raysim binary, start a head and
// nodes as separate processes on loopback (free ports, a temporary HOME so
// the token file is the test's own), and drive them with the CLI. Every
// process is killed when the test ends; every wait is bounded.

var (
	raceBuild bool // set by deploy_race_test.go: build the binary with -race
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

func raysimBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test (builds the binary)")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "raysim-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "raysim")
		args := []string{"build", "-o", buildBin}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return buildBin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// liveCluster is a set of raysim processes sharing a HOME.
type liveCluster struct {
	t    *testing.T
	bin  string
	home string
	addr string
	mu   sync.Mutex
	proc map[string]*proc
	// startEnv is added to the environment of every raysim start.
	startEnv []string
}

type proc struct {
	cmd  *exec.Cmd
	args []string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func newLiveCluster(t *testing.T) *liveCluster {
	c := &liveCluster{t: t, bin: raysimBinary(t), home: t.TempDir(), proc: map[string]*proc{}}
	c.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for name, p := range c.proc {
			p.cmd.Process.Kill()
			<-p.done
			if strings.Contains(p.output(), "DATA RACE") {
				t.Errorf("%s: data race", name)
			}
			if t.Failed() {
				t.Logf("--- %s:\n%s", name, p.output())
			}
		}
	})
	return c
}

func (c *liveCluster) env(extra ...string) []string {
	env := []string{"HOME=" + c.home, "PATH=" + os.Getenv("PATH")}
	return append(env, extra...)
}

// start runs `raysim start args...` as process name and waits for it to
// report ready.
func (c *liveCluster) start(name string, args ...string) *proc {
	t := c.t
	t.Helper()
	cmd := exec.Command(c.bin, append([]string{"start"}, args...)...)
	cmd.Env = c.env(c.startEnv...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, args: args, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "raysim: ready") {
				once.Do(func() { close(ready) })
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	c.proc[name] = p
	c.mu.Unlock()
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", name, p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s not ready after 20s:\n%s", name, p.output())
	}
	return p
}

func (c *liveCluster) head(args ...string) {
	c.start("head", append([]string{"--head", "--port", strings.Split(c.addr, ":")[1], "--cpus", "4", "--name", "head"}, args...)...)
}

func (c *liveCluster) node(name string, args ...string) *proc {
	return c.start(name, append([]string{"--address", c.addr, "--cpus", "4", "--name", name}, args...)...)
}

// signal sends sig to process name and waits (bounded) for it to exit.
func (c *liveCluster) stop(name string, sig syscall.Signal) {
	c.mu.Lock()
	p := c.proc[name]
	c.mu.Unlock()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s did not exit after %v", name, sig)
	}
}

// raysim runs a raysim command to completion (bounded) and returns its
// stdout, stderr and exit status.
func (c *liveCluster) raysim(env []string, args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(c.env(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("raysim %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

type statusJSON struct {
	Nodes []struct {
		ID    uint32 `json:"id"`
		Name  string `json:"name"`
		Role  string `json:"role"`
		Alive bool   `json:"alive"`
		// Address is the node's raylet's.
		Address string             `json:"address"`
		Total   map[string]float64 `json:"total"`
		// MeanTaskMs is the node's measured mean task time.
		MeanTaskMs float64 `json:"mean_task_ms"`
	} `json:"nodes"`
}

func (c *liveCluster) status() statusJSON {
	c.t.Helper()
	out, errOut, code := c.raysim(nil, "status", "--address", c.addr, "--json")
	require.Equal(c.t, 0, code, "status: %s", errOut)
	var st statusJSON
	require.NoError(c.t, json.Unmarshal([]byte(out), &st), out)
	return st
}

// waitStatus polls status until ok accepts it (bounded).
func (c *liveCluster) waitStatus(what string, ok func(statusJSON) bool) statusJSON {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := c.status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("status never showed %s: %+v", what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func aliveNames(st statusJSON) []string {
	var out []string
	for _, n := range st.Nodes {
		if n.Alive && n.Role == "node" {
			out = append(out, n.Name)
		}
	}
	return out
}

// runRemote runs a scenario with raysim run --address --json.
func (c *liveCluster) runRemote(file string, extra ...string) *runner.Result {
	c.t.Helper()
	out, errOut, code := c.raysim(nil, append([]string{"run", "--address", c.addr, "--json", file}, extra...)...)
	var r runner.Result
	require.NoError(c.t, json.Unmarshal([]byte(out), &r), "stdout %q stderr %q", out, errOut)
	require.Equal(c.t, 0, code, "raysim run --address: %s\n%s", out, errOut)
	return &r
}

// answers is what must agree between the simulator and a live cluster:
// every workload's checked, wrong and failed results, and the verdict.
func answers(r *runner.Result) []string {
	out := []string{fmt.Sprintf("ok=%v", r.OK)}
	for _, w := range r.Workloads {
		out = append(out, fmt.Sprintf("%s: drivers %d/%d checked %d wrong %d errors %d", w.Name, w.Finished, w.Drivers, w.Checked, w.Incorrect, w.Errors))
	}
	for _, e := range r.Expectations {
		if e.Name != "finish_by" && !strings.HasPrefix(e.Name, "latency") && e.Name != "throughput" {
			out = append(out, fmt.Sprintf("%s=%v", e.Name, e.OK))
		}
	}
	return out
}

func simulate(t *testing.T, file string, sets ...string) *runner.Result {
	s, err := scenarios.LoadWithOverrides(file, sets)
	require.NoError(t, err)
	r, err := runner.Run(context.Background(), s, runner.Options{})
	require.NoError(t, err)
	return r
}

// TestDeployQuickstart: a head and two nodes as processes; the quickstart
// (its worker-1 crash and restart applied through the head) gives the
// simulator's answers; refused connections leave the cluster serving.
func TestDeployQuickstart(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	tok, err := os.ReadFile(filepath.Join(c.home, ".raysim", "token"))
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(c.home, ".raysim", "token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "token file mode")
	c.node("worker-0")
	c.node("worker-1", "--resources", "custom=2", "--object-store", "2GiB")
	st := c.waitStatus("three live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 3 })
	for _, n := range st.Nodes {
		if n.Name == "worker-1" {
			assert.Equal(t, 2.0, n.Total["custom"])
		}
	}

	file := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	live := c.runRemote(file)
	sim := simulate(t, file)
	assert.Equal(t, answers(sim), answers(live), "the live cluster's answers differ from the simulator's")
	assert.Equal(t, "remote", live.Transport)
	assert.Equal(t, 2, live.FaultsInjected)
	assert.Greater(t, live.TasksCompleted, uint64(2000), "events streamed from every process")
	// The nodes' measured means reach status with their heartbeats.
	c.waitStatus("a measured mean task time", func(st statusJSON) bool {
		for _, n := range st.Nodes {
			if n.Role == "node" && n.MeanTaskMs > 0 {
				return true
			}
		}
		return false
	})

	// Link faults through the TCP fault layer: a partition, a slow lossy
	// link.
	lf := filepath.Join("testdata", "live-faults.yaml")
	live = c.runRemote(lf)
	assert.Equal(t, answers(simulate(t, lf)), answers(live), "link faults: live answers differ from the simulator's")
	assert.Equal(t, 2, live.FaultsInjected)

	t.Run("refused", func(t *testing.T) {
		// No token at all.
		_, errOut, code := c.raysim([]string{"HOME=" + t.TempDir()}, "status", "--address", c.addr)
		assert.Equal(t, 1, code, errOut)
		assert.Contains(t, errOut, "token")
		// A wrong token (RAYSIM_TOKEN beats the file).
		_, errOut, code = c.raysim([]string{"RAYSIM_TOKEN=not-the-token"}, "status", "--address", c.addr, "--timeout", "1s")
		assert.Equal(t, 1, code, errOut)
		assert.Contains(t, errOut, "cannot reach the cluster")
		// Random bytes to the head and to a node's raylet.
		for _, addr := range []string{c.addr} {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			junk := make([]byte, 4096)
			crand.Read(junk)
			conn.Write(junk)
			conn.Write([]byte("RSIM\x01\xff"))
			conn.Close()
		}
		// The right token through the environment works, and the cluster
		// still serves work.
		_, errOut, code = c.raysim([]string{"RAYSIM_TOKEN=" + strings.TrimSpace(string(tok))}, "status", "--address", c.addr)
		assert.Equal(t, 0, code, errOut)
		assert.Len(t, aliveNames(c.status()), 3)
		r := c.runRemote(filepath.Join("testdata", "tiny.yaml"))
		assert.True(t, r.OK)
	})
}

// TestDeployKillAndTerm: a node process killed mid-run and started again
// with the same command, then another node sent SIGTERM mid-run: no
// acknowledged result is lost (every answer is checked), the cluster notices
// the departures.
func TestDeployKillAndTerm(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	c.node("worker-0")
	c.node("worker-1")
	c.waitStatus("three live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 3 })
	file := filepath.Join("..", "..", "scenarios", "fault-crash-restart.yaml")
	sets := []string{"--set", "faults=[]"}
	sim := simulate(t, file, "faults=[]")

	// SIGKILL worker-1 mid-run, then start it again.
	results := make(chan *runner.Result, 1)
	go func() {
		var r *runner.Result
		defer func() { results <- r }() // also when runRemote fails the test (Goexit): the test hung here for good
		r = c.runRemote(file, sets...)
	}()
	time.Sleep(300 * time.Millisecond)
	c.stop("worker-1", syscall.SIGKILL)
	c.node("worker-1")
	live := <-results
	require.NotNil(t, live, "the live run failed")
	assert.Equal(t, answers(sim), answers(live), "after a node process was killed and restarted")
	c.waitStatus("worker-1 back", func(st statusJSON) bool { return len(aliveNames(st)) == 3 })

	// SIGTERM worker-0 mid-run: it drains and leaves.
	idOf := func(st statusJSON, name string) uint32 {
		for _, n := range st.Nodes {
			if n.Name == name {
				return n.ID
			}
		}
		return 0
	}
	id0 := idOf(c.status(), "worker-0")
	go func() {
		var r *runner.Result
		defer func() { results <- r }()
		r = c.runRemote(file, sets...)
	}()
	time.Sleep(300 * time.Millisecond)
	c.stop("worker-0", syscall.SIGTERM)
	live = <-results
	require.NotNil(t, live, "the live run failed")
	assert.Equal(t, answers(sim), answers(live), "after a node was drained with SIGTERM")
	st := c.waitStatus("worker-0 gone", func(st statusJSON) bool {
		for _, n := range st.Nodes {
			if n.Name == "worker-0" {
				return false
			}
		}
		return true
	})
	assert.ElementsMatch(t, []string{"head", "worker-1"}, aliveNames(st))

	// Started again under its name, the drained node gets its ID back.
	c.node("worker-0")
	st = c.waitStatus("worker-0 back", func(st statusJSON) bool { return len(aliveNames(st)) == 3 })
	assert.Equal(t, id0, idOf(st, "worker-0"), "a drained node rejoining under its name keeps its ID")
}

// TestDeployFaultsNameLiveNodes: on a live cluster a scenario's faults name
// the live nodes by --name, whatever its own cluster section says (it is
// not applied); validation used to check them against the file's nodes.
func TestDeployFaultsNameLiveNodes(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	c.node("n1")
	c.waitStatus("two live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 2 })
	trace := filepath.Join(t.TempDir(), "live.trace")
	r := c.runRemote(filepath.Join("..", "..", "scenarios", "parallel.yaml"),
		"--set", "workload.0.params.tasks=200", "--trace", trace,
		"--set", "faults=[{at: 50ms, kill_node: n1}, {at: 150ms, restart_node: n1}]")
	assert.Equal(t, 2, r.FaultsInjected, "both faults name a live node")
	// The faults are in the trace, as in a simulated run's, so analyze
	// reports them.
	out, errOut, code := c.raysim(nil, "analyze", trace)
	require.Equal(t, 0, code, "raysim analyze: %s", errOut)
	assert.Regexp(t, `(?m)^\S+\s+crash\s+n1\s+(at its restart, )?\S+ms`, out, "the kill of n1, detected, in analyze's faults:\n%s", out)
	assert.Regexp(t, `(?m)^\S+\s+restart\s+n1\b`, out, "the restart of n1 in analyze's faults:\n%s", out)
}

// TestDeployHeadLost: a run on a live cluster whose head dies ends with an
// error naming the lost head once it has not answered for --head-timeout,
// instead of waiting for the scenario's duration_limit (an hour here).
func TestDeployHeadLost(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	c.node("n1")
	c.waitStatus("two live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 2 })
	type outcome struct {
		stderr string
		code   int
		took   time.Duration
	}
	done := make(chan outcome, 1)
	go func() {
		start := time.Now()
		_, errOut, code := c.raysim(nil, "run", "--address", c.addr, "--head-timeout", "2s",
			"--set", "duration_limit=1h", "--set", "workload.0.params.tasks=100000",
			"--set", "workload.0.params.duration=1s", "--set", "workload.0.arrival={kind: rate, rate: 10/s}",
			filepath.Join("..", "..", "scenarios", "parallel.yaml"))
		done <- outcome{errOut, code, time.Since(start)}
	}()
	time.Sleep(2 * time.Second) // the run is under way
	c.stop("head", syscall.SIGKILL)
	select {
	case o := <-done:
		assert.NotEqual(t, 0, o.code)
		assert.Contains(t, o.stderr, "lost the cluster's head")
		t.Logf("after %v: %s", o.took.Round(time.Millisecond), o.stderr)
	case <-time.After(40 * time.Second):
		t.Fatal("raysim run --address still waiting 40s after its head died")
	}
}

// TestDeployTaskErrors: a task_errors fault on a live cluster sets the
// named node's rate through the head; the runs it fails are retried
// (retry_exceptions), every result comes out right, and the fault is in
// the trace for analyze. It used to be reported as not applied.
func TestDeployTaskErrors(t *testing.T) {
	c := newLiveCluster(t)
	c.head()
	c.node("n1")
	c.waitStatus("two live nodes", func(st statusJSON) bool { return len(aliveNames(st)) == 2 })
	trace := filepath.Join(t.TempDir(), "live.trace")
	r := c.runRemote(filepath.Join("..", "..", "scenarios", "parallel.yaml"),
		"--set", "workload.0.params.tasks=300", "--set", "workload.0.max_retries=-1",
		"--set", "workload.0.retry_exceptions=true", "--trace", trace,
		"--set", "faults=[{at: 0s, task_errors: {rate: 50%, nodes: [n1]}}]")
	assert.Equal(t, 1, r.FaultsInjected)
	assert.Empty(t, r.Warnings)
	assert.True(t, r.OK, "every result right despite the injected errors")
	assert.Greater(t, r.TasksRetried, uint64(0), "half the runs on n1 fail and are retried")
	out, errOut, code := c.raysim(nil, "analyze", trace)
	require.Equal(t, 0, code, "raysim analyze: %s", errOut)
	assert.Regexp(t, `(?m)^\S+\s+task_errors\b.*n1`, out, "the fault in analyze's faults:\n%s", out)
	// The fault had no for: it lasted the run, and no longer than the run.
	// The rate lives in n1's process, and failed the next run's tasks.
	r = c.runRemote(filepath.Join("..", "..", "scenarios", "parallel.yaml"),
		"--set", "workload.0.params.tasks=300", "--set", "faults=[]")
	assert.True(t, r.OK, "a run after the faulted one sees no injected errors")
	assert.Zero(t, r.TasksRetried)
}
