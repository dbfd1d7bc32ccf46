package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"pgregory.net/rapid"

	"raysim/scenarios"
)

// Shrink minimizes a failing scenario without rapid: it tries, in turn,
// deleting each fault (a kill with its restart), dropping orphaned heals and
// restarts, shortening random fault processes, deleting workload entries,
// halving each integer workload parameter, removing nodes from groups and
// turning network loss, duplication and reordering off; a candidate is kept
// when it still violates the same invariant (one that violates only
// another is a failure the shrinker's own edit made, not the one found,
// and the file would name and replay that instead). No candidate puts a
// driver's node under a kill or a pause the original spares it
// (driverTargets). It stops at a fixpoint or
// after budget runs. step, if set, is called after every run.
func Shrink(ctx context.Context, f *Failure, invs []Invariant, budget int, step func(runs int, cur *Failure)) (*Failure, error) {
	runs := 0
	progress, cut := true, false // cut: the budget ended a pass
	for progress && runs < budget {
		progress = false
		for _, cand := range candidates(f.Scenario) {
			if runs >= budget {
				cut = true
				break
			}
			if err := ctx.Err(); err != nil {
				return f, err
			}
			c, err := Reparse(cand)
			if err != nil {
				continue // not a valid scenario: skip
			}
			runs++
			_, nf, err := Execute(ctx, c, same(invs, f.Invariant)...)
			if err != nil {
				continue
			}
			if nf != nil {
				f, progress = nf, true
			}
			if step != nil {
				step(runs, f)
			}
			if progress {
				break
			}
		}
	}
	// A whole pass with no progress: no one-step simplification fails,
	// the failure is minimal (the budget or an interrupt may end it
	// before).
	f.Minimal = !progress && !cut
	return f, nil
}

// same narrows invs to the invariant named name (all of them if none has
// that name, e.g. a failure built by hand).
func same(invs []Invariant, name string) []Invariant {
	for _, inv := range invs {
		if inv.Name == name {
			return []Invariant{inv}
		}
	}
	return invs
}

// candidates are one-step simplifications of s, simplest-first. None puts
// a driver's node under a fault s spares it (see driverTargets).
func candidates(s *scenarios.Scenario) []*scenarios.Scenario {
	var out []*scenarios.Scenario
	spared := driverTargets(s)
	edit := func(fn func(c *scenarios.Scenario) bool) {
		c := clone(s)
		if !fn(c) {
			return
		}
		if rc, err := Reparse(c); err == nil {
			for name := range driverTargets(rc) {
				if !spared[name] {
					return
				}
			}
		}
		out = append(out, c)
	}
	for i := range s.Faults {
		if k := s.Faults[i].Kind; k == scenarios.RestartNode || k == scenarios.RestartGCSReplica || (k == scenarios.Heal && healsSomething(s.Faults, s.Faults[i])) {
			continue // removed with what they end (removeFault)
		}
		edit(func(c *scenarios.Scenario) bool { c.Faults = removeFault(c.Faults, i); return true })
	}
	for e := range s.Workload {
		if len(s.Workload) > 1 {
			edit(func(c *scenarios.Scenario) bool { c.Workload = slices.Delete(c.Workload, e, e+1); return true })
		}
	}
	for e := range s.Workload {
		for k := range intParams(s.Workload[e].Params) {
			edit(func(c *scenarios.Scenario) bool {
				p := intParams(c.Workload[e].Params)[k]
				if *p.v <= p.min {
					return false
				}
				*p.v = max(*p.v/2, p.min)
				return true
			})
		}
		if s.Workload[e].Drivers.Count > 1 {
			edit(func(c *scenarios.Scenario) bool { c.Workload[e].Drivers.Count--; return true })
		}
	}
	for i := range s.Faults {
		if s.Faults[i].Kind == scenarios.Random {
			edit(func(c *scenarios.Scenario) bool {
				r := c.Faults[i].Random
				if r.Until-r.From < 2e6 {
					return false
				}
				r.Until = r.From + (r.Until-r.From)/2
				return true
			})
		}
	}
	for g := range s.Cluster.Groups {
		if s.Cluster.Groups[g].Count > 1 {
			edit(func(c *scenarios.Scenario) bool { c.Cluster.Groups[g].Count--; return true })
		}
	}
	nw := s.Cluster.Network
	if nw.Loss > 0 || nw.Duplicate > 0 || nw.Reorder > 0 {
		edit(func(c *scenarios.Scenario) bool { c.Cluster.Network.Loss = 0; return true })
		edit(func(c *scenarios.Scenario) bool { c.Cluster.Network.Duplicate = 0; return true })
		edit(func(c *scenarios.Scenario) bool { c.Cluster.Network.Reorder = 0; return true })
	}
	return out
}

