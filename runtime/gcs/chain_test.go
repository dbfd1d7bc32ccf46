package gcs

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"raysim/netsim"
	"raysim/runtime/costs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/sim"
)

const (
	tClient transport.NodeID = 1
	tMaster transport.NodeID = 100
)

func replicaID(i int) transport.NodeID { return transport.NodeID(101 + i) }

// writer is a test client: it adds one object location every period and
// records which writes the chain acknowledged.
type writer struct {
	env    transport.Env
	c      *Client
	layout *Layout
	objs   map[uint64]transport.ObjectID // seq -> object written
	acked  []transport.ObjectID
	n      int
	limit  int
	period time.Duration
}

func (w *writer) Handle(from transport.NodeID, m transport.Message) {
	if a, ok := m.(*transport.GcsAck); ok {
		if o, ok := w.objs[a.Seq]; ok && w.c.pending[a.Seq] != nil {
			w.acked = append(w.acked, o)
		}
	}
	w.c.Handle(from, m)
}

func (w *writer) write() {
	if w.n >= w.limit {
		return
	}
	w.n++
	o := transport.ObjectID{Task: transport.TaskID(w.n)}
	w.c.Send(w.layout.Shards[0], &transport.GcsAddObject{Object: o, Node: tClient, Size: int64(w.n)})
	w.objs[w.c.seq] = o
	w.env.After(w.period, w.write)
}

type chainHarness struct {
	net      *sim.Net
	layout   *Layout
	stores   []*MemStore
	w        *writer
	reconfig []*transport.ChainConfig
	events   []transport.Event // what the components emitted, in order
}

func newChainHarness(t *testing.T, replicas, writes int) *chainHarness {
	t.Helper()
	return newChainHarnessWith(t, replicas, writes, nil)
}

// newChainHarnessWith is newChainHarness with replica i's store wrapped by
// wrap (nil: none).
func newChainHarnessWith(t *testing.T, replicas, writes int, wrap func(i int, s *MemStore) Store) *chainHarness {
	t.Helper()
	h := &chainHarness{}
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	var chain []transport.NodeID
	for i := range replicas {
		chain = append(chain, replicaID(i))
		h.stores = append(h.stores, NewMemStore())
	}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	h.layout = l
	// The adapter resends a frame lost to a partition or a crash only if it
	// sees the drop (as runtime/ray's NewSim wires it).
	var net *sim.Net
	ns := netsim.New(netsim.Config{Seed: 7, Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 1.25e9},
		OnDrop: func(ev *netsim.Event) { net.OnNetEvent(ev) }})
	h.net = sim.New(ns, sim.Options{WireCheck: true, OnEvent: func(ev *transport.Event) { h.events = append(h.events, *ev) }})
	net = h.net
	h.net.Add(tMaster, func(env transport.Env) transport.Handler {
		return NewMaster(env, MasterConfig{Layout: l, OnReconfigure: func(c *transport.ChainConfig) { h.reconfig = append(h.reconfig, c) }})
	})
	for i := range replicas {
		h.net.Add(replicaID(i), func(env transport.Env) transport.Handler {
			restarted := ns.Node(netsim.NodeID(replicaID(i))).Incarnation() > 1
			if restarted {
				h.stores[i].Crash()
			}
			var store Store = h.stores[i]
			if wrap != nil {
				store = wrap(i, h.stores[i])
			}
			return NewReplica(env, ReplicaConfig{Index: 0, Rejoin: restarted,
				Shard: Config{Layout: l, Costs: costs.Profile{}, Store: store}})
		})
	}
	h.net.Add(tClient, func(env transport.Env) transport.Handler {
		h.w = &writer{env: env, c: NewClient(env, l), layout: l, objs: map[uint64]transport.ObjectID{},
			limit: writes, period: time.Millisecond}
		env.After(time.Millisecond, h.w.write)
		return h.w
	})
	return h
}

