// Package check is raysim's property-based fault testing: rapid generators
// for random clusters, workloads and fault schedules (each one a valid
// *scenarios.Scenario, since every generated scenario goes through
// scenarios.Parse), invariant checkers over a run's result and event stream,
// and shrink-to-scenario: a failing case is written out as a scenario file
// that `raysim run FILE` replays exactly.
//
// A property test for one of the scheduling policies (the built-ins,
// scheduler.PolicyNames, or a program's own: Gen.Extensions) or workloads
// is a few lines:
//
//	func TestLocalityAwareSurvivesFaults(t *testing.T) {
//		g := check.DefaultGen()
//		g.Policies = []string{"locality-aware"}
//		g.Dir = t.TempDir()
//		rapid.Check(t, func(rt *rapid.T) { check.Property(rt, g) })
//	}
//
// Property checks DefaultInvariants, or only the invariants it is given:
// pass append(check.DefaultInvariants(), mine) to add one. A failure file
// names the violated invariant under expect.invariants only when it is one
// of the defaults (a replay with `raysim run` checks those); a custom
// invariant's replay shows the run, not its verdict.
//
// Outside `go test` (the `raysim check` command), Search runs a seeded
// search around a base scenario and Shrink minimizes a failure by deleting
// faults and halving counts.
package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"pgregory.net/rapid"

	"raysim/runtime/scheduler"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// Fault kinds the generator draws from (a subset of scenarios.FaultKinds).
// A kill_node is paired with a restart_node, but for a node whose group's
// others can run its work (spareNodes), which may die for good; every
// partition and link degradation ends (a `for`, or a heal), so once the
// schedule is over the cluster is whole again (less those nodes) and all
// work must finish (liveness).
var (
	// DefaultFaultKinds are drawn unless Gen.FaultKinds says otherwise.
	DefaultFaultKinds = []string{scenarios.KillNode, scenarios.Partition, scenarios.Heal,
		scenarios.DegradeLink, scenarios.PauseNode, scenarios.Random, scenarios.KillActor, scenarios.SkewClock}
	// AllFaultKinds adds kill_gcs_replica (drawn only when the cluster's GCS
	// has at least two replicas per shard, half the time with its
	// restart_gcs_replica) and task_errors (injected
	// application errors: a task failing with one is allowed, so they test
	// that retry_exceptions and the failures around them never make a
	// wrong value or a hang).
	AllFaultKinds = append(slices.Clone(DefaultFaultKinds), scenarios.KillGCSReplica, scenarios.TaskErrors)
)

// Gen says what to generate. The zero value of a field means its default
// (see DefaultGen); Base switches to "faults around a given scenario".
type Gen struct {
	// Base, if set, keeps this scenario's cluster and workload and generates
	// only a fault schedule (replacing its faults, or adding to them with
	// KeepFaults). Its duration_limit is extended to fit the schedule.
	Base       *scenarios.Scenario
	KeepFaults bool

	MaxNodes   int      // total nodes of a generated cluster, >= 2 (0: default 5)
	MaxEntries int      // workload entries (default 2)
	Generators []string // workload generators to draw from (default all)
	Policies   []string // scheduling policies to draw from (default all: the built-ins and Extensions')
	// Extensions are the program's own additions to the scenario format
	// (its scheduling policies and workloads) that Policies and
	// Generators may name (Generators' default stays the built-ins: an
	// own workload is drawn only when named); every drawn
	// scenario carries them (scenarios.Scenario.Extensions), so its run
	// and its shrinking use them too. With Base, Base's own are used.
	Extensions *scenarios.Extensions
	// MaxFaults bounds the explicit fault entries (0: default 5; a kill and
	// its restart count as one). For none, see Validate.
	MaxFaults  int
	FaultKinds []string // default DefaultFaultKinds
	// NoNetworkFaults keeps the cluster's network from losing, duplicating
	// and reordering messages during the whole run (by default drawn
	// network faults may).
	NoNetworkFaults bool
	// NoControlPlane keeps partitions and degraded links among the nodes.
	// By default they may also name the control plane (the scheduler and
	// the GCS shards: scenarios.EndpointScheduler, EndpointGCS), so that
	// news between it and the nodes is delayed and reordered too.
	NoControlPlane bool
	// Horizon: every fault starts before it (default 1s; Search around a
	// Base defaults it to the base's fault-free run time). Settle: the
	// liveness bound, how long after the last fault ends all work must be
	// done (default 10s); duration_limit = last fault end + Settle (plus
	// CallersSerialized: actor-calls' callers run one after another), or
	// the Base scenario's own duration_limit when it sets a later one.
	Horizon time.Duration
	Settle  time.Duration
	// BaseTime is the Base scenario's fault-free run time (Search measures
	// it with Baseline before it draws; 0: unknown). The liveness bound
	// adds twice it, duration_limit = last fault end + Settle + 2*BaseTime
	// (a crash may make all the work so far run again, and the retried
	// tasks then queue behind the rest), so a workload that needs longer
	// than Settle without any fault is not reported as a liveness
	// violation.
	BaseTime time.Duration

	// Dir is where Property writes a failing scenario (default
	// testdata/failures); Name its file name without .yaml (default
	// "failure"). Each failing case overwrites the file, so after rapid's
	// shrinking it holds the minimal one.
	Dir  string
	Name string
}

// DefaultGen returns the defaults spelled out.
func DefaultGen() Gen {
	return Gen{MaxNodes: 5, MaxEntries: 2, Generators: slices.Clone(scenarios.Generators),
		Policies: scheduler.PolicyNames(), MaxFaults: 5, FaultKinds: slices.Clone(DefaultFaultKinds),
		Horizon: time.Second, Settle: 10 * time.Second, Dir: "testdata/failures", Name: "failure"}
}

