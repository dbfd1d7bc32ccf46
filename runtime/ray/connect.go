package ray

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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"raysim/runtime/deploy"
	"raysim/runtime/gcs"
	"raysim/runtime/node"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// A deployed cluster is a set of processes (see runtime/deploy): a head
// (StartHead: the coordinator, the GCS, the global scheduler and a raylet),
// nodes that join it (JoinNode: one raylet each) and drivers (Connect: a
// raylet with no resources whose drivers submit work). They build their
// endpoints with the constructors NewSim and NewTCP use, under the same
// endpoint IDs.

// DeployConfig configures one process of a deployed cluster.
type DeployConfig struct {
	// Address is the head's coordinator, HOST:PORT (joining processes).
	Address string
	// Listen is where the process listens: the head's coordinator address
	// (default 127.0.0.1:7379); for a node, its raylet's (default: the
	// route to the head, port 0). The head's other endpoints listen on the
	// same host, on ports the system picks.
	Listen string
	// Advertise, if set, is the host other processes use to reach this one
	// (when it listens on 0.0.0.0 or behind NAT).
	Advertise string
	Name      string     // the node's name (default: assigned by the head)
	Node      NodeConfig // this process's raylet (ignored by Connect)
	Token     []byte     // the cluster token (required)
	TLS       *tls.Config
	// Cluster is the head's cluster configuration (GCS shards and
	// replicas, GCSDataDir, policy, spill threshold, heartbeat period, node
	// timeout); joining processes receive it from the head. Nodes is
	// ignored. A policy of the program's own (Cluster.PolicyImpl) travels
	// by name only: every process built from the program (nodes, and
	// drivers through WithDeployConfig) sets the same PolicyImpl and uses
	// it when the head names it; one without it cannot join
	// (scheduler.ErrUnknownPolicy).
	Cluster Config
	Logger  *slog.Logger
	// OnEvent sees every event of this process's endpoints (a head's GCS,
	// scheduler and raylet), called concurrently from each endpoint's loop
	// goroutine, not in time order across them (see Config.OnEvent).
	OnEvent func(*transport.Event)
	// JoinTimeout bounds the wait for the head's answer (default 10s).
	JoinTimeout time.Duration
	// DrainTimeout bounds Shutdown's drain (default 30s).
	DrainTimeout time.Duration
	// HeadTimeout is how long the head may leave the session's status
	// requests unanswered before the session is lost (Connect; see
	// Session.HeadLost), or leave a joined node unlisted before the
	// node's Err reports ErrHeadLost (JoinNode: its head died, or
	// restarted without it). Default 30s; <0: never.
	HeadTimeout time.Duration
	// Namespace (Connect only) is the namespace of the session's drivers
	// (WithNamespace; Ray's ray.init(address, namespace=...)). Empty:
	// the anonymous one of the session's job.
	Namespace string
}

// Process is one running process of a deployed cluster.
type Process struct {
	dc        DeployConfig
	reg       *Registry
	role      uint8
	clusterID string
	cfg       Config
	layout    *gcs.Layout // template; each endpoint owns a copy
	self      transport.NodeID
	session   uint64
	bindHost  string
	dir       *deploy.Directory // head only

	member   *deploy.Member                              // joined processes
	names    atomic.Pointer[map[transport.NodeID]string] // raylets' names (nodeName)
	coordEnv transport.Env                               // head: the coordinator's
	coordH   *tcp.Host                                   // head
	hosts    []*tcp.Host                                 // head's GCS and scheduler endpoints
	loops    sync.WaitGroup
	loopErr  chan error
	ctx      context.Context

	mu sync.Mutex
	// book is the process's address book as of bookEpoch (the
	// coordinator's, or its agent's copy; 0: the head's own endpoints
	// before the first publication): a raylet (re)starts with it, and
	// every endpoint that misses a delta seeds its copy from it (seed).
	book      []transport.BookEntry
	bookEpoch uint64
	rayH      *tcp.Host
	raylet    *node.Raylet
	rayEnv    transport.Env
	rayAddr   string // the raylet's listen address, kept across restarts
	rayDone   chan struct{}
	killed    bool
	faults    []*transport.LinkFault
	sinks     map[transport.NodeID]bool
	traceBuf  []transport.TraceRecord
	drivers   uint64
	errs      []error
	closed    bool
	closeOnce sync.Once
	closeErr  error                          // syncing the stores at Close
	stores    map[transport.NodeID]gcs.Store // the head's GCS disk stores (Config.GCSDataDir)
	flushStop chan struct{}
	flushDone chan struct{}
	drv       sync.WaitGroup
	onTrace   func(*transport.TraceBatch)
	// controls wait for the head's acknowledgement of a control request
	// (Session.Control), by the request's number (under mu).
	controls map[uint64]chan *transport.NodeControl
	// removed is the head's word that it removed this driver from the
	// cluster (StatusReply.Removed); the session ends with ErrRemoved.
	removed atomic.Pointer[string]
	// taskErrors is the raylet's task_errors rate (float64 bits), set by
	// a ControlTaskErrors from the head (Session.TaskErrors).
	taskErrors atomic.Uint64
	controlSeq uint64
	// ctlQueue holds the control operations on this process's raylet
	// (Control) not applied yet, in the order they came; one goroutine
	// applies them, while ctlRunning (both under mu); Close waits for it
	// (ctl), and none starts once closed.
	ctlQueue   []*transport.NodeControl
	ctlRunning bool
	ctl        sync.WaitGroup
	// statusSubs wait for the head's next status reply (Session.Status;
	// under mu); lastStatus is when one last came (unix ns).
	statusSubs []chan *transport.StatusReply
	lastStatus atomic.Int64
	// listed is when a status reply last listed this raylet (unix ns);
	// a node's head watch (watchHead, closed by watchStop) reads it.
	listed    atomic.Int64
	watchStop chan struct{}
	watchDone chan struct{}
}

// wallMasterTimeout is the chain master's timeout on the wall clock (a
// deployed cluster, an in-process TCP cluster).
const wallMasterTimeout = time.Second

