package ray

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// controlGuard bounds the waits below: a failure guard, never a
// performance claim.
const controlGuard = 10 * time.Second

// startControlHead starts a head process (its coordinator, GCS, scheduler
// and raylet) on loopback.
func startControlHead(t *testing.T) *Process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := StartHead(ctx, DeployConfig{Listen: "127.0.0.1:0", Token: []byte("process-control"),
		Node: NodeConfig{CPUs: 1}}, NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// rayletState is the process's raylet incarnation and whether it is killed.
func (p *Process) rayletState() (*node.Raylet, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raylet, p.killed
}

// TestKillThenRestartInOrder: Process.Control ran each operation on a
// goroutine of its own, so a Kill and the Restart right behind it (a
// scenario's crash and restart of a node, delivered back to back) raced:
// the Restart could look before the Kill had marked the raylet killed,
// find it running and do nothing, and the Kill then left the node down for
// good. Controls now apply one at a time, in the order they came.
func TestKillThenRestartInOrder(t *testing.T) {
	p := startControlHead(t)
	// The old code lost the race in a few rounds out of a hundred.
	for round := range 200 {
		old, _ := p.rayletState()
		p.Control(&transport.NodeControl{Op: transport.ControlKill, Node: p.self})
		p.Control(&transport.NodeControl{Op: transport.ControlRestart, Node: p.self})
		require.Eventually(t, func() bool {
			r, killed := p.rayletState()
			return r != old && !killed
		}, controlGuard, time.Millisecond, "round %d: the Restart behind a Kill did not bring the raylet back", round)
	}
}

// lockedLog is a log destination safe for concurrent use.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestControlLogsWhatHappened: Process.Control logged "raylet restarted"
// for every restart it received, and "raylet killed" for every kill,
// whether or not anything restarted or died (a restart of a running
// raylet does nothing). It now logs what each operation did, once it
// has done it.
func TestControlLogsWhatHappened(t *testing.T) {
	var log lockedLog
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := StartHead(ctx, DeployConfig{Listen: "127.0.0.1:0", Token: []byte("process-control"),
		Node: NodeConfig{CPUs: 1}, Logger: slog.New(slog.NewTextHandler(&log, nil))}, NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	ctl := func(op uint8) {
		p.Control(&transport.NodeControl{Op: op, Node: p.self, Name: "head", By: "test"})
	}
	// wait waits until the log holds want n times and returns it.
	wait := func(want string, n int) string {
		t.Helper()
		var s string
		require.Eventually(t, func() bool {
			s = log.String()
			return strings.Count(s, want) >= n
		}, controlGuard, time.Millisecond, "want %q %d times in the log:\n%s", want, n, log.String())
		return s
	}

	ctl(transport.ControlRestart) // the raylet is running
	logs := wait("nothing to restart", 1)
	require.NotContains(t, logs, "raylet restarted", "a restart of a running raylet was logged as done")

	ctl(transport.ControlKill)
	ctl(transport.ControlKill) // dead already
	ctl(transport.ControlRestart)
	ctl(transport.ControlRestart) // running again
	logs = wait("nothing to restart", 2)
	require.Equal(t, 1, strings.Count(logs, "raylet killed by a node control"), logs)
	require.Equal(t, 1, strings.Count(logs, "nothing to kill"), logs)
	require.Equal(t, 1, strings.Count(logs, "raylet restarted by a node control"), logs)
	require.Regexp(t, `raylet restarted by a node control \(restart_node\)" node=head id=\d+ by=test`, logs)
}