// Validate reports a Gen naming a policy, generator or fault kind the
// scenario format does not have (each would make every drawn scenario
// invalid, reported as a generator bug), and bounds that are neither 0
// (the default) nor usable: a negative count or duration, MaxNodes 1 (a
// cluster needs two nodes). MaxFaults 0 is the default (5); for a search
// without faults give FaultKinds []string{scenarios.Heal}, as raysim
// check --max-faults 0 does.
func (g Gen) Validate() error {
	for _, c := range []struct {
		what string
		bad  bool
		got  any
		want string
	}{
		{"MaxNodes", g.MaxNodes < 0 || g.MaxNodes == 1, g.MaxNodes, "0 (default 5) or at least 2"},
		{"MaxEntries", g.MaxEntries < 0, g.MaxEntries, "0 (default 2) or more"},
		{"MaxFaults", g.MaxFaults < 0, g.MaxFaults, "0 (default 5) or more; no faults: FaultKinds {heal}"},
		{"Horizon", g.Horizon < 0, g.Horizon, "0 (default 1s) or more"},
		{"Settle", g.Settle < 0, g.Settle, "0 (default 10s) or more"},
	} {
		if c.bad {
			return fmt.Errorf("check: Gen: %s %v: want %s", c.what, c.got, c.want)
		}
	}
	for _, c := range []struct {
		what       string
		got, known []string
	}{{"policy", g.Policies, g.ext().PolicyNames()}, {"generator", g.Generators, g.ext().GeneratorNames()}, {"fault kind", g.FaultKinds, AllFaultKinds}} {
		for _, x := range c.got {
			if !slices.Contains(c.known, x) {
				return fmt.Errorf("check: Gen: unknown %s %q (known: %s)", c.what, x, strings.Join(c.known, ", "))
			}
		}
	}
	return nil
}

// ext is the extensions the drawn scenarios may name: Base's, with a Base.
func (g Gen) ext() *scenarios.Extensions {
	if g.Base != nil {
		return g.Base.Extensions()
	}
	return g.Extensions
}

func (g Gen) withDefaults() Gen {
	d := DefaultGen()
	if g.MaxNodes < 2 {
		g.MaxNodes = d.MaxNodes
	}
	if g.MaxEntries < 1 {
		g.MaxEntries = d.MaxEntries
	}
	if len(g.Generators) == 0 {
		g.Generators = d.Generators
	}
	if len(g.Policies) == 0 {
		g.Policies = g.ext().PolicyNames()
	}
	if g.MaxFaults <= 0 {
		g.MaxFaults = d.MaxFaults
	}
	if len(g.FaultKinds) == 0 {
		g.FaultKinds = d.FaultKinds
	}
	if g.Horizon <= 0 {
		g.Horizon = d.Horizon
	}
	if g.Settle <= 0 {
		g.Settle = d.Settle
	}
	if g.Dir == "" {
		g.Dir = d.Dir
	}
	if g.Name == "" {
		g.Name = d.Name
	}
	return g
}

// Scenario is the generator of whole scenarios: a random cluster, workload
// and fault schedule (or, with Base, a random schedule around Base). Every
// value has been through scenarios.Parse.
func (g Gen) Scenario() *rapid.Generator[*scenarios.Scenario] {
	g = g.withDefaults()
	return rapid.Custom(func(t *rapid.T) *scenarios.Scenario {
		var s *scenarios.Scenario
		if g.Base != nil {
			s = clone(g.Base)
			if !g.KeepFaults {
				s.Faults = nil
			}
		} else {
			s = &scenarios.Scenario{Name: "check", DurationLimit: time.Hour}
			s.SetExtensions(g.Extensions)
			s.Cluster = g.Cluster().Draw(t, "cluster")
			s.Workload = g.Workload(&s.Cluster).Draw(t, "workload")
		}
		s.Seed = rapid.Int64Range(1, 1<<31).Draw(t, "seed")
		s.Faults = append(s.Faults, g.Faults(s).Draw(t, "faults")...)
		return g.finish(t, s)
	})
}

// finish fits duration_limit to the schedule, sets the expectations a replay
// shows, and round-trips the scenario through Marshal and Parse.
func (g Gen) finish(t *rapid.T, s *scenarios.Scenario) *scenarios.Scenario {
	end := FaultsEnd(s)
	start := time.Duration(0)
	for _, w := range s.Workload {
		start = max(start, w.Start)
	}
	limit := max(end, start) + g.Settle + 2*g.BaseTime + CallersSerialized(s)
	if g.Base != nil && g.Base.DurationLimit != scenarios.DefaultDurationLimit {
		// A scenario that sets its own limit (its work may need longer)
		// keeps it if later; the default hour would make Settle moot.
		limit = max(limit, g.Base.DurationLimit)
	}
	s.DurationLimit = max(limit, s.Expect.FinishBy) // a limit must allow the scenario's own finish_by
	// The search checks invariants, not a Base's expectations (they may
	// not hold under faults: finish_by, all_complete, latency bounds), so
	// the drawn scenario expects only correct results; a failure file
	// expects only the invariant violated (Write).
	s.Expect = scenarios.Expect{ResultsCorrect: true}
	out, err := Reparse(s)
	if err != nil {
		t.Fatalf("check: generated an invalid scenario (a generator bug): %v", err)
	}
	return out
}