func (dc *DeployConfig) defaults() error {
	if len(dc.Token) == 0 {
		return errors.New("ray: a cluster token is required")
	}
	if dc.JoinTimeout <= 0 {
		dc.JoinTimeout = 10 * time.Second
	}
	if dc.DrainTimeout <= 0 {
		dc.DrainTimeout = 30 * time.Second
	}
	if dc.Logger == nil {
		dc.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (p *Process) hostConfig(self transport.NodeID, listen string) tcp.Config {
	return tcp.Config{ClusterID: p.clusterID, Token: p.dc.Token, Self: self, Listen: listen,
		TLS: p.dc.TLS, Logger: p.dc.Logger, OnEvent: p.event, SendPadBytes: p.dc.Cluster.SendPadBytes}
}

// StartHead starts a head: the coordinator on dc.Listen, the GCS endpoints,
// the global scheduler and the head's raylet (dc.Node). It returns once
// every endpoint is listening and the head's raylet is registered with
// the node table and listed alive in the global scheduler's view (or
// after dc.JoinTimeout without them); the process runs until ctx is done,
// Shutdown or Close.
func StartHead(ctx context.Context, dc DeployConfig, reg *Registry) (*Process, error) {
	if err := dc.defaults(); err != nil {
		return nil, err
	}
	cfg := dc.Cluster
	cfg.Nodes = []NodeConfig{dc.Node}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = tcpNodeTimeout
	}
	if cfg.HeartbeatPeriod <= 0 {
		cfg.HeartbeatPeriod = 100 * time.Millisecond
	}
	if dc.Listen == "" {
		dc.Listen = fmt.Sprintf("127.0.0.1:%d", deploy.DefaultPort)
	}
	host, _, err := net.SplitHostPort(dc.Listen)
	if err != nil {
		return nil, fmt.Errorf("ray: listen address %q: %w", dc.Listen, err)
	}
	if dc.Name == "" {
		dc.Name = "head"
	}
	p := &Process{dc: dc, reg: reg, role: transport.RoleNode, clusterID: deploy.ClusterID(dc.Token),
		cfg: cfg, layout: cfg.layout(), self: RayletID(0), bindHost: host, ctx: ctx,
		dir: deploy.NewDirectory(cfg.NodeTimeout), sinks: map[transport.NodeID]bool{}}
	p.cfg.nodeName = p.nodeName
	p.dir.SetRole(p.self, transport.RoleNode)
	// The stores first: a head whose tables cannot be kept must not say ready.
	if p.stores, err = cfg.diskStores(p.layout.GCSMembers()); err != nil {
		return nil, err
	}
	p.coordH, err = tcp.Listen(p.hostConfig(deploy.CoordinatorID, dc.Listen))
	if err != nil {
		closeStores(p.stores)
		return nil, err
	}
	type endpoint struct {
		id   transport.NodeID
		ctor func(env transport.Env, l *gcs.Layout) transport.Handler
		tap  bool
	}
	var eps []endpoint
	l := p.layout
	for j := range l.Shards {
		ids := []transport.NodeID{l.Shards[j]}
		if l.Replicated() {
			ids = l.Chains[j]
		}
		for _, id := range ids {
			eps = append(eps, endpoint{id: id, tap: j == 0, ctor: func(env transport.Env, l *gcs.Layout) transport.Handler {
				return p.cfg.newGCS(env, l, j, p.stores[id], false, uint64(time.Now().UnixNano()))
			}})
		}
	}
	if l.Replicated() {
		eps = append(eps, endpoint{id: l.Master, ctor: func(env transport.Env, l *gcs.Layout) transport.Handler {
			return gcs.NewMaster(env, gcs.MasterConfig{Layout: l, Timeout: wallMasterTimeout})
		}})
	}
	pol, _ := cfg.policy() // checked by defaults
	eps = append(eps, endpoint{id: SchedulerID, ctor: func(env transport.Env, l *gcs.Layout) transport.Handler {
		return scheduler.NewGlobal(env, scheduler.GlobalConfig{Layout: l, Policy: pol, Costs: *cfg.Costs,
			Bandwidth: cfg.Link.Bandwidth, SpillThreshold: cfg.SpillThreshold})
	}})
	for _, ep := range eps {
		h, err := tcp.Listen(p.hostConfig(ep.id, net.JoinHostPort(host, "0")))
		if err != nil {
			p.closeHosts()
			closeStores(p.stores)
			return nil, err
		}
		p.hosts = append(p.hosts, h)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		p.closeHosts()
		closeStores(p.stores)
		return nil, err
	}
	p.rayAddr = ln.Addr().String()

	adv := func(a string) string { return deploy.Advertised(a, dc.Advertise) }
	book := []transport.BookEntry{{Node: deploy.CoordinatorID, Addr: adv(p.coordH.Addr()), Name: dc.Name, Agent: deploy.CoordinatorID}}
	for k, ep := range eps {
		book = append(book, transport.BookEntry{Node: ep.id, Addr: adv(p.hosts[k].Addr()), Agent: deploy.CoordinatorID})
	}
	book = append(book, transport.BookEntry{Node: p.self, Addr: adv(p.rayAddr), Name: dc.Name,
		Role: transport.RoleNode, Agent: deploy.CoordinatorID})
	p.book = book
	p.setNames(book)
	for _, h := range append([]*tcp.Host{p.coordH}, p.hosts...) {
		deploy.ApplyBook(h, nil, book)
	}

	p.loopErr = make(chan error, len(eps)+2)
	for k, ep := range eps {
		h := p.hosts[k]
		p.goLoop(h, ep.id, func(env transport.Env) transport.Handler {
			lc := deploy.CloneLayout(l)
			e := &deploy.Endpoint{Host: h, Layout: lc, Env: env, Seed: p.seed, Handler: ep.ctor(env, lc)}
			if ep.tap {
				e.Tap = p.dir.Tap
			}
			if ep.id == SchedulerID {
				e.Filter = p.dir.Filter
			}
			return e
		})
	}
	// The sessions' numbers start at random (see
	// deploy.CoordinatorConfig.SessionBase): the IDs of the drivers after
	// a restart of a head with --gcs-dir differ from those before it.
	sessionBase := randomSessionBase()
	ready := make(chan struct{})
	p.goLoop(p.coordH, deploy.CoordinatorID, func(env transport.Env) transport.Handler {
		p.coordEnv = env
		defer close(ready)
		return deploy.NewCoordinator(env, deploy.CoordinatorConfig{Host: p.coordH, Spec: p.spec(),
			Functions: reg.Signatures(), Book: book, RayletID: RayletID, Next: 1, Limit: SchedulerID, Dir: p.dir, Local: p,
			Logger: dc.Logger, SessionBase: sessionBase})
	})
	<-ready
	if err := p.startRaylet(ln); err != nil {
		p.Close()
		return nil, err
	}
	p.startFlusher()
	return p, nil
}

// randomSessionBase draws deploy.CoordinatorConfig.SessionBase (TCP only:
// there is no determinism to keep). Its top bits are clear so that the
// count never wraps to 0.
func randomSessionBase() uint64 {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read's contract)
	return binary.LittleEndian.Uint64(b[:]) >> 1
}

// spec is the cluster's settings a joining process is handed. The spill
// threshold travels as an int32's bits: SpillAlways (-1) comes back as -1.
func (p *Process) spec() transport.ClusterSpec {
	c := &p.cfg
	policy := c.Policy
	if c.PolicyImpl != nil {
		policy = c.PolicyImpl.Name()
	}
	return transport.ClusterSpec{Shards: uint32(c.GCSShards), Replicas: uint32(c.GCSReplicas), Policy: policy,
		SpillThreshold: uint32(int32(c.SpillThreshold)), HeartbeatPeriod: c.HeartbeatPeriod, NodeTimeout: c.NodeTimeout, Seed: c.Seed}
}

func (p *Process) goLoop(h *tcp.Host, id transport.NodeID, ctor func(env transport.Env) transport.Handler) {
	p.loops.Add(1)
	go func() {
		defer p.loops.Done()
		if err := h.Run(p.ctx, ctor); err != nil && !errors.Is(err, context.Canceled) {
			p.loopErr <- fmt.Errorf("ray: endpoint %d: %w", id, err)
		}
	}()
}

// JoinNode starts a node that joins the cluster at dc.Address with one
// raylet (dc.Node). It returns once the head admitted it and the raylet
// runs, registered with the node table and listed alive in the global
// scheduler's view (or after dc.JoinTimeout without them): a task pinned
// to it right after runs there; the error wraps deploy.ErrRefused (e.g. a
// function table mismatch, named) or deploy.ErrUnreachable.
func JoinNode(ctx context.Context, dc DeployConfig, reg *Registry) (*Process, error) {
	n := dc.Node
	if err := n.check(); err != nil {
		return nil, err
	}
	return join(ctx, dc, reg, transport.RoleNode, transport.MakeResources(n.CPUs, n.GPUs, n.Resources))
}

func join(ctx context.Context, dc DeployConfig, reg *Registry, role uint8, res transport.Resources) (*Process, error) {
	if err := dc.defaults(); err != nil {
		return nil, err
	}
	if dc.Address == "" {
		return nil, errors.New("ray: no cluster address")
	}
	p := &Process{dc: dc, reg: reg, role: role, clusterID: deploy.ClusterID(dc.Token), ctx: ctx,
		sinks: map[transport.NodeID]bool{}, controls: map[uint64]chan *transport.NodeControl{}}
	listen := dc.Listen
	if listen == "" {
		listen = net.JoinHostPort(deploy.RouteHost(dc.Address), "0")
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("ray: listen address %q: %w", listen, err)
	}
	p.bindHost = host
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("ray: listen: %w", err)
	}
	p.rayAddr = ln.Addr().String()
	p.loopErr = make(chan error, 3) // endpoint failures and the head watch's
	m, err := deploy.Join(ctx, deploy.JoinConfig{Address: dc.Address, Token: dc.Token, TLS: dc.TLS,
		Bind: host, Advertise: dc.Advertise, Local: p, Logger: dc.Logger, Timeout: dc.JoinTimeout, OnEvent: p.event,
		Request: transport.JoinRequest{Role: role, Name: dc.Name, Addr: deploy.Advertised(p.rayAddr, dc.Advertise),
			Resources: res, ObjectStoreBytes: dc.Node.ObjectStoreBytes, Functions: reg.Signatures()},
		OnTrace: func(b *transport.TraceBatch) {
			p.mu.Lock()
			f := p.onTrace
			p.mu.Unlock()
			if f != nil {
				f(b)
			}
		},
		OnControl: func(c *transport.NodeControl) {
			p.mu.Lock()
			if ch := p.controls[c.Seq]; ch != nil {
				delete(p.controls, c.Seq)
				ch <- c // buffered, one answer each
			}
			p.mu.Unlock()
		},
		OnStatus: func(r *transport.StatusReply) {
			now := time.Now().UnixNano()
			p.lastStatus.Store(now)
			if slices.ContainsFunc(r.Nodes, func(n transport.NodeStatus) bool { return n.Node == p.self && n.Role == role }) {
				p.listed.Store(now)
			}
			if r.Removed != "" {
				p.removed.Store(&r.Removed)
			}
			p.mu.Lock()
			for _, ch := range p.statusSubs {
				ch <- r // buffered, one reply each
			}
			p.statusSubs = nil
			p.mu.Unlock()
		}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.mu.Lock() // the agent's loop reads it (Trace)
	p.member = m
	p.mu.Unlock()
	r := m.Reply
	p.self, p.session = r.Node, r.Session
	p.cfg = Config{GCSShards: int(r.Spec.Shards), GCSReplicas: int(r.Spec.Replicas), Policy: r.Spec.Policy,
		SpillThreshold: int(int32(r.Spec.SpillThreshold)), HeartbeatPeriod: r.Spec.HeartbeatPeriod, NodeTimeout: r.Spec.NodeTimeout,
		Seed: r.Spec.Seed, Nodes: []NodeConfig{dc.Node}}
	if own := dc.Cluster.PolicyImpl; own != nil && own.Name() == r.Spec.Policy {
		p.cfg.PolicyImpl = own // the head's is the program's own
	}
	p.cfg.Nodes[0].Name = dc.Name
	if role == transport.RoleDriver {
		p.cfg.Nodes[0] = NodeConfig{Name: dc.Name}
	}
	if err := p.cfg.defaults(); err != nil {
		m.Close()
		ln.Close()
		if errors.Is(err, scheduler.ErrUnknownPolicy) {
			// The head runs a policy of its program's own: every process
			// of the cluster must be built with it.
			err = fmt.Errorf("%w: the head's policy is its program's own; set DeployConfig.Cluster.PolicyImpl to it (ray.WithDeployConfig for Connect)", err)
		}
		return nil, err
	}
	p.cfg.nodeName = p.nodeName
	p.layout = p.cfg.layout()
	p.mu.Lock()
	if p.book == nil {
		p.book, p.bookEpoch = r.Book, r.Epoch
		p.setNames(r.Book)
	}
	p.mu.Unlock()
	if err := p.startRaylet(ln); err != nil {
		p.Close()
		return nil, err
	}
	p.startFlusher()
	if role == transport.RoleNode {
		p.startHeadWatch()
	}
	return p, nil
}

// startHeadWatch has a joined node watch its head (watchHead): once the
// head has not listed this node for the head timeout (dead, unreachable,
// or restarted and not knowing it), the node's Err says so, with an error
// wrapping ErrHeadLost, and raysim start exits non-zero so that a
// supervisor restarts it into the cluster (a node does not rejoin on its
// own).
func (p *Process) startHeadWatch() {
	timeout := p.dc.HeadTimeout
	if timeout == 0 {
		timeout = defaultHeadTimeout
	}
	if timeout < 0 {
		return
	}
	p.watchStop, p.watchDone = make(chan struct{}), make(chan struct{})
	go p.watchHead(timeout)
}

// watchHead asks the head for its status every headPollPeriod (less
// under a short timeout) and notes when a reply listed this raylet under
// its ID (Process.listed, set by the agent's OnStatus), until the process
// closes or the head has not listed it for timeout: it then sends the
// error on loopErr (see startHeadWatch).
func (p *Process) watchHead(timeout time.Duration) {
	defer close(p.watchDone)
	start := time.Now()
	period := min(headPollPeriod, max(timeout/4, 10*time.Millisecond))
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		p.member.Send(deploy.CoordinatorID, &transport.StatusRequest{})
		heard := start
		if ns := p.listed.Load(); ns != 0 && time.Unix(0, ns).After(heard) {
			heard = time.Unix(0, ns)
		}
		if silent := time.Since(heard); silent >= timeout {
			why := "no answer"
			if ns := p.lastStatus.Load(); ns != 0 && time.Unix(0, ns).After(heard) {
				why = "it answers but no longer lists this node (restarted?)"
			} else if e := p.member.LastError(); e != "" {
				why += " (last connection error: " + e + ")"
			}
			select { // loopErr has room for one error of each source
			case p.loopErr <- fmt.Errorf("%w at %s: %s for %v", ErrHeadLost, p.dc.Address, why, silent.Round(time.Second)):
			default:
			}
			return
		}
		select {
		case <-tick.C:
		case <-p.watchStop:
			return
		}
	}
}

// startRaylet starts a raylet incarnation on ln (nil: listen again on the
// raylet's address).
func (p *Process) startRaylet(ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", p.rayAddr); err != nil {
			return fmt.Errorf("ray: restart raylet: %w", err)
		}
	}
	hc := p.hostConfig(p.self, "")
	hc.Listener = ln
	h, err := tcp.Listen(hc)
	if err != nil {
		ln.Close()
		return err
	}
	p.mu.Lock()
	book, faults := p.book, p.faults
	p.mu.Unlock()
	l := deploy.CloneLayout(p.layout)
	deploy.ApplyBook(h, l, book)
	for _, f := range faults {
		applyLinkFault(h, f)
	}
	inc := uint64(time.Now().UnixNano())
	made := make(chan struct{})
	done := make(chan struct{})
	registered := make(chan struct{})
	onRegistered := sync.OnceFunc(func() { close(registered) })
	p.mu.Lock()
	if p.closed {
		// A restart that lost the race with Close: Close has stopped, or
		// is stopping, the raylet it found; nothing would stop this one.
		p.mu.Unlock()
		h.Close()
		return errProcessClosed
	}
	if prev := p.raylet; prev != nil {
		// A restart, after the previous loop stopped: above every
		// incarnation it had, a rejoin's (+1<<32, about 4.3 s of clock)
		// too, or the GCS refuses the registration as stale.
		inc = max(inc, prev.Incarnation()+1)
	}
	p.rayH, p.rayDone, p.killed = h, done, false
	p.mu.Unlock()
	go func() {
		defer close(done)
		h.Run(p.ctx, func(env transport.Env) transport.Handler {
			rc := p.cfg.rayletConfig(l, 0, p.reg, inc)
			rc.Driver = p.role == transport.RoleDriver
			rc.StoreReportTo = deploy.CoordinatorID // raysim status shows the store's use
			rc.TaskErrors = func() float64 { return math.Float64frombits(p.taskErrors.Load()) }
			if p.role == transport.RoleDriver {
				rc.OnRegistered = onRegistered
			} else {
				// A node's raylet: once the scheduler knows it, not
				// only the node table (review30 finding 12).
				rc.OnScheduled = onRegistered
			}
			r := node.New(env, rc)
			p.mu.Lock()
			p.raylet, p.rayEnv = r, env
			p.mu.Unlock()
			close(made)
			return &deploy.Endpoint{Host: h, Layout: l, Env: env, Seed: p.seed, Handler: r}
		})
	}()
	select {
	case <-made:
		// The raylet is up once the node table knows it, whatever its
		// role. A driver's programs start only then: one killed before
		// would never be declared dead, and the tasks it submitted would
		// run on for good (its job never ending). A node (or the head's
		// raylet) is returned once the global scheduler knows it too
		// (node.Config.OnScheduled): the node table tells it on another
		// path than its answer, and until then work pinned to the node by
		// a soft NodeAffinity runs elsewhere, and the head's status lists
		// it as not alive (TestJoinNodeReturnsRegisteredTCP,
		// TestJoinNodeKnownToSchedulerTCP). A restart waits too, so an
		// operation queued behind it (a kill) finds it registered. A
		// node table that does not answer in the join timeout is not
		// waited for longer (its death is then the head's to notice).
		select {
		case <-registered:
		case <-done:
		case <-p.ctx.Done():
		case <-time.After(p.dc.JoinTimeout):
		}
		return nil
	case <-done:
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return errProcessClosed
		}
		return errors.New("ray: raylet stopped at once")
	}
}

