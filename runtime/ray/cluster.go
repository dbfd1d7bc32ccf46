package ray

import (
	"context"
	"errors"
	"fmt"
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
	Name             string
	CPUs, GPUs       float64
	Resources        map[string]float64
	ObjectStoreBytes int64 // 0 = unbounded
}

// Config describes a cluster, simulated or real.
type Config struct {
	Nodes          []NodeConfig
	Seed           int64
	GCSShards      int    // default 1
	Policy         string // default "bottom-up"
	SpillThreshold int    // default 8
	Costs          *costs.Profile
	// Simulation only.
	Link            netsim.Link   // default link model (default: 100µs constant latency, 10 Gbps)
	WireCheck       bool          // round-trip every message through the codec
	MaxVirtual      time.Duration // stop a run past this virtual time (default 1h)
	HeartbeatPeriod time.Duration // default 100ms
	NodeTimeout     time.Duration // silence before a node is declared dead (default 5 heartbeats)
	OnEvent         func(*transport.Event)
	OnNetEvent      func(*netsim.Event)
}

// Endpoint IDs: raylet i is NodeID(i+1); the global scheduler and the GCS
// shards live above SchedulerID.
const SchedulerID transport.NodeID = 1 << 20

// RayletID is the NodeID of the i-th node of a cluster.
func RayletID(i int) transport.NodeID { return transport.NodeID(i + 1) }

// ShardID is the NodeID of GCS shard j.
func ShardID(j int) transport.NodeID { return SchedulerID + 1 + transport.NodeID(j) }

func (cfg *Config) defaults() error {
	if len(cfg.Nodes) == 0 {
		return errors.New("ray: a cluster needs at least one node")
	}
	if cfg.GCSShards <= 0 {
		cfg.GCSShards = 1
	}
	if cfg.SpillThreshold <= 0 {
		cfg.SpillThreshold = 8
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
	_, err := scheduler.NewPolicy(cfg.Policy)
	return err
}

func (cfg *Config) layout() *gcs.Layout {
	l := &gcs.Layout{Scheduler: SchedulerID}
	for j := 0; j < cfg.GCSShards; j++ {
		l.Shards = append(l.Shards, ShardID(j))
	}
	for i := range cfg.Nodes {
		l.Raylets = append(l.Raylets, RayletID(i))
	}
	return l
}

func (cfg *Config) newShard(env transport.Env, l *gcs.Layout) *gcs.Shard {
	return gcs.New(env, gcs.Config{Layout: l, Costs: *cfg.Costs, HeartbeatPeriod: cfg.HeartbeatPeriod, NodeTimeout: cfg.NodeTimeout})
}

func (cfg *Config) rayletConfig(l *gcs.Layout, i int, reg *Registry, inc uint64) node.Config {
	n := cfg.Nodes[i]
	pol, _ := scheduler.NewPolicy(cfg.Policy)
	return node.Config{
		Layout: l, Resources: transport.MakeResources(n.CPUs, n.GPUs, n.Resources),
		ObjectStoreBytes: n.ObjectStoreBytes, Policy: pol, SpillThreshold: cfg.SpillThreshold,
		Costs: *cfg.Costs, Registry: reg, HeartbeatPeriod: cfg.HeartbeatPeriod, Incarnation: inc,
	}
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
}

// NewSim builds a simulated cluster (nothing runs until Run).
func NewSim(cfg Config, reg *Registry) (*Sim, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Sim{cfg: cfg, reg: reg, layout: cfg.layout()}
	var net *sim.Net
	ns := netsim.New(netsim.Config{Seed: cfg.Seed, Link: cfg.Link, OnEvent: func(ev *netsim.Event) {
		net.OnNetEvent(ev) // retransmits lost frames
		if cfg.OnNetEvent != nil {
			cfg.OnNetEvent(ev)
		}
	}})
	net = sim.New(ns, sim.Options{WireCheck: cfg.WireCheck, OnEvent: cfg.OnEvent})
	c.net = net
	pol, _ := scheduler.NewPolicy(cfg.Policy)
	for _, id := range c.layout.Shards {
		c.net.Add(id, func(env transport.Env) transport.Handler { return cfg.newShard(env, c.layout) })
	}
	c.net.Add(SchedulerID, func(env transport.Env) transport.Handler {
		return scheduler.NewGlobal(env, scheduler.GlobalConfig{Layout: c.layout, Policy: pol, Costs: *cfg.Costs,
			Bandwidth: cfg.Link.Bandwidth, SpillThreshold: cfg.SpillThreshold})
	})
	for i := range cfg.Nodes {
		i := i
		c.net.Add(RayletID(i), func(env transport.Env) transport.Handler {
			inc := ns.Node(netsim.NodeID(RayletID(i))).Incarnation()
			return node.New(env, cfg.rayletConfig(c.layout, i, reg, inc))
		})
	}
	return c, nil
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

// Raylet returns node i's raylet (nil while the node is down).
func (c *Sim) Raylet(i int) *node.Raylet {
	r, _ := c.net.Handler(RayletID(i)).(*node.Raylet)
	return r
}

// Global returns the global scheduler.
func (c *Sim) Global() *scheduler.Global {
	g, _ := c.net.Handler(SchedulerID).(*scheduler.Global)
	return g
}

// Shard returns GCS shard j.
func (c *Sim) Shard(j int) *gcs.Shard {
	s, _ := c.net.Handler(ShardID(j)).(*gcs.Shard)
	return s
}

// Go starts a driver program on node i at the current virtual time. Its
// error, if any, is returned by Run.
func (c *Sim) Go(i int, driver func(ctx context.Context) error) error {
	r := c.Raylet(i)
	if r == nil {
		return fmt.Errorf("ray: node %d is not running", i)
	}
	id := transport.DriverTaskID(c.cfg.Seed, uint64(c.drivers))
	c.drivers++
	c.running++
	caller := r.NewDriver(id)
	c.net.Env(RayletID(i)).Go(func() {
		defer func() { c.running-- }()
		if err := driver(caller.Context()); err != nil {
			c.errs = append(c.errs, err)
		}
	})
	return nil
}

// ErrVirtualTimeout is returned by Run when drivers are still running at
// Config.MaxVirtual.
var ErrVirtualTimeout = errors.New("ray: virtual time limit reached with drivers still running")

// Run starts driver on node 0 (if not nil) and runs the simulation until
// every driver started with Go or Run has returned. It returns the drivers'
// errors joined.
func (c *Sim) Run(driver func(ctx context.Context) error) error {
	if driver != nil {
		if err := c.Go(0, driver); err != nil {
			return err
		}
	}
	c.RunUntil(c.cfg.MaxVirtual)
	return c.Err()
}

// RunUntil advances the simulation while drivers are running, up to virtual
// time t; it reports whether every driver has returned. Callers that want
// progress reports call it in slices.
func (c *Sim) RunUntil(t time.Duration) (done bool) {
	s := c.net.Sim
	s.RunWhile(func() bool { return c.running > 0 && s.Now() <= t })
	return c.running == 0
}

// Running is the number of drivers still running.
func (c *Sim) Running() int { return c.running }

// Err is nil once every driver returned without error; else the drivers'
// errors joined, or ErrVirtualTimeout if some are still running.
func (c *Sim) Err() error {
	if c.running > 0 {
		return fmt.Errorf("%w (%v)", ErrVirtualTimeout, c.cfg.MaxVirtual)
	}
	return errors.Join(c.errs...)
}

// Close releases the simulator's coroutines.
func (c *Sim) Close() { c.net.Sim.Close() }
