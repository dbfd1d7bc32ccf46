package ray

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"time"

	"raysim/netsim"
	"raysim/runtime/costs"
	"raysim/runtime/gcs"
	"raysim/runtime/node"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/transport/sim"
)

// NodeConfig describes one node of a cluster.
type NodeConfig struct {
	Name       string
	CPUs, GPUs float64
	Resources  map[string]float64
	// ObjectStoreBytes is the node's object store capacity (0 = unbounded).
	// A bounded store evicts fetched copies least recently used first;
	// when only pinned objects and primary copies are left (a primary is
	// kept until freed) it goes over capacity, with a warning event,
	// rather than fail a task, unless a spill tier takes the primaries.
	// One object larger than the store is refused (ErrObjectTooLarge).
	ObjectStoreBytes int64
	// ObjectSpillBytes is the node's spill tier (0 = none, the default):
	// primary copies the store needs room for are spilled there and
	// restored at their next read instead of the store going over
	// capacity (see node.Config.ObjectSpillBytes). It needs a bounded store.
	ObjectSpillBytes int64
	// Start is when the node joins the cluster, in virtual time (0: with
	// the cluster): until then it does not exist, as a machine not booted
	// yet; then it registers as any node does, and what waits for its
	// resources (an infeasible task, a placement group) goes ahead. The
	// simulator's only (NewTCP refuses it), and not the first node, which
	// hosts Run's driver.
	Start time.Duration
	// Standby: the node does not start with the cluster, nor at a Start,
	// but when Sim.Launch starts it (an autoscaler's pool; Sim.Terminate
	// stops it again). The simulator's only, and not the first node.
	Standby bool
}

// ErrBadSpill is a node's spill tier that cannot be: negative, or beside an
// unbounded object store (which never needs room).
var ErrBadSpill = errors.New("ray: bad object spill capacity")

// check refuses a capacity no node can have (see transport.CheckAmount):
// over TCP the wire would refuse its registration, and the cluster would
// wait for a node that never comes; and a custom resource named CPU or
// GPU (or unnamed), which no task could ask for.
// SpillAlways is Config.SpillThreshold's "threshold 0": a node's scheduler
// spills every task to the global scheduler, however short its queue.
const SpillAlways = -1

// MaxNodeGPUs bounds a node's GPUs: its raylet keeps one entry per device
// (to place fractional GPU requests on one device, as Ray does).
const MaxNodeGPUs = 1 << 16

// Check reports what StartHead, JoinNode and NewSim would refuse in a
// node's configuration (a bad amount, a custom resource named CPU or GPU,
// a spill tier without a bounded store), so that a command line can
// refuse it before anything starts.
func (n NodeConfig) Check() error { return n.check() }

func (n NodeConfig) check() error {
	if n.Start < 0 {
		return fmt.Errorf("ray: node %q: Start %v: want 0 (with the cluster) or later", n.Name, n.Start)
	}
	if n.Standby && n.Start != 0 {
		return fmt.Errorf("ray: node %q: Standby with Start %v: a standby node starts when launched", n.Name, n.Start)
	}
	if n.ObjectSpillBytes < 0 {
		return fmt.Errorf("%w: node %q: %d bytes (want 0, none, or more)", ErrBadSpill, n.Name, n.ObjectSpillBytes)
	}
	if n.ObjectSpillBytes > 0 && n.ObjectStoreBytes <= 0 {
		return fmt.Errorf("%w: node %q: a spill tier needs a bounded object store (ObjectStoreBytes > 0)", ErrBadSpill, n.Name)
	}
	if err := transport.CheckAmount(n.CPUs); err != nil {
		return fmt.Errorf("ray: node %q: CPUs: %w", n.Name, err)
	}
	if err := transport.CheckAmount(n.GPUs); err != nil {
		return fmt.Errorf("ray: node %q: GPUs: %w", n.Name, err)
	}
	if n.GPUs > MaxNodeGPUs {
		return fmt.Errorf("ray: node %q: GPUs: %g is more than a node may have (%d)", n.Name, n.GPUs, MaxNodeGPUs)
	}
	for _, name := range slices.Sorted(maps.Keys(n.Resources)) {
		if name == "" || name == "CPU" || name == "GPU" { // as Resource refuses them for a task
			return fmt.Errorf("ray: node %q: resource name %q: want a custom resource's name (CPUs and GPUs set CPU and GPU)", n.Name, name)
		}
		if err := transport.CheckAmount(n.Resources[name]); err != nil {
			return fmt.Errorf("ray: node %q: resource %s: %w", n.Name, name, err)
		}
	}
	return nil
}

