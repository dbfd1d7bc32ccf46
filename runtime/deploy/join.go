package deploy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// JoinConfig describes how a process joins a cluster.
type JoinConfig struct {
	Address string      // the head's coordinator, HOST:PORT
	Token   []byte      // the cluster token
	TLS     *tls.Config // nil: plain TCP
	// Bind is the host the agent listens on (default: the local address of
	// the route to the head); Advertise, if set, is the host other
	// processes use to reach this one.
	Bind, Advertise string
	Request         transport.JoinRequest // AgentAddr is filled in
	Local           Local
	OnStatus        func(*transport.StatusReply)
	OnControl       func(*transport.NodeControl)
	OnTrace         func(*transport.TraceBatch)
	OnEvent         func(*transport.Event)
	Logger          *slog.Logger
	Timeout         time.Duration // for the head's reply (default 10s)
}

// Member is a process's membership: its agent, running.
type Member struct {
	Host  *tcp.Host
	ID    transport.NodeID // the agent's
	Reply *transport.JoinReply
	agent chan *Agent
	env   transport.Env
	done  chan struct{}
	errs  *errCapture
}

// ErrUnreachable is returned when the head cannot be reached within the
// timeout, or at once when it refuses the connection (wrong token, TLS on
// one side only or a certificate it rejects, a node's address given for
// the head's), the error then saying which and what to do.
var ErrUnreachable = errors.New("cannot reach the cluster")

// ErrRefused is returned when the head refuses to admit the process.
var ErrRefused = errors.New("refused by the head")

// ErrClosed is returned by a Member's Send once the member is closed.
var ErrClosed = errors.New("deploy: member closed")

// RouteHost returns the local address this machine uses to reach addr
// (the host a process should listen on and advertise); "127.0.0.1" when
// addr is on loopback or cannot be resolved.
func RouteHost(addr string) string {
	c, err := net.Dial("udp", addr) // no packet is sent
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return host
}

// PrimaryHost returns the IP address other machines most likely reach
// this one at, for a process that listens on every interface (0.0.0.0 or
// ::) and was not told what to advertise: the local address of the
// default route (IPv4, else IPv6; no packet is sent), else the first
// global unicast address of an interface that is up (IPv4 first). It
// returns "" when the machine has no such address (loopback only).
func PrimaryHost() string {
	for _, probe := range []string{"203.0.113.1:9", "[2001:db8::1]:9"} { // documentation ranges: only the route is looked up
		if c, err := net.Dial("udp", probe); err == nil {
			ip := c.LocalAddr().(*net.UDPAddr).IP
			c.Close()
			if ip.IsGlobalUnicast() {
				return ip.String()
			}
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	var addrs []net.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if a, err := ifc.Addrs(); err == nil {
			addrs = append(addrs, a...)
		}
	}
	return pickHost(addrs)
}

// pickHost returns the first global unicast IPv4 address of addrs, else
// the first global unicast IPv6 one, else "".
func pickHost(addrs []net.Addr) string {
	var v6 string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || !n.IP.IsGlobalUnicast() {
			continue
		}
		if n.IP.To4() != nil {
			return n.IP.String()
		}
		if v6 == "" {
			v6 = n.IP.String()
		}
	}
	return v6
}

