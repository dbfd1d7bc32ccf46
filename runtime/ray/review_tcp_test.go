package ray_test

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// TestReviewStaleShutdownKeepsRejoinedNode: a node process A named n1 is
// replaced by a new process B started with the same --name while A is
// still up but lost to the node table (a hung process: here its endpoints
// stopped with its context; a live A's name is refused, see
// TestJoinRefusesTheNameOfALiveNode): the head admits B as n1's rejoin and
// gives it n1's ID. When A is then stopped with SIGTERM
// (Process.Shutdown), its drain request and its Leave name the raylet ID,
// not the agent, and the coordinator applies both to B: the drain is
// forwarded to B's agent, which shuts B down, and the Leave deletes B from
// the book. The live node B must survive the old process's exit.
func TestReviewStaleShutdownKeepsRejoinedNode(t *testing.T) {
	tok := []byte("review-stale-shutdown")
	ctx := context.Background()
	reg, _ := deployRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	join := func(ctx context.Context) (*ray.Process, error) {
		return ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "n1",
			Node: ray.NodeConfig{CPUs: 1}, DrainTimeout: 2 * time.Second}, reg)
	}
	aCtx, hang := context.WithCancel(ctx)
	a, err := join(aCtx)
	require.NoError(t, err)
	defer a.Close()
	hang()
	var b *ray.Process
	require.Eventually(t, func() bool { // once the node table has lost A
		b, err = join(ctx)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "B is refused: %v", err)
	defer b.Close()
	require.Equal(t, a.Self(), b.Self(), "the rejoin under n1 keeps n1's ID")

	require.NoError(t, a.Shutdown(ctx)) // the old process gets SIGTERM
	time.Sleep(time.Second)

	st, err := deploy.Status(ctx, deploy.QueryConfig{Address: head.Addr(), Token: tok})
	require.NoError(t, err)
	var addrs []string
	for _, n := range st.Nodes {
		if n.Name == "n1" {
			addrs = append(addrs, n.Addr)
		}
	}
	require.Equal(t, []string{b.Addr()}, addrs, "n1 (process B at %s) must stay in the cluster after the old process A (%s) stops", b.Addr(), a.Addr())
}

// TestReviewControlAckOfAnotherRequest: Session.Control reads the head's
// acknowledgements from one channel shared by every request of the
// session. An acknowledgement left over from an earlier request (one whose
// ctx ended first) is taken by the next request as its own answer when it
// carries an error, so a control request for a node that exists fails
// with "no node named" another name. (Concurrent requests, as a live
// scenario's faults at the same instant make, likewise drop each other's
// acknowledgements and time out.)
func TestReviewControlAckOfAnotherRequest(t *testing.T) {
	tok := []byte("review-control-ack")
	addr := startDeployed(t, tok, nilTLS)
	ctx := context.Background()
	reg, _ := deployRegistry()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()

	gone, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Control(gone, transport.ControlRestart, "nosuch")
	require.ErrorIs(t, err, context.Canceled)
	time.Sleep(500 * time.Millisecond) // the head's refusal arrives meanwhile

	// Restart of a running node is a no-op the head acknowledges.
	err = s.Control(ctx, transport.ControlRestart, "w0")
	require.NoError(t, err, "a control request for the existing node w0 got another request's answer")
}

// TestReviewConcurrentControl: two control requests at once (two faults of
// a live scenario at the same instant) must both be acknowledged.
func TestReviewConcurrentControl(t *testing.T) {
	tok := []byte("review-concurrent-control")
	addr := startDeployed(t, tok, nilTLS)
	ctx := context.Background()
	reg, _ := deployRegistry()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	for round := 0; round < 10; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, name := range []string{"head", "w0"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				errs[i] = s.Control(c, transport.ControlRestart, name)
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...), "round %d: concurrent control requests", round)
	}
}

func nilTLS(string) *tls.Config { return nil }

// TestReviewSessionCallsAfterClose: a Session method that talks to the head
// (Status, Ping, Control, LinkFault, Trace) goes through
// Member.Send -> Env.Await on the agent's host; once the session is closed
// that host has stopped, and Await ends the calling goroutine with
// runtime.Goexit. A call after Close (or racing it, e.g. a status poller of
// the user's) must return an error, not silently kill the caller's
// goroutine (in main: "no goroutines (main called runtime.Goexit)").
func TestReviewSessionCallsAfterClose(t *testing.T) {
	tok := []byte("review-after-close")
	addr := startDeployed(t, tok, nilTLS)
	ctx := context.Background()
	reg, _ := deployRegistry()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	returned := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := s.Status(c)
		returned <- err
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("Status after Close hangs")
	}
	select {
	case err := <-returned:
		require.Error(t, err, "Status after Close")
	default:
		t.Fatal("Status after Close never returned: the calling goroutine was ended (runtime.Goexit)")
	}
}

// TestReviewRayletIDsRunIntoControlPlane: the coordinator gives every
// joining process without a name (every driver session: ray.Connect,
// raysim run --address) a fresh raylet ID, RayletID(next), next++, and never
// reuses one. Raylet IDs live below SchedulerID (1<<20); nothing stops next
// there, so after 2^20-1 sessions (a driver a minute for two years; a
// driver a second for twelve days) a driver's raylet gets the global
// scheduler's ID, then the GCS shards'. The test starts the coordinator's
// counter where such a head's would be and joins one driver: it must be
// refused or given an ID in the raylet range, not the scheduler's.
func TestReviewRayletIDsRunIntoControlPlane(t *testing.T) {
	tok := []byte("review-id-space")
	h, err := tcp.Listen(tcp.Config{ClusterID: deploy.ClusterID(tok), Token: tok, Self: deploy.CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer h.Close()
	go h.Run(ctx, func(env transport.Env) transport.Handler {
		return deploy.NewCoordinator(env, deploy.CoordinatorConfig{Host: h, Dir: deploy.NewDirectory(0),
			Local: nopLocal{}, RayletID: ray.RayletID, Limit: ray.SchedulerID,
			Next: int(ray.SchedulerID) - 1}) // 2^20-1 processes have joined before
	})
	m, err := deploy.Join(ctx, deploy.JoinConfig{Address: h.Addr(), Token: tok, Timeout: 5 * time.Second,
		Request: transport.JoinRequest{Role: transport.RoleDriver, Addr: "127.0.0.1:1"}})
	if err != nil {
		return // refused: fine
	}
	defer m.Close()
	require.Less(t, m.Reply.Node, ray.SchedulerID, "a driver's raylet was given the ID %d of a control-plane endpoint (scheduler %d, GCS shard 0 %d)",
		m.Reply.Node, ray.SchedulerID, ray.ShardID(0))
}

type nopLocal struct{}

func (nopLocal) Book(uint64, []transport.BookEntry) {}
func (nopLocal) Control(*transport.NodeControl)     {}
func (nopLocal) LinkFault(*transport.LinkFault)     {}
func (nopLocal) Trace(transport.NodeID, bool)       {}