func (h *chainHarness) replica(i int) *Replica {
	r, _ := h.net.Handler(replicaID(i)).(*Replica)
	return r
}

// checkAgree: every acknowledged write is on every serving member, and the
// serving members hold the same object table.
// requireSettled: every one of the n writes was acknowledged, none is
// pending, and the replicas agree; the chain's configurations are logged.
func (h *chainHarness) requireSettled(t *testing.T, n int) {
	t.Helper()
	for _, c := range h.reconfig {
		t.Logf("epoch %d members %v join %v", c.Epoch, c.Members, c.Join)
	}
	h.checkAgree(t)
	require.Len(t, h.w.acked, n, "every write acknowledged in the end")
	require.Zero(t, h.w.c.Pending())
}

func (h *chainHarness) checkAgree(t *testing.T) {
	t.Helper()
	var ref []ObjectRow
	var applied uint64
	serving := 0
	for i := range h.stores {
		r := h.replica(i)
		if r == nil || !r.Serving() {
			continue
		}
		serving++
		for _, o := range h.w.acked {
			require.NotEmpty(t, r.Shard().Locations(o), "replica %d lost acknowledged write %v", i, o)
		}
		rows, _ := r.Shard().ObjectRows(1 << 20)
		if ref == nil {
			ref, applied = rows, r.Applied()
			continue
		}
		require.Equal(t, applied, r.Applied(), "replica %d applied", i)
		require.Equal(t, ref, rows, "replica %d disagrees", i)
	}
	require.Positive(t, serving)
}

func TestChainAckAfterTail(t *testing.T) {
	h := newChainHarness(t, 3, 50)
	s := h.net.Sim
	// Every acknowledgement arrives only once the tail has applied the write.
	s.RunUntil(30 * time.Millisecond)
	tail := h.replica(2)
	for _, o := range h.w.acked {
		require.NotEmpty(t, tail.Shard().Locations(o))
	}
	require.NotEmpty(t, h.w.acked)
	s.RunUntil(time.Second)
	require.Len(t, h.w.acked, 50)
	require.Zero(t, h.w.c.Pending())
	h.checkAgree(t)
	require.Less(t, h.w.c.Stats.MaxDelay, time.Millisecond, "no failure: one chain traversal")
}

func TestChainMemberDies(t *testing.T) {
	for _, victim := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("kill_%d", victim), func(t *testing.T) {
			h := newChainHarness(t, 3, 300)
			s := h.net.Sim
			s.At(100*time.Millisecond+300*time.Microsecond, func() { s.Crash(netsim.NodeID(replicaID(victim))) })
			s.RunUntil(2 * time.Second)
			require.Len(t, h.w.acked, 300, "every write acknowledged in the end")
			require.Zero(t, h.w.c.Pending())
			require.Len(t, h.reconfig, 1)
			require.NotContains(t, h.reconfig[0].Members, replicaID(victim))
			h.checkAgree(t)
			t.Logf("victim %d: client-observed max delay %v", victim, h.w.c.Stats.MaxDelay)
			require.Less(t, h.w.c.Stats.MaxDelay, 30*time.Millisecond, "figure 10a: failover under 30ms")
		})
	}
}

func TestChainReplicaRejoins(t *testing.T) {
	h := newChainHarness(t, 2, 400)
	s := h.net.Sim
	s.At(100*time.Millisecond, func() { s.Crash(netsim.NodeID(replicaID(1))) }) // the tail
	s.At(200*time.Millisecond, func() { s.Restart(netsim.NodeID(replicaID(1))) })
	s.At(300*time.Millisecond, func() { s.Crash(netsim.NodeID(replicaID(0))) }) // then the head
	s.RunUntil(2 * time.Second)
	require.Len(t, h.w.acked, 400)
	require.Zero(t, h.w.c.Pending())
	r := h.replica(1)
	require.True(t, r.Serving(), "the rejoined replica serves alone")
	_, members := r.Chain()
	require.Equal(t, []transport.NodeID{replicaID(1)}, members)
	h.checkAgree(t)
	t.Logf("reconfigurations: %d, max delay %v", len(h.reconfig), h.w.c.Stats.MaxDelay)
}

