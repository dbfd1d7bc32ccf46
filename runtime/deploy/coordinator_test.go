package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// testForgetAfter shortens forgetLater's delay in these tests.
const testForgetAfter = 100 * time.Millisecond

// startCoordinator runs a coordinator with the function table "f=func()"
// on a host of its own and returns the host and the cluster token.
func startCoordinator(t *testing.T) (*tcp.Host, []byte) {
	t.Helper()
	h, tok, _ := startCoordinatorDir(t)
	return h, tok
}

// startCoordinatorDir is startCoordinator that also returns the
// coordinator's directory (a test marks raylets lost on it).
func startCoordinatorDir(t *testing.T) (*tcp.Host, []byte, *Directory) {
	t.Helper()
	tok := []byte("tok")
	dir := NewDirectory(0)
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	go h.Run(ctx, func(env transport.Env) transport.Handler {
		c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: dir,
			Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) }})
		c.forgetAfter = testForgetAfter
		return c
	})
	return h, tok, dir
}

// markLost makes raylet id lost in dir's eyes: registered, then declared
// dead by the node table (a hung or cut-off process).
func markLost(dir *Directory, id transport.NodeID) {
	dir.Tap(id, &transport.RegisterNode{Node: id, Incarnation: 1})
	dir.Event(&transport.Event{Kind: transport.EvNodeDead, Node: id})
}

// requireNoRedials fails if h keeps dialing: its writers back off to at
// most 2 s (plus jitter below it), so a writer still redialing a dead agent
// fails a dial within any 2.5 s window. It first waits well past
// testForgetAfter for forgetLater to run.
func requireNoRedials(t *testing.T, h *tcp.Host, what string) {
	t.Helper()
	time.Sleep(10 * testForgetAfter)
	before := h.Stats().DialFailures
	time.Sleep(2500 * time.Millisecond)
	after := h.Stats().DialFailures
	require.Equal(t, before, after, "the coordinator keeps redialing %s (dial failures %d -> %d)", what, before, after)
}

// TestRefusedJoinForgotten: a process the coordinator refuses (function
// table mismatch) goes away; the coordinator must forget its agent as it
// does a status query's, not keep a writer redialing the dead agent
// forever (found in review).
func TestRefusedJoinForgotten(t *testing.T) {
	h, tok := startCoordinator(t)
	for i := 0; i < 3; i++ {
		_, err := Join(context.Background(), JoinConfig{Address: h.Addr(), Token: tok, Timeout: 5 * time.Second,
			Request: transport.JoinRequest{Role: transport.RoleNode, Functions: []string{"g=func()"}, Addr: "127.0.0.1:1"}})
		require.True(t, errors.Is(err, ErrRefused), "join: %v", err)
	}
	requireNoRedials(t, h, "refused agents")
}

// TestRejoinForgetsOldAgent: a node that dies and rejoins under its name
// comes with a new agent; the coordinator drops the old agent from its book
// and must forget its address too, or it redials the dead agent forever
// (found in review).
func TestRejoinForgetsOldAgent(t *testing.T) {
	h, tok := startCoordinator(t)
	// The raylet address must accept connections: the coordinator sends it
	// every address book.
	raylet, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: 1, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); raylet.Close() })
	go raylet.Run(ctx, func(transport.Env) transport.Handler { return nopHandler{} })
	join := func() *Member {
		// A rejoin right after the close may find the name still held
		// (the coordinator has not seen the old connection end: refused,
		// "the name is taken by a live node"), as a restarted node would;
		// it joins once the coordinator has.
		for {
			m, err := Join(context.Background(), JoinConfig{Address: h.Addr(), Token: tok, Timeout: 5 * time.Second,
				Request: transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Functions: []string{"f=func()"}, Addr: raylet.Addr()}})
			if err != nil && errors.Is(err, ErrRefused) && strings.Contains(err.Error(), "is taken by a live node") {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			require.NoError(t, err)
			return m
		}
	}
	first := join()
	first.Close() // the process dies
	second := join()
	t.Cleanup(second.Close)
	require.Equal(t, first.Reply.Node, second.Reply.Node, "a rejoin keeps the node's ID")
	requireNoRedials(t, h, "the old incarnation's agent")
}
