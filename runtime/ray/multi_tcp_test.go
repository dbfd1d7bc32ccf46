package ray_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestMultiReturnRebuiltAfterNodeDeathTCP: on a live cluster over
// loopback TCP (a head and a node, each endpoint on its own listener, as
// separate processes), the node that ran a task of two returns, and so
// holds their only copies, is killed; the driver's reads of each return
// rebuild them from lineage by running the task again on the head.
//
// The node is pinned by a soft affinity (a hard one would fail the
// rebuild: its node is dead), which binds only to a node the scheduler
// knows: the first run is checked to be the node's, or the kill loses
// nothing (flaky before JoinNode waited for the node's registration: the
// task ran on the head, one run in all).
func TestMultiReturnRebuiltAfterNodeDeathTCP(t *testing.T) {
	var runs atomic.Int64
	var mu sync.Mutex
	var nodes []transport.NodeID // where each run ran
	registry := func() (*ray.Registry, *ray.Func2[int, int]) {
		reg := ray.NewRegistry()
		f := ray.Register2x2(reg, "divmod", func(ctx context.Context, a, b int) (int, int, error) {
			runs.Add(1)
			mu.Lock()
			nodes = append(nodes, ray.NodeOf(ctx))
			mu.Unlock()
			return a / b, a % b, nil
		})
		return reg, f
	}
	ranOn := func() []transport.NodeID {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(nodes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("multi-return-token")
	reg, _ := registry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	reg, _ = registry()
	w, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w1", Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer w.Close()
	reg, divmod := registry()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		q, r := divmod.Options(ray.NodeAffinity(w.Self(), true), ray.MaxRetries(3)).Remote(ctx, 47, 10)
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{q, r}, 2, 30*time.Second) // done; no copy fetched here
		require.NoError(t, err)
		require.Len(t, ready, 2)
		require.Equal(t, int64(1), runs.Load())
		require.Equal(t, []transport.NodeID{w.Self()}, ranOn(), "the first run on the node to kill, which holds the only copies")
		alive := func() (listed, alive bool) {
			st, err := s.Status(ctx)
			if err != nil {
				return false, false
			}
			for _, n := range st.Nodes {
				if n.Node == w.Self() {
					return true, n.Alive
				}
			}
			return false, false
		}
		listed, up := alive()
		require.True(t, listed && up, "the node listed alive before the kill")
		w.Control(&transport.NodeControl{Op: transport.ControlKill, Node: w.Self()}) // the only copies go
		// The kill is applied on a goroutine of its own: until the node
		// table has declared the node dead, a read could still fetch a
		// copy from it (the test then saw one run, not two).
		require.Eventually(t, func() bool {
			listed, up := alive()
			return listed && !up
		}, 30*time.Second, 50*time.Millisecond, "the killed node declared dead")
		v, err := ray.GetTimeout(ctx, r, 60*time.Second)
		require.NoError(t, err, "the second return, rebuilt")
		assert.Equal(t, 7, v)
		v, err = ray.GetTimeout(ctx, q, 60*time.Second)
		require.NoError(t, err, "the first return, rebuilt")
		assert.Equal(t, 4, v)
		assert.Equal(t, int64(2), runs.Load(), "one rebuild run for both returns")
		if rs := ranOn(); assert.Len(t, rs, 2) {
			assert.Equal(t, head.Self(), rs[1], "the rebuild ran on the head")
		}
		return nil
	}))
}
