package deploy

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// chanLocal is a Local that hands the controls, link faults and trace
// subscriptions it gets to channels and keeps the last book (any
// goroutine).
type chanLocal struct {
	controls chan *transport.NodeControl
	faults   chan *transport.LinkFault
	traces   chan transport.NodeID
	mu       sync.Mutex
	book     []transport.BookEntry
}

func newChanLocal() *chanLocal {
	return &chanLocal{controls: make(chan *transport.NodeControl, 16), faults: make(chan *transport.LinkFault, 16),
		traces: make(chan transport.NodeID, 16)}
}

func (l *chanLocal) Book(_ uint64, es []transport.BookEntry) {
	l.mu.Lock()
	l.book = es
	l.mu.Unlock()
}
func (l *chanLocal) Control(m *transport.NodeControl)    { l.controls <- m }
func (l *chanLocal) LinkFault(m *transport.LinkFault)    { l.faults <- m }
func (l *chanLocal) Trace(sink transport.NodeID, _ bool) { l.traces <- sink }

func (l *chanLocal) ids() []transport.NodeID {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []transport.NodeID
	for _, b := range l.book {
		out = append(out, b.Node)
	}
	return out
}

// lockedBuf is a log sink safe for concurrent use.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startLoggedCoordinator is startCoordinatorDir with a driver grace
// period (0: the default) and a log the test reads.
func startLoggedCoordinator(t *testing.T, grace time.Duration) (*tcp.Host, []byte, *Directory, *lockedBuf) {
	t.Helper()
	tok := []byte("tok")
	dir := NewDirectory(0)
	log := &lockedBuf{}
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: CoordinatorID, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	go h.Run(ctx, func(env transport.Env) transport.Handler {
		c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: dir, DriverGrace: grace,
			Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) },
			Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		c.forgetAfter = testForgetAfter
		return c
	})
	return h, tok, dir, log
}

// joinWith joins the coordinator at addr as a raylet of role named name,
// handing its controls to l and the acknowledgements of its own to acks
// (either may be nil).
func joinWith(t *testing.T, addr string, tok []byte, role uint8, name string, l Local, acks chan *transport.NodeControl) *Member {
	t.Helper()
	cfg := JoinConfig{Address: addr, Token: tok, Timeout: 5 * time.Second, Local: l,
		Request: transport.JoinRequest{Role: role, Name: name, Functions: []string{"f=func()"}, Addr: "127.0.0.1:1"}}
	if acks != nil {
		cfg.OnControl = func(m *transport.NodeControl) { acks <- m }
	}
	m, err := Join(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// next waits for the next value of ch (failing the test after a long
// while: a liveness bound, not a timing assertion).
func next[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// control sends a control from m and waits for the head's answer.
func control(t *testing.T, m *Member, acks chan *transport.NodeControl, op uint8, name string) *transport.NodeControl {
	t.Helper()
	require.NoError(t, m.Send(CoordinatorID, &transport.NodeControl{Op: op, Name: name, Ack: true, Seq: 1}))
	ack := next(t, acks, "acknowledgement")
	require.True(t, ack.Done)
	return ack
}

// TestNodeControlOnlyFromJoinedProcess: qa31 §1 killed the head's raylet
// and a node's with a NodeControl from an ID that no address book holds
// (any token holder can claim one), and no process said so. The head now
// takes controls only from a joined process (a node's or a driver's
// agent), logs a stranger's as ignored, and logs each kill it forwards
// with who asked; the forwarded kill names the asker for the node's log.
func TestNodeControlOnlyFromJoinedProcess(t *testing.T) {
	h, tok, _, log := startLoggedCoordinator(t, 0)
	n1 := newChanLocal()
	joinWith(t, h.Addr(), tok, transport.RoleNode, "n1", n1, nil)

	// A stranger: authenticated, in no book. Its kill, then a status
	// query's join on the same connection (handled in order): once the
	// query is answered, the kill has been handled.
	replies := make(chan *transport.JoinReply, 1)
	st, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: AgentBase + 999, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); st.Close() })
	envc := make(chan transport.Env, 1)
	go st.Run(ctx, func(env transport.Env) transport.Handler {
		envc <- env
		return handlerFunc(func(_ transport.NodeID, m transport.Message) {
			if r, ok := m.(*transport.JoinReply); ok {
				replies <- r
			}
		})
	})
	env := <-envc
	st.SetPeer(CoordinatorID, h.Addr())
	st.Do(func() {
		env.Send(CoordinatorID, &transport.NodeControl{Op: transport.ControlKill, Name: "n1"})
		// review31: a link fault and a trace subscription are as much
		// the joined processes' alone (one cuts the cluster, the other
		// streams every node's events to the stranger).
		env.Send(CoordinatorID, &transport.LinkFault{From: []string{"n1"}, To: []string{"n1"}, Down: true})
		env.Send(CoordinatorID, &transport.TraceSubscribe{Sink: AgentBase + 999})
		env.Send(CoordinatorID, &transport.JoinRequest{Role: transport.RoleQuery, AgentAddr: st.Addr()})
	})
	next(t, replies, "reply to the stranger's query")

	acks := make(chan *transport.NodeControl, 4)
	d1 := joinWith(t, h.Addr(), tok, transport.RoleDriver, "d1", nil, acks)
	require.Empty(t, control(t, d1, acks, transport.ControlKill, "n1").Err)
	got := next(t, n1.controls, "control at n1")
	require.Equal(t, transport.ControlKill, got.Op)
	require.Contains(t, got.By, `"d1"`, "the first kill n1 got was not the driver's: the stranger's was forwarded")
	require.NoError(t, d1.Send(CoordinatorID, &transport.LinkFault{From: []string{"n1"}, To: []string{"n1"}, Delay: time.Millisecond}))
	f := next(t, n1.faults, "link fault at n1")
	require.False(t, f.Down, "the first link fault n1 got was not the driver's: the stranger's was forwarded")
	select {
	case sink := <-n1.traces:
		t.Fatalf("the stranger's trace subscription (sink %d) was forwarded", sink)
	default:
	}
	logs := log.String()
	require.Contains(t, logs, "a node control from a process not in the cluster (never joined, or left): ignored")
	require.Contains(t, logs, "a link fault from a process not in the cluster (never joined, or left): ignored")
	require.Contains(t, logs, "a trace subscription from a process not in the cluster (never joined, or left): ignored")
	require.Regexp(t, `node control.*op=kill node=n1.*d1`, logs)
}