// driverTargets are the nodes hosting a driver (DriverHosts)
// that a kill_node, a pause_node or a random crash or pause names. Removing
// a node, or a driver, moves drivers and nodes: a shrink step could put a
// driver on a node the schedule kills, whose loss ends the driver's work
// (liveness), a failure of the edit's making and outside the generator's
// failure model (it never kills a driver's node), or that it pauses, which
// the original spared. candidates keeps a candidate only if its set is
// within the original's.
func driverTargets(s *scenarios.Scenario) map[string]bool {
	hosts := DriverHosts(s)
	out := make(map[string]bool)
	hit := func(n string) {
		if hosts[n] {
			out[n] = true
		}
	}
	for _, f := range s.Faults {
		switch f.Kind {
		case scenarios.KillNode, scenarios.PauseNode:
			hit(f.Node)
		case scenarios.Random:
			r := f.Random
			if r == nil || (r.Kind != scenarios.RandomCrash && r.Kind != scenarios.RandomPause) {
				continue
			}
			targets := r.Nodes
			if len(targets) == 0 { // every node
				targets = nodeNames(s)
			}
			for _, n := range targets {
				hit(n)
			}
		}
	}
	return out
}

// removeFault deletes fault i; a kill takes its node's (or GCS
// replica's) next restart with it, and a heal no longer needed by an
// open-ended partition or link degradation goes too.
func removeFault(fs []scenarios.Fault, i int) []scenarios.Fault {
	f := fs[i]
	fs = slices.Delete(slices.Clone(fs), i, i+1)
	restartOf := func(g scenarios.Fault) bool {
		switch f.Kind {
		case scenarios.KillNode:
			return g.Kind == scenarios.RestartNode && g.Node == f.Node
		case scenarios.KillGCSReplica:
			return g.Kind == scenarios.RestartGCSReplica && g.Replica == f.Replica
		}
		return false
	}
	for j := i; j < len(fs); j++ {
		if restartOf(fs[j]) {
			fs = slices.Delete(fs, j, j+1)
			break
		}
	}
	all := fs
	return slices.DeleteFunc(slices.Clone(fs), func(g scenarios.Fault) bool { return g.Kind == scenarios.Heal && !healsSomething(all, g) })
}

// healsSomething reports whether heal ends a fault of fs: a partition or
// link degradation in force at its time (started no later, and open-ended
// or lasting past it: a heal cuts a timed one short too). A heal before
// or after every such fault ends nothing, and the shrinker drops it.
func healsSomething(fs []scenarios.Fault, heal scenarios.Fault) bool {
	for _, g := range fs {
		if (g.Kind == scenarios.Partition || g.Kind == scenarios.DegradeLink) && g.At <= heal.At && (g.For == 0 || g.At+g.For > heal.At) {
			return true
		}
	}
	return false
}

type intParam struct {
	v   *int
	min int
}

