package deploy

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// startDriverCoordinator runs a coordinator like startCoordinator, with
// dir as its directory and grace as its DriverGrace.
func startDriverCoordinator(t *testing.T, dir *Directory, grace time.Duration) (*tcp.Host, []byte) {
	t.Helper()
	tok := []byte("tok")
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	go h.Run(ctx, func(env transport.Env) transport.Handler {
		c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: dir, DriverGrace: grace,
			Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
		c.forgetAfter = testForgetAfter
		return c
	})
	return h, tok
}

// joinDriver joins the coordinator at addr as a driver process named name
// and registers its raylet with dir, as the node-table shard's tap does.
func joinDriver(t *testing.T, addr string, tok []byte, dir *Directory, name string) *Member {
	t.Helper()
	m, err := Join(context.Background(), JoinConfig{Address: addr, Token: tok, Timeout: 5 * time.Second,
		Request: transport.JoinRequest{Role: transport.RoleDriver, Name: name, Functions: []string{"f=func()"}, Addr: "127.0.0.1:1"}})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	id := m.Reply.Node
	dir.Tap(id, &transport.RegisterNode{Node: id, Incarnation: 1})
	return m
}

func statusNames(t *testing.T, addr string, tok []byte) []string {
	t.Helper()
	st, err := Status(context.Background(), QueryConfig{Address: addr, Token: tok})
	require.NoError(t, err)
	var names []string
	for _, n := range st.Nodes {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names
}

// TestCrashedDriverLeavesBook: a driver whose process died without a
// clean disconnect (no Leave) stayed in the book, and in raysim status,
// for good. Now a driver leaves the book once both signals have held for
// the grace period: its process's agent has no connection to the
// coordinator, and the GCS holds its raylet dead. Either alone keeps it:
// a driver the GCS declared dead while its process is connected (a slow
// link delays its heartbeats), or one whose connection broke while its
// raylet's heartbeats arrive.
func TestCrashedDriverLeavesBook(t *testing.T) {
	dir := NewDirectory(0) // liveness as the GCS declares it, not by age
	h, tok := startDriverCoordinator(t, dir, 200*time.Millisecond)
	crashed := joinDriver(t, h.Addr(), tok, dir, "crashed")
	slow := joinDriver(t, h.Addr(), tok, dir, "slow")
	cut := joinDriver(t, h.Addr(), tok, dir, "cut")
	require.Equal(t, []string{"crashed", "cut", "slow"}, statusNames(t, h.Addr(), tok))

	// crashed: the process dies (no Leave) and the GCS declares its raylet
	// dead. slow: declared dead, its process still connected. cut: its
	// agent's connection is gone, its raylet still heartbeats.
	crashed.Close()
	dir.Event(&transport.Event{Kind: transport.EvNodeDead, Node: crashed.Reply.Node})
	dir.Event(&transport.Event{Kind: transport.EvNodeDead, Node: slow.Reply.Node})
	cut.Close()

	// (Polled on the test's goroutine: Eventually's condition may outlive
	// it, and Status reads the agent ID hook other tests set.)
	for deadline := time.Now().Add(10 * time.Second); slices.Contains(statusNames(t, h.Addr(), tok), "crashed"); {
		require.True(t, time.Now().Before(deadline), "the crashed driver is still listed after 10 s")
		time.Sleep(50 * time.Millisecond)
	}
	// The others stay: watch several grace periods past the drop (a miss
	// is a missed failure, never a false one).
	for range 10 {
		names := statusNames(t, h.Addr(), tok)
		require.Contains(t, names, "slow", "a driver declared dead whose process is connected was dropped")
		require.Contains(t, names, "cut", "a driver whose raylet is alive was dropped when its connection broke")
		time.Sleep(100 * time.Millisecond)
	}
}