// Config describes a cluster, simulated or real.
type Config struct {
	// nodeName names a node for error texts (a live process's address
	// book: Process.nodeName); nil in netsim and ray.TCP.
	nodeName func(transport.NodeID) string

	Nodes       []NodeConfig
	Seed        int64
	GCSShards   int // default 1
	GCSReplicas int // replicas per GCS shard, a chain (default 1: unreplicated)
	// GCSMasterTimeout is how long a chain member may be silent before the
	// chain master removes it (default: 20ms simulated, 1s on TCP, where a
	// loop stalled by the Go scheduler, the GC or the race detector must not
	// get a live member removed).
	GCSMasterTimeout time.Duration
	GCSDataDir       string // TCP: directory of the GCS stores (bbolt files); empty: in memory
	// SendPadBytes (TCP) bounds the object chunks' payloads queued for one
	// peer at once (tcp.Config.SendPadBytes; 0: its default, 64 MiB, and
	// at least 8 MiB): chunks past it are held, and the messages queued
	// after them go first.
	SendPadBytes int64
	Policy       string // a built-in policy's name (scheduler.PolicyNames); default "bottom-up"
	// PolicyImpl, if set, is the scheduling policy itself: a program's
	// own (any scheduler.Policy), used instead of a built-in. Policy must
	// then be "" or its Name. A value in the config rather than a name
	// registered in a package-level table: two clusters in one process
	// (two tests in parallel) may use different policies of the same name.
	PolicyImpl scheduler.Policy
	// SpillThreshold is the local queue length at which a node's
	// scheduler (bottom-up, locality-aware) spills a task it could run to
	// the global scheduler: a task stays while fewer are queued. 0: the
	// default, 8. SpillAlways (any negative value) is a threshold of 0:
	// every task spills, and the global scheduler places it (a scenario's
	// spill_threshold: 0).
	SpillThreshold int
	Costs          *costs.Profile
	// Namespace, when set, is the namespace of every driver the cluster
	// starts (Run, Go, GoThread), as each driver's ray.init(namespace=...)
	// in Ray: their named actors are shared. Empty: each driver's job is
	// in an anonymous namespace of its own, as Ray's (ray.Namespace,
	// SetNamespace). 1 to transport.MaxNamespace bytes, no NUL.
	Namespace string
	// Simulation only: NewTCP refuses WireCheck and Buggify (a program
	// ported from the simulator would run without them unawares), and
	// ignores Link and MaxVirtual (there is no simulated network nor
	// virtual time on TCP: bound a TCP run with the driver's ctx).
	// HeartbeatPeriod and NodeTimeout serve TCP too (wall clock there).
	Link            netsim.Link   // default link model (default: 100µs constant latency, 10 Gbps)
	WireCheck       bool          // round-trip every message through the codec
	MaxVirtual      time.Duration // stop a run past this virtual time (default 1h)
	HeartbeatPeriod time.Duration // default 100ms
	NodeTimeout     time.Duration // silence before a node is declared dead (default 10 heartbeats)
	// Buggify turns on the runtime's fault points (late replies, spurious
	// retries, short timeouts), chosen by the seed (node.BuggifyFor).
	Buggify bool
	// TaskErrors, when set, is a fault injection: the probability that a
	// run of a normal task on node i (of Nodes) fails with an injected
	// error (node.InjectedTaskError), read at each run; the scenario
	// runner's task_errors faults set it.
	TaskErrors func(i int) float64
	// OnEvent sees every runtime trace event of every endpoint (raylets,
	// the global scheduler, GCS shards). An event carries no time: in
	// netsim read it from the simulator (Sim.Netsim().Now()), on TCP from
	// the wall clock. In netsim (NewSim) it is called on the one event
	// loop, in virtual-time order, never concurrently. On TCP (NewTCP) it
	// is called concurrently, from each endpoint's own loop goroutine, and
	// the events of different endpoints are not in time order: a hook that
	// keeps state (a map, a traces.Recorder) needs a mutex, and must
	// expect times that go backwards across endpoints.
	OnEvent func(*transport.Event)
	// OnNetEvent sees every simulated network event (netsim only: never
	// called on TCP); on the one event loop, in order.
	OnNetEvent func(*netsim.Event)
}

// Endpoint IDs: raylet i is NodeID(i+1); the global scheduler and the GCS
// shards live above SchedulerID.
const SchedulerID transport.NodeID = 1 << 20