// CallersSerialized bounds how long the scenario's actor-calls caller
// tasks take run one after another, which the liveness limit adds to the
// settle time: where every caller needs the one node that can hold it (a
// GPU or accel entry on a cluster with one such node), each of an entry's
// drivers×callers tasks paces its calls over its driver's span,
// calls/(rate/drivers), and may run 1+max_retries times, each run the
// whole span again (a caller whose actor died for good, with its owner,
// fails with ErrActorDied only once its calls are all made, an exception
// that retry_exceptions retries; a node's death retries it too). Before,
// the limit was the faults' end plus Settle alone: the 40,000-scenario
// search at 5cd6d8a reported a liveness failure
// (doomed-callers-serialized-on-one-accel) whose work finished 0.5s past
// it, nothing stuck: nine doomed runs of one driver's three callers held
// the one accel node for 7.5s before the other driver's three ran.
func CallersSerialized(s *scenarios.Scenario) time.Duration {
	var sum time.Duration
	for _, w := range s.Workload {
		p, ok := w.Params.(*scenarios.ActorCallsParams)
		if !ok || w.Arrival.Rate <= 0 || (w.Arrival.Kind != scenarios.Steady && w.Arrival.Kind != scenarios.Poisson) {
			continue // a burst's calls are made at once
		}
		drivers := max(1, w.Drivers.N(len(s.Cluster.StartNodes()))) // as the runner counts them (per_node: the nodes up at the start)
		span := time.Duration(float64(p.Calls) / (w.Arrival.Rate / float64(drivers)) * float64(time.Second))
		sum += time.Duration(drivers*max(0, p.Callers)*(1+max(0, w.MaxRetries))) * span
	}
	return sum
}

// FaultsEnd is the virtual time the scenario's fault schedule is over: the
// latest end of a fault (its time plus its `for`, a random process's until
// plus its restart delay or duration). Liveness is measured from here.
func FaultsEnd(s *scenarios.Scenario) time.Duration {
	var end time.Duration
	for _, f := range s.Faults {
		e := f.At + f.For
		if f.Kind == scenarios.Random && f.Random != nil {
			e = f.Random.Until + f.Random.For
			if f.Random.Kind == scenarios.RandomCrash {
				e = f.Random.Until + f.Random.RestartAfter
			}
		}
		end = max(end, e)
	}
	return end
}

// Reparse writes a scenario with Marshal and loads it back with Parse, so a
// scenario assembled from structs is validated (and normalized) like a file.
func Reparse(s *scenarios.Scenario) (*scenarios.Scenario, error) {
	data, err := s.Marshal()
	if err != nil {
		return nil, err
	}
	name := s.File
	if name == "" {
		name = s.Name + ".yaml"
	}
	out, err := scenarios.ParseWith(name, data, nil, s.Extensions())
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, data)
	}
	return out, nil
}

// clone copies a scenario through its canonical file.
func clone(s *scenarios.Scenario) *scenarios.Scenario {
	c, err := Reparse(s)
	if err != nil {
		panic(fmt.Sprintf("check: a loaded scenario does not reload: %v", err))
	}
	c.File = s.File
	return c
}

var storeSizes = []int64{32 << 20, 256 << 20, 1 << 30, 2 << 30}

// Cluster generates a cluster: a head node and one or two worker groups
// (2..MaxNodes nodes; a sixth of second groups join later, a sixth are
// autoscaled), CPUs, GPUs,
// a custom resource, object store sizes
// (a quarter of the groups small, with a spill tier), a
// GCS layout, a scheduling policy and a network (latency, and unless
// NoNetworkFaults, loss, duplication and reordering).
func (g Gen) Cluster() *rapid.Generator[scenarios.Cluster] {
	g = g.withDefaults()
	return rapid.Custom(func(t *rapid.T) scenarios.Cluster {
		var c scenarios.Cluster
		c.Groups = append(c.Groups, scenarios.NodeGroup{Name: "head", Count: 1,
			CPUs: float64(rapid.IntRange(1, 8).Draw(t, "head.cpus")), ObjectStoreBytes: 1 << 30})
		left := g.MaxNodes - 1
		groups := rapid.IntRange(1, min(2, left)).Draw(t, "groups")
		for i := 0; i < groups && left > 0; i++ {
			n := rapid.IntRange(1, left-(groups-1-i)).Draw(t, "count")
			left -= n
			ng := scenarios.NodeGroup{Name: fmt.Sprintf("w%d", i), Count: n,
				CPUs:             float64(rapid.IntRange(1, 8).Draw(t, "cpus")),
				ObjectStoreBytes: rapid.SampledFrom(storeSizes).Draw(t, "object_store")}
			if rapid.IntRange(0, 3).Draw(t, "spill") == 0 {
				// A small store with a spill tier, so that primaries
				// spill and come back (objects are up to 1MiB).
				ng.ObjectStoreBytes = rapid.SampledFrom([]int64{2 << 20, 8 << 20}).Draw(t, "spilling_store")
				ng.ObjectSpillBytes = rapid.SampledFrom([]int64{4 << 20, 64 << 20, 1 << 30}).Draw(t, "object_spill")
			}
			if rapid.IntRange(0, 3).Draw(t, "gpu") == 0 {
				ng.GPUs = float64(rapid.IntRange(1, 2).Draw(t, "gpus"))
			}
			if rapid.IntRange(0, 3).Draw(t, "custom") == 0 {
				ng.Resources = map[string]float64{"accel": float64(rapid.IntRange(1, 2).Draw(t, "accel"))}
			}
			if i == 1 {
				// The second worker group joins later (a machine booting),
				// or is an autoscaler's pool: what needs its resources
				// waits for it. Never the head or the first worker group,
				// which host the drivers (DriverHosts: the nodes up at the
				// start).
				switch rapid.IntRange(0, 5).Draw(t, "late") {
				case 0:
					ng.Start = ms(t, "start", 1, int(g.Horizon/time.Millisecond))
				case 1:
					ng.Autoscale = &scenarios.Autoscale{Min: rapid.IntRange(0, n).Draw(t, "autoscale.min"),
						Boot: ms(t, "autoscale.boot", 0, 500), IdleTimeout: ms(t, "autoscale.idle_timeout", 1, 3000)}
				}
			}
			c.Groups = append(c.Groups, ng)
		}
		nw := &c.Network
		nw.Latency = scenarios.FixedDuration(time.Duration(rapid.IntRange(20, 2000).Draw(t, "latency_us")) * time.Microsecond)
		nw.Bandwidth = float64(rapid.SampledFrom([]int{1, 10, 25}).Draw(t, "gbps")) * 1e9 / 8
		if !g.NoNetworkFaults {
			nw.Loss = prob(t, "loss", 0.02)
			nw.Duplicate = prob(t, "duplicate", 0.02)
			nw.Reorder = prob(t, "reorder", 0.05)
		}
		c.GCS = scenarios.GCSConfig{Shards: rapid.IntRange(1, 2).Draw(t, "shards"), Replicas: rapid.IntRange(1, 3).Draw(t, "replicas")}
		c.Scheduler = scenarios.SchedulerConfig{Policy: rapid.SampledFrom(g.Policies).Draw(t, "policy"),
			SpillThreshold: rapid.IntRange(0, 8).Draw(t, "spill_threshold")}
		c.Costs = scenarios.Costs{Profile: scenarios.DefaultCostProfile}
		return c
	})
}