// TestShardRecoversFromStore: an unreplicated shard that restarts recovers
// its synced tables; writes after the last sync are lost with the crash.
func TestShardRecoversFromStore(t *testing.T) {
	store := NewMemStore()
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	spec := func(i int) transport.TaskSpec {
		return transport.TaskSpec{ID: transport.TaskID(i), NumReturns: 1, Func: "f"}
	}
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: store, SyncEvery: -1})
	for i := 1; i <= 10; i++ {
		s := spec(i)
		sh.Handle(1, &transport.GcsAddTask{Spec: s})
	}
	sh.Handle(1, &transport.GcsActorUpdate{Actor: 3, Node: 1, State: transport.ActorAlive, Name: "a"})
	sh.Sync()
	sh.Handle(1, &transport.GcsAddTask{Spec: spec(11)}) // never synced
	store.Crash()
	re := New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	for i := 1; i <= 10; i++ {
		got, ok := re.Task(transport.TaskID(i))
		require.True(t, ok)
		require.Equal(t, "f", got.Func)
	}
	_, ok := re.Task(11)
	require.False(t, ok, "an unsynced write is lost with the crash")
	require.Equal(t, []transport.ActorInfo{{Actor: 3, Node: 1, State: transport.ActorAlive, Name: "a", Found: true}}, re.ActorRows())
	require.Equal(t, 1, store.Lost)
}

// TestFlushBoundsMemory: finished tasks leave memory but stay readable.
func TestFlushBoundsMemory(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	const n = 20000
	maxResident := 0
	for i := 1; i <= n; i++ {
		id := transport.TaskID(i)
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1, Func: "f"}})
		if i > 10 { // ten tasks in flight
			sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: id - 10}, Node: 1, Size: 8})
		}
		maxResident = max(maxResident, sh.Stats().ResidentTasks)
	}
	st := sh.Stats()
	require.Equal(t, n, st.Tasks)
	require.LessOrEqual(t, maxResident, 11)
	require.Equal(t, n-10, st.FlushedTasks)
	got, ok := sh.Task(5)
	require.True(t, ok, "a flushed task's lineage is read back from the store")
	require.Equal(t, transport.TaskID(5), got.ID)
}

func TestBoltStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gcs.db")
	st, err := OpenBolt(path)
	require.NoError(t, err)
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: st})
	for i := 1; i <= 100; i++ {
		sh.Handle(1, &transport.GcsAddTask{Spec: transport.TaskSpec{ID: transport.TaskID(i), NumReturns: 1, Func: "g"}})
		sh.Handle(1, &transport.GcsAddObject{Object: transport.ObjectID{Task: transport.TaskID(i)}, Node: 2, Size: 1})
	}
	st.Delete(TableTasks, taskKey(100))
	require.NoError(t, st.Close())

	st, err = OpenBolt(path)
	require.NoError(t, err)
	defer st.Close()
	require.Equal(t, 99, st.Len(TableTasks))
	re := New(fakeEnv{self: 10}, Config{Layout: l, Store: st})
	require.Equal(t, []transport.NodeID{2}, re.Locations(transport.ObjectID{Task: 42}))
	got, ok := re.Task(42)
	require.True(t, ok)
	require.Equal(t, "g", got.Func)
	_, ok = re.Task(100)
	require.False(t, ok)
	var keys int
	st.Scan(TableTasks, func(k, v []byte) bool { keys++; return true })
	require.Equal(t, 99, keys)
}

// fakeEnv is a minimal Env for driving a Shard synchronously.
type fakeEnv struct{ self transport.NodeID }

type noTimer struct{}

func (noTimer) Stop() bool { return false }

