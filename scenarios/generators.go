package scenarios

import "math"

// Params are a workload generator's parameters. The concrete type says which
// generator: *ParallelParams, *TreeReduceParams, *MapReduceParams,
// *ChainParams, *NestedParams, *RLParams, *ParameterServerParams or
// *ActorCallsParams.
type Params interface {
	Generator() string
	fields() []param
	// work is how many tasks, actor calls and objects one driver makes, as
	// a formula of the parameters and its value: what the loader bounds, so
	// that a typo of a few zeros is an error, not a run that exhausts memory.
	work() (formula string, n float64)
}

// Split reports whether a generator's drivers divide its count among them,
// and that count: parallel's tasks, chain's chains and nested's roots are
// split among the entry's drivers (driver k of n takes count/n, the first
// count%n one more), so the entry makes count of them in all whatever its
// drivers. tree-reduce, map-reduce, rl and parameter-server have no such
// count: each driver runs a whole instance of its own (actor-calls too). The one place that
// knows which generators split: the workload's drivers take their shares by
// it and the loader bounds an entry's work by it.
func Split(p Params) (count int, split bool) {
	switch p := p.(type) {
	case *ParallelParams:
		return p.Tasks, true
	case *ChainParams:
		return p.Chains, true
	case *NestedParams:
		return p.Roots, true
	}
	return 0, false
}

// RereadTaskName names the tasks a workload's driver submits to check a
// result it has read once already (a cancelled or failed ref read again
// through a task elsewhere): verification, not workload, so neither the
// runner's counts nor the analysis's include them.
const RereadTaskName = "reread"

// MaxWork bounds a workload entry's tasks, actor calls and objects (all of
// its drivers'): at ~1 KiB each, more would not fit this machine's memory.
const MaxWork = 1e8

// MaxDrivers bounds a workload entry's drivers (its drivers key; per-node
// is bounded by the nodes), as many as the cluster may have nodes: each is
// a coroutine of its own, whether it has work or not.
const MaxDrivers = MaxNodes

// dependsOn reports whether the work of p changes with the integer
// parameter *i (one of p's fields): whether a value given for it counts.
func dependsOn(p Params, i *int) bool {
	_, before := p.work()
	*i++
	_, after := p.work()
	*i--
	return before != after
}

func (p *ParallelParams) work() (string, float64) { return "tasks", float64(p.Tasks) }

func (p *TreeReduceParams) work() (string, float64) {
	// leaves, then every level of reduces: below leaves*fanin/(fanin-1).
	return "leaves*fanin/(fanin-1)", float64(p.Leaves) * float64(p.Fanin) / float64(max(p.Fanin-1, 1))
}

func (p *MapReduceParams) work() (string, float64) {
	m, r := float64(p.Maps), float64(p.Reduces)
	return "maps*reduces partitions + maps + reduces", m*r + m + r
}

func (p *ChainParams) work() (string, float64) {
	return "chains*length", float64(p.Chains) * float64(p.Length)
}

func (p *NestedParams) work() (string, float64) {
	r, d, f := float64(p.Roots), float64(p.Depth), float64(p.Fanout)
	total := r * d // fanout 1 (or 0: the roots alone)
	switch {
	case p.Fanout == 0:
		total = r
	case p.Fanout > 1:
		total = r * (math.Pow(f, d) - 1) / (f - 1)
	}
	return "roots*(1+fanout+...+fanout^(depth-1))", total
}

func (p *RLParams) work() (string, float64) {
	a, r, k := float64(p.Actors), float64(p.Rounds), float64(max(p.RolloutsPerActor, 1))
	if k == 1 {
		return "actors + rounds*(actors+1)", a + r*(a+1)
	}
	return "actors + rounds*(actors*rollouts_per_actor+1)", a + r*(a*k+1)
}

func (p *ActorCallsParams) work() (string, float64) {
	a, c, k := float64(p.Actors), float64(p.Callers), float64(p.Calls)
	return "actors*(1+(callers+1)*calls) + callers", a*(1+(c+1)*k) + c
}