// prob is 0 two times in three (it shrinks to 0), else up to hi.
func prob(t *rapid.T, label string, hi float64) float64 {
	if rapid.IntRange(0, 2).Draw(t, label+"?") != 2 {
		return 0
	}
	return float64(rapid.IntRange(1, 100).Draw(t, label)) / 100 * hi
}

func ms(t *rapid.T, label string, lo, hi int) time.Duration {
	return time.Duration(rapid.IntRange(lo, hi).Draw(t, label)) * time.Millisecond
}

func durP(t *rapid.T, label string, lo, hi int) scenarios.DurationDist {
	return scenarios.FixedDuration(ms(t, label, lo, hi))
}

func sizeP(t *rapid.T, label string) scenarios.SizeDist {
	return scenarios.FixedSize(rapid.SampledFrom([]int64{16, 1 << 10, 64 << 10, 1 << 20}).Draw(t, label))
}

// Workload generates 1..MaxEntries workload entries for the cluster, each
// a built-in generator with small random parameters, arrival, drivers,
// start, resources (always feasible on the cluster), max_retries,
// retry_exceptions and, for some, a placement group.
func (g Gen) Workload(c *scenarios.Cluster) *rapid.Generator[[]scenarios.Workload] {
	g = g.withDefaults()
	return rapid.Custom(func(t *rapid.T) []scenarios.Workload {
		n := rapid.IntRange(1, g.MaxEntries).Draw(t, "entries")
		out := make([]scenarios.Workload, n)
		for i := range out {
			out[i] = g.entry(t, c, i)
		}
		return out
	})
}

