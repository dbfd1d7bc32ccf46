// Package scenarios is raysim's scenario file format: the types a scenario
// decodes into, the strict loader (every error at once, each with file, line,
// column and field path), --set overrides, units, and a canonical encoder.
// Running a scenario is the runner's job; this package only says what to run.
//
// docs/scenarios.md is the reference for the file format.
package scenarios

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"raysim/runtime/costs"
)

// Defaults used when a scenario leaves a key out.
const (
	DefaultSeed             = 1
	DefaultDurationLimit    = time.Hour
	DefaultObjectStoreBytes = 2 << 30
	DefaultLatency          = 100 * time.Microsecond
	DefaultBandwidth        = 10e9 / 8 // 10Gbps in bytes per second
	DefaultSpillThreshold   = 4
	DefaultMaxRetries       = 3
	DefaultPolicy           = "bottom-up"
	DefaultCostProfile      = "default"
)

// Scenario is one decoded, validated scenario file.
type Scenario struct {
	// File is the name the scenario was loaded under (used in messages).
	File        string
	Name        string // defaults to the file's base name without extension
	Seed        int64  // defaults to DefaultSeed
	Description string
	// DurationLimit caps virtual time; a run still going then has failed.
	DurationLimit time.Duration
	Cluster       Cluster
	Workload      []Workload
	Faults        []Fault // sorted stably by At
	Expect        Expect

	root      *yaml.Node // the (overridden) document, for Set
	data      []byte
	sets      []string
	nodeIndex map[string]int
	ext       *Extensions // what the program added to the format (ParseWith)
}

// Extensions returns the extensions s was loaded with (nil: none).
func (s *Scenario) Extensions() *Extensions { return s.ext }

// SetExtensions gives a scenario assembled from structs (check's
// generator's) the extensions its names may use; they are checked when it
// is written and parsed back (Marshal, ParseWith with s.Extensions()).
func (s *Scenario) SetExtensions(e *Extensions) { s.ext = e }

// NodeIndex returns the position of the named node in Cluster.Nodes.
func (s *Scenario) NodeIndex(name string) (int, bool) {
	i, ok := s.nodeIndex[name]
	return i, ok
}

// Overrides returns the --set overrides applied so far, as "path=value".
func (s *Scenario) Overrides() []string { return append([]string(nil), s.sets...) }

// Cluster is the simulated (or real) cluster.
type Cluster struct {
	Groups    []NodeGroup // as written
	Nodes     []NodeSpec  // Groups expanded, in order
	Network   Network
	GCS       GCSConfig
	Scheduler SchedulerConfig
	Costs     Costs
}

// NodeGroup is one entry of cluster.nodes. Count 1 makes one node called
// Name; Count N > 1 makes Name-0 .. Name-(N-1); Count 0 makes none.
type NodeGroup struct {
	Name             string
	Count            int
	CPUs             float64
	GPUs             float64
	Resources        map[string]float64 // custom resources; never CPU or GPU
	ObjectStoreBytes int64
	ObjectSpillBytes int64 // object_spill: the spill tier (0 = none, the default)
	// Start: the group's nodes join the cluster at this virtual time (a
	// machine booting; 0, the default: with the cluster). Simulator only.
	Start time.Duration
	// Autoscale makes the group an autoscaler's pool (nil: none): Count
	// is its most nodes. Simulator only.
	Autoscale *Autoscale
}

// Autoscale is a node group's autoscaling (Ray's autoscaler: a node
// type's min_workers, max_workers — the group's count — and
// idle_timeout). The runner's autoscaler looks at the cluster every
// AutoscalePeriod of virtual time: it launches the group's nodes for the
// demand no node up can meet (tasks the global scheduler holds as
// infeasible, and unplaced bundles of pending placement groups, that one
// of the group's nodes could hold, packed first fit
// onto nodes of the group's shape; not the tasks queued on the nodes up,
// which stay where they are); a launched node joins Boot later. A node of
// the group above Min that has been idle (nothing queued or running,
// every resource free, no actor, no primary copy in its store) for
// IdleTimeout is terminated: it says goodbye and stops
// (ray.Sim.Terminate).
type Autoscale struct {
	Min         int           // nodes up from the start (default 0)
	Boot        time.Duration // from a launch to the node joining (default 0)
	IdleTimeout time.Duration // default 60s
}

