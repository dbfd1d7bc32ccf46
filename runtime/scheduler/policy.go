// Package scheduler holds raysim's placement: the pluggable Policy that
// decides whether a raylet keeps a task and which node the global scheduler
// gives it, and the global scheduler component itself. The default policy is
// the Ray paper's bottom-up scheduler: a task runs where it was submitted
// when the node can run it and its queue is short; otherwise it spills to the
// global scheduler, which picks the feasible node with the lowest estimated
// waiting time (queue length × mean task time + remote input bytes ÷
// bandwidth, and a mean task time more where the task's resources are all
// taken).
package scheduler

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Candidate is the global scheduler's view of one feasible node (one whose
// total resources can hold the task's). Its numbers come from the node's
// last heartbeat (every HeartbeatPeriod), less what the scheduler placed
// there since: they may be stale by a heartbeat, and a node that died since
// may still be a candidate until its death is heard (the task then comes
// back and is placed again).
type Candidate struct {
	Node      transport.NodeID
	Total     transport.Resources // the node's capacity
	Available transport.Resources // free at its last heartbeat, less the placements since
	// QueueLen is the node's tasks waiting to start (not the running
	// ones), plus those placed on it since its heartbeat.
	QueueLen int
	// MeanTaskTime is an exponential average of the node's tasks' run
	// times (0 before any ended).
	MeanTaskTime time.Duration
	// Bandwidth is the node's mean pull throughput, bytes/s (0: not
	// measured yet; the Decision's then stands for it).
	Bandwidth  float64
	LocalBytes int64 // bytes of the task's by-reference arguments already on this node (the GCS object table's view)
}

// Decision is what a policy needs to know about the task being placed.
type Decision struct {
	Spec       *transport.TaskSpec
	ArgBytes   int64   // total bytes of by-reference arguments
	Bandwidth  float64 // mean bandwidth estimate, bytes/s, for a candidate without its own
	QueueLimit int     // the spill threshold
}

// Policy is a placement policy. The built-ins are named by NewPolicy; a
// program's own is any value with these methods, handed to the runtime in
// ray.Config.PolicyImpl (or, for scenarios, scenarios.Extensions.Policies).
//
// A policy is called on the runtime's event loops (every raylet's for Local,
// the global scheduler's for Pick; on TCP those are different goroutines at
// once), so it must keep no mutable state of its own: everything it needs
// comes in its arguments. Two optional methods change how the raylets use
// it:
//
//   - WaitsForArgs() bool: true makes a raylet spill a task only once every
//     by-reference argument of it exists somewhere, so Pick sees where they
//     are (locality-aware); such a task, once queued, is never re-spilled.
//   - "local first" is no method: LocalFirst(p) is derived by calling
//     p.Local(true, 0, 1) (a feasible node with an empty queue and a
//     threshold of 1). A local-first policy (bottom-up) has the only node
//     of a one-node cluster keep a task it would spill (a round trip that
//     could only bring it back); one that sends every task to the global
//     scheduler (centralized) spills it all the same.
type Policy interface {
	// Name is the policy's name in a scenario (cluster.scheduler.policy),
	// traces and results; unique among the policies a run knows.
	Name() string
	// Local reports whether a raylet that can run the task (feasible) with
	// queueLen tasks waiting keeps it rather than spilling it to the
	// global scheduler; threshold is the spill threshold
	// (ray.Config.SpillThreshold, 0 when every task must spill).
	Local(feasible bool, queueLen, threshold int) bool
	// Pick returns the index of the chosen candidate (len(c) > 0, in
	// the order the nodes registered). It must be deterministic given its arguments: its only
	// randomness is r, the global scheduler's seeded source (in netsim the
	// same seed gives the same run), and it must not keep c or d. An
	// index out of range (or a panic) places the task nowhere: the global
	// scheduler holds it, warns, and asks again on a later heartbeat.
	Pick(d *Decision, c []Candidate, r *rand.Rand) int
}