func intParams(p scenarios.Params) []intParam {
	switch p := p.(type) {
	case *scenarios.ParallelParams:
		return []intParam{{&p.Tasks, 1}}
	case *scenarios.TreeReduceParams:
		return []intParam{{&p.Leaves, 1}, {&p.Fanin, 2}}
	case *scenarios.MapReduceParams:
		return []intParam{{&p.Maps, 1}, {&p.Reduces, 1}}
	case *scenarios.ChainParams:
		return []intParam{{&p.Chains, 1}, {&p.Length, 1}}
	case *scenarios.NestedParams:
		return []intParam{{&p.Roots, 1}, {&p.Depth, 1}, {&p.Fanout, 1}}
	case *scenarios.RLParams:
		return []intParam{{&p.Actors, 1}, {&p.Rounds, 1}, {&p.CheckpointEvery, 0}, {&p.RolloutsPerActor, 1}, {&p.MaxConcurrency, 1}}
	case *scenarios.ParameterServerParams:
		return []intParam{{&p.Servers, 1}, {&p.Workers, 1}, {&p.Iterations, 1}}
	case *scenarios.ActorCallsParams:
		return []intParam{{&p.Actors, 1}, {&p.Callers, 0}, {&p.Calls, 1}}
	}
	return nil
}

// SearchConfig configures Search.
type SearchConfig struct {
	Gen        Gen         // what to generate (Gen.Base: faults around a scenario)
	Invariants []Invariant // default DefaultInvariants
	Runs       int         // scenarios to try (default 100)
	Seed       int64       // the search's seed: run i draws from Seed+i
	// MaxFailures stops the search after this many failures (default 1).
	MaxFailures int
	// ShrinkBudget bounds the runs spent shrinking one failure (0: the
	// default, 200; negative: none, the failure is written as found).
	ShrinkBudget int
	// Progress, if set, is called after every run and every shrink step.
	Progress func(p SearchProgress)
	// NoBaseline skips the fault-free run of Gen.Base before the search
	// (Baseline): no refusal of a base that fails without faults, and
	// Gen.BaseTime and Gen.Horizon stay as given.
	NoBaseline bool
	// Stats, if set, is filled in as the search goes: what it exercised.
	Stats *SearchStats
}

// SearchStats is what a search exercised, so that "no invariant violated"
// can be weighed: faults drawn after their run had ended were never
// injected, and a schedule that injected none tested no fault tolerance.
//
// Drawn and injected count in one unit, the drawn fault (what
// Gen.MaxFaults bounds): a schedule entry, with a kill and the restart
// paired with it (restart_node, restart_gcs_replica) one fault, a random
// process one fault, and heals none (they only end other faults). A drawn
// fault counts injected once its run applied it, or for a random process
// any of the faults it drew (runner.FaultOutcome.Schedule names the entry).
type SearchStats struct {
	// BaseTime is the base's fault-free run time (Baseline; 0 without
	// one), Horizon the time every drawn fault starts before.
	BaseTime, Horizon time.Duration
	// Runs counts the schedules run and checked.
	Runs int
	// FaultsDrawn counts the drawn faults of the schedules; FaultsLate
	// those of them that start at or after their run's end, never
	// injected.
	FaultsDrawn, FaultsLate int
	// FaultsInjected counts the drawn faults the runs injected (at most
	// FaultsDrawn - FaultsLate). It is not the runs' own
	// runner.Result.FaultsInjected ("faults N injected" of `raysim run`),
	// which counts each action apart: a restart, each of a random
	// process's faults, a heal.
	FaultsInjected int
	// NoFaultRuns counts the schedules whose run injected no drawn fault;
	// NoneDrawn those of them with no fault drawn (the generator draws
	// 0..MaxFaults).
	NoFaultRuns, NoneDrawn int
}

// drawnFault reports whether a schedule entry of kind k is a drawn fault
// of its own (SearchStats): not a restart, which is its kill's, nor a
// heal.
func drawnFault(k string) bool {
	return k != scenarios.RestartNode && k != scenarios.RestartGCSReplica && k != scenarios.Heal
}

// add counts one checked run of scenario s.
func (st *SearchStats) add(s *scenarios.Scenario, r *Run) {
	if st == nil || r == nil {
		return
	}
	st.Runs++
	end := time.Duration(r.Result.VirtualSeconds * float64(time.Second))
	applied := make(map[int]bool) // entries of s.Faults the run injected something of
	for _, o := range r.Result.Faults {
		if o.Injected {
			applied[o.Schedule] = true
		}
	}
	drawn, injected := 0, 0
	for i, f := range s.Faults {
		if !drawnFault(f.Kind) {
			continue
		}
		drawn++
		start := f.At
		if f.Kind == scenarios.Random && f.Random != nil {
			start = f.Random.From
		}
		if start >= end {
			st.FaultsLate++
		}
		if applied[i] {
			injected++
		}
	}
	st.FaultsDrawn += drawn
	st.FaultsInjected += injected
	if drawn == 0 {
		st.NoneDrawn++
	}
	if injected == 0 {
		st.NoFaultRuns++
	}
}