func (g Gen) entry(t *rapid.T, c *scenarios.Cluster, i int) scenarios.Workload {
	gen := rapid.SampledFrom(g.Generators).Draw(t, "generator")
	// An own workload (Extensions) gets no params (its driver's defaults).
	w := scenarios.Workload{Name: fmt.Sprintf("%s-%d", gen, i), Generator: gen, Params: g.ext().NewParams(gen)}
	_, own := w.Params.(*scenarios.OwnParams)
	switch p := w.Params.(type) {
	case *scenarios.ParallelParams:
		p.Tasks = rapid.IntRange(1, 40).Draw(t, "tasks")
		p.Duration = durP(t, "duration", 0, 20)
		p.OutputSize = sizeP(t, "output_size")
		p.Free = rapid.Bool().Draw(t, "free")
		p.CancelEvery = rapid.IntRange(0, 4).Draw(t, "cancel_every")
	case *scenarios.TreeReduceParams:
		p.Leaves = rapid.IntRange(1, 32).Draw(t, "leaves")
		p.Fanin = rapid.IntRange(2, 4).Draw(t, "fanin")
		p.Duration = durP(t, "duration", 0, 5)
	case *scenarios.MapReduceParams:
		p.Maps = rapid.IntRange(1, 6).Draw(t, "maps")
		p.Reduces = rapid.IntRange(1, 4).Draw(t, "reduces")
		p.MapDuration = durP(t, "map_duration", 0, 10)
		p.ReduceDuration = durP(t, "reduce_duration", 0, 10)
		p.PartitionSize = sizeP(t, "partition_size")
		p.Free = rapid.Bool().Draw(t, "free")
		p.Returns = rapid.Bool().Draw(t, "returns")
		if !p.Returns {
			p.Stream = rapid.Bool().Draw(t, "stream")
		}
	case *scenarios.ChainParams:
		p.Chains = rapid.IntRange(1, 4).Draw(t, "chains")
		p.Length = rapid.IntRange(1, 10).Draw(t, "length")
		p.Duration = durP(t, "duration", 0, 5)
		p.ObjectSize = sizeP(t, "object_size")
	case *scenarios.NestedParams:
		p.Roots = rapid.IntRange(1, 3).Draw(t, "roots")
		p.Depth = rapid.IntRange(1, 3).Draw(t, "depth")
		p.Fanout = rapid.IntRange(1, 3).Draw(t, "fanout")
		p.Duration = durP(t, "duration", 0, 5)
		p.CancelEvery = rapid.IntRange(0, 3).Draw(t, "cancel_every")
	case *scenarios.RLParams:
		p.Actors = rapid.IntRange(1, 3).Draw(t, "actors")
		p.Rounds = rapid.IntRange(1, 5).Draw(t, "rounds")
		p.RolloutDuration = durP(t, "rollout_duration", 0, 10)
		p.UpdateDuration = durP(t, "update_duration", 0, 5)
		p.CheckpointEvery = rapid.IntRange(0, 3).Draw(t, "checkpoint_every")
		p.Replay = rapid.Bool().Draw(t, "replay")
		p.CancelEvery = rapid.IntRange(0, 3).Draw(t, "cancel_every")
		p.RolloutsPerActor = rapid.IntRange(1, 3).Draw(t, "rollouts_per_actor")
		if p.CheckpointEvery == 0 && !p.Replay { // threaded simulators log nothing
			p.MaxConcurrency = rapid.SampledFrom([]int{1, 1, 2, 4}).Draw(t, "max_concurrency")
		}
	case *scenarios.ParameterServerParams:
		p.Servers = rapid.IntRange(1, 2).Draw(t, "servers")
		p.Workers = rapid.IntRange(1, 3).Draw(t, "workers")
		p.Iterations = rapid.IntRange(1, 4).Draw(t, "iterations")
		p.ShardSize = sizeP(t, "shard_size")
		p.Duration = durP(t, "duration", 0, 5)
	case *scenarios.ActorCallsParams:
		p.Actors = rapid.IntRange(1, 2).Draw(t, "actors")
		// At least one caller task besides the driver: callers run on
		// the workers, whose links and deaths the faults meet far more
		// often than the driver's node's (never killed).
		p.Callers = rapid.IntRange(1, 3).Draw(t, "callers")
		p.Calls = rapid.IntRange(5, 40).Draw(t, "calls")
		p.Duration = durP(t, "duration", 0, 3)
	}
	w.Arrival = scenarios.Arrival{Kind: scenarios.Burst}
	switch rapid.IntRange(0, 3).Draw(t, "arrival") {
	case 2:
		w.Arrival = scenarios.Arrival{Kind: scenarios.Steady, Rate: float64(rapid.IntRange(100, 5000).Draw(t, "rate"))}
	case 3:
		w.Arrival = scenarios.Arrival{Kind: scenarios.Poisson, Rate: float64(rapid.IntRange(100, 5000).Draw(t, "rate"))}
	}
	if !scenarios.TakesArrival(gen) || own {
		w.Arrival = scenarios.Arrival{Kind: scenarios.Burst} // drawn all the same: the draws after it stay as they were
	}
	if gen == "actor-calls" {
		// Its calls come over the time faults start in (Horizon: spread
		// over 100ms to all of it), not at once: a restart racing calls
		// still on their way (a bounce, a done call's news, a call held
		// up by a partition) is what its sequencers check.
		kind := scenarios.Steady
		if w.Arrival.Kind == scenarios.Poisson {
			kind = scenarios.Poisson
		}
		calls := w.Params.(*scenarios.ActorCallsParams).Calls
		span := rapid.IntRange(100, max(100, int(g.Horizon/time.Millisecond))).Draw(t, "actor_calls.span_ms")
		w.Arrival = scenarios.Arrival{Kind: kind, Rate: float64(max(1, calls*1000/span))}
	}
	w.Drivers = scenarios.Drivers{Count: rapid.IntRange(1, 2).Draw(t, "drivers")}
	if gen == "actor-calls" {
		// The drivers share the entry's rate: each driver's calls, and
		// its callers', must still fit the span drawn above. At the
		// shared rate two drivers' callers took twice the span each,
		// and where every caller waits for the one node that can hold
		// it (a GPU entry on a one-GPU cluster), they ran one after the
		// other past the settle time: a liveness failure with no fault.
		w.Arrival.Rate *= float64(w.Drivers.Count)
	}
	w.Start = ms(t, "start", 0, int(g.withDefaults().Horizon/time.Millisecond)/2)
	w.Resources = map[string]float64{"CPU": 1}
	var gpus, accel bool
	for _, ng := range c.Groups {
		gpus = gpus || ng.GPUs > 0
		accel = accel || ng.Resources["accel"] > 0
	}
	if gen == "nested" {
		// Its tasks wait in Get for their children, which ask the entry's
		// resources too. A task blocked in Get gives back its CPU only (as
		// in Ray): parents holding GPUs or accel can use them all up, their
		// children queued behind them, a deadlock of the workload itself.
		gpus, accel = false, false
	}
	switch rapid.IntRange(0, 5).Draw(t, "resources") {
	case 3:
		w.Resources = map[string]float64{"CPU": 0.5}
	case 4:
		if gpus {
			w.Resources = map[string]float64{"CPU": 1, "GPU": 1}
		}
	case 5:
		if accel {
			w.Resources = map[string]float64{"CPU": 1, "accel": 1}
		}
	}
	w.MaxRetries = rapid.IntRange(0, 3).Draw(t, "max_retries")
	if gen == "parameter-server" {
		// A ps-worker pushes to the server actors as it goes: a retry pushes
		// again, and the sum no longer matches a sequential evaluation (Ray's
		// at-least-once task semantics). Such a worker is run at most once.
		w.MaxRetries = 0
	}
	// Its tasks' own errors (a task_errors fault's) retried too: a
	// ps-worker has no retry to spend.
	w.RetryExceptions = w.MaxRetries != 0 && rapid.Bool().Draw(t, "retry_exceptions")
	// A fifth of the generators whose tasks never wait in Get run in a
	// placement group of one bundle (one always fits: some node meets the
	// demand), so faults meet bundles being placed, lost and placed again.
	// Not nested: its parents would hold bundles while their children,
	// outside the group, wait for CPUs the groups may all have reserved.
	if gen == "parallel" || gen == "tree-reduce" || gen == "map-reduce" || gen == "chain" {
		if rapid.IntRange(0, 4).Draw(t, "group") == 0 {
			w.Group = &scenarios.GroupSpec{Bundles: 1, Strategy: rapid.SampledFrom(scenarios.GroupStrategies).Draw(t, "group.strategy")}
		}
	}
	// A fifth of the nested entries run whole in a placement group that
	// captures their children (capture_child_tasks): a bundle for each
	// task a driver may have alive at once (its parents keep theirs while
	// they wait), of the largest quarter, eighth... of a CPU that lets the
	// cluster hold them all, under PACK or SPREAD (best effort: a bundle
	// per node's free share). None if even a sixteenth does not fit.
	if p, ok := w.Params.(*scenarios.NestedParams); ok && rapid.IntRange(0, 4).Draw(t, "capture") == 0 {
		need := scenarios.CapturedNestedTasks(p, w.Drivers.Count)
		for _, cpu := range []float64{0.5, 0.25, 0.125, 0.0625} {
			fit := 0
			for _, ng := range c.Groups {
				fit += ng.Count * int(ng.CPUs/cpu)
			}
			if need > 0 && need <= fit {
				w.Resources = map[string]float64{"CPU": cpu}
				w.Group = &scenarios.GroupSpec{Bundles: need, CaptureChildTasks: true,
					Strategy: rapid.SampledFrom([]string{"PACK", "SPREAD"}).Draw(t, "capture.strategy")}
				break
			}
		}
	}
	return w
}

