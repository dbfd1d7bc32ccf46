package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNodeReportsItsLostHead: a joined node whose head is gone, or came
// back restarted without it, reports ErrHeadLost on Err once the head
// has not listed it for its head timeout (raysim start then exits 1, and
// a supervisor restarts it into the cluster). Before, the node stayed up
// for good, outside any cluster, after one warning.
func TestNodeReportsItsLostHead(t *testing.T) {
	tok := []byte("node-head-lost-token")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, _ := deployRegistry()
	var addr string
	startHead := func(listen string) *ray.Process {
		var head *ray.Process
		require.Eventually(t, func() bool { // the port of a head just closed may linger
			var err error
			head, err = ray.StartHead(ctx, ray.DeployConfig{Listen: listen, Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
			return err == nil
		}, 10*time.Second, 50*time.Millisecond)
		t.Cleanup(func() { head.Close() })
		return head
	}
	joinNode := func(addr, name string) *ray.Process {
		n, err := ray.JoinNode(ctx, ray.DeployConfig{Address: addr, Token: tok, Name: name,
			Node: ray.NodeConfig{CPUs: 1}, HeadTimeout: time.Second}, reg)
		require.NoError(t, err)
		t.Cleanup(func() { n.Close() })
		return n
	}
	requireLost := func(n *ray.Process) {
		t.Helper()
		select {
		case err := <-n.Err():
			require.ErrorIs(t, err, ray.ErrHeadLost)
			assert.ErrorContains(t, err, addr)
		case <-time.After(20 * time.Second):
			t.Fatal("the node did not report its lost head")
		}
	}

	head := startHead("127.0.0.1:0")
	addr = head.Addr()
	n1 := joinNode(addr, "n1")
	select {
	case err := <-n1.Err():
		t.Fatalf("a node with its head reports %v", err)
	case <-time.After(2500 * time.Millisecond): // past its head timeout
	}

	// The head restarts, without n1.
	require.NoError(t, head.Close())
	head = startHead(addr)
	requireLost(n1)

	// The head dies for good.
	n2 := joinNode(addr, "n2")
	head.Close()
	requireLost(n2)
}