// killRaylet crashes the raylet: its host closes without a goodbye. It
// reports false if the raylet was killed already.
func (p *Process) killRaylet() bool {
	p.mu.Lock()
	h, done, was := p.rayH, p.rayDone, p.killed
	p.killed = true
	p.mu.Unlock()
	if h != nil {
		h.Close()
		<-done
	}
	return !was
}

// Book implements deploy.Local.
func (p *Process) Book(epoch uint64, es []transport.BookEntry) {
	p.setNames(es)
	p.mu.Lock()
	p.book, p.bookEpoch = es, epoch
	p.mu.Unlock()
	// Only the agent's host follows the book here: every component
	// endpoint receives the book itself, and seeds its copy from this
	// one when it misses a delta (seed).
}

// seed is the process's book and its epoch, for its endpoints
// (deploy.Endpoint.Seed): a raylet restarted after a kill_node starts
// from it instead of asking the head for the whole book.
func (p *Process) seed() (uint64, []transport.BookEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bookEpoch, p.book
}

// setNames keeps the raylets' names of an address book for nodeName.
func (p *Process) setNames(es []transport.BookEntry) {
	names := make(map[transport.NodeID]string, len(es))
	for _, b := range es {
		if b.Role == transport.RoleNode || b.Role == transport.RoleDriver {
			names[b.Node] = b.Name
		}
	}
	p.names.Store(&names)
}

