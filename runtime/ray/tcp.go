package ray

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/node"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// tcpReadyTimeout bounds how long NewTCP waits for every raylet to register.
const tcpReadyTimeout = 10 * time.Second

// tcpNodeTimeout is NewTCP's default Config.NodeTimeout.
const tcpNodeTimeout = 3 * time.Second

// TCP is an in-process cluster whose endpoints talk over loopback TCP: one
// tcp.Host per endpoint (every GCS shard, the global scheduler, every
// raylet), each running its component on its own loop goroutine on the wall
// clock. The components and the public API are those of Sim; only the
// transport differs. Config.NodeTimeout defaults to 3 s (not 10 heartbeats).
// Costs are not simulated (Env.Charge is a no-op on TCP): the work takes the
// real time it takes.
//
// Components are only ever touched on their own loop; drivers reach their
// raylet through node.Caller, whose methods go through Env.Await. The
// cluster's exported methods are safe for concurrent use.
type TCP struct {
	cfg     Config
	layout  *gcs.Layout
	hosts   []*tcp.Host // GCS endpoints, then the scheduler, then the raylets
	byID    map[transport.NodeID]*tcp.Host
	raylets []*node.Raylet
	loops   sync.WaitGroup                 // one per host loop
	loopErr chan error                     // unexpected loop exits (buffered, one per host)
	stores  map[transport.NodeID]gcs.Store // the GCS endpoints' disk stores (Config.GCSDataDir)

	mu      sync.Mutex // guards the fields below
	drivers uint64
	// startedOn[i] counts the drivers started on node i (a driver's
	// number on its node, in its job's ID); guarded by mu.
	startedOn map[int]uint32
	errs      []error

	drv       sync.WaitGroup // drivers started with Go
	closeOnce sync.Once
	closed    bool // under mu: Close has begun
	closeErr  error
	// closeWhy is what drivers' calls blocked at Close return (ErrClosed,
	// with NewTCP's ctx's error when that ended it); crashed are the
	// nodes Crash stopped. Both under mu.
	closeWhy error
	crashed  map[int]bool
	// hostCancel ends the hosts' ctx (they run on one of their own, so
	// that Close abandons the drivers before a host stops); stopWatch
	// stops the watch of NewTCP's ctx.
	hostCancel context.CancelFunc
	stopWatch  func() bool
}