func (e fakeEnv) Self() transport.NodeID                    { return e.self }
func (fakeEnv) Now() time.Time                              { return time.Unix(0, 0) }
func (fakeEnv) After(time.Duration, func()) transport.Timer { return noTimer{} }
func (fakeEnv) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (fakeEnv) Send(transport.NodeID, transport.Message)    {}
func (fakeEnv) Charge(time.Duration)                        {}
func (fakeEnv) Go(func())                                   {}
func (fakeEnv) Await(func(func()))                          {}
func (fakeEnv) Post(func())                                 {}
func (fakeEnv) Emit(*transport.Event)                       {}

// TestChainFalseSuspicions: live members paused past the master's timeout
// (a GC pause, a stalled loop) are removed and re-added, again and again,
// sometimes while they are still joining, and the master itself stalls.
// Every write is acknowledged in the end and the serving members agree.
// (Before the fix a re-added successor never got its snapshot, a joiner
// left alone waited for one forever, and a late acknowledgement of an
// earlier snapshot passed for the current one: the chain stalled.)
func TestChainFalseSuspicions(t *testing.T) {
	for trial := range 40 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			h := newChainHarness(t, 2, 300)
			s := h.net.Sim
			rng := rand.New(rand.NewPCG(uint64(trial), 1))
			at := 20 * time.Millisecond
			for range 8 {
				at += time.Duration(rng.IntN(40_000)) * time.Microsecond
				victim := []transport.NodeID{replicaID(0), replicaID(1), tMaster}[rng.IntN(3)]
				d := time.Duration(10_000+rng.IntN(60_000)) * time.Microsecond
				s.At(at, func() { s.Pause(netsim.NodeID(victim), d) })
			}
			s.RunUntil(5 * time.Second)
			require.Len(t, h.w.acked, 300, "every write acknowledged in the end")
			require.Zero(t, h.w.c.Pending())
			h.checkAgree(t)
		})
	}
}

// TestChainStalePingRejoin: a member cut off from the master (not from its
// chain) is removed. When the partition heals, its pings — datagrams,
// carrying the epoch of the configuration it still holds — get through at
// once, while the ChainConfigs the master sent it wait for a
// retransmission. The first stale ping re-adds it as the joiner; the
// master must not take the next one (a non-zero but old epoch) as "synced".
// If it did, once the real holder died, the master would leave the joiner
// (still waiting for its snapshot, or serving the state it had before its
// removal) as the chain's only holder, and acknowledged writes are lost.
func TestChainStalePingRejoin(t *testing.T) {
	h := newChainHarness(t, 2, 400)
	s := h.net.Sim
	r0, r1 := netsim.NodeID(replicaID(0)), netsim.NodeID(replicaID(1))
	s.At(50*time.Millisecond, func() { s.Partition([]netsim.NodeID{r1}, []netsim.NodeID{netsim.NodeID(tMaster)}) })
	s.At(85*time.Millisecond, func() { s.Heal() })
	s.At(100*time.Millisecond, func() { s.Crash(r0) })
	s.At(500*time.Millisecond, func() { s.Restart(r0) })
	s.RunUntil(3 * time.Second)
	h.requireSettled(t, 400)
}