// nodeName is a raylet's name in the latest address book ("" unknown),
// for the error texts of this process's components (node.Config.NodeName,
// gcs.Config.NodeName). Lock-free: components call it on their loops.
func (p *Process) nodeName(id transport.NodeID) string {
	if m := p.names.Load(); m != nil {
		return (*m)[id]
	}
	return ""
}

// Control implements deploy.Local. It queues the operation and returns
// (it is called on the agent's loop): the operations are applied one at a
// time, in the order they came, so a Restart behind a Kill finds the
// raylet killed.
func (p *Process) Control(m *transport.NodeControl) {
	if m.Node != p.self {
		return
	}
	if m.Op == transport.ControlTaskErrors {
		// Not queued behind kills and restarts: the rate is the
		// process's, and every incarnation of its raylet reads it.
		if transport.ValidRate(m.Rate) {
			p.taskErrors.Store(math.Float64bits(m.Rate))
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return // nothing left to kill, restart or drain
	}
	p.ctlQueue = append(p.ctlQueue, m)
	if !p.ctlRunning {
		p.ctlRunning = true
		p.ctl.Add(1) // before Close's Wait: both under mu, and none once closed
		go p.runControls()
	}
}

// runControls applies the queued control operations until none is left
// (or the process closes: the rest are dropped), and logs what each did
// on the node it acts on (a raylet stopped by a control is otherwise dead
// inside a live process without a word): a kill of a raylet already
// dead, or a restart of one that is running (never killed, or restarted
// by an earlier control), says it did nothing.
func (p *Process) runControls() {
	defer p.ctl.Done()
	for {
		p.mu.Lock()
		if len(p.ctlQueue) == 0 || p.closed {
			p.ctlQueue, p.ctlRunning = nil, false
			p.mu.Unlock()
			return
		}
		m := p.ctlQueue[0]
		p.ctlQueue = p.ctlQueue[1:]
		p.mu.Unlock()
		log := p.dc.Logger.With("node", m.Name, "id", uint32(m.Node), "by", m.By)
		switch m.Op {
		case transport.ControlKill:
			if p.killRaylet() {
				log.Warn("raylet killed by a node control (kill_node)")
			} else {
				log.Info("kill_node: the raylet was dead already (killed by an earlier control): nothing to kill")
			}
		case transport.ControlRestart:
			switch err := p.restartRaylet(); {
			case err == nil:
				log.Info("raylet restarted by a node control (restart_node)")
			case errors.Is(err, errRayletRunning):
				log.Info("restart_node: the raylet is running (never killed, or restarted by an earlier control): nothing to restart")
			case errors.Is(err, errProcessClosed):
				log.Info("restart_node: the process is closing: not restarted")
			default:
				log.Error("restart_node: the raylet did not restart", "err", err)
			}
		case transport.ControlDrain:
			log.Info("raylet draining by a node control")
			// Shutdown waits for the raylet to go idle and closes the
			// process: the operations behind it must not wait for that.
			go p.Shutdown(context.Background())
		}
	}
}

// restartRaylet starts a new incarnation of a killed raylet. A running
// one is left alone (errRayletRunning).
func (p *Process) restartRaylet() error {
	p.mu.Lock()
	killed, done := p.killed, p.rayDone
	p.mu.Unlock()
	if !killed {
		return errRayletRunning
	}
	<-done
	return p.startRaylet(nil)
}

// errRayletRunning: a restart found the raylet running.
var errRayletRunning = errors.New("ray: raylet running")

// errProcessClosed: a raylet was to start on a closed process.
var errProcessClosed = errors.New("ray: process closed")

// LinkFault implements deploy.Local.
func (p *Process) LinkFault(m *transport.LinkFault) {
	p.mu.Lock()
	if m.Clear {
		p.faults = nil
	} else {
		p.faults = append(p.faults, m)
	}
	hosts := p.allHosts()
	p.mu.Unlock()
	for _, h := range hosts {
		if m.Clear {
			h.ClearLinkFaults()
		} else {
			applyLinkFault(h, m)
		}
	}
}

// allHosts lists the process's component hosts (mu held).
func (p *Process) allHosts() []*tcp.Host {
	hs := append([]*tcp.Host{}, p.hosts...)
	if p.rayH != nil {
		hs = append(hs, p.rayH)
	}
	return hs
}

// applyLinkFault sets f on h if h is one of its destinations.
func applyLinkFault(h *tcp.Host, f *transport.LinkFault) {
	self := transport.NodeID(0)
	for _, id := range f.ToNodes {
		if h.Self() == id {
			self = id
		}
	}
	if self == 0 {
		return
	}
	for _, from := range f.FromNodes {
		if from != self {
			h.SetLinkFault(from, tcp.LinkFault{Delay: f.Delay, Loss: f.Loss, Down: f.Down})
		}
	}
}

// Trace implements deploy.Local.
func (p *Process) Trace(sink transport.NodeID, stop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.member != nil && sink == p.member.ID {
		return // our own events reach our hooks directly
	}
	if stop {
		delete(p.sinks, sink)
	} else {
		p.sinks[sink] = true
	}
}

// event is every host's OnEvent hook.
func (p *Process) event(ev *transport.Event) {
	if p.dc.OnEvent != nil {
		p.dc.OnEvent(ev)
	}
	if p.dir != nil {
		p.dir.Event(ev)
	}
	p.mu.Lock()
	if len(p.sinks) > 0 && len(p.traceBuf) < 1<<16 {
		p.traceBuf = append(p.traceBuf, transport.TraceRecord{At: time.Now(), Event: *ev})
	}
	p.mu.Unlock()
}

// TraceFlushEvery is how often a process sends the events it buffered to
// its trace subscribers (Session.Trace): a record reaches a subscriber up
// to this long after it happened, plus the network's delay.
const TraceFlushEvery = 20 * time.Millisecond

// startFlusher streams buffered events to the trace sinks.
func (p *Process) startFlusher() {
	p.flushStop, p.flushDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.flushDone)
		t := time.NewTicker(TraceFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.flushTrace()
			case <-p.flushStop:
				p.flushTrace()
				return
			}
		}
	}()
}