// EstimatedWait is the paper's estimate for a candidate: queue length times
// mean task time plus the time to fetch the inputs it lacks at its mean
// bandwidth (both means are exponential averages the nodes heartbeat). The queue is
// drained by all of the node's CPUs, so it counts per CPU: the paper's nodes
// were identical, where here a 2-CPU node must not get an 8-CPU node's share.
//
// A node without the task's resources free (as its last heartbeat, less
// the scheduler's placements since, tells) waits, besides, for a running
// task to end: one mean task time more. The queue counts only tasks not
// started, so a node whose CPUs long tasks hold, with nothing queued,
// estimated no wait, as an idle one does, and got spilled tasks while
// others had CPUs free (Ray's default policy prefers a node with the
// resources available). A penalty rather than a rule: a busy node that
// holds a task's large inputs can still beat a free one that must fetch
// them.
//
// The arithmetic saturates: a node's heartbeat claiming a huge queue or
// mean task time (or a negative one) must not wrap its wait negative and
// win every placement.
func EstimatedWait(d *Decision, c *Candidate) time.Duration {
	mean := float64(max(c.MeanTaskTime, 0))
	w := float64(c.QueueLen) * mean
	if cpus := c.Total.CPU; cpus > 0 {
		w = w * transport.ResourceUnit / float64(cpus)
	}
	if d.Spec != nil && !d.Spec.Placement().Fits(c.Available) {
		w += mean
	}
	wait := saturate(w)
	bw := c.Bandwidth
	if bw <= 0 {
		bw = d.Bandwidth
	}
	if bw > 0 {
		remote := max(d.ArgBytes-c.LocalBytes, 0)
		wait = min(wait, math.MaxInt64/2) + min(saturate(float64(remote)/bw*float64(time.Second)), math.MaxInt64/2)
	}
	return wait
}