// TestChainStalePingMasterView is the same partition seen from the master:
// once the master has re-added replica 1 as the joiner, whenever it counts
// it as a holder of the chain's state again (a member, not the joiner),
// replica 1 has installed the configuration that re-added it and its
// snapshot. (Replica 1 never saw its removal: its stale pings carry the
// epoch it held before, with which it was synced.)
func TestChainStalePingMasterView(t *testing.T) {
	h := newChainHarness(t, 2, 400)
	s := h.net.Sim
	r1 := netsim.NodeID(replicaID(1))
	s.At(50*time.Millisecond, func() { s.Partition([]netsim.NodeID{r1}, []netsim.NodeID{netsim.NodeID(tMaster)}) })
	s.At(85*time.Millisecond, func() { s.Heal() })
	m := h.net.Handler(tMaster).(*Master)
	rejoined := false
	for at := 85 * time.Millisecond; at < 500*time.Millisecond; at += 50 * time.Microsecond {
		s.RunUntil(at)
		var joinEpoch uint64 // the last configuration that (re-)added replica 1
		for _, c := range h.reconfig {
			if c.Join == replicaID(1) {
				joinEpoch = c.Epoch
			}
		}
		ch, r := m.chains[0], h.replica(1)
		if joinEpoch == 0 || !slices.Contains(ch.members, replicaID(1)) || ch.join == replicaID(1) {
			continue
		}
		require.True(t, r.synced && r.epoch >= joinEpoch,
			"at %v the master counts replica 1 as a holder (epoch %d, members %v); replica 1 is at epoch %d (synced %v), re-added at epoch %d",
			at, ch.epoch, ch.members, r.epoch, r.synced, joinEpoch)
		rejoined = true
	}
	require.True(t, rejoined, "replica 1 was re-added and rejoined")
	require.True(t, h.replica(1).Serving())
}

// TestChainLoneHolderUnsyncedWrites: a false suspicion (replica 1 paused)
// leaves replica 0 alone in the chain; it acknowledges writes alone, then
// crashes. Restarted while replica 1 is not heard, it serves what its store
// recovered — so what it acknowledged must have been durable (synced), not
// only written: the store loses unsynced writes in a crash.
func TestChainLoneHolderUnsyncedWrites(t *testing.T) {
	h := newChainHarness(t, 2, 400)
	s := h.net.Sim
	r0, r1 := netsim.NodeID(replicaID(0)), netsim.NodeID(replicaID(1))
	s.At(50*time.Millisecond, func() { s.Pause(r1, 60*time.Millisecond) })
	s.At(100*time.Millisecond, func() { s.Crash(r0) })
	s.At(200*time.Millisecond, func() { s.Restart(r0) })
	s.RunUntil(3 * time.Second)
	h.requireSettled(t, 400)
}

// TestBoltStoreFormat: a store is stamped with the format of its entries;
// one stamped with another format, or holding entries and no stamp (written
// before stamps), is refused with ErrStoreFormat rather than misread.
func TestBoltStoreFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gcs.db")
	st, err := OpenBolt(path)
	require.NoError(t, err)
	st.Put(TableTasks, taskKey(1), []byte{1})
	require.NoError(t, st.Close())
	st, err = OpenBolt(path)
	require.NoError(t, err, "this version's own store opens again")
	require.NoError(t, st.Close())

	restamp := func(v []byte) {
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			if v == nil {
				return tx.DeleteBucket(formatBucket)
			}
			return tx.Bucket(formatBucket).Put(formatKey, v)
		}))
		require.NoError(t, db.Close())
	}
	restamp([]byte{storeFormat - 1})
	_, err = OpenBolt(path)
	require.ErrorIs(t, err, ErrStoreFormat)
	restamp(nil)
	_, err = OpenBolt(path)
	require.ErrorIs(t, err, ErrStoreFormat, "entries without a stamp: written before stamps")
}

// TestAliveFromDeadIncarnationIgnored: a shard that is not the node
// table's (it registers no nodes) hears that incarnation 1 of node 5 is
// dead, then an "alive" update for an actor from that incarnation (sent
// before the node died, delivered after). The news is older than the
// death and must not put the actor back on the dead node; from the next
// incarnation it is taken.
func TestAliveFromDeadIncarnationIgnored(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	const actor = transport.ActorID(7)
	self := l.ShardOfTask(actor)
	sh := New(fakeEnv{self: self}, Config{Layout: l})
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 1})
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorAlive, Incarnation: 1})
	for _, row := range sh.ActorRows() {
		require.False(t, row.Actor == actor && row.State == transport.ActorAlive, "alive on a dead incarnation: %+v", row)
	}
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorAlive, Incarnation: 2})
	require.Contains(t, sh.ActorRows(), transport.ActorInfo{Actor: actor, Node: 5, State: transport.ActorAlive, Found: true, Incarnation: 2})
}