// AutoscalePeriod is how often the runner's autoscaler looks at the
// cluster (Ray's autoscaler updates every 5 s; a simulated run is often
// shorter).
const AutoscalePeriod = time.Second

// DefaultIdleTimeout is an autoscaled group's idle_timeout unless set.
const DefaultIdleTimeout = time.Minute

// NodeSpec is one node of the expanded cluster.
type NodeSpec struct {
	Name             string
	Group            string // the NodeGroup it came from
	CPUs             float64
	GPUs             float64
	Resources        map[string]float64
	ObjectStoreBytes int64
	ObjectSpillBytes int64
	Start            time.Duration // when it joins (NodeGroup.Start)
	// Standby: an autoscaled group's node beyond its Min, which starts
	// when the autoscaler launches it.
	Standby bool
}

// Node is the spec of the group's k-th node, as the decoder expands the
// group into Cluster.Nodes: named as the group if it is the only one,
// else "name-k"; standby if the group is an autoscaler's and k is at or
// above its Min.
func (g *NodeGroup) Node(k int) NodeSpec {
	name := g.Name
	if g.Count > 1 {
		name = fmt.Sprintf("%s-%d", g.Name, k)
	}
	return NodeSpec{Name: name, Group: g.Name, CPUs: g.CPUs, GPUs: g.GPUs, Resources: g.Resources,
		ObjectStoreBytes: g.ObjectStoreBytes, ObjectSpillBytes: g.ObjectSpillBytes, Start: g.Start,
		Standby: g.Autoscale != nil && k >= g.Autoscale.Min}
}

// NodeSpecs is the cluster's nodes: Nodes, which the decoder sets; or,
// for a Cluster built in code with Groups only (the fault search's
// generator draws groups, and asks which nodes host drivers before the
// scenario is parsed back), Groups expanded as the decoder expands them.
func (c *Cluster) NodeSpecs() []NodeSpec {
	if len(c.Nodes) > 0 || len(c.Groups) == 0 {
		return c.Nodes
	}
	var out []NodeSpec
	for i := range c.Groups {
		for k := range c.Groups[i].Count {
			out = append(out, c.Groups[i].Node(k))
		}
	}
	return out
}

// StartNodes lists the indices of the nodes up when the run starts (no
// Start, not standby), in order: where the drivers run.
func (c *Cluster) StartNodes() []int {
	var out []int
	for i, n := range c.NodeSpecs() {
		if n.Start == 0 && !n.Standby {
			out = append(out, i)
		}
	}
	return out
}

// Network is the link model. Every ordered pair of nodes gets the defaults,
// then every Link that matches it, in order (later links win per field).
type Network struct {
	Latency   DurationDist // one-way; default constant 100us
	Jitter    DurationDist // added per message; default 0
	Bandwidth float64      // bytes per second per link; 0 = unlimited
	Loss      float64      // probability a message is dropped
	Duplicate float64      // probability a message is delivered twice
	Reorder   float64      // probability a message is delayed past later ones
	Links     []Link
}

// Link overrides the network model between two sets of nodes. Nil fields keep
// the value from Network.
type Link struct {
	From, To           string   // as written: node or group names
	FromNodes, ToNodes []string // resolved node names
	Symmetric          bool     // also applies To -> From (default true)
	Latency            *DurationDist
	Jitter             *DurationDist
	Bandwidth          *float64
	Loss               *float64
	Duplicate          *float64
	Reorder            *float64
}

// GCSConfig shapes the global control store: Shards shards, each a chain of
// Replicas replicas. Replica i of shard s has flat index s*Replicas+i.
type GCSConfig struct {
	Shards   int
	Replicas int
}

// SchedulerConfig picks the scheduling policy.
type SchedulerConfig struct {
	Policy         string
	SpillThreshold int // local queue length above which tasks spill to the global scheduler
}

// CostOps are the operation names of a service-time profile.
var CostOps = costs.Names

// CostProfiles are the built-in profile names.
var CostProfiles = []string{"default", "zero"}