// DriverHosts is the set of the names of the nodes that host drivers:
// those the runner starts them on (runner.DriverHosts), the first nodes
// up at the start, wherever a late or standby group is listed. Killing a
// driver's node ends its job, as in Ray, so the generator never kills
// those nodes.
func DriverHosts(s *scenarios.Scenario) map[string]bool {
	nodes := s.Cluster.NodeSpecs() // a generated scenario's Nodes are not set yet
	out := map[string]bool{}
	for _, i := range runner.DriverHosts(s) {
		out[nodes[i].Name] = true
	}
	return out
}

func nodeNames(s *scenarios.Scenario) []string {
	var out []string
	for _, g := range s.Cluster.Groups {
		switch {
		case g.Count == 1:
			out = append(out, g.Name)
		default:
			for i := 0; i < g.Count; i++ {
				out = append(out, fmt.Sprintf("%s-%d", g.Name, i))
			}
		}
	}
	return out
}

// spareNodes maps each node that may die for good to its group's index:
// a node of a group of two or more, always in the cluster (not joining
// late, not an autoscaler's), so the others of its group can run what
// it would have, in a scenario without placement groups (whose bundles
// may need every node: a group of STRICT_SPREAD would wait for good).
// One per group dies for good at most (Faults).
func spareNodes(s *scenarios.Scenario) map[string]int {
	out := map[string]int{}
	for _, w := range s.Workload {
		if w.Group != nil {
			return out
		}
	}
	for i, g := range s.Cluster.Groups {
		if g.Count < 2 || g.Start > 0 || g.Autoscale != nil {
			continue
		}
		for k := 0; k < g.Count; k++ {
			out[fmt.Sprintf("%s-%d", g.Name, k)] = i
		}
	}
	return out
}