// syncFailing is a store whose syncs fail while fail is set.
type syncFailing struct {
	*MemStore
	fail *bool
}

func (s syncFailing) Sync() error {
	if *s.fail {
		return fmt.Errorf("disk full")
	}
	return s.MemStore.Sync()
}

// TestChainReplicaThatCannotSyncIsRemoved: a member whose store stops
// syncing holds back everything it would send, its pings too, so the
// master removes it and the chain goes on without it.
func TestChainReplicaThatCannotSyncIsRemoved(t *testing.T) {
	fail := false
	h := newChainHarnessWith(t, 3, 300, func(i int, s *MemStore) Store {
		if i != 1 {
			return s
		}
		return syncFailing{MemStore: s, fail: &fail}
	})
	s := h.net.Sim
	s.At(100*time.Millisecond, func() { fail = true })
	s.RunUntil(2 * time.Second)
	require.NotEmpty(t, h.reconfig, "the master removed the member")
	require.NotContains(t, h.reconfig[len(h.reconfig)-1].Members, replicaID(1))
	require.Len(t, h.w.acked, 300, "every write acknowledged in the end")
	require.Zero(t, h.w.c.Pending())
}

// recordingEnv is an Env that records sends and timers, running nothing.
type recordingEnv struct {
	transport.Env
	sent   []transport.Message
	timers []func()
}

func (e *recordingEnv) Self() transport.NodeID                       { return replicaID(0) }
func (e *recordingEnv) Now() time.Time                               { return time.Unix(0, 0) }
func (e *recordingEnv) Send(_ transport.NodeID, m transport.Message) { e.sent = append(e.sent, m) }
func (e *recordingEnv) Emit(*transport.Event)                        {}
func (e *recordingEnv) After(_ time.Duration, f func()) transport.Timer {
	e.timers = append(e.timers, f)
	return nil
}

// TestChainPingNotHeldBySync: while a sync is pending, a replica's sends
// wait for it, but its pings to the master do not (on TCP the sync's timer
// waits behind the loop's inbox, and a loaded member's held pings made the
// master suspect it); once a sync has failed, the pings wait too.
func TestChainPingNotHeldBySync(t *testing.T) {
	fail := false
	env := &recordingEnv{}
	d := &durableEnv{Env: env, r: &Replica{store: syncFailing{MemStore: NewMemStore(), fail: &fail}, cfg: ReplicaConfig{RetryAfter: time.Millisecond}}}
	ping, fwd := &transport.ChainPing{}, &transport.ChainUpdate{Index: 1}

	d.unsynced()
	d.Send(tMaster, fwd)
	d.Send(tMaster, ping)
	require.Equal(t, []transport.Message{ping}, env.sent, "the ping goes at once, the update waits")
	require.Len(t, env.timers, 1)
	env.timers[0]() // the sync
	require.Equal(t, []transport.Message{ping, fwd}, env.sent)

	env.sent, env.timers = nil, nil
	fail = true
	d.unsynced()
	env.timers[0]() // the sync fails
	d.Send(tMaster, ping)
	require.Empty(t, env.sent, "a replica that cannot persist is silent")
	fail = false
	env.timers[1]() // the retry succeeds
	require.Equal(t, []transport.Message{ping}, env.sent)
}