func (p *ParameterServerParams) work() (string, float64) {
	s, w, i := float64(p.Servers), float64(p.Workers), float64(p.Iterations)
	return "servers + workers*iterations*(2*servers+1)", s + w*i*(2*s+1)
}

// ParallelParams: Tasks independent tasks, each running Duration and
// returning an object of OutputSize.
type ParallelParams struct {
	Tasks      int          // default 1000
	Duration   DurationDist // default 10ms
	OutputSize SizeDist     // default 1KiB
	// Free: the driver frees the results once it has checked them
	// (ray.Free, what a Ray driver's refs going out of scope do).
	Free bool
	// CancelEvery: once it has submitted its tasks, the driver cancels
	// every n-th one (ray.Cancel; default 0: none). A cancelled task's
	// result is its value or ErrCancelled, whichever the cancel found.
	CancelEvery int
}

// TreeReduceParams: Leaves leaf tasks reduced by a tree of fan-in Fanin;
// every task runs Duration.
type TreeReduceParams struct {
	Leaves   int          // default 64
	Fanin    int          // default 2, at least 2
	Duration DurationDist // default 1ms
}

// MapReduceParams: Maps map tasks each writing one partition of
// PartitionSize for each of Reduces reduce tasks.
type MapReduceParams struct {
	Maps           int          // default 16
	Reduces        int          // default 4
	MapDuration    DurationDist // default 10ms
	ReduceDuration DurationDist // default 10ms
	PartitionSize  SizeDist     // default 64KiB
	// Free: the driver frees the maps' results (lists of partition refs)
	// once it has them, and the partitions and the reduces' results once it
	// has checked the reduces.
	Free bool
	// Returns: each map returns its partitions as its own return objects
	// (Ray's shuffle with num_returns): the reduces are submitted at once,
	// on refs the maps have not made yet, and a lost partition is rebuilt
	// by re-running its map. Without it each map Puts its partitions and
	// returns their refs: the driver waits for every map's list, and a
	// partition lost with its node is lost for good (a Put has no lineage).
	Returns bool
	// Stream: each map is a generator task (Ray's streaming generator,
	// ray.RegisterGen2) that yields its partitions one at a time; the
	// driver takes each map's items as they come, then submits the
	// reduces. A map whose node dies is retried from its start, and a
	// lost partition is rebuilt by running its map again. Not with
	// Returns.
	Stream bool
}

// ChainParams: Chains independent chains of Length tasks, each task taking
// its predecessor's ObjectSize output.
type ChainParams struct {
	Chains     int          // default 8
	Length     int          // default 10
	Duration   DurationDist // default 1ms
	ObjectSize SizeDist     // default 1KiB
}

// NestedParams: Roots tasks that each submit children, to Depth levels (a
// root alone is depth 1): each task a random 0 to 2*Fanout of them (Fanout
// on average, drawn from the seed: workload.nestedKids). A root runs a
// draw of Duration, each child 0.5x to 1.5x its parent's.
type NestedParams struct {
	Roots    int          // default 4
	Depth    int          // default 3
	Fanout   int          // default 4
	Duration DurationDist // default 1ms
	// CancelEvery: once it has submitted its roots, the driver cancels
	// every n-th one (default 0: none), and with it the tree below it
	// (Ray's recursive cancel). A cancelled root's result is its count or
	// ErrCancelled, whichever the cancel found.
	CancelEvery int
}