func (p *Process) flushTrace() {
	p.mu.Lock()
	buf := p.traceBuf
	p.traceBuf = nil
	sinks := sortedNodeIDs(p.sinks)
	p.mu.Unlock()
	if len(buf) == 0 || len(sinks) == 0 {
		return
	}
	for len(buf) > 0 {
		n := min(len(buf), 2048)
		b := &transport.TraceBatch{Records: buf[:n]}
		for _, s := range sinks {
			p.agentSend(s, b)
		}
		buf = buf[n:]
	}
}

func sortedNodeIDs(m map[transport.NodeID]bool) []transport.NodeID {
	out := make([]transport.NodeID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// agentSend sends from the process's agent (the coordinator on the head).
func (p *Process) agentSend(to transport.NodeID, m transport.Message) {
	if p.member != nil {
		p.member.Send(to, m)
		return
	}
	env := p.coordEnv
	env.Await(func(wake func()) { env.Send(to, m); wake() })
}

// Self is the process's raylet ID.
func (p *Process) Self() transport.NodeID { return p.self }

// Addr is the head's coordinator address (head), or the raylet's.
func (p *Process) Addr() string {
	if p.coordH != nil {
		return p.coordH.Addr()
	}
	return p.rayAddr
}

// Name is the process's node name as the head knows it.
func (p *Process) Name() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.book {
		if b.Node == p.self {
			return b.Name
		}
	}
	return p.dc.Name
}

// Err reports an endpoint loop that stopped on its own (nil while healthy).
func (p *Process) Err() <-chan error { return p.loopErr }

// Shutdown drains the process's raylet — the head stops placing work on
// it, it finishes what it has (tasks; hosted actors are restarted
// elsewhere once it is gone) — then leaves the cluster and closes. It is
// bounded by DrainTimeout and ctx. On the head it closes at once: the
// cluster ends with it.
func (p *Process) Shutdown(ctx context.Context) error {
	if p.member == nil || p.role != transport.RoleNode {
		return p.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, p.dc.DrainTimeout)
	defer cancel()
	p.member.Send(deploy.CoordinatorID, &transport.NodeControl{Op: transport.ControlDrain, Node: p.self})
	idle := 0
	for idle < 3 {
		select {
		case <-ctx.Done():
			idle = 3
			continue
		case <-time.After(50 * time.Millisecond):
		}
		if p.rayletIdle() {
			idle++
		} else {
			idle = 0
		}
	}
	return p.Close()
}

// rayletIdle reports whether the raylet has no task other than actors'.
func (p *Process) rayletIdle() bool {
	p.mu.Lock()
	r, env, killed := p.raylet, p.rayEnv, p.killed
	p.mu.Unlock()
	if r == nil || killed {
		return true
	}
	idle := true
	done := make(chan struct{})
	go func() { // Await ends the goroutine if the raylet stops meanwhile
		defer close(done)
		env.Await(func(wake func()) {
			for _, t := range r.Tasks() {
				if t.Actor == 0 {
					idle = false
				}
			}
			wake()
		})
	}()
	<-done
	return idle
}

// Close leaves the cluster (a joined process says so to the head) and
// stops every endpoint of the process. User code blocked in a runtime call
// on its raylet is ended.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		if p.watchStop != nil {
			close(p.watchStop)
			<-p.watchDone
		}
		if p.flushStop != nil {
			close(p.flushStop)
			<-p.flushDone
		}
		p.mu.Lock()
		h, rl, killed := p.rayH, p.raylet, p.killed
		p.mu.Unlock()
		if h != nil && rl != nil && !killed {
			leave(h, rl)
		}
		if p.member != nil {
			p.member.Leave(p.self)
		}
		p.mu.Lock()
		p.closed = true
		h, done := p.rayH, p.rayDone
		p.mu.Unlock()
		if h != nil {
			h.Close()
			<-done
		}
		// A control operation under way (a restart) starts nothing now,
		// but may hold a listener it is about to close.
		p.ctl.Wait()
		p.closeHosts()
		if p.member != nil {
			p.member.Close()
		}
		p.loops.Wait()
		p.closeErr = closeStores(p.stores) // the GCS endpoints have stopped: sync what they wrote last
	})
	return p.closeErr
}

