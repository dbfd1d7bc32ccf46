package transporttest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"raysim/runtime/transport"
)

// This file is the harness of the handler fuzzers (FuzzRaylet, FuzzShard,
// FuzzGlobal...): each builds one component on a FuzzEnv, decodes what
// the fuzzer gives it with transport.Unmarshal, and delivers it from a
// sender the input picks, as a compromised or stale peer could. The
// project's rule is that hostile network input is rejected without
// crashing a node: a panic, or work out of proportion to the input, fails
// the fuzz target.

// FuzzEnv is an Env for fuzzing one component: it records nothing but
// counts, runs timers only when asked (RunTimers, bounded) and never runs
// coroutines (Go), and panics with ErrUnbounded once one delivery has cost
// more Sends, Emits and timer callbacks than its budget (a handler looping
// over a hostile count is stopped, not waited for).
type FuzzEnv struct {
	Node  transport.NodeID
	Clock time.Time // what Now says; RunTimers moves it
	Sent  int       // messages sent so far
	// CheckSends, if set, round-trips every sent message through the
	// codec and panics if the receiver could not decode it (on TCP a
	// frame that does not decode closes the connection).
	CheckSends bool

	rand   *rand.Rand
	timers []*fuzzTimer
	seq    uint64
	budget int
}

// ErrUnbounded is what a FuzzEnv panics with when a delivery exceeds its
// budget.
const ErrUnbounded = "component did work without bound for one message"

type fuzzTimer struct {
	at      time.Time
	seq     uint64
	f       func()
	stopped bool
}

func (t *fuzzTimer) Stop() bool {
	was := !t.stopped && t.f != nil
	t.stopped = true
	return was
}

// NewFuzzEnv returns the env of node self at a fixed time.
func NewFuzzEnv(self transport.NodeID) *FuzzEnv {
	return &FuzzEnv{Node: self, Clock: time.Unix(1_000_000, 0), rand: rand.New(rand.NewPCG(1, 2)), budget: -1}
}

func (e *FuzzEnv) spend() {
	if e.budget < 0 {
		return
	}
	if e.budget == 0 {
		panic(ErrUnbounded)
	}
	e.budget--
}

func (e *FuzzEnv) Self() transport.NodeID { return e.Node }
func (e *FuzzEnv) Now() time.Time         { return e.Clock }
func (e *FuzzEnv) Rand() *rand.Rand       { return e.rand }
func (e *FuzzEnv) Charge(time.Duration)   {}
func (e *FuzzEnv) Go(func())              {}
func (e *FuzzEnv) Await(func(func()))     {}
func (e *FuzzEnv) Post(func())            {}
func (e *FuzzEnv) Emit(*transport.Event)  { e.spend() }

func (e *FuzzEnv) After(d time.Duration, f func()) transport.Timer {
	e.seq++
	t := &fuzzTimer{at: e.Clock.Add(max(d, 0)), seq: e.seq, f: f}
	e.timers = append(e.timers, t)
	return t
}

func (e *FuzzEnv) Send(_ transport.NodeID, m transport.Message) {
	e.spend()
	e.Sent++
	if e.CheckSends {
		if _, err := transport.Unmarshal(transport.Marshal(nil, m)); err != nil {
			panic(fmt.Sprintf("component sent a %T its receiver cannot decode: %v", m, err))
		}
	}
}

// RunTimers runs up to n pending timers, earliest first, moving the clock
// to each one's time; timers they start run too, within the n.
func (e *FuzzEnv) RunTimers(n int) {
	for range n {
		e.timers = slices.DeleteFunc(e.timers, func(t *fuzzTimer) bool { return t.stopped })
		if len(e.timers) == 0 {
			return
		}
		i := 0
		for j, t := range e.timers {
			if t.at.Before(e.timers[i].at) || t.at.Equal(e.timers[i].at) && t.seq < e.timers[i].seq {
				i = j
			}
		}
		t := e.timers[i]
		e.timers = slices.Delete(e.timers, i, i+1)
		t.stopped = true
		if t.at.After(e.Clock) {
			e.Clock = t.at
		}
		e.spend()
		t.f()
	}
}

// Budget is the Sends, Emits and timer callbacks one delivery of a body of
// n bytes may cost: a task may have transport.MaxReturns returns, each
// stored and announced, and a list of objects costs some per element;
// nothing legitimate costs more.
func Budget(n int) int { return 8*transport.MaxReturns + 64*n }

// Deliverer delivers fuzz inputs to one component.
type Deliverer struct {
	Env     *FuzzEnv
	Handle  func(from transport.NodeID, m transport.Message)
	Senders []transport.NodeID // from which the input's sender byte picks
	// Timers is how many timers run after each delivery (0: none).
	Timers int
}

// Deliver decodes each body (skipping those that do not decode, which a
// host drops before any handler) and hands it to the component from the
// sender its byte picks, then the first again, decoded afresh (a
// duplicate, as a resend or a replay makes), each within its budget.
func (d *Deliverer) Deliver(froms []byte, bodies ...[]byte) {
	one := func(i int) {
		m, err := transport.Unmarshal(bodies[i])
		if err != nil {
			return
		}
		var from transport.NodeID
		if i < len(froms) {
			from = d.Senders[int(froms[i])%len(d.Senders)]
		} else {
			from = d.Senders[0]
		}
		d.Env.budget = Budget(len(bodies[i]))
		d.Handle(from, m)
		if d.Timers > 0 {
			d.Env.RunTimers(d.Timers)
		}
		d.Env.budget = -1
	}
	for i := range bodies {
		one(i)
	}
	if len(bodies) > 0 {
		one(0)
	}
}

// IDs are the plausible identifiers of a component's layout that filled
// seed messages name, so that fuzzing starts inside the handlers' lookups
// rather than at their "unknown ID" exits.
type IDs struct {
	Nodes []transport.NodeID
	Tasks []transport.TaskID
}