// Faults generates a fault schedule for the scenario's cluster: up to
// MaxFaults entries of the kinds in FaultKinds, every one starting before
// Horizon, a kill followed by a restart (after up to 500ms, or a quarter
// of the time up to 3s: past the node timeout), or, a quarter of the
// kills of a node whose group has others (spareNodes), none: the node is
// dead for good, which only the node table's timeout detects; every
// partition and degradation bounded by a `for` or a later heal.
func (g Gen) Faults(s *scenarios.Scenario) *rapid.Generator[[]scenarios.Fault] {
	g = g.withDefaults()
	names := nodeNames(s)
	hosts := DriverHosts(s)
	killable := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return hosts[n] })
	ends := names // what a partition or a degraded link may name
	if !g.NoControlPlane {
		ends = append(slices.Clone(names), s.ControlEndpoints()...)
	}
	replicas := s.Cluster.GCS.Replicas * s.Cluster.GCS.Shards
	spare := spareNodes(s)
	var kinds []string
	for _, k := range g.FaultKinds {
		switch {
		case k == scenarios.KillNode && len(killable) == 0:
		case k == scenarios.KillGCSReplica && s.Cluster.GCS.Replicas < 2:
		default:
			kinds = append(kinds, k)
		}
	}
	if slices.Contains(kinds, scenarios.KillActor) && slices.ContainsFunc(s.Workload, func(w scenarios.Workload) bool { return w.Generator == "actor-calls" }) {
		// Three times as likely: actor-calls checks what a restart does
		// to the calls on their way, and a kill_actor is its surest
		// restart.
		kinds = append(kinds, scenarios.KillActor, scenarios.KillActor)
	}
	if len(kinds) == 0 {
		// Nothing applies to this cluster: no schedule. (Returned from a
		// Custom generator that draws nothing, rapid panics.)
		return rapid.Just[[]scenarios.Fault](nil)
	}
	horizon := int(g.Horizon / time.Millisecond)
	actorNames := scenarioActors(s)
	return rapid.Custom(func(t *rapid.T) []scenarios.Fault {
		var out []scenarios.Fault
		n := rapid.IntRange(0, g.MaxFaults).Draw(t, "faults")
		healAfter := time.Duration(0)
		var downs []replicaDown // the replicas' down spells drawn so far
		// gone: nodes killed for good; lost: their groups (one each).
		gone, lost := map[string]bool{}, map[int]bool{}
		for i := 0; i < n; i++ {
			at := ms(t, "at", 0, horizon-1)
			switch kind := rapid.SampledFrom(kinds).Draw(t, "kind"); kind {
			case scenarios.KillNode:
				alive := slices.DeleteFunc(slices.Clone(killable), func(n string) bool { return gone[n] })
				if len(alive) == 0 {
					continue
				}
				node := rapid.SampledFrom(alive).Draw(t, "node")
				out = append(out, scenarios.Fault{At: at, Kind: kind, Node: node})
				if g, ok := spare[node]; ok && !lost[g] && rapid.IntRange(0, 3).Draw(t, "permanent") == 0 {
					// Dead for good, as a machine that never comes back:
					// its group's others run its work (only the node
					// table's timeout declares it dead).
					gone[node], lost[g] = true, true
					continue
				}
				down := ms(t, "down", 1, 500)
				if rapid.IntRange(0, 3).Draw(t, "long") == 0 {
					down = ms(t, "down_long", 500, 3000) // past the node timeout: declared dead first
				}
				out = append(out, scenarios.Fault{At: at + down, Kind: scenarios.RestartNode, Node: node})
			case scenarios.Partition:
				perm := rapid.Permutation(ends).Draw(t, "perm")
				cut := rapid.IntRange(1, len(perm)-1).Draw(t, "cut")
				f := scenarios.Fault{At: at, Kind: kind, Groups: [][]string{perm[:cut], perm[cut:]}}
				if rapid.Bool().Draw(t, "until_heal") {
					healAfter = max(healAfter, at+1)
				} else {
					f.For = ms(t, "for", 1, 500)
				}
				out = append(out, f)
			case scenarios.Heal:
				out = append(out, scenarios.Fault{At: at, Kind: kind})
			case scenarios.DegradeLink:
				from := rapid.SampledFrom(ends).Draw(t, "from")
				to := rapid.SampledFrom(ends).Draw(t, "to")
				if from == to {
					continue
				}
				l := &scenarios.Link{From: from, To: to, Symmetric: rapid.Bool().Draw(t, "symmetric")}
				lat := scenarios.FixedDuration(ms(t, "extra_latency", 0, 20))
				loss := float64(rapid.IntRange(0, 100).Draw(t, "link_loss")) / 100
				l.Latency, l.Loss = &lat, &loss
				f := scenarios.Fault{At: at, Kind: kind, Link: l}
				if rapid.Bool().Draw(t, "until_heal") {
					healAfter = max(healAfter, at+1)
				} else {
					f.For = ms(t, "for", 1, 500)
				}
				out = append(out, f)
			case scenarios.PauseNode:
				out = append(out, scenarios.Fault{At: at, Kind: kind, Node: rapid.SampledFrom(names).Draw(t, "node"),
					For: ms(t, "for", 1, 500)})
			case scenarios.SkewClock:
				// A node's wall clock set up to 2s either way: what it
				// measures (leases, timeouts) must not move with it.
				out = append(out, scenarios.Fault{At: at, Kind: kind, Node: rapid.SampledFrom(names).Draw(t, "node"),
					Offset: time.Duration(rapid.IntRange(-2000, 2000).Draw(t, "offset_ms")) * time.Millisecond})
			case scenarios.KillActor:
				// The generators' actors by display name: rl's simulators
				// and actor-calls' sequencers restart (max_restarts 3),
				// parameter-server's shards do not. With none alive it
				// is a no-op.
				out = append(out, scenarios.Fault{At: at, Kind: kind, ActorIndex: -1,
					Actor: rapid.SampledFrom(actorNames).Draw(t, "actor")})
			case scenarios.KillGCSReplica:
				// A replica stays down, or comes back (restart_gcs_replica:
				// it rejoins its chain at the tail, from a snapshot) up to
				// 500ms later. The failure model: at most replicas-1
				// members of a shard's chain down at once, so a kill whose
				// spell would overlap the shard's others' beyond that, or
				// the same replica's, is not drawn.
				r := rapid.IntRange(0, replicas-1).Draw(t, "replica")
				d := replicaDown{replica: r, shard: r / s.Cluster.GCS.Replicas, from: at, until: -1}
				if rapid.Bool().Draw(t, "replica_back") {
					d.until = at + ms(t, "replica_down", 1, 500)
				}
				if !d.fits(downs, s.Cluster.GCS.Replicas-1) {
					continue
				}
				downs = append(downs, d)
				out = append(out, scenarios.Fault{At: at, Kind: kind, Replica: r})
				if d.until >= 0 {
					out = append(out, scenarios.Fault{At: d.until, Kind: scenarios.RestartGCSReplica, Replica: r})
				}
			case scenarios.TaskErrors:
				te := &scenarios.TaskErrorRate{Rate: float64(rapid.IntRange(1, 50).Draw(t, "task_errors.rate")) / 100}
				if rapid.Bool().Draw(t, "task_errors.one_node") {
					te.Nodes = []string{rapid.SampledFrom(names).Draw(t, "task_errors.node")}
				}
				out = append(out, scenarios.Fault{At: at, Kind: kind, Errors: te, For: ms(t, "for", 1, 500)})
			case scenarios.Random:
				r := &scenarios.RandomFaults{Kind: rapid.SampledFrom([]string{scenarios.RandomCrash, scenarios.RandomPartition,
					scenarios.RandomPause, scenarios.RandomLoss}).Draw(t, "random.kind"),
					Rate: float64(rapid.IntRange(1, 20).Draw(t, "random.rate")), From: at}
				r.Until = at + ms(t, "random.span", 1, horizon)
				switch r.Kind {
				case scenarios.RandomCrash:
					if len(killable) == 0 {
						continue
					}
					r.RestartAfter = ms(t, "restart_after", 1, 500)
					r.Nodes = slices.Clone(killable)
				case scenarios.RandomLoss:
					r.For = ms(t, "for", 1, 500)
					r.Loss = float64(rapid.IntRange(1, 100).Draw(t, "random.loss")) / 100
				default:
					r.For = ms(t, "for", 1, 500)
				}
				out = append(out, scenarios.Fault{At: r.From, Kind: kind, Random: r})
			}
		}
		if healAfter > 0 {
			out = append(out, scenarios.Fault{At: max(healAfter, g.Horizon), Kind: scenarios.Heal})
		}
		return out
	})
}