// leave has the raylet say goodbye to the node table (Raylet.Leave), so
// that it is declared dead at once, and waits briefly for the frame to be
// written, as deploy.Member.Leave does for the coordinator's.
func leave(h *tcp.Host, rl *node.Raylet) {
	before := h.Stats().FramesOut
	if !h.Do(rl.Leave) {
		return // stopped already
	}
	for i := 0; i < 40 && h.Stats().FramesOut == before; i++ {
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *Process) closeHosts() {
	for _, h := range p.hosts {
		h.Close()
	}
	if p.coordH != nil {
		p.coordH.Close()
	}
}

// Session is a driver's connection to a deployed cluster (see Connect).
type Session struct {
	p    *Process
	seed int64
	// stopCtx stops the watch of Connect's ctx (endOnCtx); hcancel ends
	// the ctx the session's hosts run on (at Close, or after endOnCtx).
	stopCtx func() bool
	hcancel context.CancelFunc

	// The head watch (watchHead): lost is closed, after lostErr is set,
	// when the head has been silent past the head timeout, or has said it
	// removed this driver (ErrRemoved).
	lost      chan struct{}
	lostErr   error
	stopWatch chan struct{}
	stopOnce  sync.Once
	watching  chan struct{} // closed when watchHead has returned
}

// ErrHeadLost is the error of a session whose head has not answered for
// its head timeout (DeployConfig.HeadTimeout), and of every driver call
// (Get, Wait, GetActor) blocked or made on it from then on: without the
// head's GCS no object, actor or name can be found again.
var ErrHeadLost = errors.New("lost the cluster's head")

// ErrRemoved is the error of a driver's session the head removed from the
// cluster: taken for crashed, having been cut off from the head (no
// connection, its raylet declared dead) for its grace period. Its work is
// void: the cluster has dropped its raylet.
var ErrRemoved = errors.New("removed from the cluster by its head")

// defaultHeadTimeout is DeployConfig.HeadTimeout's default. Ray's drivers
// give up on an unreachable GCS after 60s (gcs_rpc_server_reconnect_timeout_s);
// a testbed's runs are shorter.
const defaultHeadTimeout = 30 * time.Second

// headPollPeriod is how often a session asks the head for its status.
const headPollPeriod = time.Second

// ConnectOption configures Connect.
type ConnectOption func(*DeployConfig, **Registry)

// WithToken sets the cluster token (default: $RAYSIM_TOKEN, else
// $HOME/.raysim/token).
func WithToken(token []byte) ConnectOption {
	return func(dc *DeployConfig, _ **Registry) { dc.Token = token }
}

// WithTLS sets the mutual TLS configuration (deploy.TLSConfig).
func WithTLS(c *tls.Config) ConnectOption {
	return func(dc *DeployConfig, _ **Registry) { dc.TLS = c }
}

// WithRegistry sets the function table (it must equal the cluster's).
func WithRegistry(r *Registry) ConnectOption {
	return func(_ *DeployConfig, reg **Registry) { *reg = r }
}

// WithHeadTimeout sets DeployConfig.HeadTimeout.
func WithHeadTimeout(d time.Duration) ConnectOption {
	return func(dc *DeployConfig, _ **Registry) { dc.HeadTimeout = d }
}

// WithNamespace runs the session's drivers in namespace ns, as Ray's
// ray.init(address, namespace=ns): drivers of any session in ns share
// named actors (GetActor finds what another named there). Without it a
// session's drivers are in an anonymous namespace of their own job's
// (ray.Namespace). ns is 1 to transport.MaxNamespace bytes, without a
// NUL byte (Connect refuses it otherwise).
func WithNamespace(ns string) ConnectOption {
	return func(dc *DeployConfig, _ **Registry) { dc.Namespace = ns }
}

// WithDeployConfig edits the rest of the driver process's configuration
// (Listen, Advertise, Name, Logger, OnEvent, JoinTimeout, and
// Cluster.PolicyImpl when the head runs a policy of the program's own).
func WithDeployConfig(f func(*DeployConfig)) ConnectOption {
	return func(dc *DeployConfig, _ **Registry) { f(dc) }
}

// Connect joins the cluster whose head listens at address as a driver: a
// raylet with no resources (nothing is ever placed on it) on which driver
// programs run (Session.Run, Session.Go). The process's registry must
// equal the cluster's: a difference is refused with an error naming it.
func Connect(ctx context.Context, address string, opts ...ConnectOption) (*Session, error) {
	dc := DeployConfig{Address: address}
	var reg *Registry
	for _, o := range opts {
		o(&dc, &reg)
	}
	if reg == nil {
		reg = NewRegistry()
	}
	if dc.Namespace != "" {
		if err := transport.CheckNamespace(dc.Namespace); err != nil {
			return nil, fmt.Errorf("ray: WithNamespace: %w", err)
		}
	}
	if len(dc.Token) == 0 {
		tok, err := deploy.LoadToken("")
		if err != nil {
			return nil, err
		}
		dc.Token = tok
	}
	// The session's hosts run on a ctx of their own, which ctx ending
	// cancels only after the drivers' blocked calls were ended with an
	// error (endOnCtx): had the hosts stopped first, those calls would
	// never return (their goroutines ended in Await).
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	stopJoin := context.AfterFunc(ctx, hcancel) // a cancel while joining ends the join
	p, err := join(hctx, dc, reg, transport.RoleDriver, transport.Resources{})
	if !stopJoin() && err == nil {
		p.Close()
		err = ctx.Err()
	}
	if err != nil {
		hcancel()
		return nil, err
	}
	// Salt the drivers' root task IDs with the session: task IDs stay
	// unique across every driver process the cluster ever sees.
	s := &Session{p: p, seed: p.cfg.Seed ^ int64(p.session*0x9e3779b97f4a7c15),
		lost: make(chan struct{}), stopWatch: make(chan struct{}), watching: make(chan struct{})}
	timeout := dc.HeadTimeout
	if timeout == 0 {
		timeout = defaultHeadTimeout
	}
	go s.watchHead(timeout)
	s.stopCtx = context.AfterFunc(ctx, func() {
		s.endOnCtx(fmt.Errorf("%w: Connect's ctx ended: %w", ErrClosed, context.Cause(ctx)))
		hcancel()
	})
	s.hcancel = hcancel
	return s, nil
}

// endOnCtx ends the drivers' calls blocked on the session's raylet with
// why (node.Raylet.Abandon), and waits until the raylet's loop has done
// so: Connect's ctx ended, and its hosts stop next.
func (s *Session) endOnCtx(why error) {
	p := s.p
	p.mu.Lock()
	r, h, gone := p.raylet, p.rayH, p.closed || p.killed
	p.mu.Unlock()
	if r == nil || h == nil || gone {
		return
	}
	h.Do(func() { r.Abandon(why) })
}

// watchHead asks the head for its status every headPollPeriod (without
// waiting: a slow answer still counts) until the session closes. Once none
// has come for timeout (>0), the session is lost: its drivers' blocked and
// later calls end with ErrHeadLost (node.Raylet.Abandon). It asks even
// when the session never gives up (timeout <0): the asking keeps the
// agent's connection to the head up (it redials one that broke), and the
// head takes a driver with no connection and a dead raylet for a crashed
// one (see deploy.Coordinator's sweep).
func (s *Session) watchHead(timeout time.Duration) {
	defer close(s.watching)
	start := time.Now()
	period := headPollPeriod
	if timeout > 0 {
		period = min(headPollPeriod, max(timeout/4, 10*time.Millisecond))
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		s.Ping()
		if why := s.p.removed.Load(); why != nil {
			s.lostErr = fmt.Errorf("%w: %s", ErrRemoved, *why)
			close(s.lost)
			s.abandon()
			return
		}
		heard, why := s.LastHeard()
		if heard.Before(start) {
			heard = start
		}
		if silent := time.Since(heard); timeout > 0 && silent >= timeout {
			if why != "" {
				why = " (" + why + ")"
			}
			// The silence as measured (checked every second, so up to a
			// second past the timeout), and the timeout it passed.
			s.lostErr = fmt.Errorf("%w at %s: no answer for %v, past the head timeout %v%s", ErrHeadLost, s.p.dc.Address, silent.Round(time.Second), timeout, why)
			close(s.lost)
			s.abandon()
			return
		}
		select {
		case <-tick.C:
		case <-s.stopWatch:
			return
		}
	}
}

// abandon ends the drivers' calls on the session's raylet (see watchHead).
func (s *Session) abandon() {
	p := s.p
	p.mu.Lock()
	r, env, gone := p.raylet, p.rayEnv, p.closed || p.killed
	p.mu.Unlock()
	if r == nil || env == nil || gone {
		return
	}
	env.Post(func() { r.Abandon(s.lostErr) })
}

// HeadLost is closed once the session has lost the cluster's head: no
// status reply for its head timeout (DeployConfig.HeadTimeout), or the
// head's word that it removed the driver (ErrRemoved). Err then says why.
func (s *Session) HeadLost() <-chan struct{} { return s.lost }

// Err is nil while the session has its head, and an error wrapping
// ErrHeadLost or ErrRemoved once it has lost it.
func (s *Session) Err() error {
	select {
	case <-s.lost:
		return s.lostErr
	default:
		return nil
	}
}

// Process is the driver's process (for status and faults).
func (s *Session) Process() *Process { return s.p }

// Node is the driver raylet's ID.
func (s *Session) Node() transport.NodeID { return s.p.self }

func (s *Session) driverContext() (context.Context, error) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.raylet == nil {
		return nil, errors.New("ray: session closed")
	}
	n := p.drivers
	p.drivers++
	cl := p.raylet.NewDriver(transport.DriverTaskID(s.seed, n))
	if ns := p.dc.Namespace; ns != "" {
		if err := cl.SetNamespace(ns); err != nil { // checked by Connect
			return nil, fmt.Errorf("ray: WithNamespace: %w", err)
		}
	}
	return cl.Context(), nil
}