// Advertised rewrites the host of a listen address to advertise (if set).
func Advertised(listen, advertise string) string {
	if advertise == "" {
		return listen
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	return net.JoinHostPort(advertise, port)
}

// NewAgentID draws an agent NodeID, uniformly from AgentBase up (3·2^30
// IDs: a hundred agents about share one with odds of one in 600,000).
func NewAgentID() transport.NodeID {
	const span = math.MaxUint32 - uint32(AgentBase) + 1
	for {
		var b [4]byte
		rand.Read(b[:])
		if v := binary.LittleEndian.Uint32(b[:]); v < span { // (no modulo bias)
			return AgentBase + transport.NodeID(v)
		}
	}
}

// newAgentID draws a joining agent's ID (NewAgentID; tests force
// collisions through it).
var newAgentID = NewAgentID

// Join starts the process's agent and asks the head to admit it. It
// returns once the head has answered: an error wraps ErrRefused (with the
// head's reason, e.g. a function table mismatch) or ErrUnreachable (at
// once, and saying why, when the head's handshake refused the agent).
//
// A query (RoleQuery) that hears nothing within queryRetryAfter (doubling)
// asks again from a new agent under a fresh ID, keeping the earlier ones
// waiting: the coordinator ignores a join from an ID that another agent or
// query holds at another address, so a query whose ID collided would
// otherwise wait out its whole timeout; the first answer to any of them
// wins. Nodes and drivers do not retry: a slow answer to an abandoned
// attempt would admit a raylet that no process runs.
func Join(ctx context.Context, cfg JoinConfig) (*Member, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Bind == "" {
		cfg.Bind = RouteHost(cfg.Address)
	}
	type answer struct {
		m *Member
		r *transport.JoinReply
	}
	answers := make(chan answer, maxQueryAttempts)
	// final gets the first dial of the coordinator that no retry can
	// cure (tcp.IsFinal: a wrong token, TLS on one side only, a node's
	// address given for the head's): the join fails at once, saying why.
	final := make(chan error, 1)
	onFinal := func(err error) {
		select {
		case final <- err:
		default:
		}
	}
	var tries []*Member
	closeAll := func(keep *Member) {
		for _, m := range tries {
			if m != keep {
				m.Close()
			}
		}
	}
	try := func() error {
		var once sync.Once
		m, err := startMember(ctx, cfg, func(m *Member, r *transport.JoinReply) {
			once.Do(func() { answers <- answer{m, r} }) // one each: never blocks
		}, onFinal)
		if err != nil {
			return fmt.Errorf("join %s: %w", cfg.Address, err)
		}
		tries = append(tries, m)
		return nil
	}
	if err := try(); err != nil {
		return nil, err
	}
	timer := time.NewTimer(cfg.Timeout)
	defer timer.Stop()
	var retry <-chan time.Time
	wait := queryRetryAfter
	if cfg.Request.Role == transport.RoleQuery {
		retry = time.After(wait)
	}
	for {
		select {
		case a := <-answers:
			closeAll(a.m)
			if a.r.Err != "" {
				a.m.Close()
				return nil, fmt.Errorf("%w: %s", ErrRefused, a.r.Err)
			}
			a.m.Reply = a.r
			return a.m, nil
		case <-retry:
			retry = nil
			if len(tries) < maxQueryAttempts {
				if err := try(); err != nil {
					closeAll(nil)
					return nil, err
				}
				wait *= 2
				retry = time.After(wait)
			}
		case err := <-final:
			closeAll(nil)
			return nil, fmt.Errorf("%w at %s: %s (%w)", ErrUnreachable, cfg.Address, explainRefusal(cfg.Address, err), err)
		case <-timer.C:
			why := "no answer"
			for _, m := range tries {
				if e := m.errs.last(); e != "" {
					why = e
				}
			}
			closeAll(nil)
			return nil, fmt.Errorf("%w at %s within %v: %s", ErrUnreachable, cfg.Address, cfg.Timeout, why)
		case <-ctx.Done():
			closeAll(nil)
			return nil, ctx.Err()
		}
	}
}

// queryRetryAfter is how long a query's join waits for an answer before it
// asks again under a fresh agent ID (then twice as long, and so on, within
// its timeout); at most maxQueryAttempts agents ask.
const (
	queryRetryAfter  = time.Second
	maxQueryAttempts = 4
)

// explainRefusal says, for whoever started the process, why the head at
// addr will not take its connection: err is a dial error of the
// coordinator for which tcp.IsFinal holds.
func explainRefusal(addr string, err error) string {
	switch {
	case errors.Is(err, tcp.ErrPeerWrongCluster), errors.Is(err, tcp.ErrBadToken):
		return "the head refused the cluster token: copy ~/.raysim/token from the head (or its --token-file) or set " + TokenEnv + " to the head's token"
	case errors.Is(err, tcp.ErrPeerWantsTLS):
		return "the head uses TLS and this process does not: give it --tls-cert, --tls-key and --tls-ca (ray.WithTLS in Go)"
	case errors.Is(err, tcp.ErrPeerNoTLS):
		return "the head does not use TLS and this process does: drop --tls-cert, --tls-key and --tls-ca, or start the head with them"
	case errors.Is(err, tcp.ErrPeerVersion):
		return "the head runs a raysim of another protocol version: run the same raysim binary on every machine"
	case errors.Is(err, tcp.ErrWrongPeer):
		return addr + " is a node of the cluster, not its head: use the head's address (the one raysim start --head printed; port 7379 by default)"
	}
	return "the TLS handshake failed: every process needs a certificate signed by the cluster's CA (--tls-ca)"
}

// startMember starts an agent under a new ID that sends cfg.Request to the
// coordinator and passes the head's answer to onReply (on its loop), and
// any final dial error of the coordinator (tcp.IsFinal) to onFinal (on
// the dialing goroutine; it must not block).
func startMember(ctx context.Context, cfg JoinConfig, onReply func(*Member, *transport.JoinReply), onFinal func(error)) (*Member, error) {
	errs := &errCapture{next: cfg.Logger}
	id := newAgentID()
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(cfg.Token), Token: cfg.Token, Self: id,
		Listen: net.JoinHostPort(cfg.Bind, "0"), TLS: cfg.TLS, Logger: slog.New(errs), OnEvent: cfg.OnEvent,
		OnDialError: func(peer transport.NodeID, err error) {
			if peer == CoordinatorID && tcp.IsFinal(err) {
				onFinal(err)
			}
		}})
	if err != nil {
		return nil, err
	}
	h.SetPeer(CoordinatorID, cfg.Address)
	req := cfg.Request
	req.AgentAddr = Advertised(h.Addr(), cfg.Advertise)
	m := &Member{Host: h, ID: id, agent: make(chan *Agent, 1), done: make(chan struct{}), errs: errs}
	go func() {
		defer close(m.done)
		h.Run(context.WithoutCancel(ctx), func(env transport.Env) transport.Handler {
			m.env = env
			a := NewAgent(env, AgentConfig{Host: h, Request: &req, Local: cfg.Local,
				OnReply:  func(r *transport.JoinReply) { onReply(m, r) },
				OnStatus: cfg.OnStatus, OnControl: cfg.OnControl, OnTrace: cfg.OnTrace})
			m.agent <- a
			return a
		})
	}()
	<-m.agent // m.env is set
	return m, nil
}