// NewTCP starts a cluster on 127.0.0.1 (ephemeral ports) with a random
// cluster ID and token. It returns once every raylet has registered with the
// global scheduler, so that the first task can be placed anywhere. The hosts
// run until ctx is done or Close is called; call Close in any case.
func NewTCP(ctx context.Context, cfg Config, reg *Registry) (*TCP, error) {
	if cfg.Buggify || cfg.WireCheck {
		// As the CLI refuses --buggify and --wire-check with --tcp: a
		// simulator test ported to TCP would lose them without a word.
		return nil, fmt.Errorf("%w: Config.Buggify %v, WireCheck %v: the simulator's (NewSim); a TCP cluster has neither", ErrInvalidOption, cfg.Buggify, cfg.WireCheck)
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	for _, n := range cfg.Nodes {
		if n.Start != 0 || n.Standby {
			return nil, fmt.Errorf("ray: node %q: Start %v, Standby %v: a node joining later is the simulator's (a TCP cluster starts its nodes together)", n.Name, n.Start, n.Standby)
		}
	}
	if cfg.NodeTimeout <= 0 {
		// Wall clock: a loop stalled by the Go scheduler, the GC or the
		// race detector must not get a live node declared dead.
		cfg.NodeTimeout = tcpNodeTimeout
	}
	if cfg.GCSMasterTimeout <= 0 {
		cfg.GCSMasterTimeout = wallMasterTimeout // likewise for a chain member
	}
	secret := make([]byte, 40)
	if _, err := crand.Read(secret); err != nil {
		return nil, fmt.Errorf("ray: cluster token: %w", err)
	}
	clusterID, token := "raysim-"+hex.EncodeToString(secret[:8]), secret[8:]
	c := &TCP{cfg: cfg, layout: cfg.layout(), raylets: make([]*node.Raylet, len(cfg.Nodes)),
		byID: make(map[transport.NodeID]*tcp.Host)}

	// GCS endpoints: one per shard, or every chain replica and the chain
	// master when the GCS is replicated.
	layout := c.layout
	stores, err := cfg.diskStores(layout.GCSMembers())
	if err != nil {
		return nil, err
	}
	c.stores = stores
	var gcsIDs []transport.NodeID
	var gcsCtors []func(transport.Env) transport.Handler
	for j := range layout.Shards {
		members := []transport.NodeID{layout.Shards[j]}
		if layout.Replicated() {
			members = layout.Chains[j]
		}
		for _, id := range members {
			gcsIDs = append(gcsIDs, id)
			gcsCtors = append(gcsCtors, func(env transport.Env) transport.Handler {
				return cfg.newGCS(env, layout, j, stores[id], false, uint64(time.Now().UnixNano()))
			})
		}
	}
	if layout.Replicated() {
		gcsIDs = append(gcsIDs, GCSMasterID)
		gcsCtors = append(gcsCtors, func(env transport.Env) transport.Handler {
			return gcs.NewMaster(env, gcs.MasterConfig{Layout: layout, Timeout: cfg.GCSMasterTimeout})
		})
	}
	ids := append(append(append([]transport.NodeID{}, gcsIDs...), SchedulerID), c.layout.Raylets...)
	for k, id := range ids {
		seed := int64(0) // crypto-random
		if cfg.Seed != 0 {
			seed = cfg.Seed + int64(k)
		}
		h, err := tcp.Listen(tcp.Config{ClusterID: clusterID, Token: token, Self: id,
			Listen: "127.0.0.1:0", Seed: seed, OnEvent: cfg.OnEvent, SendPadBytes: cfg.SendPadBytes})
		if err != nil {
			for _, h := range c.hosts {
				h.Close()
			}
			closeStores(stores)
			return nil, err
		}
		c.hosts = append(c.hosts, h)
		c.byID[id] = h
	}
	for _, h := range c.hosts {
		for k, id := range ids {
			h.SetPeer(id, c.hosts[k].Addr())
		}
	}

	// Constructors, as in NewSim. Each runs on its host's loop goroutine.
	pol, _ := cfg.policy() // checked by defaults
	registered := make(chan struct{})
	made := make(chan int, len(cfg.Nodes))
	ctors := append(make([]func(transport.Env) transport.Handler, 0, len(ids)), gcsCtors...)
	ctors = append(ctors, func(env transport.Env) transport.Handler {
		g := scheduler.NewGlobal(env, scheduler.GlobalConfig{Layout: layout, Policy: pol, Costs: *cfg.Costs,
			Bandwidth: cfg.Link.Bandwidth, SpillThreshold: cfg.SpillThreshold})
		return newRegWatch(g, layout.Raylets, registered)
	})
	for i := range cfg.Nodes {
		ctors = append(ctors, func(env transport.Env) transport.Handler {
			r := node.New(env, cfg.rayletConfig(layout, i, reg, 1))
			c.raylets[i] = r // published to other goroutines by made
			made <- i
			return r
		})
	}

	c.loopErr = make(chan error, len(c.hosts))
	// The hosts run until Close, which NewTCP's ctx ending calls: not on
	// ctx itself, so that Close first wakes the drivers blocked in the
	// runtime with an error (Raylet.Abandon) rather than have their hosts
	// stop under them.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	c.hostCancel = hcancel
	c.stopWatch = context.AfterFunc(ctx, func() {
		c.close(fmt.Errorf("%w: NewTCP's ctx ended: %w", ErrClosed, context.Cause(ctx)))
	})
	for k, h := range c.hosts {
		c.loops.Add(1)
		go func() {
			defer c.loops.Done()
			if err := h.Run(hctx, ctors[k]); err != nil {
				c.loopErr <- fmt.Errorf("ray: node %d: %w", ids[k], err)
			}
		}()
	}

	timeout := time.NewTimer(tcpReadyTimeout)
	defer timeout.Stop()
	for pending := len(cfg.Nodes); pending > 0 || registered != nil; {
		select {
		case <-made:
			pending--
		case <-registered:
			registered = nil
		case err := <-c.loopErr:
			c.Close()
			return nil, err
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		case <-timeout.C:
			c.Close()
			return nil, fmt.Errorf("ray: raylets did not all register within %v", tcpReadyTimeout)
		}
	}
	return c, nil
}

// regWatch wraps the global scheduler to close ready once every raylet has
// registered (it runs on the scheduler's loop, like the scheduler).
type regWatch struct {
	transport.Handler
	want  map[transport.NodeID]bool
	ready chan struct{}
}

func newRegWatch(h transport.Handler, raylets []transport.NodeID, ready chan struct{}) *regWatch {
	w := &regWatch{Handler: h, want: make(map[transport.NodeID]bool), ready: ready}
	for _, id := range raylets {
		w.want[id] = true
	}
	return w
}

func (w *regWatch) Handle(from transport.NodeID, m transport.Message) {
	w.Handler.Handle(from, m)
	if w.ready == nil {
		return
	}
	if reg, ok := m.(*transport.RegisterNode); ok {
		delete(w.want, reg.Node)
		if len(w.want) == 0 {
			close(w.ready)
			w.ready = nil
		}
	}
}

// Layout is the cluster's endpoint layout.
func (c *TCP) Layout() *gcs.Layout { return c.layout }

// Addr is the listen address of endpoint id ("" if the cluster has none).
func (c *TCP) Addr(id transport.NodeID) string {
	if h := c.host(id); h != nil {
		return h.Addr()
	}
	return ""
}

// Stats returns the transport counters of endpoint id.
func (c *TCP) Stats(id transport.NodeID) tcp.Stats {
	if h := c.host(id); h != nil {
		return h.Stats()
	}
	return tcp.Stats{}
}

func (c *TCP) host(id transport.NodeID) *tcp.Host { return c.byID[id] }

// NodeIndex returns the index of the node named name.
func (c *TCP) NodeIndex(name string) (int, bool) {
	for i, n := range c.cfg.Nodes {
		if n.Name == name {
			return i, true
		}
	}
	return 0, false
}

// driverCaller returns a new driver on node i, with a root task ID
// derived like Sim's (DriverTaskID(Seed, n), n counting drivers): a job
// of its own if own (numbered among the node's drivers from 1, as Sim's),
// else a thread of the node's job (GoThread).
func (c *TCP) driverCaller(i int, own bool) (*node.Caller, error) {
	if i < 0 || i >= len(c.raylets) {
		return nil, fmt.Errorf("ray: no node %d (the cluster has %d)", i, len(c.raylets))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	n := c.drivers
	c.drivers++
	var k uint32
	if own {
		if c.startedOn == nil {
			c.startedOn = make(map[int]uint32)
		}
		c.startedOn[i]++
		k = c.startedOn[i]
	}
	c.mu.Unlock()
	// NewJobDriver only builds the caller; every later use of the raylet
	// goes through Env.Await onto the raylet's loop.
	cl := c.raylets[i].NewJobDriver(transport.DriverTaskID(c.cfg.Seed, n), k)
	if c.cfg.Namespace != "" {
		if err := cl.SetNamespace(c.cfg.Namespace); err != nil { // checked by defaults
			return nil, fmt.Errorf("ray: Namespace: %w", err)
		}
	}
	return cl, nil
}

// Run runs driver, bound to a new driver of node 0, and returns its error.
// It does not wait for drivers started with Go (see Wait). Several Runs
// may proceed concurrently, each from its own goroutine. Each driver is a
// job of its own, which ends as it returns (see Sim.Go): what it left
// running is cancelled, its actors and placement groups that are not
// detached end, and its ctx carries no caller any more (ErrNotInRay).
//
// The driver runs on a goroutine of its own, which Run waits for. When the
// cluster closes (Close, or NewTCP's ctx done) while the driver is blocked
// in a runtime call (Get, Wait, Compute, ...), that call returns an error
// wrapping ErrClosed (and the ctx's error, when the ctx ended); a runtime
// call the driver makes once the hosts have stopped ends its goroutine
// (runtime.Goexit), and Run then returns an error wrapping ErrClosed. A
// driver whose node crashed (Crash) is ended likewise, and Run returns an
// error wrapping ErrDriverNodeDied. On a closed cluster Run (and Go)
// return ErrClosed.
func (c *TCP) Run(driver func(ctx context.Context) error) error {
	caller, err := c.driverCaller(0, true)
	if err != nil {
		return err
	}
	return c.runDriver(0, caller, driver, true)
}

// RunThread is Run for a thread of node 0's standing driver program (see
// GoThread): its job, the node's, does not end as it returns, so what it
// created (actors, placement groups, refs) serves the threads run after
// it, as in one Ray driver script.
func (c *TCP) RunThread(driver func(ctx context.Context) error) error {
	caller, err := c.driverCaller(0, false)
	if err != nil {
		return err
	}
	return c.runDriver(0, caller, driver, false)
}

// runDriver runs driver on a goroutine of its own and returns its error,
// or, when the runtime ended that goroutine (a call blocked or made once
// its node's host had stopped: see tcp's Await), an error saying why: the
// cluster closed, or the driver's node crashed. A driver of a job of its
// own (own) ends its job as it returns. Either way the caller is ended,
// so that a ctx the driver leaked carries no caller.
//
// A panic of the driver is recovered on that goroutine and raised again on
// the caller's, so that a recover around Run sees it, as when the driver
// ran on the caller's goroutine (an unrecovered panic on a goroutine of
// our own would end the whole process).
func (c *TCP) runDriver(i int, caller *node.Caller, driver func(ctx context.Context) error, own bool) error {
	done := make(chan driverEnd, 1)
	go func() {
		returned := false
		defer func() {
			p := recover()
			caller.End()
			switch {
			case p != nil:
				done <- driverEnd{panicked: true, p: p}
			case !returned:
				done <- driverEnd{err: c.endedWhy(i)}
			}
		}()
		err := driver(caller.Context())
		returned = true
		if own {
			caller.EndJob()
		}
		done <- driverEnd{err: err}
	}()
	return (<-done).result()
}

// driverEnd is how a driver's goroutine ended: its error, or the value it
// panicked with (panicked), which result raises again on the goroutine
// that waits for it.
type driverEnd struct {
	err      error
	panicked bool
	p        any
}

// result returns e's error, or panics again with the driver's panic value.
func (e driverEnd) result() error {
	if e.panicked {
		panic(e.p)
	}
	return e.err
}

// endedWhy is the error of a driver on node i whose goroutine the runtime
// ended: its node crashed, or the cluster closed (else the driver's own
// code called runtime.Goexit).
func (c *TCP) endedWhy(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed[i] {
		return fmt.Errorf("ray: driver on node %d (%s) did not return: its node crashed: %w", i, c.cfg.Nodes[i].Name, ErrDriverNodeDied)
	}
	if c.closeWhy != nil {
		return fmt.Errorf("ray: driver on node %d did not return: %w", i, c.closeWhy)
	}
	return fmt.Errorf("ray: driver on node %d did not return: its goroutine exited (runtime.Goexit: t.FailNow, say)", i)
}

// Go starts driver on node i in its own goroutine, as a job of its own
// (see Run). Its error, if any, is returned by Wait.
func (c *TCP) Go(i int, driver func(ctx context.Context) error) error {
	return c.start(i, driver, true)
}

// GoThread starts driver on node i as a thread of the node's standing
// driver program, in the node's job, which does not end when it returns
// (see Sim.GoThread). Its error, if any, is returned by Wait.
func (c *TCP) GoThread(i int, driver func(ctx context.Context) error) error {
	return c.start(i, driver, false)
}

// start starts a driver in its own goroutine (Go, GoThread).
func (c *TCP) start(i int, driver func(ctx context.Context) error, own bool) error {
	caller, err := c.driverCaller(i, own)
	if err != nil {
		return err
	}
	c.drv.Add(1)
	go func() {
		defer c.drv.Done()
		if err := c.runDriver(i, caller, driver, own); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
		}
	}()
	return nil
}

// Wait blocks until every driver started with Go has returned, and returns
// their errors joined (and clears them).
func (c *TCP) Wait() error {
	c.drv.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	err := errors.Join(c.errs...)
	c.errs = nil
	return err
}

// Crash stops node i's raylet as a crash would: its host closes without a
// goodbye, user code blocked in a runtime call there is ended (a driver
// there: Run and Wait report an error wrapping ErrDriverNodeDied), and the
// node table declares the node dead once it has missed its heartbeats for
// NodeTimeout (3 s by default). The node does not come back. For tests of
// failures on real TCP (a live cluster's agents kill and restart nodes:
// runtime/deploy).
func (c *TCP) Crash(i int) error {
	if i < 0 || i >= len(c.raylets) {
		return fmt.Errorf("ray: crash node %d: the cluster has nodes 0 to %d", i, len(c.raylets)-1)
	}
	c.mu.Lock()
	if c.crashed == nil {
		c.crashed = make(map[int]bool)
	}
	c.crashed[i] = true
	c.mu.Unlock()
	if err := c.byID[RayletID(i)].Close(); err != nil {
		return fmt.Errorf("ray: crash node %d: %w", i, err)
	}
	return nil
}

// Close stops every host and waits for their loops. Drivers' calls blocked
// in the runtime return first, with an error wrapping ErrClosed (see Run);
// user code that is computing finishes on its own and then ends at its
// next runtime call. NewTCP's ctx ending closes the cluster likewise.
func (c *TCP) Close() error { return c.close(ErrClosed) }

// close is Close, with why the drivers' blocked calls end.
func (c *TCP) close(why error) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true // Run and Go refuse from now (a driver could only hang)
		c.closeWhy = why
		c.mu.Unlock()
		if c.stopWatch != nil {
			c.stopWatch()
		}
		// Abandon first, on each raylet's loop: a driver blocked there is
		// woken with the error before its host stops (an Await the host's
		// stop finds would end the driver's goroutine instead).
		for i, r := range c.raylets {
			if h := c.byID[RayletID(i)]; h != nil && r != nil {
				h.Do(func() { r.Abandon(why) })
			}
		}
		var errs []error
		for _, h := range c.hosts {
			if err := h.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		c.hostCancel()
		c.loops.Wait()
		errs = append(errs, closeStores(c.stores)) // the GCS endpoints have stopped: sync what they wrote last
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