// SearchProgress is a snapshot of a running Search.
type SearchProgress struct {
	Run, Runs  int
	Failures   int
	Shrinking  bool
	ShrinkRuns int
}

// Search is the property search outside `go test`: Runs scenarios drawn
// from cfg.Gen with seeds Seed, Seed+1, ..., each run and checked; each
// failure is shrunk (Shrink) and written to cfg.Gen.Dir as NAME-SEED.yaml.
//
// Around a Base scenario it first runs the base once without faults
// (Baseline, unless cfg.NoBaseline): if that fails or does not finish it
// returns an error wrapping ErrBaseFails and searches nothing; else the
// fault-free run time becomes Gen.BaseTime (unless set) and, when
// Gen.Horizon is 0, the horizon: faults are drawn while the work runs,
// not after it has ended, where they would never be injected.
func Search(ctx context.Context, cfg SearchConfig) ([]*Failure, error) {
	if err := cfg.Gen.Validate(); err != nil {
		return nil, err
	}
	g := cfg.Gen.withDefaults()
	if cfg.Gen.Base != nil && !cfg.NoBaseline {
		r, err := Baseline(ctx, g, cfg.Invariants...)
		if err != nil {
			return nil, err
		}
		t := runTime(r)
		if g.BaseTime == 0 {
			g.BaseTime = t
		}
		if cfg.Gen.Horizon == 0 {
			g.Horizon = t
		}
	}
	if cfg.Stats != nil {
		cfg.Stats.BaseTime, cfg.Stats.Horizon = g.BaseTime, g.Horizon
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 100
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 1
	}
	if cfg.ShrinkBudget == 0 {
		cfg.ShrinkBudget = 200
	}
	invs := cfg.Invariants
	if len(invs) == 0 {
		invs = DefaultInvariants()
	}
	gen := g.Scenario()
	var found []*Failure
	for i := 0; i < cfg.Runs && len(found) < cfg.MaxFailures; i++ {
		if err := ctx.Err(); err != nil {
			return found, err
		}
		seed := cfg.Seed + int64(i)
		s, err := example(gen, seed)
		if err != nil {
			return found, err
		}
		r, f, err := Execute(ctx, s, invs...)
		if err != nil {
			return found, err
		}
		cfg.Stats.add(s, r)
		if cfg.Progress != nil {
			cfg.Progress(SearchProgress{Run: i + 1, Runs: cfg.Runs, Failures: len(found)})
		}
		if f == nil {
			continue
		}
		f, err = Shrink(ctx, f, invs, cfg.ShrinkBudget, func(runs int, _ *Failure) {
			if cfg.Progress != nil {
				cfg.Progress(SearchProgress{Run: i + 1, Runs: cfg.Runs, Failures: len(found), Shrinking: true, ShrinkRuns: runs})
			}
		})
		// Interrupted while shrinking, the failure found is kept, shrunk
		// as far as it got, and the interrupt returned with it.
		f.baseExpect = expectBlock(g.Base)
		if _, werr := Write(g.Dir, fmt.Sprintf("%s-%d", g.Name, seed), f); werr != nil {
			// The failure is returned all the same (its Scenario in hand,
			// File empty): a search's find is not lost to a bad directory.
			return append(found, f), werr
		}
		found = append(found, f)
		if err != nil {
			return found, err
		}
	}
	return found, nil
}

// example draws one value of gen from a seed, outside a test.
func example(gen *rapid.Generator[*scenarios.Scenario], seed int64) (s *scenarios.Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check: generating scenario %d: %v", seed, r)
		}
	}()
	// rapid's Example takes an int seed; mix ours so nearby seeds differ.
	return gen.Example(int(rand.New(rand.NewPCG(uint64(seed), 0x5eed)).Int64())), nil
}