// Send sends m from the agent (from any goroutine but the agent's loop);
// once the agent has stopped (Close) it sends nothing and returns
// ErrClosed.
func (m *Member) Send(to transport.NodeID, msg transport.Message) error {
	if !m.Host.Do(func() { m.env.Send(to, msg) }) {
		return ErrClosed
	}
	return nil
}

// Leave tells the coordinator that node (a raylet of this process, or the
// agent itself) is leaving, and waits briefly for the frame to be written.
func (m *Member) Leave(node transport.NodeID) {
	before := m.Host.Stats().FramesOut
	m.Send(CoordinatorID, &transport.Leave{Node: node})
	for i := 0; i < 40 && m.Host.Stats().FramesOut == before; i++ {
		time.Sleep(5 * time.Millisecond)
	}
}

// Close stops the agent.
func (m *Member) Close() {
	m.Host.Close()
	<-m.done
}

// LastError is the last connection error the agent logged ("" if none).
func (m *Member) LastError() string { return m.errs.last() }

// errCapture is a slog handler that remembers the last "err" attribute of
// warnings (to explain a failed join) and passes records on.
type errCapture struct {
	next *slog.Logger
	mu   sync.Mutex
	err  string
}

func (c *errCapture) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *errCapture) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (c *errCapture) WithAttrs([]slog.Attr) slog.Handler             { return c }
func (c *errCapture) WithGroup(string) slog.Handler                  { return c }
func (c *errCapture) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				c.mu.Lock()
				c.err = a.Value.String()
				c.mu.Unlock()
			}
			return true
		})
	}
	if c.next != nil && c.next.Enabled(ctx, r.Level) {
		return c.next.Handler().Handle(ctx, r)
	}
	return nil
}

// QueryConfig describes a one-off query (status, control) of a cluster.
type QueryConfig struct {
	Address string
	Token   []byte
	TLS     *tls.Config
	Timeout time.Duration // default 5s
	Logger  *slog.Logger
}

// Status asks the head for the cluster's raylets.
func Status(ctx context.Context, q QueryConfig) (*transport.StatusReply, error) {
	if q.Timeout <= 0 {
		q.Timeout = 5 * time.Second
	}
	replies := make(chan *transport.StatusReply, 1)
	m, err := Join(ctx, JoinConfig{Address: q.Address, Token: q.Token, TLS: q.TLS, Logger: q.Logger, Timeout: q.Timeout,
		Request: transport.JoinRequest{Role: transport.RoleQuery},
		OnStatus: func(r *transport.StatusReply) {
			select {
			case replies <- r:
			default:
			}
		}})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	m.Send(CoordinatorID, &transport.StatusRequest{})
	select {
	case r := <-replies:
		return r, nil
	case <-time.After(q.Timeout):
		return nil, fmt.Errorf("%w: no status reply from %s within %v", ErrUnreachable, q.Address, q.Timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