// Costs is the service-time profile: a built-in base profile plus
// per-operation overrides (keys from CostOps). A profile given as a path is
// read at load time and folded in: Profile is then its base, Path the file.
type Costs struct {
	Profile   string
	Path      string
	Overrides map[string]time.Duration
}

// Arrival kinds.
const (
	Burst   = "burst"   // every root task at Start
	Steady  = "rate"    // root tasks evenly spaced at Rate
	Poisson = "poisson" // root tasks with exponential gaps of mean 1/Rate
)

// MaxNodes bounds the nodes of a cluster (all its groups' counts).
const MaxNodes = 1_000_000

// MinRate is the lowest rate (per second) of an arrival, per driver, and of
// a random fault process: one event in ~32 years. Below ~1.1e-10/s the mean
// gap, 1/rate, is past what a time.Duration holds (~292 years).
const MinRate = 1e-9

// Arrival is how a workload's root tasks are submitted.
type Arrival struct {
	Kind string
	Rate float64 // per second; required for rate and poisson
}

// Drivers is how many drivers submit a workload: Count of them on the first
// nodes, or one per node.
type Drivers struct {
	Count   int
	PerNode bool
}

// N is the number of drivers on a cluster of the given size.
func (d Drivers) N(nodes int) int {
	if d.PerNode {
		return nodes
	}
	return d.Count
}

// Workload is one entry of workload.
type Workload struct {
	Name       string // defaults to "GENERATOR-INDEX"
	Generator  string
	Params     Params // *ParallelParams, *TreeReduceParams, ...
	Arrival    Arrival
	Drivers    Drivers
	Start      time.Duration
	Resources  map[string]float64 // per task; keys CPU, GPU and custom names; default {CPU: 1}
	MaxRetries int
	// RetryExceptions: the entry's tasks (as Resources: nested's children
	// and reread tasks too) run again on their own errors, injected ones
	// (task_errors) included, while MaxRetries allows (ray.RetryExceptions).
	RetryExceptions bool
	// Group, if set: each driver of the entry makes a placement group of
	// Group.Bundles bundles of the entry's Resources, waits for it, runs
	// its root tasks in it (ray.InPlacementGroup, any bundle) and removes
	// it when done; with Group.CaptureChildTasks, the tasks those submit
	// (nested's children) run in it too. Task generators only.
	Group *GroupSpec
}

// GroupSpec is a workload entry's placement_group.
type GroupSpec struct {
	Bundles  int
	Strategy string // Ray's name: PACK (default), SPREAD, STRICT_PACK, STRICT_SPREAD
	// CaptureChildTasks: the root tasks capture their children into the
	// group (ray.CaptureChildTasks, Ray's
	// placement_group_capture_child_tasks); a nested entry's group then
	// needs a bundle for each task a driver may have alive at once
	// (CapturedNestedTasks), the loader checks.
	CaptureChildTasks bool
}

// GroupStrategies are the placement group strategies, by Ray's names.
var GroupStrategies = []string{"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}

// Expect is what a run must achieve. Zero values are unchecked, except
// MaxFailedTasks, which is nil when unchecked.
type Expect struct {
	AllComplete    bool
	ResultsCorrect bool
	NoLostObjects  bool
	MaxFailedTasks *int
	Latency        LatencyBounds
	Throughput     ThroughputBound
	FinishBy       time.Duration
	// Invariants names fault-search invariants (InvariantNames) the run
	// must hold, checked by `raysim run` in the simulator (package
	// scenarios/check evaluates them): a failure file of the fault search
	// names the one it violated, so its replay shows the violation.
	Invariants []string
}

// InvariantNames are the fault search's invariants (scenarios/check's
// DefaultInvariants, a test keeps the two alike), as expect.invariants
// names them.
var InvariantNames = []string{"correct", "allowed-errors", "liveness", "no-phantom-objects", "deterministic"}

// LatencyBounds are upper bounds on task latency (submission to result); zero
// is unchecked.
type LatencyBounds struct {
	P50, P90, P99, Max time.Duration
}

// ThroughputBound is a lower bound on completed tasks per virtual second; zero
// is unchecked.
type ThroughputBound struct {
	Min float64
}