// TestChainJoinerThatCannotSyncItsSnapshotIsNotAHolder: a restarted
// replica whose store cannot sync installs its snapshot only in memory; it
// must not count as synced (acknowledge the snapshot, ping its epoch),
// since the master would take it for a holder of the chain's state. Here
// the head then dies, the joiner is the only member left and restarts: had
// it claimed the snapshot, it would serve alone what its store kept — not
// the writes acknowledged while it was away — and the head, back, would
// copy that.
func TestChainJoinerThatCannotSyncItsSnapshotIsNotAHolder(t *testing.T) {
	fail := false
	h := newChainHarnessWith(t, 2, 150, func(i int, s *MemStore) Store {
		if i != 1 {
			return s
		}
		return syncFailing{MemStore: s, fail: &fail}
	})
	s := h.net.Sim
	j, p := netsim.NodeID(replicaID(1)), netsim.NodeID(replicaID(0))
	s.At(100*time.Millisecond, func() { s.Crash(j) }) // writes 100-150 are acknowledged without it
	s.At(190*time.Millisecond, func() { fail = true })
	s.At(200*time.Millisecond, func() { s.Restart(j) }) // rejoins: its snapshot cannot be synced
	s.At(400*time.Millisecond, func() { s.Crash(p) })
	s.At(500*time.Millisecond, func() { s.Crash(j) })
	s.At(550*time.Millisecond, func() { fail = false })
	s.At(600*time.Millisecond, func() { s.Restart(j) })
	s.At(700*time.Millisecond, func() { s.Restart(p) })
	s.RunUntil(2 * time.Second)
	h.requireSettled(t, 150)
}

// TestNewIncarnationCopySurvivesOldDeath: a node that rejoined announces
// its copy under its new incarnation; the death of its old incarnation, or
// an eviction notice from it, arriving later must not unlist that copy (it
// did: the shard removed every copy of the node, and a Put object read
// elsewhere failed with ErrObjectLost while a copy existed).
func TestNewIncarnationCopySurvivesOldDeath(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	obj := transport.ObjectID{Task: 3, Put: true}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	sh.Handle(5, &transport.GcsAddObject{Object: obj, Node: 5, Size: 8, Incarnation: 1})
	sh.Handle(5, &transport.GcsAddObject{Object: obj, Node: 5, Size: 8, Incarnation: 2})
	sh.Handle(5, &transport.GcsRemoveObject{Object: obj, Node: 5, Incarnation: 1})
	require.Equal(t, []transport.NodeID{5}, sh.Locations(obj), "a late eviction notice of incarnation 1")
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 1})
	require.Equal(t, []transport.NodeID{5}, sh.Locations(obj), "incarnation 1's death")
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 2})
	require.Empty(t, sh.Locations(obj), "incarnation 2's death takes it")

	// The same through the store: a flushed entry read back after the
	// death of an earlier incarnation keeps the later one's copy.
	other := transport.ObjectID{Task: 4, Put: true}
	sh.Handle(6, &transport.GcsAddObject{Object: other, Node: 6, Size: 8, Incarnation: 7})
	sh.Handle(10, &transport.NodeDead{Node: 6, Incarnation: 6})
	require.Equal(t, []transport.NodeID{6}, sh.Locations(other))
}

// TestReloadDropsCopiesOfDeadIncarnations: a flushed object entry keeps the
// location of a node whose incarnation died after it was flushed (the death
// reaches only the entries in memory; a flushed one drops the copy when it
// is read back). A shard that reloads its store (a restart, or a chain
// joiner installing a snapshot) must drop it too: it loaded the entries
// before the deaths, kept the dead copy, and never dropped it (the death
// was applied already), so a reader was sent to a copy that did not exist —
// forever when the reader was that node's next incarnation, which takes a
// location naming itself as stale and asks again.
func TestReloadDropsCopiesOfDeadIncarnations(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	store := NewMemStore()
	obj := transport.ObjectID{Task: 3, Put: true}
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	sh.Handle(5, &transport.GcsAddObject{Object: obj, Node: 5, Size: 8, Incarnation: 1})
	sh.Handle(6, &transport.GcsAddObject{Object: obj, Node: 6, Size: 8, Incarnation: 1})
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 1})
	require.Equal(t, []transport.NodeID{6}, sh.Locations(obj))
	sh.Sync()

	re := New(fakeEnv{self: 10}, Config{Layout: l, Store: store})
	require.Equal(t, []transport.NodeID{6}, re.Locations(obj), "reloaded")
	re.Handle(6, &transport.GcsAddObject{Object: obj, Node: 6, Size: 8, Incarnation: 1})
	require.Equal(t, []transport.NodeID{6}, re.Locations(obj))
}