// handlerFunc adapts a function to transport.Handler.
type handlerFunc func(transport.NodeID, transport.Message)

func (f handlerFunc) Handle(from transport.NodeID, m transport.Message) { f(from, m) }

// TestKilledRayletRestartedWhenKillerLeaves: qa31 §1: a driver killed
// between its scenario's kill_node and restart_node left the node's raylet
// dead for good inside a live process. When the session that killed a
// raylet ends (here with a goodbye), the head restarts the raylet, and
// says why.
func TestKilledRayletRestartedWhenKillerLeaves(t *testing.T) {
	h, tok, _, log := startLoggedCoordinator(t, 0)
	n1 := newChanLocal()
	joinWith(t, h.Addr(), tok, transport.RoleNode, "n1", n1, nil)
	acks := make(chan *transport.NodeControl, 4)
	d1 := joinWith(t, h.Addr(), tok, transport.RoleDriver, "d1", nil, acks)
	control(t, d1, acks, transport.ControlKill, "n1")
	require.Equal(t, transport.ControlKill, next(t, n1.controls, "kill").Op)

	d1.Leave(d1.Reply.Node)
	got := next(t, n1.controls, "restart after the killer left")
	require.Equal(t, transport.ControlRestart, got.Op)
	require.Contains(t, got.By, "ended its session")
	require.Contains(t, log.String(), "restarting a raylet killed by a session that has ended")
}

// TestKilledRayletRestartedWhenKillerRemoved: as above, for a killer
// whose process died without a goodbye (SIGKILL: the head removes it once
// its connection is gone and its raylet dead for the grace period).
func TestKilledRayletRestartedWhenKillerRemoved(t *testing.T) {
	h, tok, dir, _ := startLoggedCoordinator(t, 50*time.Millisecond)
	n1 := newChanLocal()
	joinWith(t, h.Addr(), tok, transport.RoleNode, "n1", n1, nil)
	acks := make(chan *transport.NodeControl, 4)
	d1 := joinWith(t, h.Addr(), tok, transport.RoleDriver, "d1", nil, acks)
	control(t, d1, acks, transport.ControlKill, "n1")
	require.Equal(t, transport.ControlKill, next(t, n1.controls, "kill").Op)

	d1.Close() // no goodbye
	markLost(dir, d1.Reply.Node)
	got := next(t, n1.controls, "restart after the killer was removed")
	require.Equal(t, transport.ControlRestart, got.Op)
	require.Contains(t, got.By, "removed")
}

// TestRestartedRayletNotRestartedAgain: a kill its killer undid (its
// scenario's restart_node) is forgotten: the killer's goodbye restarts
// nothing.
func TestRestartedRayletNotRestartedAgain(t *testing.T) {
	h, tok, _, _ := startLoggedCoordinator(t, 0)
	n1 := newChanLocal()
	joinWith(t, h.Addr(), tok, transport.RoleNode, "n1", n1, nil)
	acks := make(chan *transport.NodeControl, 4)
	d1 := joinWith(t, h.Addr(), tok, transport.RoleDriver, "d1", nil, acks)
	control(t, d1, acks, transport.ControlKill, "n1")
	control(t, d1, acks, transport.ControlRestart, "n1")
	require.Equal(t, transport.ControlKill, next(t, n1.controls, "kill").Op)
	require.Equal(t, transport.ControlRestart, next(t, n1.controls, "restart").Op)
	d1.Leave(d1.Reply.Node)
	waitUnlisted(t, h.Addr(), tok, d1.Reply.Node)
	// A later control, on the same connection from the head as any
	// restart the goodbye would have sent: it comes next.
	acks2 := make(chan *transport.NodeControl, 4)
	d2 := joinWith(t, h.Addr(), tok, transport.RoleDriver, "d2", nil, acks2)
	control(t, d2, acks2, transport.ControlDrain, "n1")
	require.Equal(t, transport.ControlDrain, next(t, n1.controls, "drain").Op, "the killer's goodbye restarted n1 again")
}

// waitUnlisted waits until the head's status no longer lists raylet id.
func waitUnlisted(t *testing.T, addr string, tok []byte, id transport.NodeID) {
	t.Helper()
	for range 400 {
		st, err := Status(context.Background(), QueryConfig{Address: addr, Token: tok})
		require.NoError(t, err)
		if !slices.ContainsFunc(st.Nodes, func(n transport.NodeStatus) bool { return n.Node == id }) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("raylet %d still listed", id)
}