// RLParams: Actors rollout actors; each of Rounds rounds, every actor runs a
// rollout (RolloutDuration) and the driver runs an update task
// (UpdateDuration) on their results.
type RLParams struct {
	Actors          int          // default 4
	Rounds          int          // default 10
	RolloutDuration DurationDist // default 10ms
	UpdateDuration  DurationDist // default 5ms
	// CheckpointEvery: the simulator actors checkpoint their state after
	// every n-th rollout (default 0: never).
	CheckpointEvery int
	// Replay: a restarted simulator actor re-runs its rollouts since its last
	// checkpoint (since its creation without one) before taking new ones,
	// as the Ray paper's actor reconstruction (default false: it restarts
	// from its constructor or its checkpoint, as today's Ray).
	Replay bool
	// CancelEvery: every n-th round the driver also calls a rollout it
	// cancels at once (default 0: none), on the round's first actor, ahead
	// of the round's own calls. Its result is its value or ErrCancelled.
	CancelEvery int
	// RolloutsPerActor: each round calls every actor this many times
	// (default 1).
	RolloutsPerActor int
	// MaxConcurrency: the simulators are threaded actors running up to this
	// many rollouts at once (ray.MaxConcurrency; default 1: one at a
	// time). Above 1 it excludes CheckpointEvery and Replay, whose logs
	// assume one method at a time.
	MaxConcurrency int
}

// ParameterServerParams: Servers parameter-server actors, each holding a
// shard of ShardSize; Workers workers run Iterations iterations of: get every
// shard, compute for Duration, push an update to every shard.
type ParameterServerParams struct {
	Servers    int          // default 2
	Workers    int          // default 4
	Iterations int          // default 10
	ShardSize  SizeDist     // default 1MiB
	Duration   DurationDist // default 5ms (an extension: the workers' compute step)
}

// ActorCallsParams: Actors restartable actors (max_restarts 3), each
// called Calls times by the driver and by each of Callers tasks, one call
// after another without waiting for results (the entry's arrival spaces the
// driver's calls; the tasks take the same gaps), each call running
// Duration. Every actor instance checks what Ray guarantees of the calls
// it runs: each caller's in submission order, none twice (a restart begins
// a new instance, where a call in flight may run again); a rebuild of a
// lost result (lineage reconstruction) runs outside that order and is left
// out. The driver reads every call's verdict and, at the end, each
// actor's. The fault search's oracle for an actor's ordering and
// at-most-once execution (bench/mutants.txt: actor-reorder, actor-duplicate).
type ActorCallsParams struct {
	Actors   int          // default 2
	Callers  int          // caller tasks besides the driver, default 1
	Calls    int          // calls per caller and actor, default 20
	Duration DurationDist // default 1ms
}

func (*ParallelParams) Generator() string        { return "parallel" }
func (*TreeReduceParams) Generator() string      { return "tree-reduce" }
func (*MapReduceParams) Generator() string       { return "map-reduce" }
func (*ChainParams) Generator() string           { return "chain" }
func (*NestedParams) Generator() string          { return "nested" }
func (*RLParams) Generator() string              { return "rl" }
func (*ParameterServerParams) Generator() string { return "parameter-server" }
func (*ActorCallsParams) Generator() string      { return "actor-calls" }

// Generators are the workload generator names, in documentation order.
var Generators = []string{"parallel", "tree-reduce", "map-reduce", "chain", "nested", "rl", "parameter-server", "actor-calls"}

// NewParams returns the named generator's parameters with their defaults,
// or nil for an unknown generator.
func NewParams(generator string) Params {
	var p Params
	switch generator {
	case "parallel":
		p = &ParallelParams{}
	case "tree-reduce":
		p = &TreeReduceParams{}
	case "map-reduce":
		p = &MapReduceParams{}
	case "chain":
		p = &ChainParams{}
	case "nested":
		p = &NestedParams{}
	case "rl":
		p = &RLParams{}
	case "parameter-server":
		p = &ParameterServerParams{}
	case "actor-calls":
		p = &ActorCallsParams{}
	default:
		return nil
	}
	for _, f := range p.fields() {
		f.setDefault()
	}
	return p
}

// ParamNames lists a generator's parameter names in documentation order.
func ParamNames(generator string) []string {
	p := NewParams(generator)
	if p == nil {
		return nil
	}
	var names []string
	for _, f := range p.fields() {
		names = append(names, f.name)
	}
	return names
}

// param binds one parameter name to its field. Exactly one pointer is set.
type param struct {
	name string
	i    *int
	imin int // least allowed value of an int
	idef int
	d    *DurationDist
	s    *SizeDist
	def  string // default of a duration or size, as written
	b    *bool  // a switch, default false
}