// TestRegistrationBuriesUnregisteredIncarnations: a node that crashed and
// restarted twice before it could register again (incarnations 2 and 3
// never registered) announced a copy from incarnation 3; when incarnation
// 4 registers, every earlier one is dead, that copy with them. The shard
// declared only incarnation 1 dead and kept the copy listed for good: the
// node's next incarnation, asking for the object, was pointed at itself,
// again and again (found by the fault search:
// scenarios/check/testdata/unregistered-incarnation-copy.yaml).
func TestRegistrationBuriesUnregisteredIncarnations(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	obj := transport.ObjectID{Task: 3}
	sh := New(fakeEnv{self: 10}, Config{Layout: l})
	sh.Handle(4, &transport.RegisterNode{Node: 4, Incarnation: 1})
	sh.Handle(4, &transport.GcsAddObject{Object: obj, Node: 4, Size: 8, Incarnation: 3})
	require.Equal(t, []transport.NodeID{4}, sh.Locations(obj))
	sh.Handle(4, &transport.RegisterNode{Node: 4, Incarnation: 4})
	require.Empty(t, sh.Locations(obj), "incarnation 3's copy died with it")
}

// TestWorkerCrashReportFromOtherIncarnationIgnored: a host's report that an
// actor's worker crashed names the host's incarnation. A report from node
// 5's first incarnation that arrives once the actor lives on its second
// (the node restarted, the actor was restarted there) is stale: it used to
// restart the healthy actor. The second incarnation's own report restarts it.
func TestWorkerCrashReportFromOtherIncarnationIgnored(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	const actor = transport.ActorID(7)
	self := l.ShardOfTask(actor)
	sh := New(fakeEnv{self: self}, Config{Layout: l})
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorAlive, Incarnation: 2})
	alive := transport.ActorInfo{Actor: actor, Node: 5, State: transport.ActorAlive, Found: true, Incarnation: 2}
	require.Contains(t, sh.ActorRows(), alive)
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorRestarting, Incarnation: 1})
	require.Contains(t, sh.ActorRows(), alive, "a late report from the host's earlier incarnation restarted the actor")
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorRestarting, Incarnation: 2})
	require.NotContains(t, sh.ActorRows(), alive, "the host's own report did not restart the actor")
}

// TestDeathFromDeadIncarnationIgnored: an instance left running on a node
// declared dead (incarnation 1) fails (its constructor, restore or replay)
// after the actor was restarted on the node's next incarnation; the
// host's "dead" update named no incarnation, so the actor table took it
// and ended the restarted actor for good. A host's death report now names
// its incarnation, and one from a dead incarnation is ignored; a kill
// (no incarnation) stays final.
func TestDeathFromDeadIncarnationIgnored(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10, 11}, Scheduler: 99}
	const actor = transport.ActorID(7)
	self := l.ShardOfTask(actor)
	sh := New(fakeEnv{self: self}, Config{Layout: l})
	sh.Handle(10, &transport.NodeDead{Node: 5, Incarnation: 1})
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorAlive, Incarnation: 2})
	alive := transport.ActorInfo{Actor: actor, Node: 5, State: transport.ActorAlive, Found: true, Incarnation: 2}
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorDead, Incarnation: 1})
	require.Contains(t, sh.ActorRows(), alive, "a stale instance's death ended the restarted actor")
	sh.Handle(5, &transport.GcsActorUpdate{Actor: actor, Node: 5, State: transport.ActorDead})
	require.NotContains(t, sh.ActorRows(), alive, "a kill (no incarnation) did not end the actor")
}