// DriverTasks returns the root task IDs of the drivers the session has
// started so far (Run, Go), in the order started. Every task a driver
// submits descends from its root (task.submitted events name the parent
// in Object.Task), and the roots are salted with the session, so they
// tell this session's events from other drivers' in the cluster-wide
// trace stream (Session.Trace).
func (s *Session) DriverTasks() []transport.TaskID {
	p := s.p
	p.mu.Lock()
	n := p.drivers
	p.mu.Unlock()
	out := make([]transport.TaskID, n)
	for i := range out {
		out[i] = transport.DriverTaskID(s.seed, uint64(i))
	}
	return out
}

// Run runs driver on the calling goroutine, bound to a new driver of the
// session, and returns its error.
//
// The driver runs on a goroutine of its own, which Run waits for: when
// Connect's ctx ends, the driver's blocked calls return an error wrapping
// ErrClosed and context.Canceled (or the ctx's cause); a runtime call made
// once the session's hosts stopped ends that goroutine, and Run then
// returns an error wrapping ErrClosed. Once it returns, the driver's ctx
// carries no caller (ErrNotInRay).
func (s *Session) Run(driver func(ctx context.Context) error) error {
	ctx, err := s.driverContext()
	if err != nil {
		return err
	}
	return s.runDriver(ctx, driver)
}