// Seeds returns valid message bodies of every registered kind: the zero
// message, and two filled with ids (every node field naming one node,
// every task field one task, every count one or two); the envelopes that
// carry a message (GcsRequest, ChainUpdate) once around each kind. Kinds
// added later are seeded automatically.
func Seeds(ids IDs) map[string][]byte {
	out := map[string][]byte{}
	add := func(name string, m transport.Message) {
		b := transport.Marshal(nil, m)
		if _, err := transport.Unmarshal(b); err != nil {
			panic(fmt.Sprintf("transporttest: seed %s does not decode: %v", name, err))
		}
		out[name] = b
	}
	for _, k := range transport.Kinds() {
		m, _ := transport.New(k)
		add(fmt.Sprintf("kind%03d_zero", k), m)
		for v := range variants(ids) {
			m, _ := transport.New(k)
			newFiller(ids, v).fill(reflect.ValueOf(m).Elem())
			add(fmt.Sprintf("kind%03d_fill%d", k, v), m)
		}
	}
	for _, k := range transport.Kinds() {
		for v := range variants(ids) {
			inner, _ := transport.New(k)
			if hasMessage(inner) {
				break // no envelopes within envelopes
			}
			newFiller(ids, v).fill(reflect.ValueOf(inner).Elem())
			add(fmt.Sprintf("request_%03d_%d", k, v), &transport.GcsRequest{Seq: 1, Low: 1, Epoch: 1, Chain: 1, Op: inner})
			add(fmt.Sprintf("update_%03d_%d", k, v), &transport.ChainUpdate{Index: 1, Client: pick(ids.Nodes, v), Seq: 1, Low: 1, Epoch: 1, Op: inner})
		}
	}
	return out
}

// variants is how many filled seeds each kind gets: enough for every node
// and every task of ids to be named by one.
func variants(ids IDs) int { return max(len(ids.Nodes), len(ids.Tasks), 2) }

var messageType = reflect.TypeOf((*transport.Message)(nil)).Elem()

func hasMessage(m transport.Message) bool {
	t := reflect.TypeOf(m).Elem()
	for i := range t.NumField() {
		if t.Field(i).Type == messageType {
			return true
		}
	}
	return false
}

func pick[T any](s []T, v int) T {
	var zero T
	if len(s) == 0 {
		return zero
	}
	return s[v%len(s)]
}

// filler sets every field of a message to a plausible value: variant v
// names the v-th node and the v-th task of ids, and makes every number
// and every list's length 1 or 2.
type filler struct {
	node transport.NodeID
	task transport.TaskID
	n    int
}

func newFiller(ids IDs, v int) filler {
	return filler{node: pick(ids.Nodes, v), task: pick(ids.Tasks, v), n: 1 + v%2}
}

var (
	nodeType      = reflect.TypeOf(transport.NodeID(0))
	taskType      = reflect.TypeOf(transport.TaskID(0))
	resourcesType = reflect.TypeOf(transport.Resources{})
	timeType      = reflect.TypeOf(time.Time{})
	durationType  = reflect.TypeOf(time.Duration(0))
)

func (f filler) fill(v reflect.Value) {
	switch v.Type() {
	case nodeType:
		v.SetUint(uint64(f.node))
		return
	case taskType:
		v.SetUint(uint64(f.task))
		return
	case resourcesType:
		v.Set(reflect.ValueOf(transport.Resources{CPU: transport.ResourceUnit}))
		return
	case timeType:
		v.Set(reflect.ValueOf(time.Unix(1_000_000, 0)))
		return
	case durationType:
		v.SetInt(int64(f.n) * int64(time.Millisecond))
		return
	case messageType:
		// An envelope inside a fill: a small message that names IDs.
		v.Set(reflect.ValueOf(&transport.GcsAddObject{Object: transport.ObjectID{Task: f.task}, Node: f.node, Size: 1, Incarnation: 1}))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			switch t.Field(i).Name {
			case "Index", "Shard", "Part", "Offset", "Attempt", "Restart", "Restarts", "ErrKind", "Causes", "Strategy", "Table":
				continue // 0 is the plausible value (the first shard, return, part...; Causes come only with an error kind)
			case "MaxConcurrency", "Extra":
				continue // 0 (one at a time) and none: with the fill's CheckpointEvery the decoder refuses any other (transport.CheckConcurrency), and a creation's call group
			}
			f.fill(v.Field(i))
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), f.n, f.n)
		for i := range f.n {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		v.SetString("f")
	case reflect.Bool:
		v.SetBool(f.n == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n))
	}
}

// AddSeeds adds ids' seeds to f's corpus (see EachSeed) for a fuzz
// function of (froms, a, b []byte).
func AddSeeds(f *testing.F, ids IDs) {
	EachSeed(ids, func(_ int, froms, a, b []byte) { f.Add(froms, a, b) })
}

// EachSeed calls add with each of ids' seeds, alone and followed by a
// partner (another seed, in a fixed shuffle), from varying senders, for
// a fuzz function of (froms, a, b []byte) and maybe more (i numbers the
// calls).
func EachSeed(ids IDs, add func(i int, froms, a, b []byte)) {
	seeds := Seeds(ids)
	names := make([]string, 0, len(seeds))
	for n := range seeds {
		names = append(names, n)
	}
	slices.Sort(names)
	r := rand.New(rand.NewPCG(3, 4))
	for i, n := range names {
		add(2*i, []byte{byte(i), byte(i / 3)}, seeds[n], []byte(nil))
		p := names[r.IntN(len(names))]
		add(2*i+1, []byte{byte(i / 2), byte(i)}, seeds[n], seeds[p])
	}
}