func (f param) setDefault() {
	switch {
	case f.b != nil:
		*f.b = false
	case f.i != nil:
		*f.i = f.idef
	case f.d != nil:
		v, err := ParseDuration(f.def)
		if err != nil {
			panic(err)
		}
		*f.d = FixedDuration(v)
	case f.s != nil:
		v, err := ParseSize(f.def)
		if err != nil {
			panic(err)
		}
		*f.s = FixedSize(v)
	}
}

func intP(name string, p *int, def, min int) param {
	return param{name: name, i: p, idef: def, imin: min}
}
func durP(name string, p *DurationDist, def string) param {
	return param{name: name, d: p, def: def}
}
func sizeP(name string, p *SizeDist, def string) param { return param{name: name, s: p, def: def} }
func boolP(name string, p *bool) param                 { return param{name: name, b: p} }

func (p *ParallelParams) fields() []param {
	return []param{
		intP("tasks", &p.Tasks, 1000, 0),
		durP("duration", &p.Duration, "10ms"),
		sizeP("output_size", &p.OutputSize, "1KiB"),
		boolP("free", &p.Free),
		intP("cancel_every", &p.CancelEvery, 0, 0),
	}
}

func (p *TreeReduceParams) fields() []param {
	return []param{
		intP("leaves", &p.Leaves, 64, 1),
		intP("fanin", &p.Fanin, 2, 2),
		durP("duration", &p.Duration, "1ms"),
	}
}

func (p *MapReduceParams) fields() []param {
	return []param{
		intP("maps", &p.Maps, 16, 1),
		intP("reduces", &p.Reduces, 4, 1),
		durP("map_duration", &p.MapDuration, "10ms"),
		durP("reduce_duration", &p.ReduceDuration, "10ms"),
		sizeP("partition_size", &p.PartitionSize, "64KiB"),
		boolP("free", &p.Free),
		boolP("returns", &p.Returns),
		boolP("stream", &p.Stream),
	}
}

func (p *ChainParams) fields() []param {
	return []param{
		intP("chains", &p.Chains, 8, 0),
		intP("length", &p.Length, 10, 1),
		durP("duration", &p.Duration, "1ms"),
		sizeP("object_size", &p.ObjectSize, "1KiB"),
	}
}

func (p *NestedParams) fields() []param {
	return []param{
		intP("roots", &p.Roots, 4, 0),
		intP("depth", &p.Depth, 3, 1),
		intP("fanout", &p.Fanout, 4, 0),
		durP("duration", &p.Duration, "1ms"),
		intP("cancel_every", &p.CancelEvery, 0, 0),
	}
}

func (p *RLParams) fields() []param {
	return []param{
		intP("actors", &p.Actors, 4, 1),
		intP("rounds", &p.Rounds, 10, 0),
		durP("rollout_duration", &p.RolloutDuration, "10ms"),
		durP("update_duration", &p.UpdateDuration, "5ms"),
		intP("checkpoint_every", &p.CheckpointEvery, 0, 0),
		boolP("replay", &p.Replay),
		intP("cancel_every", &p.CancelEvery, 0, 0),
		intP("rollouts_per_actor", &p.RolloutsPerActor, 1, 1),
		intP("max_concurrency", &p.MaxConcurrency, 1, 1),
	}
}

func (p *ParameterServerParams) fields() []param {
	return []param{
		intP("servers", &p.Servers, 2, 1),
		intP("workers", &p.Workers, 4, 1),
		intP("iterations", &p.Iterations, 10, 0),
		sizeP("shard_size", &p.ShardSize, "1MiB"),
		durP("duration", &p.Duration, "5ms"),
	}
}

func (p *ActorCallsParams) fields() []param {
	return []param{
		intP("actors", &p.Actors, 2, 1),
		intP("callers", &p.Callers, 1, 0),
		intP("calls", &p.Calls, 20, 0),
		durP("duration", &p.Duration, "1ms"),
	}
}