// RayletID is the NodeID of the i-th node of a cluster.
func RayletID(i int) transport.NodeID { return transport.NodeID(i + 1) }

// ShardID is the NodeID of GCS shard j.
func ShardID(j int) transport.NodeID { return SchedulerID + 1 + transport.NodeID(j) }

// ReplicaID is the NodeID of replica i of GCS shard j (replica 0 is
// ShardID(j), the shard's name).
func ReplicaID(j, i int) transport.NodeID { return ShardID(j) + transport.NodeID(i)<<12 }

// MaxGCSShards and MaxGCSReplicas bound a cluster's GCS: replica i of shard
// j is ShardID(j) + i<<12, below the master's ID.
const (
	MaxGCSShards   = 1<<12 - 1
	MaxGCSReplicas = 64
)

// GCSMasterID is the NodeID of the GCS chain configuration master (present
// when GCSReplicas > 1).
const GCSMasterID = SchedulerID + 1<<19

func (cfg *Config) defaults() error {
	if len(cfg.Nodes) == 0 {
		return errors.New("ray: a cluster needs at least one node")
	}
	for _, n := range cfg.Nodes {
		if err := n.check(); err != nil {
			return err
		}
	}
	if cfg.Nodes[0].Standby {
		return fmt.Errorf("ray: node %q: Standby: the first node starts with the cluster (it hosts Run's driver)", cfg.Nodes[0].Name)
	}
	if cfg.Nodes[0].Start != 0 {
		return fmt.Errorf("ray: node %q: Start %v: the first node starts with the cluster (it hosts Run's driver)", cfg.Nodes[0].Name, cfg.Nodes[0].Start)
	}
	if cfg.Namespace != "" {
		if err := transport.CheckNamespace(cfg.Namespace); err != nil {
			return fmt.Errorf("ray: Namespace: %w", err)
		}
	}
	if cfg.GCSShards <= 0 {
		cfg.GCSShards = 1
	}
	if cfg.GCSReplicas <= 0 {
		cfg.GCSReplicas = 1
	}
	if cfg.GCSShards > MaxGCSShards || cfg.GCSReplicas > MaxGCSReplicas {
		return fmt.Errorf("ray: at most %d GCS shards of at most %d replicas", MaxGCSShards, MaxGCSReplicas)
	}
	if cfg.HeartbeatPeriod < 0 || cfg.NodeTimeout < 0 {
		return fmt.Errorf("ray: heartbeat period %v and node timeout %v: neither may be negative (0: the default)", cfg.HeartbeatPeriod, cfg.NodeTimeout)
	}
	if hb := cmp.Or(cfg.HeartbeatPeriod, 100*time.Millisecond); cfg.NodeTimeout > 0 && cfg.NodeTimeout < 2*hb {
		// The node table would declare live nodes dead between two of their
		// heartbeats, and a node's lease (seven eighths of the timeout)
		// would lapse between two answers.
		return fmt.Errorf("ray: node timeout %v is less than two heartbeat periods (%v)", cfg.NodeTimeout, hb)
	}
	switch {
	case cfg.SpillThreshold == 0:
		cfg.SpillThreshold = 8
	case cfg.SpillThreshold < 0:
		cfg.SpillThreshold = SpillAlways // node.Config: 0 would mean "never spill"
	case cfg.SpillThreshold > math.MaxInt32:
		return fmt.Errorf("ray: spill threshold %d: want at most %d", cfg.SpillThreshold, math.MaxInt32)
	}
	if cfg.Costs == nil {
		c := costs.Default()
		cfg.Costs = &c
	}
	if cfg.MaxVirtual <= 0 {
		cfg.MaxVirtual = time.Hour
	}
	if cfg.Link == (netsim.Link{}) {
		cfg.Link = netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 1.25e9}
	}
	_, err := cfg.policy()
	return err
}

// policy resolves the cluster's scheduling policy: PolicyImpl when set
// (Policy may only repeat its name), else the built-in named Policy.
func (cfg *Config) policy() (scheduler.Policy, error) {
	if cfg.PolicyImpl == nil {
		return scheduler.NewPolicy(cfg.Policy)
	}
	if cfg.Policy != "" && cfg.Policy != cfg.PolicyImpl.Name() {
		return nil, fmt.Errorf("ray: Policy %q beside PolicyImpl %q: want \"\" or the same name", cfg.Policy, cfg.PolicyImpl.Name())
	}
	return scheduler.NewPolicy(cfg.PolicyImpl.Name(), cfg.PolicyImpl)
}

