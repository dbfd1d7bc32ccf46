package node

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/objstore"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// hostileEnv is an Env that runs nothing later (timers, coroutines) and
// records what the raylet sends and warns; it panics with errManyPuts once the
// raylet has created more than maxPuts objects in the store (a handler
// looping over a hostile count is stopped, not waited for).
type hostileEnv struct {
	self    transport.NodeID
	now     time.Time // what Now says; tests move it
	sent    []transport.Message
	puts    int
	maxPuts int
	// warnings are the warning events emitted.
	warnings []transport.Event
}

type noTimer struct{}

func (noTimer) Stop() bool { return false }

const errManyPuts = "raylet created objects without bound for one message"

func (e *hostileEnv) Self() transport.NodeID                    { return e.self }
func (e *hostileEnv) Now() time.Time                            { return e.now }
func (*hostileEnv) After(time.Duration, func()) transport.Timer { return noTimer{} }
func (*hostileEnv) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (e *hostileEnv) Send(_ transport.NodeID, m transport.Message) {
	e.sent = append(e.sent, m)
}
func (*hostileEnv) Charge(time.Duration) {}
func (*hostileEnv) Go(func())            {}
func (*hostileEnv) Await(func(func()))   {}
func (*hostileEnv) Post(func())          {}
func (e *hostileEnv) Emit(ev *transport.Event) {
	if ev.Kind == transport.EvWarning {
		e.warnings = append(e.warnings, *ev)
	}
	if ev.Kind == transport.EvObjectCreated {
		e.puts++
		if e.maxPuts > 0 && e.puts > e.maxPuts {
			panic(errManyPuts)
		}
	}
}

func hostileRaylet(t *testing.T, chunk int64) (*Raylet, *hostileEnv) {
	t.Helper()
	env := &hostileEnv{self: 1, now: time.Unix(0, 0)}
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7}}
	pol, err := scheduler.NewPolicy("")
	require.NoError(t, err)
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol, ChunkBytes: chunk, Incarnation: 1})
	r.registered = true
	r.renewLease(r.since()) // as start does
	return r, env
}

// roundTrip is what a receiver gets of m: its encoding, decoded.
func roundTrip(m transport.Message) (transport.Message, error) {
	return transport.Unmarshal(transport.Marshal(nil, m))
}

// TestHugeNumReturnsIsRefused: a raylet stores every return of a task it
// fails, runs or spills one by one in one loop turn, so a PlaceTask whose
// spec claims 2^32-1 returns (the decoder accepted any uint32) held the
// raylet's loop for some four billion puts, filling its store and the GCS
// with error objects. The wire now refuses more than MaxReturns.
func TestHugeNumReturnsIsRefused(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	env.maxPuts = 10_000
	spec := transport.TaskSpec{ID: 42, Func: "f", NumReturns: math.MaxUint32, Owner: 9}
	m := &transport.PlaceTask{Spec: spec, Reason: scheduler.ReasonCancelled}
	// What the handler does with it: one put per claimed return.
	require.PanicsWithValue(t, errManyPuts, func() { r.Handle(9, m) })

	_, err := roundTrip(m)
	require.ErrorIs(t, err, transport.ErrTooLarge, "such a spec must not decode")

	// A spec at the bound still decodes, and costs the raylet MaxReturns puts.
	spec.NumReturns = transport.MaxReturns
	back, err := roundTrip(&transport.PlaceTask{Spec: spec, Reason: scheduler.ReasonCancelled})
	require.NoError(t, err)
	r, env = hostileRaylet(t, 0)
	r.Handle(9, back)
	require.Equal(t, transport.MaxReturns, env.puts)
}

// pulling makes r fetch id and start pulling it from node src.
func pulling(t *testing.T, r *Raylet, id transport.ObjectID, src transport.NodeID) *fetch {
	t.Helper()
	r.need(id, waitFunc(func(*objstore.Entry) {}))
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: src, Size: 1}) // the GCS shard's answer
	fe := r.fetchOf(id)
	require.NotNil(t, fe)
	require.True(t, fe.pulling)
	require.Equal(t, src, fe.source)
	return fe
}

// TestHostileChunkTotal: the first chunk of a pull sizes the pull's record
// of chunks seen from its Total, which the source chooses. A Total near
// 2^63 overflowed the chunk count to a negative length (a panic in
// make: the node's process died), and one of 2^62 asked for 2^42 bools
// (4 TiB: fatal error: out of memory, which no recover catches). Such a
// chunk now fails the pull, as a source without a copy does.
func TestHostileChunkTotal(t *testing.T) {
	const chunk = 1 << 20
	for _, total := range []int64{math.MaxInt64, math.MaxInt64 - chunk + 2, 1 << 62, (maxPullChunks + 1) * chunk} {
		r, _ := hostileRaylet(t, chunk)
		id := transport.ObjectID{Task: 77}
		fe := pulling(t, r, id, 7)
		m, err := roundTrip(&transport.ObjectChunk{Object: id, Total: total, Data: []byte("x"), Virtual: chunk})
		require.NoError(t, err, "the codec accepts any non-negative total")
		require.NotPanics(t, func() { r.Handle(7, m) }, "total %d", total)
		require.Nil(t, fe.seen, "total %d: nothing allocated for it", total)
		require.False(t, fe.pulling, "total %d: the pull failed", total)
		require.False(t, r.store.Contains(id))
	}

	// The largest pull allowed, and an ordinary one, still complete.
	for _, total := range []int64{maxPullChunks * chunk, 3*chunk - 1, 0} {
		r, _ := hostileRaylet(t, chunk)
		id := transport.ObjectID{Task: 78}
		fe := pulling(t, r, id, 7)
		n := max((total+chunk-1)/chunk, 1)
		for i := range n {
			r.Handle(7, &transport.ObjectChunk{Object: id, Offset: i * chunk, Total: total})
			if i == 0 {
				require.Len(t, fe.seen, int(n))
			}
		}
		e, ok := r.store.Get(id)
		require.True(t, ok, "total %d", total)
		require.Equal(t, total, e.Value.SizeOf())
	}
}

