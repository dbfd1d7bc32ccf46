package ray

import (
	"context"
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