// generatorActors are the display names of the generators' actors, what a
// drawn kill_actor names: rl's simulators, parameter-server's shards,
// actor-calls' sequencers.
var generatorActors = map[string]string{"rl": "simulator", "parameter-server": "param-shard", "actor-calls": "sequencer"}

// scenarioActors are the display names of the actors s's workload entries
// create, in generatorActors' order of generators (scenarios.Generators),
// or, with none, all of them (a kill_actor is then a no-op, drawn all the
// same): a kill_actor drawn names an actor that lives.
func scenarioActors(s *scenarios.Scenario) []string {
	var out, all []string
	for _, gen := range scenarios.Generators {
		name, ok := generatorActors[gen]
		if !ok {
			continue
		}
		all = append(all, name)
		if slices.ContainsFunc(s.Workload, func(w scenarios.Workload) bool { return w.Generator == gen }) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// replicaDown is a GCS replica's down spell in a drawn schedule (Faults):
// from its kill until its restart (until; -1: for good), and then for
// rejoinAllowance while it rejoins (end).
type replicaDown struct {
	replica, shard int
	from, until    time.Duration
}

// rejoinAllowance is how long a restarted replica counts as down after
// its restart: it rejoins its chain at the tail and holds the chain's
// state only once its predecessor's snapshot is installed, and a kill of
// the shard's last up-to-date member before then leaves the shard to a
// joiner with nothing to serve (the chain waits for the dead member for
// good; outside the failure model). A rejoin in the shipped
// gcs-failover.yaml takes under 15ms (the master's 20ms timeout, a
// snapshot); the allowance is well above it for the search's small
// scenarios (a search first found this: a kill of replica 0 5ms after
// replica 1's restart).
const rejoinAllowance = 200 * time.Millisecond

// end is the spell's last instant, its rejoin included (-1: for good).
func (d replicaDown) end() time.Duration {
	if d.until < 0 {
		return -1
	}
	return d.until + rejoinAllowance
}

// overlaps reports whether two spells share an instant (a restart and a
// kill at the same time do: the schedule's order of the two is not
// theirs to count on).
func (d replicaDown) overlaps(o replicaDown) bool {
	return (o.end() < 0 || d.from <= o.end()) && (d.end() < 0 || o.from <= d.end())
}

// fits reports whether d can join downs within the failure model: its
// replica is not down during it already, and fewer than most of its
// shard's others' spells overlap it (counted whether or not they overlap
// each other: a bound, not the exact count).
func (d replicaDown) fits(downs []replicaDown, most int) bool {
	n := 0
	for _, o := range downs {
		if o.shard != d.shard || !d.overlaps(o) {
			continue
		}
		if o.replica == d.replica {
			return false
		}
		n++
	}
	return n < most
}

// Inapplicable is a fault kind that cannot apply to a scenario, and why.
type Inapplicable struct{ Kind, Why string }

// InapplicableKinds lists the kinds of kinds that Gen.Faults around s (as
// Base) would never draw, or would draw only as no-ops: kill_node when
// every node hosts a driver (the search never kills a driver's node),
// kill_gcs_replica with fewer than two replicas per shard (a shard's last
// replica is outside the failure model), kill_actor when no workload
// entry creates the actors it kills (rl's simulators, parameter-server's
// shards). A search asked for only such kinds would pass having tested
// nothing.
func InapplicableKinds(s *scenarios.Scenario, kinds []string) []Inapplicable {
	var out []Inapplicable
	for _, k := range kinds {
		switch k {
		case scenarios.KillNode:
			if len(DriverHosts(s)) >= len(nodeNames(s)) {
				out = append(out, Inapplicable{k, fmt.Sprintf("every one of the %d nodes hosts a driver (workload drivers: per-node, or as many as nodes), and the search never kills a driver's node", len(nodeNames(s)))})
			}
		case scenarios.KillGCSReplica:
			if s.Cluster.GCS.Replicas < 2 {
				out = append(out, Inapplicable{k, fmt.Sprintf("needs cluster.gcs.replicas >= 2 (the scenario has %d: a shard's last replica is never killed)", max(s.Cluster.GCS.Replicas, 1))})
			}
		case scenarios.KillActor:
			if !slices.ContainsFunc(s.Workload, func(w scenarios.Workload) bool { return actorTask(w.Generator) }) {
				out = append(out, Inapplicable{k, "no workload entry creates the actors it kills (rl's simulators, parameter-server's shards, actor-calls' sequencers)"})
			}
		}
	}
	return out
}