// runDriver runs driver on a goroutine of its own and returns its error,
// or ErrClosed (wrapped) when the runtime ended that goroutine (its
// session's hosts had stopped: see tcp's Await). A panic of the driver is
// raised again on the caller's goroutine, as in TCP's runDriver.
func (s *Session) runDriver(ctx context.Context, driver func(ctx context.Context) error) error {
	done := make(chan driverEnd, 1)
	go func() {
		returned := false
		defer func() {
			p := recover()
			if c, ok := node.CallerFrom(ctx); ok {
				c.End()
			}
			switch {
			case p != nil:
				done <- driverEnd{panicked: true, p: p}
			case !returned:
				done <- driverEnd{err: fmt.Errorf("ray: driver did not return (its goroutine was ended: the session closed, or its code called runtime.Goexit): %w", ErrClosed)}
			}
		}()
		err := driver(ctx)
		returned = true
		done <- driverEnd{err: err}
	}()
	return (<-done).result()
}

// Go starts driver in its own goroutine; Wait returns its error.
func (s *Session) Go(driver func(ctx context.Context) error) error {
	ctx, err := s.driverContext()
	if err != nil {
		return err
	}
	p := s.p
	p.drv.Add(1)
	go func() {
		defer p.drv.Done()
		if err := s.runDriver(ctx, driver); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
		}
	}()
	return nil
}

// Wait blocks until every driver started with Go has returned and returns
// their errors joined.
func (s *Session) Wait() error {
	p := s.p
	p.drv.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errors.Join(p.errs...)
	p.errs = nil
	return err
}

// statusTimeout bounds Session.Status's wait for the head's answer.
const statusTimeout = 5 * time.Second

// Status asks the head for the cluster's nodes over the session's own
// connection and waits for the answer until ctx is done or 5s have passed;
// an error wraps deploy.ErrUnreachable. It also tells a driver whether the
// head is still there. Safe for concurrent use: every caller waiting when
// a reply comes takes it.
func (s *Session) Status(ctx context.Context) (*transport.StatusReply, error) {
	timeout := statusTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), 0)
	}
	p := s.p
	ch := make(chan *transport.StatusReply, 1)
	p.mu.Lock()
	p.statusSubs = append(p.statusSubs, ch)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.statusSubs = slices.DeleteFunc(p.statusSubs, func(c chan *transport.StatusReply) bool { return c == ch })
		p.mu.Unlock()
	}()
	if err := p.member.Send(deploy.CoordinatorID, &transport.StatusRequest{}); err != nil {
		return nil, fmt.Errorf("ray: status: %w", err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(timeout):
		why := ""
		if e := p.member.LastError(); e != "" {
			why = ": " + e
		}
		return nil, fmt.Errorf("%w: no status reply from %s within %v%s", deploy.ErrUnreachable, p.dc.Address, timeout, why)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Ping asks the head for its status without waiting for the answer; see
// LastHeard.
func (s *Session) Ping() {
	s.p.member.Send(deploy.CoordinatorID, &transport.StatusRequest{})
}

// LastHeard is when the head last answered a status request (Status or
// Ping; zero if never), and the last connection error the session logged
// ("" if none).
func (s *Session) LastHeard() (time.Time, string) {
	var at time.Time
	if ns := s.p.lastStatus.Load(); ns != 0 {
		at = time.Unix(0, ns)
	}
	return at, s.p.member.LastError()
}

// Control asks the head to kill, restart or drain the node named name and
// waits for the head's acknowledgement (not for the act itself).
func (s *Session) Control(ctx context.Context, op uint8, name string) error {
	return s.control(ctx, &transport.NodeControl{Op: op, Name: name})
}

// TaskErrors sets the probability that a run of a normal task (not an actor method) on the
// named node fails with an injected error (a task_errors fault: the run
// ends with node.InjectedTaskError after its declared duration, and
// ray.RetryExceptions retries it); 0 ends it. The rate stays across the
// node's restarts.
func (s *Session) TaskErrors(ctx context.Context, name string, rate float64) error {
	if !transport.ValidRate(rate) {
		return fmt.Errorf("ray: task error rate %v for %q: want a probability in [0, 1]", rate, name)
	}
	return s.control(ctx, &transport.NodeControl{Op: transport.ControlTaskErrors, Name: name, Rate: rate})
}

// control sends m to the head and waits for its acknowledgement.
func (s *Session) control(ctx context.Context, m *transport.NodeControl) error {
	name := m.Name
	p := s.p
	ch := make(chan *transport.NodeControl, 1)
	p.mu.Lock()
	p.controlSeq++
	seq := p.controlSeq
	p.controls[seq] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.controls, seq)
		p.mu.Unlock()
	}()
	m.Ack, m.Seq = true, seq
	if err := p.member.Send(deploy.CoordinatorID, m); err != nil {
		return fmt.Errorf("ray: control %q: %w", name, err)
	}
	select {
	case a := <-ch:
		if a.Err != "" {
			return errors.New(a.Err)
		}
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("ray: no answer from the head to a control request for %q", name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LinkFault sets (or clears) link faults between named nodes.
func (s *Session) LinkFault(f *transport.LinkFault) { s.p.member.Send(deploy.CoordinatorID, f) }

// Trace streams every process's events to fn (called on a transport
// goroutine, one batch at a time); the session's own events reach
// DeployConfig.OnEvent. Call it once.
//
// The stream is the whole cluster's: every job's events, in batches each
// process sends every 20 ms (TraceFlushEvery), so batches from different
// processes arrive out of timestamp order. A consumer that wants one
// job's events in order filters them by descent from its DriverTasks and
// reorders them by TraceRecord.At (see scenarios/runner's liveStream).
func (s *Session) Trace(fn func(*transport.TraceBatch)) {
	s.p.mu.Lock()
	s.p.onTrace = fn
	s.p.mu.Unlock()
	s.p.member.Send(deploy.CoordinatorID, &transport.TraceSubscribe{Sink: s.p.member.ID})
}

// Close ends the session: drivers still blocked in runtime calls are ended,
// the driver's raylet leaves the cluster.
func (s *Session) Close() error {
	if s.stopCtx != nil {
		s.stopCtx()
	}
	defer s.hcancel()
	s.stopOnce.Do(func() { close(s.stopWatch) })
	<-s.watching
	s.p.mu.Lock()
	tracing := s.p.onTrace != nil
	s.p.mu.Unlock()
	if s.p.member != nil && tracing {
		s.p.member.Send(deploy.CoordinatorID, &transport.TraceSubscribe{Sink: s.p.member.ID, Stop: true})
	}
	return s.p.Close()
}