func (cfg *Config) layout() *gcs.Layout {
	l := &gcs.Layout{Scheduler: SchedulerID}
	for j := 0; j < cfg.GCSShards; j++ {
		l.Shards = append(l.Shards, ShardID(j))
		if cfg.GCSReplicas > 1 {
			var chain []transport.NodeID
			for i := 0; i < cfg.GCSReplicas; i++ {
				chain = append(chain, ReplicaID(j, i))
			}
			l.Chains, l.Master = append(l.Chains, chain), GCSMasterID
		}
	}
	for i := range cfg.Nodes {
		l.Raylets = append(l.Raylets, RayletID(i))
	}
	return l
}

func (cfg *Config) shardConfig(l *gcs.Layout, store gcs.Store) gcs.Config {
	return gcs.Config{Layout: l, Costs: *cfg.Costs, HeartbeatPeriod: cfg.HeartbeatPeriod, NodeTimeout: cfg.NodeTimeout, Store: store,
		NodeName: cfg.nodeName}
}

// diskStores opens the bbolt stores of the GCS endpoints ids under
// GCSDataDir (none, each endpoint in memory, when it is not set), before
// anything of a cluster starts: a store that cannot be opened (missing
// directory, another format, corrupt or truncated, held by another
// process) is an error, never an in-memory GCS that loses the tables at
// the next restart. closeStores syncs and closes them once their endpoints
// have stopped.
func (cfg *Config) diskStores(ids []transport.NodeID) (map[transport.NodeID]gcs.Store, error) {
	stores := map[transport.NodeID]gcs.Store{}
	if cfg.GCSDataDir == "" {
		return stores, nil
	}
	for _, id := range ids {
		st, err := gcs.OpenBolt(filepath.Join(cfg.GCSDataDir, fmt.Sprintf("gcs-%d.db", id)))
		if err != nil {
			closeStores(stores)
			return nil, fmt.Errorf("ray: --gcs-dir %s: %w", cfg.GCSDataDir, err)
		}
		stores[id] = st
	}
	return stores, nil
}