// saturate converts v to a Duration (truncating, as a conversion does),
// clamped to the Duration range instead of wrapping.
func saturate(v float64) time.Duration {
	switch {
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(v)
}

// WaitsForArgs reports whether a raylet spills a task under p only once
// every by-reference argument of it exists somewhere (locality-aware), so
// the global scheduler places it by where they are.
func WaitsForArgs(p Policy) bool {
	w, ok := p.(interface{ WaitsForArgs() bool })
	return ok && w.WaitsForArgs()
}

// LocalFirst reports whether p keeps tasks on the submitting node while it
// can (bottom-up, locality-aware), rather than sending every task through
// the global scheduler (centralized, random, power-of-two).
func LocalFirst(p Policy) bool { return p.Local(true, 0, 1) }

func localFirst(feasible bool, queueLen, threshold int) bool {
	return feasible && queueLen < threshold
}

// minWait picks the lowest estimated wait; ties (every wait is zero before
// any task has finished, say) go to a node with the task's resources free,
// then to the shortest queue per CPU, then the lowest index, so a burst
// spreads over the CPUs instead of piling onto the first node.
func minWait(d *Decision, c []Candidate) int {
	best, bestW := 0, EstimatedWait(d, &c[0])
	for i := 1; i < len(c); i++ {
		w := EstimatedWait(d, &c[i])
		if w < bestW || (w == bestW && before(d, &c[i], &c[best])) {
			best, bestW = i, w
		}
	}
	return best
}

// before breaks a tie of estimated waits: a node with the task's resources
// free first, then the shorter queue per CPU.
func before(d *Decision, a, b *Candidate) bool {
	if d.Spec != nil {
		if need := d.Spec.Placement(); need.Fits(a.Available) != need.Fits(b.Available) {
			return need.Fits(a.Available)
		}
	}
	return shorterPerCPU(a, b)
}

// shorterPerCPU reports whether a's queue is shorter than b's per CPU (a
// node with less than one CPU counts as one).
func shorterPerCPU(a, b *Candidate) bool {
	ca, cb := max(a.Total.CPU, transport.ResourceUnit), max(b.Total.CPU, transport.ResourceUnit)
	return float64(a.QueueLen)/float64(ca) < float64(b.QueueLen)/float64(cb)
}

type bottomUp struct{}

func (bottomUp) Name() string                                      { return "bottom-up" }
func (bottomUp) Local(f bool, q, t int) bool                       { return localFirst(f, q, t) }
func (bottomUp) Pick(d *Decision, c []Candidate, _ *rand.Rand) int { return minWait(d, c) }

type centralized struct{}

func (centralized) Name() string                                      { return "centralized" }
func (centralized) Local(bool, int, int) bool                         { return false }
func (centralized) Pick(d *Decision, c []Candidate, _ *rand.Rand) int { return minWait(d, c) }

type random struct{}

func (random) Name() string                                      { return "random" }
func (random) Local(bool, int, int) bool                         { return false }
func (random) Pick(_ *Decision, c []Candidate, r *rand.Rand) int { return r.IntN(len(c)) }

type powerOfTwo struct{}

func (powerOfTwo) Name() string              { return "power-of-two" }
func (powerOfTwo) Local(bool, int, int) bool { return false }
func (powerOfTwo) Pick(_ *Decision, c []Candidate, r *rand.Rand) int {
	a, b := r.IntN(len(c)), r.IntN(len(c))
	if c[b].QueueLen < c[a].QueueLen {
		return b
	}
	return a
}

// localityAware places a task where most of its argument bytes are: it
// ranks by LocalBytes first and by estimated wait only among equal bytes,
// so any bytes beat any load (tasks sharing one tiny argument pile onto its
// node; docs/scenarios.md says so), and a queued task with by-reference
// arguments is never re-spilled under it (node/respill.go). Its
// submitter spills a task only once every argument exists somewhere
// (WaitsForArgs), as Ray's owner resolves a task's dependencies before it
// asks for a lease: placed at submission, a task whose inputs were still
// being made would see no locations at all.
type localityAware struct{}

func (localityAware) Name() string                { return "locality-aware" }
func (localityAware) WaitsForArgs() bool          { return true }
func (localityAware) Local(f bool, q, t int) bool { return localFirst(f, q, t) }
func (localityAware) Pick(d *Decision, c []Candidate, _ *rand.Rand) int {
	// The most argument bytes already local; among those, minWait's
	// choice (its tie-break spreads a burst of tasks without arguments).
	best, bestW := 0, EstimatedWait(d, &c[0])
	for i := 1; i < len(c); i++ {
		w := EstimatedWait(d, &c[i])
		if c[i].LocalBytes > c[best].LocalBytes ||
			c[i].LocalBytes == c[best].LocalBytes && (w < bestW || w == bestW && before(d, &c[i], &c[best])) {
			best, bestW = i, w
		}
	}
	return best
}

// builtins are the built-in policies by name: a read-only table, never
// written after init (a program's own policies travel as values, in
// ray.Config.PolicyImpl or the own list NewPolicy and PolicyNames take,
// not as entries added here: no global mutable state).
var builtins = map[string]Policy{
	"bottom-up":      bottomUp{},
	"centralized":    centralized{},
	"random":         random{},
	"power-of-two":   powerOfTwo{},
	"locality-aware": localityAware{},
}

// ErrBadPolicy is returned for a program's own policy that cannot be used:
// nil, without a name, or named as another one (a built-in or one of its
// own).
var ErrBadPolicy = errors.New("scheduler: bad policy")

// ErrUnknownPolicy is returned by NewPolicy for a name that is neither a
// built-in nor one of the program's own policies.
var ErrUnknownPolicy = errors.New("scheduler: unknown policy")

// CheckPolicies reports a program's own policies that cannot be used
// beside the built-ins (ErrBadPolicy): a nil one, one whose Name is empty,
// and two with the same name, or one named as a built-in (a scenario names
// a policy, so a name must say which one it is).
func CheckPolicies(own []Policy) error {
	seen := map[string]bool{}
	for i, p := range own {
		if p == nil {
			return fmt.Errorf("%w: policy %d is nil", ErrBadPolicy, i)
		}
		n := p.Name()
		switch {
		case n == "":
			return fmt.Errorf("%w: policy %d (%T) has no name", ErrBadPolicy, i, p)
		case builtins[n] != nil:
			return fmt.Errorf("%w: %q (%T) is a built-in policy's name", ErrBadPolicy, n, p)
		case seen[n]:
			return fmt.Errorf("%w: two policies are named %q", ErrBadPolicy, n)
		}
		seen[n] = true
	}
	return nil
}

// builtinOrder is the built-ins' order in lists: the one the scenario
// format has always listed them in (and check.Gen draws from, so that a
// seed draws the same policies as before).
var builtinOrder = []string{"bottom-up", "centralized", "random", "power-of-two", "locality-aware"}

// PolicyNames lists the built-in policies, then the program's own (own) in
// their order: the one list of the names a scenario's
// cluster.scheduler.policy, raysim start --policy and check.Gen.Policies
// may use.
func PolicyNames(own ...Policy) []string {
	names := slices.Clone(builtinOrder)
	for _, p := range own {
		if p != nil && p.Name() != "" && !slices.Contains(names, p.Name()) {
			names = append(names, p.Name())
		}
	}
	return names
}

// NewPolicy returns the policy named name ("" is bottom-up): a built-in,
// or one of own, the program's own policies (see CheckPolicies; an
// unusable own list is an ErrBadPolicy). An unknown name is an
// ErrUnknownPolicy.
func NewPolicy(name string, own ...Policy) (Policy, error) {
	if err := CheckPolicies(own); err != nil {
		return nil, err
	}
	if name == "" {
		name = "bottom-up"
	}
	if p, ok := builtins[name]; ok {
		return p, nil
	}
	for _, p := range own {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownPolicy, name, PolicyNames(own...))
}
