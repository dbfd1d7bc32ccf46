// Package workload turns a scenario's workload entries into drivers on the
// ray API: the built-in generators (parallel, tree-reduce, map-reduce, chain,
// nested, rl, parameter-server, actor-calls). Each generator knows the correct result of
// what it computes — values are deterministic hashes of the task's position
// in the graph — so a run can check results_correct against a sequential
// evaluation.
//
// Sizes are virtual: a task "returning 1 MiB" returns a ray.Blob whose
// Bytes is 1 MiB (what stores and links account) and whose Sum is the value.
// Links carry the declared size in netsim and over TCP alike (see ray.Blob);
// memory holds a dozen bytes.
//
// How entries divide among drivers: scenarios.Split says. For parallel,
// chain and nested the roots (tasks, chains, roots) are split among the
// entry's drivers; tree-reduce, map-reduce, rl, parameter-server and
// actor-calls run one instance per driver.
package workload

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"time"

	"raysim/runtime/ray"
	"raysim/scenarios"
)

// Mix is the deterministic value function of the generators (SplitMix64 of
// its inputs).
func Mix(xs ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, x := range xs {
		h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
		h = (h ^ (h >> 27)) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// Tamper, for tests of the checks only, rewrites what a generator's remote
// function returns, or an actor's state, as a runtime bug that corrupted,
// truncated or lost values would: the checks must see it. what names the
// value (the function's name, or "actor.state", "actor.restore").
type Tamper func(what string, v any) any

// out is v, unless a test tampers with it.
func out[T any](t Tamper, what string, v T) T {
	if t == nil {
		return v
	}
	return t(what, v).(T)
}

// Funcs are the remote functions and actors of every generator. They are
// registered together so that every node has the same function table
// whatever the scenario.
type Funcs struct {
	task   *ray.Func[ray.Blob]
	leaf   *ray.Func[int64]
	sum    *ray.Func[int64]
	mapper *ray.Func[[]ray.Ref[ray.Blob]]
	// mapperN returns a map's partitions as its return objects
	// (map-reduce's returns: true).
	mapperN *ray.FuncN[ray.Blob]
	// mapperGen yields a map's partitions one at a time (map-reduce's
	// stream: true).
	mapperGen *ray.GenFunc[ray.Blob]
	reducer   *ray.Func[ray.Blob]
	link      *ray.Func[ray.Blob]
	nested    *ray.Func[int64]
	update    *ray.Func[uint64]
	sim       *ray.ActorClass[simulator]
	rollout   *ray.ActorMethod[simulator, ray.Blob]
	simState  *ray.ActorMethod[simulator, [2]uint64]
	ps        *ray.ActorClass[paramShard]
	pull      *ray.ActorMethod[paramShard, ray.Blob]
	push      *ray.ActorMethod[paramShard, uint64]
	psWorker  *ray.Func[int64]
	seq       *ray.ActorClass[sequencer]
	step      *ray.ActorMethod[sequencer, string]
	audit     *ray.ActorMethod[sequencer, string]
	seqCaller *ray.Func[[]string]
	// own are the drivers of the program's own workloads
	// (scenarios.Extensions.Workloads), by name (RegisterOwn).
	own map[string]scenarios.OwnDriver
}

// RegisterOwn registers the program's own workloads of ext in reg (each
// one's Setup, in order) beside the built-ins, so that entries naming them
// get their drivers. Call it once, after Register, before the cluster is
// built; nil ext registers nothing.
func (f *Funcs) RegisterOwn(reg *ray.Registry, ext *scenarios.Extensions) error {
	if ext == nil {
		return nil
	}
	for _, w := range ext.Workloads {
		if w.Setup == nil {
			return fmt.Errorf("workload: %w: %q has no Setup", scenarios.ErrBadWorkload, w.Name)
		}
		d := w.Setup(reg)
		if d == nil {
			return fmt.Errorf("workload: %w: %q: Setup returned no driver", scenarios.ErrBadWorkload, w.Name)
		}
		if f.own == nil {
			f.own = map[string]scenarios.OwnDriver{}
		}
		f.own[w.Name] = d
	}
	return nil
}

// ownRun runs an own workload's driver with its DriverInfo.
func (d *driver) ownRun(ctx context.Context, p *scenarios.OwnParams) error {
	run := d.f.own[p.Generator()]
	if run == nil {
		return fmt.Errorf("workload: generator %q has no driver (its Setup was not registered: Funcs.RegisterOwn)", p.Generator())
	}
	info := &scenarios.DriverInfo{Entry: d.w.Name, Index: d.k, Drivers: d.n, Params: maps.Clone(p.Values), Rand: d.rng,
		Options: entryOptions(d.w.MaxRetries, d.w.Resources, d.w.RetryExceptions),
		Check:   func(ok bool, what string) { d.t.check(ok, what) }}
	return run(ctx, info)
}

// rolloutSize is the size of a rollout's result.
const rolloutSize = 4096

// simulator is an RL environment actor. Its rollouts' results depend only on
// its id and the policy; it counts them as its state, which it checkpoints
// (ray.Checkpointer), so that a restart shows what replay rebuilt.
type simulator struct {
	id uint64
	// mu guards rollouts: a threaded simulator (rl's max_concurrency) runs
	// rollouts at once, on TCP in goroutines of their own.
	mu       sync.Mutex
	rollouts uint64
	tamper   Tamper
}

func (s *simulator) Checkpoint() ([]byte, error) { return binary.AppendUvarint(nil, s.rollouts), nil }

func (s *simulator) Restore(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return fmt.Errorf("simulator %d: bad checkpoint", s.id)
	}
	s.rollouts = out(s.tamper, "actor.restore", n)
	return nil
}

type paramShard struct {
	size    int64
	weights uint64
}

// sequencer is actor-calls' actor. Each instance (a restart makes a new
// one) checks the calls it runs against what Ray guarantees: each caller's
// calls in submission order, and no call twice. A call says who made it
// and its place in the caller's order (the caller's call count to this
// actor); the instance keeps the last place it ran of each caller and the
// IDs of the calls it ran. A rebuild (lineage reconstruction of a lost
// result) runs outside its caller's order and may repeat a call the
// instance ran: it is not counted. bad is the first violation, which every
// later call and the audit report (a call that ran twice has had its
// result read already: a later one must tell).
type sequencer struct {
	id     uint64
	mu     sync.Mutex // a TCP actor's methods may run on goroutines of their own
	last   map[uint64]uint64
	ran    map[uint64]bool
	bad    string
	tamper Tamper
}

// run takes call seq of caller (the task ID id) and returns the instance's
// first violation so far ("" for none).
func (s *sequencer) run(id, caller, seq uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch last, seen := s.last[caller]; {
	case s.bad != "":
	case s.ran[id]:
		s.bad = fmt.Sprintf("sequencer %d ran call %d of caller %d twice in one instance", s.id, seq, caller)
	case seen && seq <= last:
		s.bad = fmt.Sprintf("sequencer %d ran call %d of caller %d after its call %d in one instance (out of submission order)", s.id, seq, caller, last)
	}
	s.last[caller], s.ran[id] = seq, true
	return out(s.tamper, "actor.order", s.bad)
}

// seqCallerArgs travel to each of actor-calls' caller tasks: its caller
// number, the actors' IDs, its calls per actor, each call's duration and
// the gap before each round of calls (nanoseconds).
type seqCallerArgs struct {
	Caller   uint64   `json:"c"`
	Actors   []uint64 `json:"a"`
	Calls    int      `json:"n"`
	Duration int64    `json:"t"`
	Gaps     []int64  `json:"g,omitempty"`
}

// SequencerRestarts is the max_restarts of actor-calls' actors, and
// SequencerRetries its calls' max_retries.
const (
	SequencerRestarts = 3
	SequencerRetries  = 3
)

// nestedArgs travel to each nested task. Retries and Resources are the
// workload entry's max_retries and resources, which a task passes on to
// its children (they are the entry's tasks too).
type nestedArgs struct {
	Key       uint64             `json:"k"`
	Depth     int                `json:"d"`
	Fanout    int                `json:"f"`
	Duration  int64              `json:"t"`
	Retries   int                `json:"r"`
	Resources map[string]float64 `json:"res,omitempty"`
	// RetryErrors: the entry's retry_exceptions (left out when false, so
	// the arguments of entries without it encode as before).
	RetryErrors bool `json:"x,omitempty"`
}

// psArgs travel to each parameter-server worker task.
type psArgs struct {
	Worker     uint64   `json:"w"`
	Iterations int      `json:"i"`
	Servers    []uint64 `json:"s"`
	Duration   int64    `json:"t"`
	Durations  []int64  `json:"ts,omitempty"` // per iteration, when drawn from a distribution (else Duration)
	Size       int64    `json:"z"`
}

// Register adds every generator's functions to reg.
func Register(reg *ray.Registry) *Funcs { return RegisterTampered(reg, nil) }

// RegisterTampered is Register with a Tamper (tests of the checks only).
func RegisterTampered(reg *ray.Registry, tamper Tamper) *Funcs {
	f := &Funcs{}
	f.task = ray.Register2(reg, "wl.task", func(ctx context.Context, key uint64, size int64) (ray.Blob, error) {
		return out(tamper, "wl.task", ray.Blob{Bytes: size, Sum: Mix(key)}), nil
	})
	f.leaf = ray.Register1(reg, "wl.leaf", func(ctx context.Context, i int64) (int64, error) { return out(tamper, "wl.leaf", i), nil })
	f.sum = ray.RegisterN(reg, "wl.sum", func(ctx context.Context, xs []int64) (int64, error) {
		return Combine(xs), nil
	})
	f.mapper = ray.Register2(reg, "wl.map", func(ctx context.Context, key uint64, shape [2]int64) ([]ray.Ref[ray.Blob], error) {
		parts := make([]ray.Ref[ray.Blob], shape[0])
		for j := range parts {
			r, err := ray.Put(ctx, out(tamper, "wl.map", ray.Blob{Bytes: shape[1], Sum: Mix(key, uint64(j))}))
			if err != nil {
				return nil, err
			}
			parts[j] = r
		}
		return out(tamper, "wl.map.parts", parts), nil
	})
	f.mapperN = ray.Register2xN(reg, "wl.map.returns", func(ctx context.Context, key uint64, shape [2]int64) ([]ray.Blob, error) {
		parts := make([]ray.Blob, shape[0])
		for j := range parts {
			parts[j] = out(tamper, "wl.map", ray.Blob{Bytes: shape[1], Sum: Mix(key, uint64(j))})
		}
		return parts, nil
	})
	f.mapperGen = ray.RegisterGen2(reg, "wl.map.stream", func(ctx context.Context, key uint64, shape [2]int64, yield func(ray.Blob) error) error {
		for j := range shape[0] {
			if err := yield(out(tamper, "wl.map", ray.Blob{Bytes: shape[1], Sum: Mix(key, uint64(j))})); err != nil {
				return err
			}
		}
		return nil
	})
	f.reducer = ray.RegisterN(reg, "wl.reduce", func(ctx context.Context, parts []ray.Blob) (ray.Blob, error) {
		var out ray.Blob
		for _, p := range parts { // a part's size counts: a truncated one shows
			out.Sum += p.Sum + uint64(p.Bytes)
		}
		out.Bytes = 64
		return out, nil
	})
	f.link = ray.Register2(reg, "wl.chain", func(ctx context.Context, prev ray.Blob, size int64) (ray.Blob, error) {
		return out(tamper, "wl.chain", ray.Blob{Bytes: size, Sum: prev.Sum + 1}), nil
	})
	f.nested = ray.Register1(reg, "wl.nested", func(ctx context.Context, a nestedArgs) (int64, error) {
		kids := nestedKids(a)
		var refs []ray.Ref[int64]
		for i, k := range kids {
			child := nestedArgs{Key: k, Depth: a.Depth - 1, Fanout: a.Fanout, Duration: nestedDuration(a, i),
				Retries: a.Retries, Resources: a.Resources, RetryErrors: a.RetryErrors}
			refs = append(refs, f.nested.Options(taskOptions(time.Duration(child.Duration), "nested", a.Retries, a.Resources, a.RetryErrors)...).Remote(ctx, child))
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		if err != nil {
			return 0, err
		}
		n := int64(1)
		for _, v := range vs {
			n += v
		}
		return n, nil
	})
	f.update = ray.RegisterN(reg, "wl.update", func(ctx context.Context, xs []ray.Blob) (uint64, error) {
		h := xs[0].Sum // the current policy
		for _, x := range xs[1:] {
			h = Mix(h, x.Sum)
			if x.Bytes != rolloutSize { // a truncated rollout shows in the policy
				h = Mix(h, uint64(x.Bytes))
			}
		}
		return h, nil
	})
	f.sim = ray.RegisterActor1(reg, "wl.Simulator", func(ctx context.Context, id uint64) (*simulator, error) {
		return &simulator{id: id, tamper: tamper}, nil
	})
	f.rollout = ray.Method1(f.sim, "rollout", func(ctx context.Context, s *simulator, policy uint64) (ray.Blob, error) {
		s.mu.Lock()
		s.rollouts = out(s.tamper, "actor.state", s.rollouts+1)
		s.mu.Unlock()
		return out(s.tamper, "wl.rollout", ray.Blob{Bytes: rolloutSize, Sum: Mix(s.id, policy)}), nil
	})
	// state is the simulator's state (its rollouts) and whether it runs in
	// a restarted actor (the state is then what checkpoint and replay
	// rebuilt: 1) or not (0).
	f.simState = ray.Method0(f.sim, "state", func(ctx context.Context, s *simulator) ([2]uint64, error) {
		r := uint64(0)
		if ray.ActorRestarted(ctx) {
			r = 1
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return [2]uint64{s.rollouts, r}, nil
	})
	f.ps = ray.RegisterActor1(reg, "wl.ParamShard", func(ctx context.Context, size int64) (*paramShard, error) {
		return &paramShard{size: size}, nil
	})
	f.pull = ray.Method0(f.ps, "pull", func(ctx context.Context, p *paramShard) (ray.Blob, error) {
		return out(tamper, "wl.pull", ray.Blob{Bytes: p.size, Sum: p.weights}), nil
	})
	f.push = ray.Method1(f.ps, "push", func(ctx context.Context, p *paramShard, grad ray.Blob) (uint64, error) {
		p.weights += grad.Sum
		return p.weights, nil
	})
	f.seq = ray.RegisterActor1(reg, "wl.Sequencer", func(ctx context.Context, id uint64) (*sequencer, error) {
		return &sequencer{id: id, last: map[uint64]uint64{}, ran: map[uint64]bool{}, tamper: tamper}, nil
	})
	f.step = ray.Method2(f.seq, "step", func(ctx context.Context, s *sequencer, caller, seq uint64) (string, error) {
		if ray.Rebuilding(ctx) {
			return "", nil // outside its caller's order, and perhaps run here before
		}
		return s.run(uint64(ray.TaskID(ctx)), caller, seq), nil
	})
	f.audit = ray.Method0(f.seq, "audit", func(ctx context.Context, s *sequencer) (string, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.bad, nil
	})
	f.seqCaller = ray.Register1(reg, "wl.seqcaller", func(ctx context.Context, a seqCallerArgs) ([]string, error) {
		handles := make([]ray.ActorHandle[sequencer], len(a.Actors))
		for i, id := range a.Actors {
			handles[i] = ray.ActorHandleOf[sequencer](ray.TaskIDOf(id))
		}
		refs, err := f.seqCalls(ctx, handles, a.Caller, a.Calls, time.Duration(a.Duration), func(i int) error {
			if i < len(a.Gaps) && a.Gaps[i] > 0 {
				return ray.Compute(ctx, time.Duration(a.Gaps[i]))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		vs, err := ray.GetAll(ctx, refs, -1)
		if err != nil {
			return nil, err
		}
		var bad []string
		for _, v := range vs {
			if v != "" && !slices.Contains(bad, v) {
				bad = append(bad, v)
			}
		}
		return bad, nil
	})
	f.psWorker = ray.Register1(reg, "wl.psworker", func(ctx context.Context, a psArgs) (int64, error) {
		handles := make([]ray.ActorHandle[paramShard], len(a.Servers))
		for i, id := range a.Servers {
			handles[i] = ray.ActorHandleOf[paramShard](ray.TaskIDOf(id))
		}
		// A shard runs one caller's calls in order: a pull sees at least
		// this worker's earlier pushes to it (own), and weights only grow
		// (seen: the last pull or ack). good counts the iterations whose
		// pulls and acks were so; the driver wants all of them.
		var acks []ray.Ref[uint64]
		own, seen := make([]uint64, len(handles)), make([]uint64, len(handles))
		bad := make([]bool, a.Iterations)
		for it := 0; it < a.Iterations; it++ {
			pulls := make([]ray.Ref[ray.Blob], len(handles))
			for s, h := range handles {
				pulls[s] = f.pull.Remote(ctx, h)
			}
			vs, err := ray.GetAll(ctx, pulls, -1)
			if err != nil {
				return 0, err
			}
			for s, v := range vs {
				if v.Bytes != a.Size || v.Sum < own[s] || v.Sum < seen[s] {
					bad[it] = true
				}
				seen[s] = max(seen[s], v.Sum)
			}
			dur := a.Duration
			if it < len(a.Durations) {
				dur = a.Durations[it]
			}
			if err := ray.Compute(ctx, time.Duration(dur)); err != nil {
				return 0, err
			}
			for s, h := range handles {
				acks = append(acks, f.push.Remote(ctx, h, ray.Blob{Bytes: a.Size, Sum: psGrad(a.Worker, it, s)}))
				own[s] += psGrad(a.Worker, it, s)
			}
		}
		vs, err := ray.GetAll(ctx, acks, -1)
		if err != nil {
			return 0, err
		}
		clear(own)
		last := make([]uint64, len(handles))
		for i, v := range vs {
			it, s := i/len(handles), i%len(handles)
			own[s] += psGrad(a.Worker, it, s)
			if v < own[s] || v < last[s] {
				bad[it] = true
			}
			last[s] = v
		}
		good := int64(0)
		for _, b := range bad {
			if !b {
				good++
			}
		}
		return out(tamper, "wl.psworker", good), nil
	})
	return f
}

// Combine is the tree-reduce's combine: order-sensitive (a hash chain,
// one value its own combine), so a permuted or swapped input changes the
// root.
func Combine(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	h := xs[0]
	for _, x := range xs[1:] {
		h = int64(Mix(uint64(h), uint64(x)))
	}
	return h
}

func psGrad(worker uint64, it, shard int) uint64 {
	return Mix(worker, uint64(it), uint64(shard)) % 1000
}

// nestedKids is the random (but deterministic) sub-graph a nested task
// spawns: between 0 and 2*fanout children, fanout on average.
func nestedKids(a nestedArgs) []uint64 {
	if a.Depth <= 1 {
		return nil
	}
	n := int(Mix(a.Key, 1) % uint64(2*a.Fanout+1))
	kids := make([]uint64, n)
	for i := range kids {
		kids[i] = Mix(a.Key, 2, uint64(i))
	}
	return kids
}

// nestedDuration varies children's durations deterministically around the
// parent's (×0.5 .. ×1.5).
func nestedDuration(a nestedArgs, i int) int64 {
	f := 0.5 + float64(Mix(a.Key, 3, uint64(i))%1000)/1000
	return int64(float64(a.Duration) * f)
}

// nestedCount is the sequential evaluation of a nested tree.
func nestedCount(a nestedArgs) int64 {
	n := int64(1)
	for _, k := range nestedKids(a) {
		n += nestedCount(nestedArgs{Key: k, Depth: a.Depth - 1, Fanout: a.Fanout})
	}
	return n
}

// Tally counts the outcome of one workload entry across its drivers.
type Tally struct {
	Name      string
	Generator string
	Checked   int // results compared with the sequential evaluation
	// Rereads: of Checked, the second reads of a cancelled or failed ref
	// that agreed, or not, with the first (reread): consistency checks,
	// not values compared with the sequential evaluation.
	Rereads   int
	Incorrect int // of which wrong
	Errors    int // Gets that returned an error
	Cancelled int // Gets of refs the driver cancelled that returned ErrCancelled (not errors)
	FirstErr  error
	// KindErrs holds the first error of each kind seen (a ray sentinel,
	// or none), in the order seen: a check of which errors faults allow
	// must see them all, not only the first.
	KindErrs []error
	// ReasonErrs holds the first error of each distinct reason seen (its
	// text with IDs and numbers stripped: reasonOf), up to MaxReasons: a
	// first error of a kind that faults allow must not hide a later one
	// of the same kind that they do not.
	ReasonErrs []error
	reasons    []string
	Done       int // drivers that finished
	Drivers    int
	finished   []bool     // by driver index, once it returned
	mu         sync.Mutex // drivers of one entry run concurrently on TCP
}

// Unfinished returns the indices of the drivers that have not returned, in
// order.
func (t *Tally) Unfinished() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for k := 0; k < t.Drivers; k++ {
		if k >= len(t.finished) || !t.finished[k] {
			out = append(out, k)
		}
	}
	return out
}

func (t *Tally) check(ok bool, what string) { t.checkAs(ok, what, false) }

// checkAs counts a check, a reread's (see Rereads) or a value's.
func (t *Tally) checkAs(ok bool, what string, reread bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Checked++
	if reread {
		t.Rereads++
	}
	if !ok {
		t.Incorrect++
		if t.FirstErr == nil {
			t.FirstErr = fmt.Errorf("%s: %s: wrong result", t.Name, what)
		}
	}
}

// verify records a wrong actor state (ok false) without counting a result
// checked: whether a state can be checked depends on whether its actor
// was restarted, and the count of results must not (a live run and the
// simulator's compare it).
func (t *Tally) verify(ok bool, what string) {
	if ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Incorrect++
	if t.FirstErr == nil {
		t.FirstErr = fmt.Errorf("%s: %s: wrong result", t.Name, what)
	}
}

// cancelled takes the outcome of a Get of a ref the driver cancelled: its
// value (checked by ok) or ErrCancelled, both right; any other error is a
// failure as for any Get.
func (t *Tally) cancelled(err error, ok bool, what string) { t.cancelledAs(err, ok, what, false) }

func (t *Tally) cancelledAs(err error, ok bool, what string, reread bool) {
	switch {
	case errors.Is(err, ray.ErrCancelled):
		t.mu.Lock()
		t.Cancelled++
		t.mu.Unlock()
	case err != nil:
		t.fail(err)
	default:
		t.checkAs(ok, what, reread)
	}
}

// reread takes a second read of a ref the driver cancelled, made through a
// task elsewhere that takes the ref as its argument: it must agree with the
// first read (first, that Get's error), ErrCancelled both times or the value
// both times (ok checks the second). A first read that failed otherwise
// says nothing to compare; a second that fails otherwise is a failure as
// for any Get.
func (t *Tally) reread(first, err error, ok bool, what string) {
	wasCancelled := errors.Is(first, ray.ErrCancelled)
	switch {
	case failedForGood(first):
		t.checkAs(err != nil, what+": read failed for good, then a value", true)
	case first != nil && !wasCancelled:
		// Nothing to agree with (a timeout, an object lost): the second
		// read is a read of a cancelled ref as any, value or ErrCancelled.
		t.cancelledAs(err, ok, what+": read again", true)
	case errors.Is(err, ray.ErrCancelled):
		t.checkAs(wasCancelled, what+": read its value, then ErrCancelled", true)
	case err != nil:
		t.fail(err)
	case wasCancelled:
		t.checkAs(false, what+": read ErrCancelled, then a value", true)
	default:
		t.checkAs(ok, what+": read again", true)
	}
}

// failedForGood reports whether a Get's error is a task's result for
// good (its retries spent, its actor dead): a later read must not find a
// value. The task's own kind decides: a task whose code failed with such
// an error of another (a TaskError's Causes) failed by itself, and a run
// again may succeed.
func failedForGood(err error) bool {
	if te, ok := errors.AsType[*ray.TaskError](err); ok {
		return te.Kind == ray.ErrRetriesExhausted || te.Kind == ray.ErrActorDied
	}
	return errors.Is(err, ray.ErrRetriesExhausted) || errors.Is(err, ray.ErrActorDied)
}

func (t *Tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Errors++
	e := fmt.Errorf("%s: %w", t.Name, err)
	if t.FirstErr == nil {
		t.FirstErr = e
	}
	k := errKind(err)
	if !slices.ContainsFunc(t.KindErrs, func(x error) bool { return errKind(x) == k }) {
		t.KindErrs = append(t.KindErrs, e)
	}
	if len(t.reasons) < MaxReasons {
		if r := reasonOf(err.Error()); !slices.Contains(t.reasons, r) {
			t.reasons = append(t.reasons, r)
			t.ReasonErrs = append(t.ReasonErrs, e)
		}
	}
}

// MaxReasons bounds Tally.ReasonErrs.
const MaxReasons = 16

// idOrNumber matches what differs between two errors of one reason: task
// and object IDs ("t188bcfe1e5244b12", "t1.0", "a3") and numbers.
var idOrNumber = regexp.MustCompile(`\b[ta][0-9a-f]+(\.[0-9a-zA-Z]+)?\b|[0-9]+`)

// reasonOf is an error text with its IDs and numbers replaced by '#': two
// errors of one reason, on different tasks or nodes, share it.
func reasonOf(text string) string { return idOrNumber.ReplaceAllString(text, "#") }

// ErrKinds are the ray sentinels a driver's Get may fail with, those
// whose text another's contains first (ErrTaskFailed's text is a prefix of
// ErrRetriesExhausted's), so a match by text (check.ErrorKind) finds the
// right one too.
var ErrKinds = []error{ray.ErrRetriesExhausted, ray.ErrObjectTooLarge, ray.ErrActorNotFound, ray.ErrUnknownFunction,
	ray.ErrActorDied, ray.ErrObjectLost, ray.ErrCancelled, ray.ErrTaskFailed, ray.ErrTimeout, ray.ErrUnschedulable,
	ray.ErrPlacementGroupRemoved}

// errKind is the first of ErrKinds err is, or nil.
func errKind(err error) error {
	for _, k := range ErrKinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// Driver returns driver k (of n) of workload entry w. Its randomness
// (durations, sizes, arrivals) comes from a stream seeded by the scenario
// seed, the entry and the driver, so runs are reproducible.
func (f *Funcs) Driver(w *scenarios.Workload, entry, k, n int, seed int64, t *Tally) func(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(uint64(seed), Mix(uint64(entry), uint64(k))))
	d := &driver{f: f, w: w, k: k, n: n, rng: rng, t: t, key: Mix(uint64(seed), uint64(entry), uint64(k))}
	return func(ctx context.Context) error {
		if w.Start > 0 {
			if err := ray.Compute(ctx, w.Start); err != nil {
				return err
			}
		}
		err := d.inGroup(ctx, d.run)
		t.mu.Lock()
		t.Done++
		if len(t.finished) < t.Drivers {
			t.finished = append(t.finished, make([]bool, t.Drivers-len(t.finished))...)
		}
		if k < len(t.finished) {
			t.finished[k] = true
		}
		t.mu.Unlock()
		if err != nil {
			t.fail(err)
		}
		return nil
	}
}

type driver struct {
	f    *Funcs
	w    *scenarios.Workload
	k, n int
	rng  *rand.Rand
	t    *Tally
	key  uint64
	next time.Time // the next arrival's planned time
	// group is the entry's placement group while the driver runs in it
	// (placement_group): its root tasks run in its bundles.
	group *ray.PlacementGroup
}

// inGroup runs run, inside the entry's placement group when it has one:
// made of bundles of the entry's resources, waited for, and removed once
// run is done (its tasks are then all read).
func (d *driver) inGroup(ctx context.Context, run func(context.Context) error) error {
	g := d.w.Group
	if g == nil {
		return run(ctx)
	}
	strategy, err := ray.ParsePlacementStrategy(g.Strategy)
	if err != nil {
		return err
	}
	b := ray.Bundle{CPU: d.w.Resources["CPU"], GPU: d.w.Resources["GPU"]}
	for _, name := range sortedKeys(d.w.Resources) {
		if name != "CPU" && name != "GPU" {
			if b.Resources == nil {
				b.Resources = map[string]float64{}
			}
			b.Resources[name] = d.w.Resources[name]
		}
	}
	bundles := make([]ray.Bundle, g.Bundles)
	for i := range bundles {
		bundles[i] = b
	}
	pg, err := ray.NewPlacementGroup(ctx, bundles, strategy)
	if err != nil {
		return fmt.Errorf("placement group: %w", err)
	}
	if err := pg.Wait(ctx, -1); err != nil {
		return fmt.Errorf("placement group: %w", err)
	}
	d.group = pg
	err = run(ctx)
	d.group = nil
	if rerr := ray.RemovePlacementGroup(ctx, pg); rerr != nil && err == nil {
		err = fmt.Errorf("placement group: %w", rerr)
	}
	return err
}

// share is how many of the roots p's drivers split (scenarios.Split)
// driver k of n takes.
func (d *driver) share(p scenarios.Params) int {
	total, _ := scenarios.Split(p)
	s := total / d.n
	if d.k < total%d.n {
		s++
	}
	return s
}

// maxGap is the longest wait between two arrivals (~73 years): far past
// any run's duration limit, short enough that the clock plus it does not
// overflow.
const maxGap = time.Duration(math.MaxInt64 / 4)

// gap waits for the next arrival.
// Arrivals follow an absolute schedule (each one a gap after the previous
// one's planned time, not after the driver woke): on TCP a sleep overshoots,
// and relative sleeps would lose the rate.
func (d *driver) gap(ctx context.Context, first bool) error {
	a := d.w.Arrival
	if a.Rate <= 0 || (a.Kind != scenarios.Steady && a.Kind != scenarios.Poisson) {
		return nil
	}
	if first {
		d.next = ray.Mono(ctx) // intervals: skew_clock must not stall or burst the arrivals
		return nil
	}
	rate := a.Rate / float64(d.n) // the entry's rate is shared by its drivers
	var f float64
	switch a.Kind {
	case scenarios.Steady:
		f = float64(time.Second) / rate
	case scenarios.Poisson:
		f = d.rng.ExpFloat64() / rate * float64(time.Second)
	default:
		return nil
	}
	// Saturated, never wrapped: a gap past time.Duration's range (a rate
	// below what the loader accepts, scenarios.MinRate) would convert to a
	// negative one and the driver would submit everything at once.
	g := maxGap
	if f < float64(maxGap) {
		g = time.Duration(f)
	}
	d.next = d.next.Add(g)
	wait := d.next.Sub(ray.Mono(ctx))
	if wait <= 0 {
		return nil
	}
	return ray.Compute(ctx, wait)
}

// opts are the per-task options of the entry's root tasks: in its
// placement group, if it has one; their children are too when the group
// captures them (capture_child_tasks; off by default, as Ray's
// placement_group_capture_child_tasks).
func (d *driver) opts(dur time.Duration, name string) []ray.Option {
	o := taskOptions(dur, name, d.w.MaxRetries, d.w.Resources, d.w.RetryExceptions)
	if d.group != nil {
		if d.w.Group.CaptureChildTasks {
			o = append(o, ray.InPlacementGroup(d.group, -1, ray.CaptureChildTasks()))
		} else {
			o = append(o, ray.InPlacementGroup(d.group, -1))
		}
	}
	return o
}

// rereadOpts are the options of a verification task (scenarios.
// RereadTaskName), spread away from the first read: the entry's resource
// demand (the only one its cluster is known to fit: a default CPU 1 may
// be infeasible) and its max_retries. In the entry's placement group if it
// has one, where its bundles say where it runs (a task has one scheduling
// strategy, as in Ray: Spread would take it out of the group, and the
// group may hold the only resources that meet the demand: the fault search
// found a reread waiting for good for the one accel its entry's group held).
func (d *driver) rereadOpts() []ray.Option {
	if d.group != nil {
		return d.opts(0, scenarios.RereadTaskName)
	}
	return append(d.opts(0, scenarios.RereadTaskName), ray.Spread())
}

// taskOptions are the options of a task of an entry with the given
// max_retries, resources (none: the defaults) and retry_exceptions.
func taskOptions(dur time.Duration, name string, retries int, res map[string]float64, retryErrors bool) []ray.Option {
	return append([]ray.Option{ray.Duration(dur), ray.Name(name)}, entryOptions(retries, res, retryErrors)...)
}

// entryOptions are the options an entry's max_retries, resources and
// retry_exceptions say (an own workload's DriverInfo.Options).
func entryOptions(retries int, res map[string]float64, retryErrors bool) []ray.Option {
	o := []ray.Option{ray.MaxRetries(retries)}
	if retryErrors {
		o = append(o, ray.RetryExceptions())
	}
	if len(res) > 0 {
		o = append(o, ray.CPUs(res["CPU"]), ray.GPUs(res["GPU"]))
		for _, name := range sortedKeys(res) {
			if name != "CPU" && name != "GPU" {
				o = append(o, ray.Resource(name, res[name]))
			}
		}
	}
	return o
}

func (d *driver) run(ctx context.Context) error {
	switch p := d.w.Params.(type) {
	case *scenarios.ParallelParams:
		return d.parallel(ctx, p)
	case *scenarios.TreeReduceParams:
		return d.treeReduce(ctx, p)
	case *scenarios.MapReduceParams:
		return d.mapReduce(ctx, p)
	case *scenarios.ChainParams:
		return d.chain(ctx, p)
	case *scenarios.NestedParams:
		return d.nestedRun(ctx, p)
	case *scenarios.RLParams:
		return d.rl(ctx, p)
	case *scenarios.ParameterServerParams:
		return d.paramServer(ctx, p)
	case *scenarios.OwnParams:
		return d.ownRun(ctx, p)
	case *scenarios.ActorCallsParams:
		return d.actorCalls(ctx, p)
	}
	return fmt.Errorf("workload: generator %q has no driver", d.w.Generator)
}