// closeStores syncs and closes the disk stores (their endpoints stopped).
func closeStores(stores map[transport.NodeID]gcs.Store) error {
	ids := make([]transport.NodeID, 0, len(stores))
	for id := range stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		if c, ok := stores[id].(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// newGCS builds GCS endpoint id: an unreplicated shard, or replica i of
// shard j's chain. store is the endpoint's disk, kept across restarts; inc
// numbers the endpoint's incarnation, higher at every restart.
func (cfg *Config) newGCS(env transport.Env, l *gcs.Layout, j int, store gcs.Store, restarted bool, inc uint64) transport.Handler {
	if !l.Replicated() {
		return gcs.New(env, cfg.shardConfig(l, store))
	}
	return gcs.NewReplica(env, gcs.ReplicaConfig{Shard: cfg.shardConfig(l, store), Index: j, Rejoin: restarted, Incarnation: inc})
}

// addGCS puts the GCS endpoints (and the chain master) on the simulator.
// Each endpoint's store outlives its incarnations, as a disk does; a
// restart loses the writes not yet synced.
func (c *Sim) addGCS() {
	cfg, l, ns := &c.cfg, c.layout, c.net.Sim
	for j := range l.Shards {
		ids := []transport.NodeID{l.Shards[j]}
		if l.Replicated() {
			ids = l.Chains[j]
		}
		for _, id := range ids {
			j, id, store := j, id, gcs.NewMemStore()
			c.net.Add(id, func(env transport.Env) transport.Handler {
				inc := ns.Node(netsim.NodeID(id)).Incarnation()
				restarted := inc > 1
				if restarted {
					store.Crash()
				}
				return cfg.newGCS(env, l, j, store, restarted, inc)
			})
		}
	}
	if l.Replicated() {
		c.net.Add(l.Master, func(env transport.Env) transport.Handler {
			return gcs.NewMaster(env, gcs.MasterConfig{Layout: l, Timeout: cfg.GCSMasterTimeout})
		})
	}
}

func (cfg *Config) rayletConfig(l *gcs.Layout, i int, reg *Registry, inc uint64) node.Config {
	n := cfg.Nodes[i]
	pol, _ := cfg.policy() // checked by defaults
	nc := node.Config{
		Layout: l, Resources: transport.MakeResources(n.CPUs, n.GPUs, n.Resources),
		ObjectStoreBytes: n.ObjectStoreBytes, ObjectSpillBytes: n.ObjectSpillBytes, Policy: pol, SpillThreshold: cfg.SpillThreshold,
		Costs: *cfg.Costs, Registry: reg, HeartbeatPeriod: cfg.HeartbeatPeriod, NodeTimeout: cfg.NodeTimeout, Incarnation: inc,
		NodeName: cfg.nodeName,
	}
	if f := cfg.TaskErrors; f != nil {
		nc.TaskErrors = func() float64 { return f(i) }
	}
	return nc
}

// Sim is an in-process simulated cluster: every component on one netsim
// event loop, in virtual time.
type Sim struct {
	cfg     Config
	reg     *Registry
	layout  *gcs.Layout
	net     *sim.Net
	drivers int
	running int
	errs    []error
	closed  bool // Close was called: Run and Go refuse (ErrClosed)
	// standby[i] adds node i, not started yet (NodeConfig.Standby); nil
	// once added.
	standby map[int]func()
	// driversOn[i] counts the drivers running on node i (Go, Run), which
	// Terminate refuses to end; startedOn[i] the jobs of their own (Go,
	// not GoThread) ever started there, across the node's incarnations: a
	// driver's number on its node, in its job's ID (transport.JobOf; 0 is
	// the node's own job, its threads').
	driversOn map[int]int
	startedOn map[int]uint32
}

// NewSim builds a simulated cluster (nothing runs until Run).
func NewSim(cfg Config, reg *Registry) (*Sim, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Sim{cfg: cfg, reg: reg, layout: cfg.layout()}
	var net *sim.Net
	// Only drops matter to the adapter (it retransmits lost frames): OnDrop
	// runs before OnEvent, the order the wrapped hook had, and the other
	// events cost nothing when nobody traces them.
	ns := netsim.New(netsim.Config{Seed: cfg.Seed, Link: cfg.Link, OnEvent: cfg.OnNetEvent,
		OnDrop: func(ev *netsim.Event) { net.OnNetEvent(ev) }})
	net = sim.New(ns, sim.Options{WireCheck: cfg.WireCheck, OnEvent: cfg.OnEvent})
	c.net = net
	pol, _ := cfg.policy() // checked by defaults
	c.addGCS()
	c.net.Add(SchedulerID, func(env transport.Env) transport.Handler {
		// Simulated nodes restart under their NodeID: a task pinned to a
		// dead one waits a while for it (on TCP it fails at once).
		return scheduler.NewGlobal(env, scheduler.GlobalConfig{Layout: c.layout, Policy: pol, Costs: *cfg.Costs,
			Bandwidth: cfg.Link.Bandwidth, SpillThreshold: cfg.SpillThreshold, DeadTargetGrace: scheduler.SimDeadTargetGrace})
	})
	for i := range cfg.Nodes {
		i := i
		var last *node.Raylet // the previous incarnation's raylet
		add := c.net.Add
		switch n := cfg.Nodes[i]; {
		case n.Standby: // it starts when launched: until then no such node
			add = func(id transport.NodeID, h func(transport.Env) transport.Handler) {
				if c.standby == nil {
					c.standby = map[int]func(){}
				}
				c.standby[i] = func() { c.net.Add(id, h) }
			}
		case n.Start > 0: // it joins later: until then no such node
			add = func(id transport.NodeID, h func(transport.Env) transport.Handler) {
				ns.At(n.Start, func() { c.net.Add(id, h) })
			}
		}
		add(RayletID(i), func(env transport.Env) transport.Handler {
			inc := ns.Node(netsim.NodeID(RayletID(i))).Incarnation()
			if last != nil {
				// Above every incarnation the node had: one that rejoined
				// (node.rejoin) numbered itself past netsim's next, and a
				// lower one is refused by the GCS as stale.
				inc = max(inc, last.Incarnation()+1)
			}
			rc := cfg.rayletConfig(c.layout, i, reg, inc)
			rc.Simulated = true
			if cfg.Buggify {
				rc.Buggify = node.BuggifyFor(cfg.Seed)
			}
			last = node.New(env, rc)
			return last
		})
	}
	return c, nil
}

// Launch starts node i now: a standby node's first start
// (NodeConfig.Standby), or a new incarnation of one down (terminated or
// crashed), which registers as any node does. A node that is up is an
// error.
func (c *Sim) Launch(i int) error {
	if i < 0 || i >= len(c.cfg.Nodes) {
		return fmt.Errorf("ray: launch node %d: the cluster has nodes 0 to %d", i, len(c.cfg.Nodes)-1)
	}
	if add := c.standby[i]; add != nil {
		delete(c.standby, i)
		add()
		return nil
	}
	n := c.net.Sim.Node(netsim.NodeID(RayletID(i)))
	switch {
	case n == nil:
		return fmt.Errorf("ray: launch node %q: it joins at its Start", c.cfg.Nodes[i].Name)
	case n.Alive():
		return fmt.Errorf("ray: launch node %q: it is up", c.cfg.Nodes[i].Name)
	}
	c.net.Sim.RestartAs(netsim.NodeID(RayletID(i)), netsim.DetailLaunched)
	return nil
}

// Terminate stops node i on purpose, as an autoscaler ends an idle node:
// its raylet says goodbye to the node table (node.Raylet.Leave, so the
// node is declared dead at once) and the node stops a millisecond later,
// once the goodbye has left; what it held is lost as in a crash. A node
// that is not up, or where drivers run (Go, Run), is an error.
func (c *Sim) Terminate(i int) error {
	if i < 0 || i >= len(c.cfg.Nodes) {
		return fmt.Errorf("ray: terminate node %d: the cluster has nodes 0 to %d", i, len(c.cfg.Nodes)-1)
	}
	name := c.cfg.Nodes[i].Name
	r := c.Raylet(i)
	if r == nil {
		return fmt.Errorf("ray: terminate node %q: it is not up", name)
	}
	if n := c.driversOn[i]; n > 0 {
		return fmt.Errorf("ray: terminate node %q: %d drivers run there (a driver's node ends its job: crash it to mean that)", name, n)
	}
	r.Leave()
	id := netsim.NodeID(RayletID(i))
	inc := c.net.Sim.Node(id).Incarnation()
	c.net.Sim.After(time.Millisecond, func() {
		if n := c.net.Sim.Node(id); n.Alive() && n.Incarnation() == inc {
			c.net.Sim.CrashAs(id, netsim.DetailTerminated)
		}
	})
	return nil
}

// Netsim is the simulator, for fault injection and statistics.
func (c *Sim) Netsim() *netsim.Sim { return c.net.Sim }

// Layout is the cluster's endpoint layout.
func (c *Sim) Layout() *gcs.Layout { return c.layout }

// NodeIndex returns the index of the node named name.
func (c *Sim) NodeIndex(name string) (int, bool) {
	for i, n := range c.cfg.Nodes {
		if n.Name == name {
			return i, true
		}
	}
	return 0, false
}

// Raylet returns node i's raylet (nil while the node is down, or has not
// joined yet: NodeConfig.Start).
func (c *Sim) Raylet(i int) *node.Raylet {
	r, _ := c.net.Handler(RayletID(i)).(*node.Raylet)
	return r
}

// Global returns the global scheduler.
func (c *Sim) Global() *scheduler.Global {
	g, _ := c.net.Handler(SchedulerID).(*scheduler.Global)
	return g
}

// Shard returns GCS shard j (of a chain: the serving tail's state).
func (c *Sim) Shard(j int) *gcs.Shard {
	if !c.layout.Replicated() {
		s, _ := c.net.Handler(ShardID(j)).(*gcs.Shard)
		return s
	}
	for i := len(c.layout.Chains[j]) - 1; i >= 0; i-- {
		if r := c.Replica(j, i); r != nil && r.Serving() {
			if _, m := r.Chain(); m[len(m)-1] == ReplicaID(j, i) {
				return r.Shard()
			}
		}
	}
	return nil
}

// GCSBacklog is the work the GCS has not done yet: the messages waiting at
// its endpoints (every replica of a chain) for them to be free, the most at
// one endpoint (worst, its ID), and whether any endpoint is busy. The GCS
// records tasks and objects asynchronously: a load it cannot keep up with
// leaves drivers done and a backlog growing.
func (c *Sim) GCSBacklog() (total, most int, worst transport.NodeID, busy bool) {
	s := c.net.Sim
	for _, id := range c.gcsEndpoints() {
		n := s.Node(netsim.NodeID(id))
		if n == nil {
			continue
		}
		b := n.Backlog()
		total += b
		if b > most {
			most, worst = b, id
		}
		busy = busy || b > 0 || n.BusyUntil() > s.Now()
	}
	return total, most, worst, busy
}

// gcsEndpoints lists the GCS's endpoints: its shards, or every replica of
// every chain when replicated.
func (c *Sim) gcsEndpoints() []transport.NodeID {
	if !c.layout.Replicated() {
		return c.layout.Shards
	}
	var endpoints []transport.NodeID
	for _, ch := range c.layout.Chains {
		endpoints = append(endpoints, ch...)
	}
	return endpoints
}

// RunUntilGCSCaughtUp runs the simulation on until every GCS endpoint has
// handled what it was sent, and returns the virtual time at which it had:
// the moment the last endpoint became free with nothing waiting (Now is
// left there). Heartbeats keep coming, so the simulation is stepped one
// event at a time while messages wait, and once none do it is run only up
// to the time the busiest endpoint frees up (an event before that may send
// more, and the check goes on); the catch-up is not read at the next event
// after it, which once the drivers are done is often the next heartbeat,
// up to 100 ms late (qa29 #7). It gives up after limit of virtual time
// from now.
func (c *Sim) RunUntilGCSCaughtUp(ctx context.Context, limit time.Duration) (time.Duration, error) {
	sim := c.net.Sim
	deadline := sim.Now() + limit
	endpoints := c.gcsEndpoints()
	// waiting is the messages queued at the endpoints; free is when the
	// last of them is done with the one it is handling (at least Now).
	waiting := func() (total int, free time.Duration) {
		free = sim.Now()
		for _, id := range endpoints {
			if n := sim.Node(netsim.NodeID(id)); n != nil {
				total += n.Backlog()
				free = max(free, n.BusyUntil())
			}
		}
		return total, free
	}
	for steps := 0; ; {
		total, free := waiting()
		if total == 0 && free == sim.Now() {
			return sim.Now(), nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if sim.Now() > deadline || (total == 0 && free > deadline) {
			return 0, fmt.Errorf("ray: the GCS had not caught up after %v of virtual time", limit)
		}
		if total == 0 {
			// Nothing waits: the endpoints are free at free unless an
			// event before then sends them more.
			sim.RunUntil(free)
			continue
		}
		if sim.Pending() == 0 { // nothing left to happen: time would stand still
			return 0, fmt.Errorf("ray: the GCS has %d messages waiting at %v with nothing left to run", total, sim.Now())
		}
		// Step until nothing waits at any endpoint (checked after each
		// event), the deadline passes, or (every 4096 events) ctx ends.
		sim.RunWhile(func() bool {
			steps++
			if steps%4096 == 0 && ctx.Err() != nil {
				return false
			}
			if sim.Now() > deadline {
				return false
			}
			t, _ := waiting()
			return t > 0
		})
	}
}

// Replica returns replica i of GCS shard j's chain (nil when unreplicated
// or down).
func (c *Sim) Replica(j, i int) *gcs.Replica {
	r, _ := c.net.Handler(ReplicaID(j, i)).(*gcs.Replica)
	return r
}

// Go starts a driver program on node i at the current virtual time. Its
// error, if any, is returned by Run. The driver is a job of its own, as a
// Ray driver script is: when it returns, its job ends (node.Caller.EndJob)
// — its tasks still queued or running are cancelled, its actors that are
// not detached are killed and its placement groups that are not detached
// removed, wherever they are — and the other drivers' jobs, on the same
// node too, go on. A driver whose node crashes under it ends with the
// node (its job ends when the node table declares the node dead).
func (c *Sim) Go(i int, driver func(ctx context.Context) error) error {
	return c.start(i, driver, true)
}

// GoThread starts driver on node i as a thread of the node's standing
// driver program rather than a program of its own: it runs in the node's
// job (transport.JobOf(node, 0)), which all the node's threads share and
// which ends only with the node, not when a thread returns. The scenario
// runner's workloads are such threads (one driver program per node, a
// thread per workload driver, as a Ray script that starts threads), so a
// workload that finishes first leaves the others' work be. Otherwise as
// Go.
func (c *Sim) GoThread(i int, driver func(ctx context.Context) error) error {
	return c.start(i, driver, false)
}

// start starts a driver on node i (Go, GoThread): a job of its own that
// ends as it returns if own, else a thread of the node's job.
func (c *Sim) start(i int, driver func(ctx context.Context) error, own bool) error {
	if c.closed {
		return ErrClosed
	}
	r := c.Raylet(i)
	if r == nil {
		return fmt.Errorf("ray: node %d is not running", i)
	}
	id := transport.DriverTaskID(c.cfg.Seed, uint64(c.drivers))
	c.drivers++
	c.running++
	if c.driversOn == nil {
		c.driversOn = map[int]int{}
	}
	c.driversOn[i]++
	caller := r.NewDriver(id)
	if own {
		if c.startedOn == nil {
			c.startedOn = map[int]uint32{}
		}
		c.startedOn[i]++ // from 1: 0 is the node's own job (GoThread)
		caller = r.NewJobDriver(id, c.startedOn[i])
	}
	if c.cfg.Namespace != "" {
		if err := caller.SetNamespace(c.cfg.Namespace); err != nil { // checked by defaults
			return fmt.Errorf("ray: Namespace: %w", err)
		}
	}
	name := c.cfg.Nodes[i].Name
	c.net.Env(RayletID(i)).Go(func() {
		returned := false
		defer func() {
			c.running--
			c.driversOn[i]--
			caller.End()
			if !returned {
				// Its node's crash unwound the coroutine: the driver did
				// not finish, and Err must not say it did.
				c.errs = append(c.errs, fmt.Errorf("ray: driver on node %d (%s) did not return: its node crashed: %w", i, name, ErrDriverNodeDied))
			}
		}()
		err := driver(caller.Context())
		returned = true
		if own {
			// A normal return (a crash of the node unwinds the coroutine
			// past this, and its death ends the job).
			caller.EndJob()
		}
		if err != nil {
			c.errs = append(c.errs, err)
		}
	})
	return nil
}

// ErrVirtualTimeout is returned by Run when drivers are still running at
// Config.MaxVirtual.
var ErrVirtualTimeout = errors.New("ray: virtual time limit reached with drivers still running")

// ErrNestedRun is returned by Run and RunThread called from inside the
// simulation (a driver or a task): the simulation already runs there, on
// the goroutine that called the outer Run. Start another driver with Go.
var ErrNestedRun = errors.New("ray: Sim.Run called from inside a simulated driver or task (the simulation already runs: start another driver with Sim.Go)")

// Run starts driver on node 0 (if not nil) and runs the simulation until
// every driver started with Go or Run has returned. It returns the drivers'
// errors joined. Called from a driver or task it starts nothing and
// returns ErrNestedRun.
func (c *Sim) Run(driver func(ctx context.Context) error) error {
	if c.net.Sim.InCoroutine() {
		return ErrNestedRun
	}
	if driver != nil {
		if err := c.Go(0, driver); err != nil {
			return err
		}
	}
	c.RunUntil(c.cfg.MaxVirtual)
	return c.Err()
}

// RunThread is Run for a thread of node 0's standing driver program (see
// GoThread): its job, the node's, does not end as it returns, so what it
// created (actors, placement groups, refs) serves the threads run after
// it, as in one Ray driver script.
func (c *Sim) RunThread(driver func(ctx context.Context) error) error {
	if c.net.Sim.InCoroutine() {
		return ErrNestedRun
	}
	if err := c.GoThread(0, driver); err != nil {
		return err
	}
	return c.Run(nil)
}

// RunUntil advances the simulation while drivers are running, up to virtual
// time t: it runs every event due by t, none after, and leaves the clock at
// t (netsim.Sim.RunUntilWhile), so that what a caller then inspects
// (Sim.Global, Raylet) and injects (a fault "now") is the state at t. It
// stops earlier when every driver has returned (the clock then stays at
// the last event), or when nothing is left to happen. It reports whether
// every driver has returned. Callers that want progress reports call it
// in slices. Called from a driver or task (where the simulation already
// runs: see ErrNestedRun) it runs nothing and reports whether every other
// driver has returned.
func (c *Sim) RunUntil(t time.Duration) (done bool) {
	if c.net.Sim.InCoroutine() {
		return c.running == 0
	}
	c.net.Sim.RunUntilWhile(t, func() bool { return c.running > 0 })
	return c.running == 0
}

// Running is the number of drivers still running.
func (c *Sim) Running() int { return c.running }

// Err is nil once every driver returned without error; else the drivers'
// errors joined (a driver its node's crash ended counts as one: an error
// wrapping ErrDriverNodeDied), or ErrVirtualTimeout if some are still
// running.
func (c *Sim) Err() error {
	if c.running > 0 {
		return fmt.Errorf("%w (%v)", ErrVirtualTimeout, c.cfg.MaxVirtual)
	}
	return errors.Join(c.errs...)
}

// Close releases the simulator's coroutines.
func (c *Sim) Close() { c.closed = true; c.net.Sim.Close() }