// TestCancelTombstonesAgeOut: a cancel reaches every raylet, and each that
// has not seen the task remembers it, to fail a placement that crossed the
// cancel. Those memories used to last for good; now a tombstone lasts
// tombstoneAge to twice that, so a stream of cancels keeps two
// generations, and a placement in flight within the age is still failed.
func TestCancelTombstonesAgeOut(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	live := func() int { return len(r.tombstones.cur) + len(r.tombstones.old) }
	const perSecond = 100
	id := transport.TaskID(1000)
	for sec := range 10 * 60 { // ten minutes of cancels of tasks never seen here
		env.now = time.Unix(int64(sec), 0)
		for range perSecond {
			id++
			r.cancelLocal(id, false, 0)
		}
		require.LessOrEqual(t, live(), 2*60*perSecond+perSecond, "at %ds", sec)
	}

	// A placement that crossed its cancel is failed, within the age.
	r.cancelLocal(7, false, 0)
	env.now = env.now.Add(tombstoneAge - time.Second)
	env.sent = nil
	r.Handle(60, &transport.PlaceTask{Spec: transport.TaskSpec{ID: 7, Func: "f", NumReturns: 1, Owner: 9}})
	require.Zero(t, r.Stats.Placed, "the cancelled task was accepted")
	require.False(t, r.tombstones.take(7), "the tombstone is used once")

	// Long after the last cancel, one more drops both old generations.
	env.now = env.now.Add(3 * tombstoneAge)
	r.cancelLocal(8, false, 0)
	require.Equal(t, 1, live())
}

// TestChainConfigFromOutsideIgnored: a raylet passed any peer's ChainConfig
// to its GCS client; one with epoch 2^64-1 from another raylet sent every
// later GCS write to a made-up member, for good. Only the chain master's
// configurations count now.
func TestChainConfigFromOutsideIgnored(t *testing.T) {
	env := &hostileEnv{self: 1, now: time.Unix(0, 0)}
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Chains: [][]transport.NodeID{{50, 51}}, Master: 40, Scheduler: 60, Raylets: []transport.NodeID{1, 7}}
	pol, err := scheduler.NewPolicy("")
	require.NoError(t, err)
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol, Incarnation: 1})
	m, err := roundTrip(&transport.ChainConfig{Shard: 0, Epoch: math.MaxUint64, Members: []transport.NodeID{666}})
	require.NoError(t, err)
	r.Handle(7, m) // from a peer raylet
	r.Handle(40, &transport.ChainConfig{Shard: 0, Epoch: 2, Members: []transport.NodeID{51}})
	require.Equal(t, []transport.NodeID{51}, r.GCSClient().Chain(0), "the master's chain is the one used")
}

// TestRegistrationAnswerOnlyFromGCS: a raylet holds its object
// announcements until the node table answers its registration (protocol
// 12). Any peer's copy of that answer used to count, so a forged one made
// the raylet announce copies of an incarnation the node table had never
// registered. Only the GCS's answer counts now.
func TestRegistrationAnswerOnlyFromGCS(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	r.registered = false
	answer := &transport.RegisterNode{Node: 1, Incarnation: 1}
	r.Handle(7, answer) // another raylet
	require.False(t, r.registered, "a raylet's copy of the answer counted")
	r.Handle(50, answer) // the node table
	require.True(t, r.registered)
}

// TestCallsDoneThenKillDoesNotCrash: a CallsDone leaves nil entries in an
// actor's early calls until their caller's lower numbers come; a kill of the
// actor before then failed every early call, nil ones too, and crashed the
// node (found in review).
func TestCallsDoneThenKillDoesNotCrash(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	const actor = transport.ActorID(5)
	creation := &task{spec: &transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Act: &transport.ActorSpec{Creation: true}}}
	r.actors[actor] = &actorHost{id: actor, creation: creation,
		expected: make(map[transport.TaskID]uint64), early: make(map[transport.TaskID]map[uint64]*transport.TaskSpec)}
	m, err := roundTrip(&transport.CallsDone{Actor: actor, Caller: 77, Seqs: []uint64{3}})
	require.NoError(t, err)
	r.Handle(7, m)
	require.NotPanics(t, func() { r.Handle(9, &transport.KillActor{Actor: actor}) })
}
